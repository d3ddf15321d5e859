/**
 * Private Redis and FerretDB (MongoDB wire protocol on SQLite) on free loopback ports, for the
 * test run (test/global-setup.ts) and the benchmarks (bench/). Each server writes its log into
 * its own temp directory (removed on stop) and gets a small detached watchdog shell that holds a
 * pipe from this process and kills the server as soon as that pipe closes — whenever this
 * process goes away, even on SIGKILL or a crash.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';

/** A started server: its URL, its process id (for CPU accounting) and how to stop it. */
export interface ManagedService {
  name: string;
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

function service(m: Managed, url: string): ManagedService {
  return {
    name: m.name,
    url,
    pid: m.child.pid,
    async stop() {
      const i = managed.indexOf(m);
      if (i >= 0) managed.splice(i, 1);
      await stopManaged(m);
    },
  };
}

const STARTUP_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const HOST = '127.0.0.1';

interface Managed {
  name: string;
  child: ChildProcess;
  watchdog: ChildProcess;
  dir: string;
  logFile: string;
  exited: Promise<void>;
  hasExited: () => boolean;
}

const managed: Managed[] = [];
const spawnErrors = new WeakMap<ChildProcess, Error>();

// Last-resort cleanup if the process exits without running teardown
// (the watchdogs cover signals and hard crashes).
export function onProcessExit(): void {
  for (const m of managed) {
    try {
      m.child.kill('SIGKILL');
    } catch {
      /* ignore */
    }
    try {
      rmSync(m.dir, { recursive: true, force: true });
    } catch {
      /* ignore */
    }
  }
}

/** POSIX sh: wait for EOF on stdin (parent gone / teardown), then stop $1 and remove $2. */
const WATCHDOG_SCRIPT = [
  'while read -r _; do :; done',
  '[ -n "$1" ] || { rm -rf "$2"; exit 0; }',
  'kill -TERM "$1" 2>/dev/null',
  'i=0',
  'while kill -0 "$1" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
  'kill -KILL "$1" 2>/dev/null',
  'rm -rf "$2"',
].join('\n');

function isExecutable(p: string): boolean {
  try {
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

function goBinDir(): string | undefined {
  try {
    const gopath = execFileSync('go', ['env', 'GOPATH'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).trim();
    const first = gopath.split(delimiter)[0];
    return first ? join(first, 'bin') : undefined;
  } catch {
    return undefined;
  }
}

function findRedisServer(): string {
  const candidates = [process.env.REDIS_SERVER_BIN, findOnPath('redis-server'), '/usr/bin/redis-server', '/usr/local/bin/redis-server'];
  for (const c of candidates) if (c && isExecutable(c)) return c;
  throw new Error(
    'redis-server not found (looked on PATH, /usr/bin, /usr/local/bin). ' +
      'Install it with: bash scripts/install-services.sh ' +
      '(or set TEST_REDIS_URL to use an existing Redis).',
  );
}

function findFerretdb(): string {
  const goBin = goBinDir();
  const candidates = [
    process.env.FERRETDB_BIN,
    findOnPath('ferretdb'),
    goBin ? join(goBin, 'ferretdb') : undefined,
    join(homedir(), 'go', 'bin', 'ferretdb'),
  ];
  for (const c of candidates) if (c && isExecutable(c)) return c;
  throw new Error(
    'ferretdb not found (looked on PATH, $(go env GOPATH)/bin and ~/go/bin). ' +
      'Install it with: bash scripts/install-services.sh ' +
      '(or set TEST_MONGODB_URL to use an existing MongoDB-compatible server).',
  );
}

export function freePort(host = HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = addr && typeof addr === 'object' ? addr.port : 0;
      srv.close((err) => (err || !port ? reject(err ?? new Error('could not get a free port')) : resolve(port)));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string, lines = 40): string {
  try {
    const all = readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log output)';
  }
}

function startProcess(name: string, bin: string, args: string[], dir: string): Managed {
  const logFile = join(dir, `${name}.log`);
  // The server writes straight into the log file, so it never depends on
  // pipes into this process.
  const logFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, args, { cwd: dir, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (err) => {
      // spawn failure (ENOENT, EACCES, ...)
      exited = true;
      spawnErrors.set(child, err);
      resolve();
    });
  });

  // If the spawn failed there is no pid to watch; give the watchdog nothing to kill.
  const watchedPid = child.pid ? String(child.pid) : '';
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, `${name}-watchdog`, watchedPid, dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.on('error', () => {
    /* best effort */
  });
  watchdog.unref();
  // Do not let the idle pipe keep the event loop alive.
  (watchdog.stdin as unknown as { _handle?: { unref?: () => void } } | null)?._handle?.unref?.();
  watchdog.stdin?.on('error', () => {
    /* EPIPE if the watchdog is gone */
  });

  const m: Managed = { name, child, watchdog, dir, logFile, exited: exitedPromise, hasExited: () => exited };
  managed.push(m);
  return m;
}

async function waitReady(m: Managed, check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (m.hasExited()) {
      const spawnErr = spawnErrors.get(m.child);
      const how = spawnErr
        ? `could not be spawned: ${spawnErr.message}`
        : `exited during startup (code ${m.child.exitCode}, signal ${m.child.signalCode})`;
      throw startupError(m, how);
    }
    try {
      await check();
      return;
    } catch (err) {
      lastError = err;
    }
    await sleep(200);
  }
  const detail = lastError instanceof Error ? lastError.message : String(lastError);
  throw startupError(m, `did not accept connections within ${STARTUP_TIMEOUT_MS / 1000}s (last error: ${detail})`);
}

