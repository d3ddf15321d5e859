/**
 * Deadline-timer benchmark (issue #3): the timer layer of server/src/deadlines/timers.ts next to
 * a bare BullMQ baseline measured in the same run, on a private, throw-away Redis.
 *
 *   npx tsx bench/deadlines/run.ts [--milestones N] [--due M] [--window S]
 *
 * Defaults N = 200,000, M = 10,000, S = 60. Issue #3 asks for N = 1,000,000:
 *   npx tsx bench/deadlines/run.ts --milestones 1000000
 *
 * 1. Scheduling rate: N delayed jobs added as DeadlineTimers.schedule adds them (TimerJob payload,
 *    id from `timerJobId`, TIMER_OPTS-like options, addBulk in batches of 1000) vs bare
 *    `queue.addBulk` of N delayed jobs with default ids, default options and a tiny payload.
 * 2. Redis memory: INFO used_memory before/after each, bytes per scheduled milestone.
 * 3. Lag between due time and handling: M jobs falling due uniformly within S seconds, on top of
 *    the N far-future jobs still pending in the same queue, handled by a Worker (concurrency 32)
 *    whose processor only records Date.now() - job.data.at. The real handler also reads and
 *    writes MongoDB; this measures the timer layer only.
 * 4. Reconciliation: the EXISTS comparison of DeadlineTimers.reconcile over the N planned timers
 *    (real `plannedTimers` on synthetic open tickets held in memory, batches of 2000 tickets,
 *    pipelined EXISTS), then again after deleting half of the job keys, adding the missing ones.
 *    Excludes reading the tickets from MongoDB/FerretDB.
 *
 * No MongoDB needed. Redis is started here on a free port and killed at the end, even on error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { plannedTimers, timerJobId, TIMER_QUEUE, type TimerJob } from '../../server/src/deadlines/timers.js';
import { NATURAL_CALENDAR } from '../../server/src/deadlines/calendar.js';
import type { Milestone } from '../../server/src/deadlines/milestones.js';
import type { DeadlineStore } from '../../server/src/deadlines/store.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i > 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const N = Math.floor(arg('milestones', 200_000));
const M = Math.floor(arg('due', 10_000));
const WINDOW_S = arg('window', 60);
const ADD_BATCH = 1000;
const RECONCILE_BATCH = 2000; // tickets per batch, as DeadlineTimers.reconcile(batchSize = 2000)
const CONCURRENCY = 32;
// Same as TIMER_OPTS in timers.ts (not exported there).
const TIMER_OPTS = { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 }, attempts: 10, backoff: { type: 'exponential', delay: 1000 } } as const;
const RUN = `bench${process.pid}${Date.now().toString(36)}`;
const PREFIX_OURS = `{${RUN}-ours}`;
const PREFIX_BARE = `{${RUN}-bare}`;

// ---------------------------------------------------------------------------------------------
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const usedMemory = async (r: Redis): Promise<number> => Number(/used_memory:(\d+)/.exec(await r.info('memory'))![1]);
const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : String(n));
const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// ---------------------------------------------------------------------------------------------
// Synthetic open tickets: each dispatched ticket has two open milestones (sign, reply), as after
// `toDepartment`. plannedTimers gives one job per open milestone (its warnAt while on time).
type Ticket = Parameters<typeof plannedTimers>[0];
const HOUR = 3_600_000;
const store = { calendar: NATURAL_CALENDAR, ancestorsOf: () => ['street', 'district', 'city'] } as unknown as DeadlineStore;
const policy = { warnRatio: 0.8, remindEvery: { value: 4, unit: 'hours' }, escalateAfter: { value: 24, unit: 'hours' } } as unknown as Ticket['policy'];

function makeTickets(count: number, base: number): Ticket[] {
  const out: Ticket[] = [];
  for (let i = 0; i < count; i++) {
    const startedAt = new Date(base + i * 37); // distinct due times
    const ms = (hours: number): Milestone => ({
      unit: 'hours',
      startedAt,
      dueAt: new Date(startedAt.getTime() + hours * HOUR),
      warnAt: new Date(startedAt.getTime() + hours * 0.8 * HOUR),
      doneAt: null,
      cancelledAt: null,
      version: 1 + (i % 3),
      level: 'on_time',
      reminders: 0,
      escalations: 0,
    });
    out.push({
      _id: (0x6b000000 + i).toString(16).padStart(24, '0'),
      state: 'dispatched',
      deadlines: { sign: ms(24), reply: ms(10 * 24) },
      policy,
      suspension: null,
      leadDepartmentId: 'street',
    } as unknown as Ticket);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
const cleanups: (() => Promise<unknown> | unknown)[] = [];
let redisServer: ChildProcess | null = null;
let redisDir: string | null = null;

async function cleanup(): Promise<void> {
  while (cleanups.length) {
    const f = cleanups.pop()!;
    try {
      await Promise.race([f(), sleep(10_000)]);
    } catch {
      /* keep cleaning */
    }
  }
  const srv = redisServer;
  if (srv && srv.exitCode === null && srv.signalCode === null) {
    const exited = new Promise((r) => srv.once('exit', r));
    srv.kill('SIGKILL');
    await Promise.race([exited, sleep(5000)]);
  }
  if (redisDir) rmSync(redisDir, { recursive: true, force: true });
}

