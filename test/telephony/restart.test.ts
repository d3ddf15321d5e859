// Telephony dies (kill -9) in the middle of an answered call — or while an agent's phone rings —
// and comes back: the calls of its previous run are ended cleanly — BYE to the caller and to the
// agent's phone, or a final 503 to the caller's INVITE and CANCEL to the ringing phone — and the
// call record is closed (issue #4 item 9: no call record is left open forever, no phone stays in a
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
      TELEPHONY_INSTANCE: INSTANCE, SIP_REALM: REALM, TELEPHONY_GATEWAYS: '[]', LOG_LEVEL: 'warn', TELEPHONY_RINGING_EVENTS: 'true',
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

/** The telephony process of the previous test, or a new one if it is not running. */
async function ensureRunning(): Promise<void> {
  if (child && child.exitCode === null && child.signalCode === null) return;
  child = await startTelephonyProcess();
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

  it('kill -9 while the agent\'s phone rings: after restart the caller\'s INVITE gets 503 + Retry-After, the phone a CANCEL (its 487 ACKed), the record is abandoned with a callback task', async () => {
    await ensureRunning();
    const phonePort = await freeUdpPort(PHONE_IP);
    await new RedisBindingStore(redis, `${t.prefix}:sip`).removeAll(`sip:agent1@${REALM}`);
    await new RedisBindingStore(redis, `${t.prefix}:sip`).put({
      aor: `sip:agent1@${REALM}`, contact: `sip:agent1@${PHONE_IP}:${phonePort}`, expiresAt: Date.now() + 600_000,
      callId: 'restart-ring-test', cseq: 1, source: { protocol: 'UDP', address: PHONE_IP, port: phonePort }, updatedAt: Date.now(),
    });
    const sup = { authorization: `Bearer ${await t.token('super1')}` };
    await t.api.post('/api/agents/agent1/state').set(sup).send({ state: 'logged_out' });
    const auth = { authorization: `Bearer ${await t.token('agent1')}` };
    expect((await t.api.post('/api/agents/me/state').set(auth).send({ state: 'available' })).status).toBe(200);
    // the phone rings and never answers: it requires a CANCEL, answers it 200 + 487 and requires the ACK
    const phone = runSipp({ scenario: 'phone-no-answer.xml', target: { address: ADAPTER_IP, port: sipPort }, localAddress: PHONE_IP, localPort: phonePort, args: ['-recv_timeout', '40000'], killAfterMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    // the caller hears ringback and waits; the scenario requires a final 503 with Retry-After
    const caller = runSipp({ scenario: 'flow-caller-503.xml', target: { address: ADAPTER_IP, port: sipPort }, localAddress: CALLER_IP, args: ['-s', '12345', '-recv_timeout', '40000', '-timeout', '60s'], killAfterMs: 60_000 });
    const call = await until('the phone ringing', async () => {
      const agent = (await t.api.get('/api/agents/me').set(auth)).body as { offer: { callId: string } | null };
      if (!agent.offer) return null;
      const r = (await t.api.get(`/api/calls/${encodeURIComponent(agent.offer.callId)}`).set(sup)).body;
      return r.rings?.[0]?.alertingAt ? agent.offer.callId : null; // the phone's 180 reached the engine
    });
    expect(await redis.hlen(`${t.prefix}:telephony:${INSTANCE}:calls`)).toBe(1);

    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = await startTelephonyProcess();

    const [cr, pr] = await Promise.all([caller, phone]);
    expect(cr.code, describeRun(cr)).toBe(0); // 503 + Retry-After, ACKed
    expect(pr.code, describeRun(pr)).toBe(0); // CANCEL, and the ACK of its 487
    const rec = await until('the CDR closed', async () => {
      const r = (await t.api.get(`/api/calls/${encodeURIComponent(call)}`).set(sup)).body;
      return r.outcome === 'abandoned' ? r : null;
    });
    expect(rec).toMatchObject({ abandonReason: 'telephony-restart', answeredBy: null, callbackTaskId: expect.any(String) });
    expect(rec.rings).toEqual([expect.objectContaining({ agentId: 'agent1', result: 'cancelled', endedAt: expect.any(String) })]);
    const tasks = (await t.api.get('/api/callbacks').set(auth)).body.items as Array<{ callId: string }>;
    expect(tasks).toContainEqual(expect.objectContaining({ callId: call }));
    // the agent is free again, and nothing of the previous run is left to reconcile
    await until('agent1 available again', async () => ((await t.api.get('/api/agents/me').set(auth)).body.state === 'available'));
    expect(await redis.hlen(`${t.prefix}:telephony:${INSTANCE}:calls`)).toBe(0);
  });
  it('kill -9 while the caller waits in the queue (no phone ringing): after restart its INVITE gets 503 + Retry-After, the record is abandoned', async () => {
    await ensureRunning();
    const sup = { authorization: `Bearer ${await t.token('super1')}` };
    for (const a of ['agent1', 'agent2']) await t.api.post(`/api/agents/${a}/state`).set(sup).send({ state: 'logged_out' });
    const started = Date.now();
    const caller = runSipp({ scenario: 'flow-caller-503.xml', target: { address: ADAPTER_IP, port: sipPort }, localAddress: CALLER_IP, args: ['-s', '12345', '-recv_timeout', '40000', '-timeout', '60s'], killAfterMs: 60_000 });
    const call = await until('the call queued', async () => {
      const q = (await t.api.get('/api/acd/queue').set(sup)).body.items as Array<{ callId: string; enqueuedAt: string }>;
      return q.find((e) => Date.parse(e.enqueuedAt) >= started - 1_000)?.callId;
    });

    child!.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    child = await startTelephonyProcess();

    const cr = await caller;
    expect(cr.code, describeRun(cr)).toBe(0); // 503 + Retry-After, ACKed
    const rec = await until('the CDR closed', async () => {
      const r = (await t.api.get(`/api/calls/${encodeURIComponent(call)}`).set(sup)).body;
      return r.outcome === 'abandoned' ? r : null;
    });
    expect(rec).toMatchObject({ abandonReason: 'telephony-restart', rings: [], callbackTaskId: expect.any(String) });
    expect((await t.api.get('/api/acd/queue').set(sup)).body.items).toEqual([]);
    expect(await redis.hlen(`${t.prefix}:telephony:${INSTANCE}:calls`)).toBe(0);
  });
});
