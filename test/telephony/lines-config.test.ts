// A deployment's own line table (热线归并): telephony/src/main.ts, as started in production, reads
// TELEPHONY_LINES. A SIPp caller dialling a configured number is offered on that line; 12345,
// absent from this table, is answered 404; a bad table stops the process at start-up.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_EVENTS_QUEUE, ENGINE_HEARTBEAT_KEY } from '../../server/src/calls/telephony-contract.js';
import type { CallEvent } from '../../telephony/src/call-events.js';
import { until } from '../helpers/until.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ADAPTER_IP = '127.0.0.3';
const CALLER_IP = '127.0.0.1';
const LINES = [
  { id: 'city', name: '市民热线', numbers: ['12345', '88001234'] },
  { id: 'tourism', name: '旅游投诉热线（已归并）', numbers: ['96118'], mergedFrom: '96118' },
];

let redis: Redis;
let prefix: string;
let queue: Queue<CallEvent>;
const children: ChildProcess[] = [];

function startMain(env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exited: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'telephony/src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: process.env.TEST_REDIS_URL!, QUEUE_PREFIX: prefix, SIP_ADDRESS: ADAPTER_IP, TELEPHONY_GATEWAYS: '[]', LOG_LEVEL: 'warn', TELEPHONY_INSTANCE: `lines-${prefix.slice(-6)}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; out: string }>((r) => child.once('exit', (code) => r({ code, out })));
  const ready = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`telephony did not start: ${out}`)), 30_000);
    const check = (): void => {
      if (out.includes('12345 telephony')) {
        clearTimeout(timer);
        res();
      }
    };
    child.stdout!.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      rej(new Error(`telephony exited ${code}: ${out}`));
    });
  });
  return { child, ready, exited };
}

beforeAll(async () => {
  redis = new Redis(process.env.TEST_REDIS_URL!, { maxRetriesPerRequest: null });
  prefix = `tel-lines-${randomBytes(6).toString('hex')}`;
  queue = new Queue<CallEvent>(CALL_EVENTS_QUEUE, { connection: redis, prefix });
  // the engine is not part of this test: its heartbeat says it is up, so calls are offered
  await redis.set(`${prefix}:${ENGINE_HEARTBEAT_KEY}`, String(Date.now()), 'PX', 300_000);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await redis.del(`${prefix}:${ENGINE_HEARTBEAT_KEY}`);
  redis.disconnect();
});

describe('TELEPHONY_LINES (the deployment line table, read by telephony/src/main.ts)', () => {
  it('configured numbers reach their lines; a number outside the table gets 404', async () => {
    const port = await freeUdpPort(ADAPTER_IP);
    const main = startMain({ SIP_PORT: String(port), TELEPHONY_LINES: JSON.stringify(LINES) });
    await main.ready;
    const call = (scenario: string, dialled: string) => runSipp({ scenario, target: { address: ADAPTER_IP, port }, localAddress: CALLER_IP, args: ['-s', dialled] });

    const merged = await call('inbound-ring-cancel.xml', '96118');
    expect(merged.code, describeRun(merged)).toBe(0);
    const other = await call('inbound-ring-cancel.xml', '88001234');
    expect(other.code, describeRun(other)).toBe(0);
    const offered = async () =>
      (await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'])).filter((j) => j.name === 'call.offered').map((j) => j.data);
    await until('two offered calls', async () => (await offered()).length === 2, 10_000);
    const byNumber = new Map((await offered()).map((e) => [(e as { toNumber: string }).toNumber, e]));
    expect(byNumber.get('96118')).toMatchObject({ type: 'call.offered', line: 'tourism', lineName: '旅游投诉热线（已归并）' });
    expect(byNumber.get('88001234')).toMatchObject({ type: 'call.offered', line: 'city', lineName: '市民热线' });

    // the demo's enterprise number is not in this deployment's table
    const unknown = await call('inbound-unknown-number.xml', '96150');
    expect(unknown.code, describeRun(unknown)).toBe(0);
    expect((await offered()).length).toBe(2);

    main.child.kill('SIGTERM');
    expect((await main.exited).code).toBe(0);
  }, 90_000);

  it('a bad table stops telephony at start-up with the reason', async () => {
    for (const [raw, reason] of [
      ['{"id":"x"}', /TELEPHONY_LINES: .*expected array/],
      ['not json', /TELEPHONY_LINES is not valid JSON/],
      [JSON.stringify([{ id: 'a', name: 'A', numbers: ['12345'] }, { id: 'b', name: 'B', numbers: ['12345'] }]), /12345 configured for both a and b/],
    ] as const) {
      const main = startMain({ SIP_PORT: String(await freeUdpPort(ADAPTER_IP)), TELEPHONY_LINES: raw });
      main.ready.catch(() => {});
      const { code, out } = await main.exited;
      expect(code).toBe(1);
      expect(out).toMatch(reason);
    }
  }, 90_000);
});
