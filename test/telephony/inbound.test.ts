// Inbound calls against the real SIPp (sip-tester) as the caller and the real Redis of the test
// run (TEST_REDIS_URL): the jobs the adapter publishes are read back from BullMQ.
// The adapter listens on 127.0.0.3 and SIPp on 127.0.0.1 (distinct hosts: TELEPHONY-NOTES defect 1).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { callEventJobId, CALL_EVENTS_QUEUE, type CallAbandoned, type CallEvent, type CallEventPublisher, type CallOffered } from '../../telephony/src/call-events.js';
import { startTelephony, type TelephonyAdapter as InboundAdapter, type TelephonyOptions as InboundOptions } from '../../telephony/src/adapter.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const ADAPTER_IP = '127.0.0.3';
const CALLER_IP = '127.0.0.1';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let redis: Redis;
let prefix: string;
let queue: Queue<CallEvent>;
const adapters: InboundAdapter[] = [];

async function start(extra: Partial<InboundOptions> = {}): Promise<InboundAdapter> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort(ADAPTER_IP);
    try {
      const a = await startTelephony({ address: ADAPTER_IP, port, realm: 'test.local', instance: `inb-${port}`, redisUrl, queuePrefix: prefix, requireEngineHeartbeat: false, publishTimeoutMs: 1_000, ...extra });
      adapters.push(a);
      return a;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
    }
  }
}

function call(adapter: InboundAdapter, scenario: string, dialled: string, args: string[] = []) {
  return runSipp({ scenario, target: { address: adapter.address, port: adapter.port }, localAddress: CALLER_IP, args: ['-s', dialled, ...args] });
}

async function jobs(): Promise<Array<{ id: string | undefined; name: string; data: CallEvent }>> {
  const list = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed']);
  return list.map((j) => ({ id: j.id, name: j.name, data: j.data }));
}

const offered = async () => (await jobs()).filter((j) => j.name === 'call.offered');
const abandoned = async () => (await jobs()).filter((j) => j.name === 'call.abandoned');

/** a TCP port nothing listens on */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  redis.disconnect();
});

beforeEach(() => {
  prefix = `tel-inbound-${randomBytes(6).toString('hex')}`;
  queue = new Queue<CallEvent>(CALL_EVENTS_QUEUE, { connection: redis, prefix });
});

afterEach(async () => {
  for (const a of adapters.splice(0)) await a.stop();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
});

