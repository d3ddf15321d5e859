/**
 * SIP end-to-end benchmark (issue #4 item 11): SIPp callers → telephony adapter → engine (ACD,
 * call records in MongoDB/FerretDB) → SIPp agents, at rising call rates, next to a bare `sip`
 * responder driven by the same caller scenario in the same run (the ceiling of this stack).
 *
 *   npx tsx bench/sip/run.ts [--rates 50,100,200,300,500,700] [--duration 12] [--agents N]
 *                            [--only system|bare] [--drain 60] [--store ferretdb|memory]
 *
 * --store memory: the call records go to mongo-java-server (in-memory backend, MongoDB wire
 * protocol; bench/mongo-memory, build it first with `mvn -q package` there) instead of FerretDB.
 * A benchmark-only stand-in: it shows where the rest of the pipeline tops out when the document
 * store is not the limit. Not MongoDB (no durability, different performance).
 *
 * Processes (each its own OS process, all on this machine):
 *   redis-server, FerretDB (SQLite handler)          private, free ports (bench/sip/services.ts)
 *   engine      bench/sip/engine-proc.ts             createApp, RUN_WORKERS, N agents available
 *   telephony   bench/sip/telephony-proc.ts          startTelephony on 127.0.0.1
 *   agents      sipp -sf bench/sip/agents.xml        one UAS on 127.0.0.3 plays every agent phone
 *   callers     sipp -sf bench/sip/caller.xml        UAC on 127.0.0.2, one run per rate step
 *   bare        bench/sip/bare-responder.ts          sip UAS on 127.0.0.1, same caller scenario
 * Every agent's binding (`sip:bagent<i>@hotline.local`) is written straight into Redis with a
 * contact on 127.0.0.3 (the adapter cannot send to its own host address: sip defect 1).
 *
 * A step is clean when SIPp counts zero failed calls AND (system only) every successful call has a
 * call record with outcome 'ended' and none is left 'queued'/'answered'. A series stops at its first
 * step that is not clean. Set-up latency is SIPp's response time INVITE sent → 200 received
 * (-trace_rtt). CPU is utime+stime from /proc/<pid>/stat of every process over the step (SIPp
 * start → engine drained), as ms per call and % of one core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { RedisBindingStore } from '../../telephony/src/redis-binding-store.js';
import { freePort, startFerretdb, startRedis } from '../../test/helpers/services.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '../..');

// ----- arguments ------------------------------------------------------------------------------
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RATES = (argOf('rates') ?? '10,20,30,50,100,200,300,500,700').split(',').map(Number);
const BARE_RATES = (argOf('bare-rates') ?? '50,100,200,300,500,700,1000,1500,2000').split(',').map(Number);
/** keep raising the system's rate after a step with unrecorded calls (stop only on SIP failures) */
const PAST_UNRECORDED = process.argv.includes('--past-unrecorded');
const DURATION_S = Number(argOf('duration') ?? 12);
const HOLD_MS = 1000; // caller.xml pause
const AGENTS = Number(argOf('agents') ?? 300);
/** engine processes sharing the work (scale-out: every engine consumes call-events, one ACD in Redis) */
const ENGINES = Math.max(1, Number(argOf('engines') ?? 1));
const ONLY = argOf('only');
const DRAIN_S = Number(argOf('drain') ?? 60);
const STORE = argOf('store') ?? 'ferretdb';
if (STORE !== 'ferretdb' && STORE !== 'memory') throw new Error(`--store ferretdb|memory, not ${STORE}`);
/** the store's CPU column and label */
const STORE_NAME = STORE === 'memory' ? 'mongo-java-server' : 'ferretdb';
const PREFIX = '{bench}';
const DB = 'bench_sip';
const CALLER_IP = '127.0.0.2';
const AGENT_IP = '127.0.0.3';
const SUT_IP = '127.0.0.1';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

