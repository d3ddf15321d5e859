// Telephony dies (kill -9) in the middle of an answered call and comes back: the calls of its
// previous run are ended cleanly — BYE to the caller and to the agent's phone — and the call
// record is closed (issue #4 item 9: no call record is left open forever, no phone stays in a
// dead call). The adapter runs as its own process (telephony/src/main.ts), as in production.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBindingStore } from '../../telephony/src/redis-binding-store.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';
import { until } from '../helpers/until.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const ADAPTER_IP = '127.0.0.1';
const CALLER_IP = '127.0.0.2';
const PHONE_IP = '127.0.0.3';
const REALM = 'hotline.local';
const INSTANCE = `telkill${randomBytes(3).toString('hex')}`;

let t: TestApp;
let redis: Redis;
let sipPort: number;
let child: ChildProcess | undefined;


/** Starts telephony/src/main.ts as a child process; resolves once it listens. */
function startTelephonyProcess(): Promise<ChildProcess> {
  // node itself (not the tsx CLI, which forks a grandchild that SIGKILL would not reach)
  const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'telephony/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env, REDIS_URL: process.env.TEST_REDIS_URL!, QUEUE_PREFIX: t.prefix, SIP_ADDRESS: ADAPTER_IP, SIP_PORT: String(sipPort),
      TELEPHONY_INSTANCE: INSTANCE, SIP_REALM: REALM, TELEPHONY_GATEWAYS: '[]', LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`telephony did not start: ${out}`)), 20_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('12345 telephony')) {
        clearTimeout(timer);
        resolve(p);
      }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => reject(new Error(`telephony exited ${code}: ${out}`)));
  });
}

beforeAll(async () => {
  t = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'false', SIP_REALM: REALM } });
  redis = new Redis(process.env.TEST_REDIS_URL!, { maxRetriesPerRequest: null });
  sipPort = await freeUdpPort(ADAPTER_IP);
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  redis?.disconnect();
  await t?.close();
});

describe('telephony restart', { timeout: 90_000 }, () => {
  it('kill -9 during an answered call: after restart both parties get BYE and the call record is closed by the system', async () => {
    child = await startTelephonyProcess();
    const phonePort = await freeUdpPort(PHONE_IP);
    await new RedisBindingStore(redis, `${t.prefix}:sip`).put({
      aor: `sip:agent1@${REALM}`, contact: `sip:agent1@${PHONE_IP}:${phonePort}`, expiresAt: Date.now() + 600_000,
      callId: 'restart-test', cseq: 1, source: { protocol: 'UDP', address: PHONE_IP, port: phonePort }, updatedAt: Date.now(),
    });
    const auth = { authorization: `Bearer ${await t.token('agent1')}` };
    expect((await t.api.post('/api/agents/me/state').set(auth).send({ state: 'available' })).status).toBe(200);
    const phone = runSipp({ scenario: 'phone-answer.xml', target: { address: ADAPTER_IP, port: sipPort }, localAddress: PHONE_IP, localPort: phonePort, args: ['-recv_timeout', '40000'], killAfterMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    const caller = runSipp({ scenario: 'caller-wait-bye.xml', target: { address: ADAPTER_IP, port: sipPort }, localAddress: CALLER_IP, args: ['-s', '12345', '-recv_timeout', '40000', '-timeout', '60s'], killAfterMs: 60_000 });
    const sup = { authorization: `Bearer ${await t.token('super1')}` };
    const call = await until('an answered call', async () => {
      const agent = (await t.api.get('/api/agents/me').set(auth)).body as { state: string; callId: string | null };
      return agent.state === 'on_call' ? agent.callId : null;
    });
    await until('the CDR says answered', async () => (await t.api.get(`/api/calls/${encodeURIComponent(call!)}`).set(sup)).body.outcome === 'answered');

    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = await startTelephonyProcess();

    const [cr, pr] = await Promise.all([caller, phone]);
    expect(cr.code, describeRun(cr)).toBe(0); // the caller got a BYE (and answered it)
    expect(pr.code, describeRun(pr)).toBe(0); // so did the agent's phone
    const rec = await until('the CDR closed', async () => {
      const r = (await t.api.get(`/api/calls/${encodeURIComponent(call!)}`).set(sup)).body;
      return r.outcome === 'ended' ? r : null;
    });
    expect(rec).toMatchObject({ endedBy: 'system', endReason: 'telephony-restart', answeredBy: 'agent1' });
    // nothing of the previous run is left to reconcile
    expect(await redis.hlen(`${t.prefix}:telephony:${INSTANCE}:calls`)).toBe(0);
  });
});