describe('inbound INVITE (SIPp caller, BullMQ in the real Redis)', () => {
  it('INVITE to 12345: 100, 180 and one call.offered with line, numbers, UTF-8 display name and SDP', async () => {
    const a = await start();
    const run = await call(a, 'inbound-ring-cancel.xml', '12345');
    expect(run.code, describeRun(run)).toBe(0);

    const [job, ...more] = await offered();
    expect(more).toHaveLength(0);
    const ev = job!.data as CallOffered;
    expect(job!.id).toBe(callEventJobId(ev));
    expect(ev).toMatchObject({
      type: 'call.offered',
      line: 'main',
      fromNumber: '13800138000',
      displayName: '市民张三',
      toNumber: '12345',
    });
    expect(ev.callId).toMatch(/@127\.0\.0\.1$/);
    expect(ev.sdp).toMatch(/^v=0\r?\n/);
    expect(ev.sdp).toContain(`c=IN IP4 ${CALLER_IP}`);
    expect(ev.sdp).toMatch(/m=audio \d+ RTP\/AVP 8 101/);
    expect(Math.abs(Date.parse(ev.receivedAt) - Date.now())).toBeLessThan(30_000);
    expect(a.relay.stats).toMatchObject({ invites: 1, offered: 1, cancelled: 1 });
  });

  it('a dialled enterprise number maps to its line', async () => {
    const a = await start();
    const run = await call(a, 'inbound-ring-cancel.xml', '96150');
    expect(run.code, describeRun(run)).toBe(0);
    const [job] = await offered();
    expect(job!.data).toMatchObject({ line: 'enterprise', toNumber: '96150' });
  });

  it('a retransmitted INVITE publishes once; a merged one (new branch, same Call-ID) and a late copy after the call ended get 482', async () => {
    const a = await start();
    const run = await call(a, 'inbound-retransmit.xml', '12345', ['-nr']);
    expect(run.code, describeRun(run)).toBe(0);
    expect(await offered()).toHaveLength(1);
    // the same-branch copy was absorbed by the transaction layer; the -b and -c copies got 482
    expect(a.relay.stats).toMatchObject({ invites: 3, offered: 1, cancelled: 1, ringTimeouts: 0 });
    expect(a.relay.activeCalls).toHaveLength(0);
  });

  it('the same INVITE reaching a second adapter instance (failover) is stored once: job id from the Call-ID', async () => {
    const a = await start();
    const b = await start();
    const cid = ['-cid_str', `failover-${prefix}-%u@caller`];
    const r1 = await call(a, 'inbound-ring-cancel.xml', '12345', cid);
    expect(r1.code, describeRun(r1)).toBe(0);
    const r2 = await call(b, 'inbound-ring-cancel.xml', '12345', cid);
    expect(r2.code, describeRun(r2)).toBe(0);
    expect(a.relay.stats.offered + b.relay.stats.offered).toBe(2);
    const list = await offered();
    expect(list).toHaveLength(1);
    expect(list[0]!.data.callId).toBe(`failover-${prefix}-1@caller`);
  });

  it('INVITE to an unknown number: 404 only, nothing published', async () => {
    const a = await start();
    const run = await call(a, 'inbound-unknown-number.xml', '99999');
    expect(run.code, describeRun(run)).toBe(0);
    expect(await jobs()).toHaveLength(0);
    expect(a.relay.stats.rejectedUnknownNumber).toBe(1);
  });

  it('caller CANCELs while ringing: 200 to the CANCEL, 487 to the INVITE, call.abandoned', async () => {
    const a = await start();
    const run = await call(a, 'inbound-ring-cancel.xml', '12345');
    expect(run.code, describeRun(run)).toBe(0);
    const [off] = await offered();
    await vi.waitFor(async () => expect(await abandoned()).toHaveLength(1), { timeout: 5_000 });
    const [ab] = await abandoned();
    expect(ab!.data as CallAbandoned).toMatchObject({
      type: 'call.abandoned', callId: off!.data.callId, line: 'main', reason: 'caller-cancel', finalStatus: 487,
    });
    expect(ab!.id).toBe(callEventJobId(ab!.data));
    expect(a.relay.activeCalls).toHaveLength(0);
  });

  it('Redis unreachable: 100 then 503 with Retry-After, not ringing', async () => {
    const a = await start({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, retryAfterSeconds: 17 });
    const t0 = Date.now();
    const run = await call(a, 'inbound-unavailable.xml', '12345');
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('retry-after=17');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(a.relay.stats).toMatchObject({ unavailable: 1, publishFailures: 1, offered: 0 });
    expect(a.relay.activeCalls).toHaveLength(0);
    expect(await jobs()).toHaveLength(0); // (the test's own Redis: nothing arrived there either)
  });

  it('engine marked down by the health check: 503 with Retry-After, nothing published', async () => {
    const a = await start({ engineHealthy: () => false });
    const run = await call(a, 'inbound-unavailable.xml', '12345');
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('retry-after=30');
    expect(await jobs()).toHaveLength(0);
  });

  it('nobody picks the call up within the maximum ring time: 480 and call.abandoned', async () => {
    const a = await start({ maxRingMs: 1_500 });
    const t0 = Date.now();
    const run = await call(a, 'inbound-ring-timeout.xml', '12345');
    expect(run.code, describeRun(run)).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
    await vi.waitFor(async () => expect(await abandoned()).toHaveLength(1), { timeout: 5_000 });
    const [off] = await offered();
    const [ab] = await abandoned();
    expect(ab!.data).toMatchObject({ callId: off!.data.callId, reason: 'ring-timeout', finalStatus: 480 });
    expect(a.relay.stats.ringTimeouts).toBe(1);
    expect(a.relay.activeCalls).toHaveLength(0);
  });

  it('BYE for an unknown dialog: 481; unknown method: 501 with Allow', async () => {
    const a = await start();
    const bye = await call(a, 'inbound-bye-unknown.xml', '12345');
    expect(bye.code, describeRun(bye)).toBe(0);
    const foo = await call(a, 'inbound-unknown-method.xml', '12345');
    expect(foo.code, describeRun(foo)).toBe(0);
    expect(await jobs()).toHaveLength(0);
  });
});

/** A publisher whose call.offered confirmations the test releases by hand. */
function heldPublisher() {
  const events: CallEvent[] = [];
  const held: Array<() => void> = [];
  const publisher: CallEventPublisher = {
    async publish(ev) {
      if (ev.type === 'call.offered') await new Promise<void>((r) => held.push(r));
      events.push(ev);
    },
    async close() {},
  };
  return { publisher, events, held };
}

describe('inbound INVITE while call.offered is not yet confirmed (SIPp caller, held publisher)', () => {
  it('publish not confirmed in time: 503 Retry-After; when it lands later, call.abandoned follows', async () => {
    const h = heldPublisher();
    const a = await start({ publisher: h.publisher, publishTimeoutMs: 300, retryAfterSeconds: 9 });
    const run = await call(a, 'inbound-unavailable.xml', '12345');
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('retry-after=9');
    expect(h.held).toHaveLength(1);
    h.held[0]!(); // Redis answers after all: the engine now has a call.offered for a rejected call
    await vi.waitFor(() => expect(h.events.map((e) => e.type)).toEqual(['call.offered', 'call.abandoned']));
    expect(h.events[1]).toMatchObject({ reason: 'rejected', finalStatus: 503 });
  });

  it('CANCEL before the 180 (publish in flight): 487 and no 180; call.abandoned after call.offered', async () => {
    const h = heldPublisher();
    const a = await start({ publisher: h.publisher, publishTimeoutMs: 5_000 });
    const running = call(a, 'inbound-cancel-early.xml', '12345');
    await vi.waitFor(() => expect(h.held).toHaveLength(1));
    const run = await running;
    expect(run.code, describeRun(run)).toBe(0);
    expect(h.events).toHaveLength(0);
    h.held[0]!();
    await vi.waitFor(() => expect(h.events.map((e) => e.type)).toEqual(['call.offered', 'call.abandoned']));
    expect(h.events[1]).toMatchObject({ reason: 'caller-cancel', finalStatus: 487 });
    expect(a.relay.stats).toMatchObject({ cancelled: 1, offered: 1, unavailable: 0 });
    expect(a.relay.activeCalls).toHaveLength(0);
  });
});