// ----- processes ------------------------------------------------------------------------------
const cleanups: (() => Promise<unknown> | unknown)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length) {
    try {
      await Promise.race([cleanups.pop()!(), sleep(10_000)]);
    } catch {
      /* keep cleaning */
    }
  }
}

interface NodeProc {
  child: ChildProcess;
  stats(): Promise<any>;
}

/** A TypeScript entry in its own node process (node --import tsx: one PID to measure, no wrapper). */
async function startNode(name: string, file: string, env: Record<string, string>): Promise<NodeProc> {
  // BENCH_PROFILE_DIR=/some/dir: V8 CPU profiles of the engine and telephony processes (open in Chrome DevTools)
  const prof = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(HERE, file)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.send({ cmd: 'stop' });
    const t = setTimeout(() => child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(t);
  });
  const waiters: ((m: any) => void)[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} not ready within 120 s`)), 120_000);
    child.once('exit', (code) => reject(new Error(`${name} exited during start-up (code ${code})`)));
    child.on('message', (m: any) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        resolve();
      } else waiters.shift()?.(m);
    });
  });
  return {
    child,
    stats: () =>
      new Promise((resolve) => {
        waiters.push(resolve);
        child.send({ cmd: 'stats' });
      }),
  };
}

const TICK_MS = 1000 / 100; // CLK_TCK = 100
function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}

/** Busy CPU time of the whole machine (all cores), ms, from /proc/stat. */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return (f.reduce((a, b) => a + b, 0) - idle) * TICK_MS;
}

/**
 * mongo-java-server (in-memory backend) from bench/mongo-memory on a free port, ready once it
 * answers a MongoDB `ping` (as test/helpers/services.ts waits for FerretDB). It exits by itself
 * when this process goes away (--exit-on-stdin-eof: it holds a pipe from us).
 */
async function startMemoryMongo(work: string): Promise<{ url: string; pid: number | undefined; stop(): Promise<void> }> {
  const jar = join(ROOT, 'bench/mongo-memory/target/mongo-memory.jar');
  if (!existsSync(jar)) throw new Error(`${jar} not found: build it with (cd bench/mongo-memory && mvn -q package)`);
  const port = await freePort();
  const logFile = join(work, 'mongo-memory.log');
  const fd = openSync(logFile, 'a');
  const child = spawn('java', ['-jar', jar, String(port), '127.0.0.1', '--exit-on-stdin-eof'], { stdio: ['pipe', fd, fd] });
  closeSync(fd); // the child has its own copy
  const exited = new Promise((r) => child.once('exit', r));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  const url = `mongodb://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mongo-java-server exited during start-up (code ${child.exitCode}):\n${readFileSync(logFile, 'utf8')}`);
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`mongo-java-server did not answer ping within 30 s: ${(e as Error).message}\n${readFileSync(logFile, 'utf8')}`);
      }
      await sleep(200);
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return { url, pid: child.pid, stop };
}

// ----- SIPp -----------------------------------------------------------------------------------
interface SippResult {
  created: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  retrans: number;
  rtt: number[];
  wallMs: number;
  exit: number | null;
  cpuMs: number;
}

