// The engine goes away for real (issue #4 item 9): its process closes, so its heartbeat key in
// Redis is no longer renewed and expires; from then on telephony answers a new INVITE with 503 and
// a Retry-After instead of letting it ring forever. No injected health function: the adapter's
// own heartbeat check (requireEngineHeartbeat, the default) against the engine's own key.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_HEARTBEAT_KEY } from '../../server/src/calls/telephony-contract.js';
import type { TelephonyAdapter } from '../../telephony/src/adapter.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { describeRun, runSipp, startTelephonyOnFreePort } from './sipp.js';

const ADAPTER_IP = '127.0.0.1';
const CALLER_IP = '127.0.0.2';
/** the engine's heartbeat here: renewed every second, expiring after three (ENGINE_HEARTBEAT_MS) */
const HEARTBEAT_MS = 1_000;
const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_MS;

let t: TestApp;
let tel: TelephonyAdapter;
let redis: Redis;
let engineStopped = false;

beforeAll(async () => {
  t = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'false', ENGINE_HEARTBEAT_MS: String(HEARTBEAT_MS) } });
  redis = new Redis(process.env.TEST_REDIS_URL!, { maxRetriesPerRequest: null });
  tel = await startTelephonyOnFreePort(ADAPTER_IP, { realm: 'hotline.local', instance: 'teldown', redisUrl: process.env.TEST_REDIS_URL!, queuePrefix: t.prefix, retryAfterSeconds: 20, publishTimeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  await tel?.stop();
  redis?.disconnect();
  // the app was closed by the test: only its database is left to drop
  if (engineStopped) Object.assign(t.app, { close: async () => {} });
  await t?.close();
});

describe('engine down: the real heartbeat', { timeout: 90_000 }, () => {
  it('while the engine runs a call rings; once it stopped and its heartbeat expired, a new INVITE gets 503 + Retry-After', async () => {
    const key = `${t.prefix}:${ENGINE_HEARTBEAT_KEY}`;
    expect(await redis.exists(key)).toBe(1);
    // engine up: the call is offered and rings (180), then the caller gives up (487)
    const up = await runSipp({ scenario: 'caller-cancel-after.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: CALLER_IP, args: ['-s', '12345', '-d', '300'] });
    expect(up.code, describeRun(up)).toBe(0);
    expect(tel.relay.stats.offered).toBe(1);

    // the engine stops: nothing renews its heartbeat any more
    engineStopped = true;
    await t.app.close();
    const stoppedAt = Date.now(); // the last renewal was at most one interval before this
    await until('the heartbeat expired', async () => (await redis.exists(key)) === 0, HEARTBEAT_TTL_MS + 5_000);
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(HEARTBEAT_TTL_MS + 1_000);

    const unavailableBefore = tel.relay.stats.unavailable;
    const publishFailuresBefore = tel.relay.stats.publishFailures;
    const asked = Date.now();
    // the scenario requires 100, then 503 with a numeric Retry-After and a To tag, then ACKs
    const down = await runSipp({ scenario: 'inbound-unavailable.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: CALLER_IP, args: ['-s', '12345'] });
    expect(down.code, describeRun(down)).toBe(0);
    expect(down.logs).toContain('retry-after=20');
    // answered at once from the heartbeat (no publish attempted, no publish timeout waited: that
    // would take publishTimeoutMs, 10 s here; SIPp's own start is inside this bound)
    expect(Date.now() - asked).toBeLessThan(4_000);
    expect(tel.relay.stats.unavailable).toBe(unavailableBefore + 1);
    expect(tel.relay.stats.publishFailures).toBe(publishFailuresBefore);
    expect(tel.relay.stats.offered).toBe(1);
    expect(tel.relay.activeCalls).toHaveLength(0);
  });
});