function startupError(m: Managed, how: string): Error {
  let hint = '';
  if (m.name === 'ferretdb') {
    hint = '\nIf the log mentions "Invalid build/version/version.txt", the ferretdb binary came from a plain ' +
      '`go install`; rebuild it with: bash scripts/install-services.sh';
  }
  return new Error(
    `[global-setup] ${m.name} ${how}\n--- last lines of ${m.logFile} ---\n${tail(m.logFile)}\n---${hint}`,
  );
}

async function pingRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {
    /* reported via the rejected promise */
  });
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`unexpected PING reply: ${pong}`);
  } finally {
    client.disconnect();
  }
}

async function pingMongo(url: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

export async function startRedis(): Promise<ManagedService> {
  const bin = findRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hotline-test-redis-'));
  const m = startProcess('redis', bin, [
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--maxmemory-policy', 'noeviction', // what BullMQ requires (also the default)
  ], dir);
  const url = `redis://${HOST}:${port}`;
  await waitReady(m, () => pingRedis(url));
  return service(m, url);
}

export async function startFerretdb(): Promise<ManagedService> {
  const bin = findFerretdb();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hotline-test-ferretdb-'));
  const dbDir = join(dir, 'db');
  mkdirSync(dbDir);
  const m = startProcess('ferretdb', bin, [
    '--handler=sqlite',
    // BEGIN IMMEDIATE: write transactions wait (busy_timeout) instead of failing with
    // SQLITE_BUSY when two connections upgrade a read lock at once under concurrent writes.
    `--sqlite-url=file:${dbDir}/?_txlock=immediate&_pragma=busy_timeout(60000)&_pragma=synchronous(off)`,
    `--state-dir=${dir}`,
    `--listen-addr=${HOST}:${port}`,
    // FERRETDB_DEBUG_ADDR (e.g. 127.0.0.1:8088) exposes FerretDB's pprof handlers for diagnosis
    `--debug-addr=${process.env.FERRETDB_DEBUG_ADDR ?? '-'}`,
    '--telemetry=disable',
    `--log-level=${process.env.FERRETDB_LOG_LEVEL ?? 'warn'}`,
  ], dir);
  const url = `mongodb://${HOST}:${port}`;
  await waitReady(m, () => pingMongo(url));
  return service(m, url);
}

async function stopManaged(m: Managed): Promise<void> {
  // Disarm the watchdog first (it would otherwise also try to kill the server).
  try {
    if (m.watchdog.pid) process.kill(-m.watchdog.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  m.watchdog.stdin?.destroy();
  if (!m.hasExited()) {
    m.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!m.hasExited()) m.child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    await m.exited;
    clearTimeout(timer);
  }
  rmSync(m.dir, { recursive: true, force: true });
}

export async function stopAll(): Promise<void> {
  const all = managed.splice(0);
  await Promise.allSettled(all.map(stopManaged));
}