/** One caller run: `rate` calls/s for DURATION_S seconds against host:port. */
async function runCallers(target: string, rate: number, work: string): Promise<SippResult> {
  const dir = mkdtempSync(join(work, `caller-${rate}-`));
  copyFileSync(join(HERE, 'caller.xml'), join(dir, 'caller.xml'));
  const total = Math.round(rate * DURATION_S);
  const port = await freePort(CALLER_IP);
  const args = [
    '-sf', 'caller.xml', '-s', '12345', '-i', CALLER_IP, '-p', String(port), '-t', 'u1',
    '-r', String(rate), '-m', String(total), '-l', String(Math.max(100, rate * 30)),
    '-recv_timeout', '20000', '-timeout', String(DURATION_S + 60) + 's', '-timeout_error',
    '-buff_size', '4194304', '-nostdin', '-trace_stat', '-stf', 'stat.csv', '-fd', '1',
    '-trace_rtt', '-rtt_freq', '1', '-trace_err', target,
  ];
  const t0 = performance.now();
  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  let cpu = 0;
  const sampler = setInterval(() => (cpu = Math.max(cpu, cpuMs(child.pid))), 200);
  const exit = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  clearInterval(sampler);
  const wallMs = performance.now() - t0;
  if (stderr.trim()) log(`sipp stderr: ${stderr.trim().slice(0, 500)}`);
  const rows = readFileSync(join(dir, 'stat.csv'), 'utf8').trim().split('\n');
  const head = rows[0]!.split(';');
  const last = rows[rows.length - 1]!.split(';');
  const col = (n: string): number => Number(last[head.indexOf(n)]);
  const failures: Record<string, number> = {};
  for (const h of head) if (h.startsWith('Failed') && h.endsWith('(C)') && h !== 'FailedCall(C)' && col(h) > 0) failures[h.slice(6, -3)] = col(h);
  const rtt: number[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('_rtt.csv'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const [, ms, no] = line.split(';');
      if (no?.trim() === '1' && Number.isFinite(Number(ms))) rtt.push(Number(ms));
    }
  }
  const errs = readdirSync(dir).filter((n) => n.endsWith('_errors.log'));
  if (col('FailedCall(C)') > 0 && errs.length) log(`sipp errors (first lines):\n${readFileSync(join(dir, errs[0]!), 'utf8').split('\n').slice(0, 12).join('\n')}`);
  return {
    created: col('TotalCallCreated'), ok: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), failures,
    retrans: col('Retransmissions(C)'), rtt: rtt.sort((a, b) => a - b), wallMs, exit, cpuMs: cpu,
  };
}

/** Queue wait (added → taken) and run time (taken → finished) of the jobs of one step, per job name. */
async function jobTimes(q: Queue, since: number): Promise<string> {
  const jobs = (await q.getJobs(['completed', 'failed'], 0, 200_000)).filter((j) => j && j.timestamp >= since);
  const by = new Map<string, { wait: number[]; run: number[] }>();
  for (const j of jobs) {
    const e = by.get(j.name) ?? { wait: [], run: [] };
    by.set(j.name, e);
    if (j.processedOn) e.wait.push(j.processedOn - j.timestamp);
    if (j.processedOn && j.finishedOn) e.run.push(j.finishedOn - j.processedOn);
  }
  return [...by]
    .map(([name, e]) => {
      e.wait.sort((a, b) => a - b);
      e.run.sort((a, b) => a - b);
      return `${name} ×${e.wait.length} wait p50/p99 ${fmt(pct(e.wait, 50))}/${fmt(pct(e.wait, 99))} ms, run p50/p99 ${fmt(pct(e.run, 50))}/${fmt(pct(e.run, 99))} ms`;
    })
    .join('; ');
}

// ----- one series -----------------------------------------------------------------------------
interface Row {
  rate: number;
  calls: number;
  ok: number;
  failed: number;
  recorded: number | null;
  stuck: number | null;
  p50: number;
  p99: number;
  max: number;
  achieved: number;
  cpu: Record<string, number>; // ms CPU per process over the step
  wallMs: number;
  clean: boolean;
  notes: string[];
}

