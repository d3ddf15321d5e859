/**
 * Console fan-out benchmark (issue #5 item 9): N socket.io-client consoles (default 1,000)
 * connected and authenticated to the real app receive a real ticket event, next to a bare
 * socket.io broadcast to N bare clients in the same run.
 *
 *   npx tsx bench/console/run.ts [--clients 1000] [--rounds 30] [--warmup 3] [--gap 300]
 *
 * Processes (all on this machine):
 *   redis-server, FerretDB (SQLite)   private, free ports (test/helpers/services.ts)
 *   app      bench/console/server-proc.ts   createApp: Redis adapter, BullMQ workers, FerretDB;
 *                                           N agents `bench0000…` in the database
 *   bare     bench/console/bare-proc.ts     socket.io Server, no adapter/auth/database/queue
 *   clients  this process                   N socket.io-client sockets (websocket transport)
 * App consoles authenticate at the handshake like the console does: half with the session
 * cookie (`hotline_session`, sent as a Cookie header), half with `auth.token`; all are agents,
 * so all are in room `hotline`.
 *
 * A round on the app: `POST /api/tickets` as agent1 → journal insert + ticket insert in FerretDB →
 * outbox → BullMQ → the ticket-event worker (deadline timers sync, then notify) →
 * `io.to(['hotline','supervisors']).emit('ticket.event')` through the Redis adapter → every
 * console. A round on the bare server: `POST /emit` → `io.to('hotline').emit(...)`.
 * Measured per client and round, on the machine's shared clock (performance.timeOrigin + now):
 *   emit → client     from the server's emit call (reported by the server process over IPC)
 *   request → client  from the moment this process sends the HTTP request (the whole app path)
 * Both sets of clients stay connected for the whole run and the rounds alternate app / bare.
 * The target (issue #5: p99 < 100 ms) is read on "emit → client" (delivery to 1,000 consoles);
 * "request → client" is shown too. Clients and their parsing share one process: the last of
 * 1,000 receipts waits for the 999 before it, for the app and the baseline alike.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket } from 'socket.io-client';
import { TokenService } from '../../server/src/auth/tokens.js';
import { startFerretdb, startRedis, stopAll } from '../../test/helpers/services.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const CLIENTS = Number(argOf('clients') ?? 1000);
const ROUNDS = Number(argOf('rounds') ?? 30);
const WARMUP = Number(argOf('warmup') ?? 3);
const GAP_MS = Number(argOf('gap') ?? 300);
const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0123';
const ROUND_TIMEOUT_MS = 15_000;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
const ms = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : '–');

interface Proc {
  child: ChildProcess;
  port: number;
  emits: Map<string, number>;
  stop(): Promise<void>;
}

function startProc(file: string, env: Record<string, string>): Promise<Proc> {
  const child = fork(join(HERE, file), [], { execArgv: ['--import', 'tsx'], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const emits = new Map<string, number>();
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    child.on('message', (m: { type: string; port?: number; ticketId?: string; id?: string; eventType?: string; at?: number }) => {
      if (m.type === 'emit' && (m.eventType === undefined || m.eventType === 'ticket.created')) emits.set((m.ticketId ?? m.id)!, m.at!);
      if (m.type === 'ready') {
        resolve({
          child,
          port: m.port!,
          emits,
          stop: () =>
            new Promise<void>((done) => {
              child.removeAllListeners('exit');
              child.once('exit', () => done());
              child.send({ cmd: 'stop' });
              setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
            }),
        });
      }
    });
  });
}

/** Receipt times per event id, one entry per client. */
type Receipts = Map<string, number[]>;

async function connectAll(port: number, auth: (i: number) => Partial<Parameters<typeof connect>[1]>): Promise<{ sockets: Socket[]; receipts: Receipts }> {
  const receipts: Receipts = new Map();
  const sockets: Socket[] = [];
  const one = (i: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 60_000, ...auth(i) });
      s.on('ticket.event', (m: { ticketId: string; type: string }) => {
        if (m.type !== 'ticket.created') return;
        const t = now();
        let list = receipts.get(m.ticketId);
        if (!list) receipts.set(m.ticketId, (list = []));
        list.push(t);
      });
      s.once('hello', () => resolve(s));
      s.once('connect_error', (e) => reject(e));
    });
  for (let i = 0; i < CLIENTS; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, CLIENTS - i) }, (_, k) => one(i + k)))));
  return { sockets, receipts };
}