async function startRedis(): Promise<string> {
  let port = await freePort();
  while (port === 6379 || port === 26379) port = await freePort();
  redisDir = mkdtempSync(join(os.tmpdir(), 'bench-redis-'));
  redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir, '--maxmemory-policy', 'noeviction'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      await sleep(100);
    }
  }
  probe.disconnect();
  return url;
}

const connect = (url: string): Redis => {
  const r = new Redis(url, { maxRetriesPerRequest: null });
  r.on('error', (e) => console.error('redis error', e.message));
  cleanups.push(() => r.disconnect());
  return r;
};

type Spec = { name: string; data: object; opts: Record<string, unknown> };

/** addBulk in batches of 1000; returns elapsed ms. */
async function addInBatches(q: Queue, n: number, make: (i: number, now: number) => Spec): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i += ADD_BATCH) {
    const now = Date.now();
    const batch: Spec[] = [];
    for (let k = i; k < Math.min(n, i + ADD_BATCH); k++) batch.push(make(k, now));
    await q.addBulk(batch as never);
  }
  return performance.now() - t0;
}

const oursSpec = (j: TimerJob, now: number): Spec => ({ name: j.milestone, data: j, opts: { ...TIMER_OPTS, jobId: timerJobId(j), delay: Math.max(0, j.at - now) } });

/** M jobs falling due uniformly over WINDOW_S seconds, handled by a worker that records lags. */
async function lagTest(url: string, q: Queue, prefix: string, ours: boolean): Promise<{ lags: number[]; addMs: number }> {
  const lags: number[] = [];
  const wconn = connect(url);
  const worker = new Worker(
    q.name,
    async (job: Job<{ at: number }>) => {
      lags.push(Date.now() - job.data.at);
    },
    { connection: wconn, prefix, concurrency: CONCURRENCY },
  );
  worker.on('error', (e) => console.error('worker error', e.message));
  cleanups.push(() => worker.close(true));
  await worker.waitUntilReady();
  const start = Date.now() + 5000;
  const addMs = await addInBatches(q, M, (i, now) => {
    const at = start + Math.floor((i / M) * WINDOW_S * 1000);
    if (!ours) return { name: 'x', data: { at }, opts: { delay: Math.max(0, at - now) } };
    const j: TimerJob = { ticketId: (0x7c000000 + i).toString(16).padStart(24, '0'), milestone: i % 2 ? 'reply' : 'sign', version: 1, at };
    return oursSpec(j, now);
  });
  const deadline = start + WINDOW_S * 1000 + 60_000;
  while (lags.length < M && Date.now() < deadline) await sleep(200);
  await worker.close();
  return { lags: lags.sort((a, b) => a - b), addMs };
}