async function series(
  name: string,
  rates: number[],
  target: string,
  work: string,
  procs: Record<string, () => number | undefined>,
  check: (r: SippResult) => Promise<{ recorded: number | null; stuck: number | null; notes: string[] }>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const rate of rates) {
    log(`${name}: ${rate} calls/s for ${DURATION_S} s …`);
    const before = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid())]));
    const t0 = performance.now();
    const busy0 = machineBusyMs();
    const r = await runCallers(target, rate, work);
    const c = await check(r);
    const wallMs = performance.now() - t0;
    const cpu = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid()) - before[k]!]));
    cpu['sipp-callers'] = r.cpuMs;
    // CPU used on this machine by processes outside this benchmark over the step (other jobs)
    const others = machineBusyMs() - busy0 - Object.values(cpu).reduce((a, b) => a + b, 0);
    c.notes.push(`other processes on the machine used ${fmt((100 * Math.max(0, others)) / wallMs)}% of a core over the step`);
    const clean = r.failed === 0 && r.ok === r.created && r.ok > 0 && (c.recorded === null || (c.recorded === r.ok && c.stuck === 0));
    const row: Row = {
      rate, calls: r.created, ok: r.ok, failed: r.failed, recorded: c.recorded, stuck: c.stuck,
      p50: pct(r.rtt, 50), p99: pct(r.rtt, 99), max: r.rtt[r.rtt.length - 1] ?? NaN,
      achieved: r.created / ((r.wallMs - HOLD_MS) / 1000), cpu, wallMs, clean,
      notes: [...(Object.keys(r.failures).length ? [`sipp failures ${JSON.stringify(r.failures)}`] : []), ...c.notes],
    };
    rows.push(row);
    log(
      `${name} ${rate}/s: created ${r.created}, ok ${r.ok}, failed ${r.failed}, recorded ${c.recorded ?? '-'}, stuck ${c.stuck ?? '-'}, ` +
        `setup p50 ${fmt(row.p50, 1)} p99 ${fmt(row.p99, 1)} max ${fmt(row.max, 1)} ms, retrans ${r.retrans}, ` +
        `cpu ${Object.entries(cpu).map(([k, v]) => `${k} ${fmt(v)}ms`).join(', ')}${row.notes.length ? `\n   ${row.notes.join('\n   ')}` : ''}`,
    );
    if (r.failed > 0 || r.ok !== r.created || (!clean && !PAST_UNRECORDED)) break;
    await sleep(2000);
  }
  return rows;
}