interface Series {
  /** per round: the server path before the fan-out (HTTP, FerretDB, outbox, BullMQ, worker) */
  requestToEmit: number[];
  /** per round: until the HTTP response (the ticket is written and its events handed to BullMQ) */
  requestToResponse: number[];
  emitToClient: number[];
  requestToClient: number[];
  missed: number;
  rounds: number;
}

/** When each HTTP request that raised an event was answered, by event id. */
const responses = new Map<string, number>();

/** One round: fire, wait until every client has the event (and the server reported its emit). */
async function round(proc: Proc, receipts: Receipts, fire: () => Promise<string>, into: Series | null): Promise<void> {
  const sentAt = now();
  const id = await fire();
  const end = Date.now() + ROUND_TIMEOUT_MS;
  while (((receipts.get(id)?.length ?? 0) < CLIENTS || !proc.emits.has(id)) && Date.now() < end) await sleep(5);
  const got = receipts.get(id) ?? [];
  const emitAt = proc.emits.get(id);
  if (into) {
    into.rounds++;
    into.missed += CLIENTS - got.length;
    if (emitAt !== undefined) into.requestToEmit.push(emitAt - sentAt);
    const answered = responses.get(id);
    if (answered !== undefined) into.requestToResponse.push(answered - sentAt);
    for (const t of got) {
      if (emitAt !== undefined) into.emitToClient.push(t - emitAt);
      into.requestToClient.push(t - sentAt);
    }
  }
  receipts.delete(id);
}

const emptySeries = (): Series => ({ requestToEmit: [], requestToResponse: [], emitToClient: [], requestToClient: [], missed: 0, rounds: 0 });

function row(label: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `| ${label} | ${ms(pct(s, 50))} | ${ms(pct(s, 99))} | ${ms(s[s.length - 1] ?? NaN)} |`;
}