async function main(): Promise<void> {
  const url = await startRedis();
  const redis = connect(url);
  const rows: [string, string, string, string][] = [];
  const info = (await redis.info('server')).match(/redis_version:(\S+)/)?.[1];
  log(`deadline timers benchmark: N=${fmt(N)} milestones, M=${fmt(M)} due within ${WINDOW_S} s; node ${process.version}, redis ${info}, bullmq 6.7.0, ${os.cpus().length} cores`);

  // Build the open milestones in memory and their planned timers (real plannedTimers).
  const far = Date.now() + 2 * 86_400_000;
  const tickets = makeTickets(Math.ceil(N / 2), far);
  const planned = tickets.flatMap((t) => plannedTimers(t, store)).slice(0, N);
  if (planned.length !== N) throw new Error(`planned ${planned.length} of ${N}`);
  if (new Set(planned.slice(0, 1000).map(timerJobId)).size !== 1000) throw new Error('job ids not distinct');

  // ---- bare BullMQ baseline ----
  await redis.flushall();
  const bare = new Queue('bare', { connection: redis, prefix: PREFIX_BARE });
  cleanups.push(() => bare.close());
  await bare.waitUntilReady();
  let m0 = await usedMemory(redis);
  const bareMs = await addInBatches(bare, N, (i, now) => ({ name: 'x', data: { at: planned[i]!.at }, opts: { delay: Math.max(0, planned[i]!.at - now) } }));
  const bareBytes = ((await usedMemory(redis)) - m0) / N;
  log(`bare: scheduled ${fmt(N)} in ${fmt(bareMs / 1000, 1)} s (${fmt(N / (bareMs / 1000))} jobs/s), ${fmt(bareBytes)} B/job`);
  const bareLag = await lagTest(url, bare, PREFIX_BARE, false);
  log(`bare lag: ${fmt(bareLag.lags.length)}/${fmt(M)} handled, p50 ${bareLag.lags.length ? pct(bareLag.lags, 50) : NaN} ms, p99 ${pct(bareLag.lags, 99)} ms`);
  await bare.close();

  // ---- deadline timers (as DeadlineTimers.schedule) ----
  await redis.flushall();
  const ours = new Queue<TimerJob>(TIMER_QUEUE, { connection: redis, prefix: PREFIX_OURS, defaultJobOptions: TIMER_OPTS });
  cleanups.push(() => ours.close());
  await ours.waitUntilReady();
  m0 = await usedMemory(redis);
  const oursMs = await addInBatches(ours as Queue, N, (i, now) => oursSpec(planned[i]!, now));
  const oursBytes = ((await usedMemory(redis)) - m0) / N;
  log(`ours: scheduled ${fmt(N)} in ${fmt(oursMs / 1000, 1)} s (${fmt(N / (oursMs / 1000))} jobs/s), ${fmt(oursBytes)} B/milestone`);

  // ---- reconciliation (same comparison as DeadlineTimers.reconcile, tickets from memory) ----
  const keyPrefix = `${PREFIX_OURS}:${TIMER_QUEUE}:`;
  const reconcile = async (): Promise<{ milestones: number; repaired: number; ms: number }> => {
    const t0 = performance.now();
    let milestones = 0;
    let repaired = 0;
    for (let b = 0; b < tickets.length; b += RECONCILE_BATCH) {
      const batch = tickets.slice(b, b + RECONCILE_BATCH);
      let jobs = batch.flatMap((t) => plannedTimers(t, store));
      if (milestones + jobs.length > N) jobs = jobs.slice(0, N - milestones);
      milestones += jobs.length;
      const pipe = redis.pipeline();
      for (const j of jobs) pipe.exists(keyPrefix + timerJobId(j));
      const found = (await pipe.exec()) ?? [];
      const missing = jobs.filter((_, i) => found[i]?.[1] !== 1);
      if (missing.length) {
        const now = Date.now();
        await ours.addBulk(missing.map((j) => oursSpec(j, now)) as never);
        repaired += missing.length;
      }
    }
    return { milestones, repaired, ms: performance.now() - t0 };
  };
  const check = await reconcile();
  if (check.milestones !== N || check.repaired !== 0) throw new Error(`reconcile check: ${JSON.stringify(check)}`);
  log(`reconcile (nothing missing): ${fmt(N)} milestones in ${fmt(check.ms / 1000, 2)} s`);
  // Lose half of the timers: delete every other job hash (the key reconcile checks).
  for (let i = 0; i < N; i += 10_000) {
    const pipe = redis.pipeline();
    for (let k = i; k < Math.min(N, i + 10_000); k += 2) pipe.del(keyPrefix + timerJobId(planned[k]!));
    await pipe.exec();
  }
  const repair = await reconcile();
  const lost = Math.ceil(N / 2);
  if (repair.repaired !== lost) throw new Error(`repair added ${repair.repaired}, expected ${lost}`);
  const after = await reconcile();
  if (after.repaired !== 0) throw new Error(`still ${after.repaired} missing after repair`);
  log(`reconcile repair: ${fmt(repair.repaired)} missing re-added in ${fmt(repair.ms / 1000, 2)} s`);

  // ---- lag, with the N timers pending in the same queue ----
  const oursLag = await lagTest(url, ours as Queue, PREFIX_OURS, true);
  log(`ours lag: ${fmt(oursLag.lags.length)}/${fmt(M)} handled, p50 ${pct(oursLag.lags, 50)} ms, p99 ${pct(oursLag.lags, 99)} ms`);
  await ours.close();

  // ---- table ----
  const oRate = N / (oursMs / 1000);
  const bRate = N / (bareMs / 1000);
  rows.push([`scheduling ${fmt(N)} delayed jobs (jobs/s)`, fmt(oRate), fmt(bRate), fmt(oRate / bRate, 2)]);
  rows.push(['Redis memory (bytes per scheduled job)', fmt(oursBytes), fmt(bareBytes), fmt(oursBytes / bareBytes, 2)]);
  rows.push(['  total used_memory delta (MB)', fmt((oursBytes * N) / 2 ** 20, 1), fmt((bareBytes * N) / 2 ** 20, 1), '']);
  for (const p of [50, 99]) rows.push([`lag due→handled p${p} (ms)`, fmt(pct(oursLag.lags, p)), fmt(pct(bareLag.lags, p)), fmt(pct(oursLag.lags, p) / Math.max(1, pct(bareLag.lags, p)), 2)]);
  rows.push(['lag max (ms)', fmt(oursLag.lags.at(-1) ?? NaN), fmt(bareLag.lags.at(-1) ?? NaN), fmt((oursLag.lags.at(-1) ?? NaN) / Math.max(1, bareLag.lags.at(-1) ?? NaN), 2)]);
  rows.push(['lag min (ms)', fmt(oursLag.lags[0] ?? NaN), fmt(bareLag.lags[0] ?? NaN), '']);
  rows.push(['handled / due', `${fmt(oursLag.lags.length)} / ${fmt(M)}`, `${fmt(bareLag.lags.length)} / ${fmt(M)}`, '']);
  rows.push(['reconcile check, none missing (milestones/s)', fmt(N / (check.ms / 1000)), '', '']);
  rows.push(['  → projected for 1,000,000 (s)', fmt((1e6 / N) * (check.ms / 1000), 1), '', '']);
  rows.push([`reconcile repair, ${fmt(lost)} of ${fmt(N)} missing (s)`, fmt(repair.ms / 1000, 2), '', '']);
  rows.push(['  → milestones/s checked while repairing', fmt(N / (repair.ms / 1000)), '', '']);
  rows.push(['  → projected for 1,000,000 with half missing (s)', fmt((1e6 / N) * (repair.ms / 1000), 1), '', '']);
  console.log(`\n| measure | deadline timers | bare BullMQ | ratio (timers / bare) |\n| --- | ---: | ---: | ---: |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\np99 lag < 1 s: ${pct(oursLag.lags, 99) < 1000 && oursLag.lags.length === M ? 'met' : 'NOT met'}; reconcile 1,000,000 < 60 s (Redis side only): ${(1e6 / N) * (check.ms / 1000) < 60 ? 'met' : 'NOT met'}`);
}

let exitCode = 0;
process.once('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});
main()
  .catch((err) => {
    console.error(err);
    exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
    process.exit(exitCode);
  });