// ----- main -----------------------------------------------------------------------------------
async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-sip-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  log(`system rates ${RATES.join(', ')}, bare rates ${BARE_RATES.join(', ')} calls/s, ${DURATION_S} s each, hold ${HOLD_MS} ms, ${AGENTS} agents, store ${STORE_NAME}`);

  let bareRows: Row[] = [];
  let sysRows: Row[] = [];
  let sysExtra: string[] = [];

  if (ONLY !== 'system') {
    const barePort = await freePort(SUT_IP);
    const bare = await startNode('bare', 'bare-responder.ts', { BARE_ADDRESS: SUT_IP, BARE_PORT: String(barePort) });
    let prev = { invites: 0, byes: 0 };
    bareRows = await series('bare', BARE_RATES, `${SUT_IP}:${barePort}`, work, { bare: () => bare.child.pid }, async () => {
      await sleep(1000);
      const s = await bare.stats();
      const notes = [`bare: invites ${s.stats.invites - prev.invites}, byes ${s.stats.byes - prev.byes}, 200 retransmits ${s.stats.retransmits}, loop delay p99 ${fmt(s.loop.p99, 1)} max ${fmt(s.loop.max, 1)} ms`];
      prev = s.stats;
      return { recorded: null, stuck: null, notes };
    });
    bare.child.send({ cmd: 'stop' });
  }

  if (ONLY !== 'bare') {
    const [redis, mongo] = await Promise.all([startRedis(), STORE === 'memory' ? startMemoryMongo(work) : startFerretdb()]);
    cleanups.push(() => redis.stop(), () => mongo.stop());

    // agents' registrations, straight into Redis (what the registrar would have written)
    const r = new Redis(redis.url, { maxRetriesPerRequest: null });
    cleanups.push(() => r.disconnect());
    const agentPort = await freePort(AGENT_IP);
    const store = new RedisBindingStore(r, `${PREFIX}:sip`);
    const now = Date.now();
    for (let i = 0; i < AGENTS; i++) {
      await store.put({
        aor: `sip:bagent${i}@hotline.local`, contact: `sip:bagent${i}@${AGENT_IP}:${agentPort}`, expiresAt: now + 24 * 3600_000,
        callId: `bench-reg-${i}`, cseq: 1, source: { protocol: 'UDP', address: AGENT_IP, port: agentPort }, updatedAt: now,
      });
    }

    log(`engine: creating ${AGENTS} available agents …`);
    const engine = await startNode('engine', 'engine-proc.ts', { MONGODB_URL: `${mongo.url}/${DB}`, REDIS_URL: redis.url, QUEUE_PREFIX: PREFIX, BENCH_AGENTS: String(AGENTS) });
    const extraEngines: NodeProc[] = [];
    for (let i = 1; i < ENGINES; i++) {
      extraEngines.push(await startNode(`engine${i + 1}`, 'engine-proc.ts', { MONGODB_URL: `${mongo.url}/${DB}`, REDIS_URL: redis.url, QUEUE_PREFIX: PREFIX, BENCH_AGENTS: '0' }));
    }
    const sipPort = await freePort(SUT_IP);
    const tel = await startNode('telephony', 'telephony-proc.ts', { SIP_ADDRESS: SUT_IP, SIP_PORT: String(sipPort), REDIS_URL: redis.url, QUEUE_PREFIX: PREFIX, TELEPHONY_INSTANCE: 'bench1', TRUSTED_SOURCES: CALLER_IP });

    // the agents' phones: one SIPp UAS for all
    const agentsDir = mkdtempSync(join(work, 'agents-'));
    copyFileSync(join(HERE, 'agents.xml'), join(agentsDir, 'agents.xml'));
    const agents = spawn('sipp', ['-sf', 'agents.xml', '-i', AGENT_IP, '-p', String(agentPort), '-t', 'u1', '-buff_size', '4194304', '-nostdin', '-trace_stat', '-stf', 'stat.csv', '-fd', '1', '-trace_err'], {
      cwd: agentsDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    cleanups.push(async () => {
      if (agents.exitCode !== null) return;
      const exited = new Promise((res) => agents.once('exit', res));
      agents.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    });
    await sleep(1000);
    const agentStat = (): Record<string, number> => {
      try {
        const rows = readFileSync(join(agentsDir, 'stat.csv'), 'utf8').trim().split('\n');
        const head = rows[0]!.split(';');
        const last = rows[rows.length - 1]!.split(';');
        const out: Record<string, number> = {};
        for (const h of ['TotalCallCreated', 'SuccessfulCall(C)', 'FailedCall(C)', 'OutOfCallMsgs(C)', 'Retransmissions(C)']) out[h] = Number(last[head.indexOf(h)]);
        return out;
      } catch {
        return {};
      }
    };

    const mc = await MongoClient.connect(mongo.url);
    cleanups.push(() => mc.close());
    const calls = mc.db(DB).collection('calls');
    // records by outcome in the database, plus calls still open in Redis (server/src/calls/call-store.ts:
    // on FerretDB a live call's record reaches the database only when it finishes)
    const counts = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for (const d of await calls.aggregate<{ _id: string; n: number }>([{ $group: { _id: '$outcome', n: { $sum: 1 } } }]).toArray()) out[d._id] = d.n;
      const live = await r.zcard(`${PREFIX}:cdr-open`);
      if (live > 0) out.openInRedis = live;
      return out;
    };
    let prevEnded = 0;
    let prevRelay: Record<string, number> = {};
    let prevAgents = agentStat();
    const eventsQ = new Queue('call-events', { connection: r, prefix: PREFIX });
    const commandsQ = new Queue('telephony-commands-bench1', { connection: r, prefix: PREFIX });
    cleanups.push(() => eventsQ.close(), () => commandsQ.close());
    let stepStart = Date.now();

    sysRows = await series(
      'system',
      RATES,
      `${SUT_IP}:${sipPort}`,
      work,
      {
        telephony: () => tel.child.pid,
        engine: () => engine.child.pid,
        ...Object.fromEntries(extraEngines.map((e, i) => [`engine${i + 2}`, () => e.child.pid])),
        redis: () => redis.pid,
        [STORE_NAME]: () => mongo.pid,
        'sipp-agents': () => agents.pid,
      },
      async (res) => {
        // wait until the engine has written every record of this step (or DRAIN_S passed)
        const t0 = Date.now();
        let c = await counts();
        let last = -1;
        let stable = 0;
        while (Date.now() - t0 < DRAIN_S * 1000) {
          const ended = c.ended ?? 0;
          const open = (c.queued ?? 0) + (c.answered ?? 0) + (c.openInRedis ?? 0);
          if (open === 0 && ended - prevEnded >= res.ok) break;
          stable = ended === last ? stable + 1 : 0;
          if (stable >= 10) break; // nothing moved for 10 s
          last = ended;
          await sleep(1000);
          c = await counts();
        }
        const drainS = (Date.now() - t0) / 1000;
        const ended = c.ended ?? 0;
        const recorded = ended - prevEnded;
        prevEnded = ended;
        const ts = await tel.stats();
        const es = await engine.stats();
        const delta = Object.fromEntries(Object.entries(ts.stats as Record<string, number>).map(([k, v]) => [k, v - (prevRelay[k] ?? 0)]).filter(([, v]) => v !== 0));
        prevRelay = ts.stats;
        const ag = agentStat();
        const agDelta = Object.fromEntries(Object.entries(ag).map(([k, v]) => [k, v - (prevAgents[k] ?? 0)]));
        prevAgents = ag;
        const notes = [
          `records by outcome ${JSON.stringify(c)}, drain ${fmt(drainS, 1)} s`,
          `relay.stats Δ ${JSON.stringify(delta)}, active ${ts.active}, loop delay p99 ${fmt(ts.loop.p99, 1)} max ${fmt(ts.loop.max, 1)} ms, heap ${fmt(ts.heapMB)} MB`,
          `engine loop delay p99 ${fmt(es.loop.p99, 1)} max ${fmt(es.loop.max, 1)} ms, heap ${fmt(es.heapMB)} MB`,
          `sipp agents Δ ${JSON.stringify(agDelta)}`,
          `call-events: ${await jobTimes(eventsQ, stepStart)}`,
          `telephony-commands: ${await jobTimes(commandsQ, stepStart)}`,
        ];
        stepStart = Date.now();
        if (Object.keys(ts.logs.counts).length) notes.push(`telephony warn/error ${JSON.stringify(ts.logs.counts)}`);
        if (Object.keys(es.logs.counts).length) notes.push(`engine warn/error ${JSON.stringify(es.logs.counts)}`);
        return { recorded, stuck: (c.queued ?? 0) + (c.answered ?? 0) + (c.openInRedis ?? 0), notes };
      },
    );
    // calls left open: what happened to their events (the call-events jobs are kept after completion)
    const stuck = await calls.find({ outcome: { $in: ['queued', 'answered'] } }).limit(5).toArray();
    if (stuck.length) {
      const q = new Queue('call-events', { connection: r, prefix: PREFIX });
      const jobs = await q.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed', 'prioritized', 'waiting-children'], 0, 200_000);
      for (const s of stuck) {
        const mine = jobs.filter((j) => j?.data?.callId === s._id);
        const t0 = mine.reduce((m, j) => Math.min(m, j.timestamp), Infinity);
        sysExtra.push(
          `stuck call ${JSON.stringify({ ...s, sdp: undefined })}:\n` +
            (await Promise.all(mine.sort((a, b) => a.timestamp - b.timestamp).map(async (j) => `  ${j.name} [${await j.getState()}] added +${j.timestamp - t0} ms, processed +${(j.processedOn ?? NaN) - t0}, finished +${(j.finishedOn ?? NaN) - t0}, attempts ${j.attemptsMade}, result ${JSON.stringify(j.returnvalue)?.slice(0, 120)}, failed ${j.failedReason ?? '-'}`))).join('\n'),
        );
      }
      await q.close();
    }
    const ts = await tel.stats();
    const es = await engine.stats();
    if (ts.logs.samples.length) sysExtra.push(`telephony log samples:\n${ts.logs.samples.map((s: object) => `  ${JSON.stringify(s)}`).join('\n')}`);
    if (es.logs.samples.length) sysExtra.push(`engine log samples:\n${es.logs.samples.map((s: string) => `  ${s}`).join('\n')}`);
  }

  // ----- report -------------------------------------------------------------------------------
  const table = (name: string, rows: Row[], system: boolean): string => {
    const procs = rows[0] ? Object.keys(rows[0].cpu) : [];
    const head = system
      ? '| rate (calls/s) | calls | ok | failed | recorded | stuck | setup p50 (ms) | setup p99 (ms) | ' + procs.map((p) => `${p} ms CPU/call (% core)`).join(' | ') + ' |'
      : '| rate (calls/s) | calls | ok | failed | setup p50 (ms) | setup p99 (ms) | ' + procs.map((p) => `${p} ms CPU/call (% core)`).join(' | ') + ' |';
    const sep = head.replace(/[^|]+/g, ' ---: ');
    const lines = rows.map((r) => {
      const cpu = procs.map((p) => `${fmt(r.cpu[p]! / Math.max(1, r.ok), 2)} (${fmt((100 * r.cpu[p]!) / r.wallMs)}%)`).join(' | ');
      return system
        ? `| ${r.rate} | ${fmt(r.calls)} | ${fmt(r.ok)} | ${fmt(r.failed)} | ${r.recorded === null ? '–' : fmt(r.recorded)} | ${r.stuck ?? '–'} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${cpu} |`
        : `| ${r.rate} | ${fmt(r.calls)} | ${fmt(r.ok)} | ${fmt(r.failed)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${cpu} |`;
    });
    return [`#### ${name}`, '', head, sep, ...lines].join('\n');
  };
  /** the highest rate of the clean steps before the first step that was not */
  const best = (rows: Row[]): Row | undefined => {
    const i = rows.findIndex((r) => !r.clean);
    return (i < 0 ? rows : rows.slice(0, i)).at(-1);
  };
  const bb = best(bareRows);
  const sb = best(sysRows);
  console.log('\n' + table('bare sip responder', bareRows, false) + '\n');
  console.log(table(`system (telephony → engine → agents, records in ${STORE_NAME})`, sysRows, true) + '\n');
  console.log(`highest clean rate: system ${sb?.rate ?? 'none'} calls/s, bare ${bb?.rate ?? 'none'} calls/s, ratio ${sb && bb ? fmt(sb.rate / bb.rate, 2) : '–'}`);
  for (const s of sysRows) {
    const b = bareRows.find((x) => x.rate === s.rate);
    if (b) console.log(`  at ${s.rate}/s added set-up latency (system − bare): p50 ${fmt(s.p50 - b.p50, 1)} ms, p99 ${fmt(s.p99 - b.p99, 1)} ms`);
  }
  const sipOk = sysRows.filter((r) => r.failed === 0 && r.ok === r.calls).at(-1);
  console.log(`system: highest rate with zero failed SIP calls (records not checked): ${sipOk?.rate ?? 'none'} calls/s`);
  const firstBad = sysRows.find((r) => !r.clean);
  if (firstBad) console.log(`system stopped at ${firstBad.rate}/s:\n  ${firstBad.notes.join('\n  ')}`);
  for (const e of sysExtra) console.log(e);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping every process of this run`);
    void cleanup().finally(() => process.exit(130));
  });
}
let code = 0;
try {
  await main();
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