const cleanups: (() => Promise<unknown>)[] = [];
try {
  log(`starting Redis and FerretDB; ${CLIENTS} clients, ${ROUNDS} rounds (+${WARMUP} warm-up), ${GAP_MS} ms apart`);
  const [redis, mongo] = await Promise.all([startRedis(), startFerretdb()]);
  cleanups.push(() => stopAll());

  // ----- the app ------------------------------------------------------------------------------
  const app = await startProc('server-proc.ts', { MONGODB_URL: `${mongo.url}/bench_console`, REDIS_URL: redis.url, QUEUE_PREFIX: '{benchc}', BENCH_USERS: String(CLIENTS) });
  cleanups.push(() => app.stop());
  const tokens = new TokenService(BENCH_SECRET, 3600);
  const tokenOf = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => tokens.issue({ id: `bench${String(i).padStart(4, '0')}`, name: `坐席${i}`, role: 'agent', departmentId: null }).then((t) => t.token)),
  );
  let t0 = now();
  const appClients = await connectAll(app.port, (i) => (i % 2 === 0 ? { extraHeaders: { cookie: `hotline_session=${tokenOf[i]}` } } : { auth: { token: tokenOf[i] } }));
  log(`app: ${appClients.sockets.length} consoles authenticated and connected in ${((now() - t0) / 1000).toFixed(1)} s`);
  const agent1 = (await tokens.issue({ id: 'agent1', name: '王芳', role: 'agent', departmentId: null })).token;
  let n = 0;
  const fireApp = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${app.port}/api/tickets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent1}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        caller: { name: '张三', phone: `1381234${String(n++).padStart(4, '0')}` },
        category: 'complaint',
        urgency: 'normal',
        area: { districtId: 'wenfeng', streetId: 'nanguan' },
        address: '文峰区南关街道中华路1号',
        content: '小区旁工地夜间施工噪音扰民，持续一周，影响休息。',
        confidential: false,
      }),
    });
    if (res.status !== 201) throw new Error(`POST /api/tickets: ${res.status} ${await res.text()}`);
    const at = now();
    const { id } = (await res.json()) as { id: string };
    responses.set(id, at);
    return id;
  };

  // ----- the bare baseline, connected at the same time -----------------------------------------
  const bare = await startProc('bare-proc.ts', {});
  cleanups.push(() => bare.stop());
  t0 = now();
  const bareClients = await connectAll(bare.port, () => ({}));
  log(`bare: ${bareClients.sockets.length} clients connected in ${((now() - t0) / 1000).toFixed(1)} s`);
  let k = 0;
  const fireBare = async (): Promise<string> => {
    const id = `e${k++}`;
    const res = await fetch(`http://127.0.0.1:${bare.port}/emit?id=${id}`, { method: 'POST' });
    if (res.status !== 201) throw new Error(`bare /emit: ${res.status}`);
    responses.set(id, now());
    return id;
  };

  // Rounds alternate app / bare, so both see the same machine (load from other work, GC, JIT).
  const appSeries = emptySeries();
  const bareSeries = emptySeries();
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    await round(app, appClients.receipts, fireApp, r >= WARMUP ? appSeries : null);
    await sleep(GAP_MS);
    await round(bare, bareClients.receipts, fireBare, r >= WARMUP ? bareSeries : null);
    await sleep(GAP_MS);
  }
  log(`app: ${appSeries.rounds} rounds, ${appSeries.emitToClient.length} deliveries, ${appSeries.missed} missed`);
  log(`bare: ${bareSeries.rounds} rounds, ${bareSeries.emitToClient.length} deliveries, ${bareSeries.missed} missed`);
  for (const s of [...appClients.sockets, ...bareClients.sockets]) s.disconnect();

  const p99 = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 99);
  const p50 = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 50);
  console.log('');
  console.log(`${CLIENTS} clients × ${ROUNDS} rounds (per-client delivery latency)`);
  console.log('');
  console.log('| series | p50 | p99 | max |');
  console.log('| --- | --- | --- | --- |');
  console.log(row('app: emit → console', appSeries.emitToClient));
  console.log(row('bare: emit → client', bareSeries.emitToClient));
  console.log(row('app: request → console (whole path)', appSeries.requestToClient));
  console.log(row('bare: request → client', bareSeries.requestToClient));
  console.log(row('app: request → emit (per round)', appSeries.requestToEmit));
  console.log(row('bare: request → emit (per round)', bareSeries.requestToEmit));
  console.log(row('app: request → HTTP 201 (per round)', appSeries.requestToResponse));
  console.log(`app: slowest rounds request → HTTP 201 / → emit: ${appSeries.requestToEmit
    .map((e, i) => [appSeries.requestToResponse[i] ?? NaN, e] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([r, e]) => `${r.toFixed(0)} / ${e.toFixed(0)} ms`)
    .join(', ')}`);
  console.log('');
  console.log(`missed deliveries: app ${appSeries.missed}, bare ${bareSeries.missed}`);
  console.log(`ratio app ÷ bare, emit → client: p50 ${(p50(appSeries.emitToClient) / p50(bareSeries.emitToClient)).toFixed(2)}×, p99 ${(p99(appSeries.emitToClient) / p99(bareSeries.emitToClient)).toFixed(2)}×`);
  console.log(`ratio app ÷ bare, request → client: p50 ${(p50(appSeries.requestToClient) / p50(bareSeries.requestToClient)).toFixed(2)}×, p99 ${(p99(appSeries.requestToClient) / p99(bareSeries.requestToClient)).toFixed(2)}×`);
  const target = p99(appSeries.emitToClient) < 100 && appSeries.missed === 0;
  console.log(`target (p99 emit → console < 100 ms, nothing missed): ${target ? 'met' : 'NOT met'}`);
} finally {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  await stopAll().catch(() => undefined);
}
process.exit(0);
