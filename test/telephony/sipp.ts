// Runs the real SIPp (Debian package sip-tester) as a phone, for the telephony tests.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTelephony, type TelephonyAdapter, type TelephonyOptions } from '../../telephony/src/adapter.js';

export const scenarioDir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');

/** A UDP port free right now on `address` (the OS picks it; bind, read, close). */
export function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The adapter on a free UDP port of `address`: the port is picked, then bound by the adapter, so
 * another process may take it in between — then try another (a few times).
 */
export async function startTelephonyOnFreePort(address: string, opts: Omit<TelephonyOptions, 'address' | 'port'>): Promise<TelephonyAdapter> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort(address);
    try {
      return await startTelephony({ ...opts, address, port });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
    }
  }
}

export interface SippRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** SIPp's -trace_err file: unexpected messages, failed checks */
  errors: string;
  /** SIPp's -trace_logs file: <log> actions of the scenario */
  logs: string;
}

export interface SippOptions {
  scenario: string;
  target: { address: string; port: number };
  localAddress: string;
  /** SIPp's own SIP port; a free one is picked when absent */
  localPort?: number;
  /** number of calls (scenario runs), one at a time */
  calls?: number;
  args?: string[];
  /** hard stop for the SIPp process (ms) */
  killAfterMs?: number;
}

export async function runSipp(o: SippOptions): Promise<SippRun> {
  const dir = await mkdtemp(join(tmpdir(), 'sipp-'));
  const localPort = o.localPort ?? (await freeUdpPort(o.localAddress));
  const mediaPort = await freeUdpPort(o.localAddress);
  const errorFile = join(dir, 'errors.log');
  const logFile = join(dir, 'logs.log');
  const args = [
    `${o.target.address}:${o.target.port}`,
    '-sf', join(scenarioDir, o.scenario),
    '-t', 'u1',
    '-i', o.localAddress,
    '-p', String(localPort),
    '-mp', String(mediaPort),
    '-m', String(o.calls ?? 1),
    '-l', '1',
    '-r', '50',
    '-nostdin',
    '-recv_timeout', '5000',
    '-timeout', '15s', '-timeout_error',
    '-trace_err', '-error_file', errorFile,
    '-trace_logs', '-log_file', logFile,
    ...(o.args ?? []),
  ];
  try {
    const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-20_000)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
    const killer = setTimeout(() => child.kill('SIGKILL'), o.killAfterMs ?? 20_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    }).finally(() => clearTimeout(killer));
    const read = (f: string) => readFile(f, 'utf8').catch(() => '');
    return { code, signal, stdout, stderr, errors: await read(errorFile), logs: await read(logFile) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A readable failure message for expect(…, message) */
export function describeRun(r: SippRun): string {
  return `sipp exit ${r.code} signal ${r.signal}\nstderr: ${r.stderr}\nerrors: ${r.errors}\nlogs: ${r.logs}`;
}
