// The call flow around the queue with real SIP peers (issue #4 items 3, 4, 7, 10): a caller who
// hangs up while queued (no phone ringing), the maximum wait ending a call into the callback list,
// the engine withdrawing a ring (stop-ring → CANCEL to the phone), and hold/resume started from
// the agent's phone — each asserted on the SIP side (strict SIPp scenarios) and on ours (the call
// record through GET /api/calls/:id, the callback list, telephony's counters).
// Hosts: adapter 127.0.0.1, caller 127.0.0.2, phone 127.0.0.3 (sip defect 1: never our own host).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TelephonyAdapter } from '../../telephony/src/adapter.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { describeRun, freeUdpPort, runSipp, startTelephonyOnFreePort, type SippRun } from './sipp.js';

const ADAPTER_IP = '127.0.0.1';
const CALLER_IP = '127.0.0.2';
const PHONE1_IP = '127.0.0.3';
const REALM = 'hotline.local';
/** long, so a CANCEL within a few seconds can only be the engine's stop-ring */
const RING_TIMEOUT_MS = 20_000;

let t: TestApp;
let tel: TelephonyAdapter;

interface Ring { agentId: string; at: string; alertingAt: string | null; result: string | null; endedAt: string | null }
interface Hold { seq: number; by: string; at: string; endedAt: string | null }
type Cdr = Record<string, unknown> & { outcome: string; rings: Ring[]; holds: Hold[] };

const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const cdr = async (id: string) => (await t.api.get(`/api/calls/${encodeURIComponent(id)}`).set(await auth('super1'))).body as Cdr;
const ms = (iso: unknown) => Date.parse(String(iso));

async function setState(agent: string, state: string): Promise<void> {
  const r = await t.api.post('/api/agents/me/state').set(await auth(agent)).send({ state });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
}

async function phone(agent: string, ip: string, scenario: string, args: string[] = []): Promise<{ run: Promise<SippRun> }> {
  const port = await freeUdpPort(ip);
  await tel.bindings.put({
    aor: `sip:${agent}@${REALM}`, contact: `sip:${agent}@${ip}:${port}`, expiresAt: Date.now() + 600_000,
    callId: randomBytes(6).toString('hex'), cseq: 1, source: { protocol: 'UDP', address: ip, port }, updatedAt: Date.now(),
  });
  const run = runSipp({ scenario, target: { address: ADAPTER_IP, port: tel.port }, localAddress: ip, localPort: port, args: ['-recv_timeout', '30000', ...args], killAfterMs: 45_000 });
  await new Promise((r) => setTimeout(r, 300)); // SIPp binds its socket
  return { run };
}

function caller(scenario: string, args: string[] = [], service = '12345'): Promise<SippRun> {
  return runSipp({ scenario, target: { address: ADAPTER_IP, port: tel.port }, localAddress: CALLER_IP, args: ['-s', service, '-recv_timeout', '30000', '-timeout', '40s', ...args], killAfterMs: 45_000 });
}

async function callFrom(number: string, after: number): Promise<string> {
  return until(`a call from ${number}`, async () => tel.relay.activeCalls.find((x) => x.fromNumber === number && x.receivedAt >= after)?.callId);
}

async function callbackTasks(agent: string): Promise<Array<{ callId: string; callerNumber: string; reason?: string }>> {
  return (await t.api.get('/api/callbacks').set(await auth(agent))).body.items;
}

beforeAll(async () => {
  t = await startTestApp({
    env: {
      RING_TIMEOUT_MS: String(RING_TIMEOUT_MS), ACD_TICK_MS: '300', ACD_PRESENCE_CHECK: 'false', SIP_REALM: REALM,
      // 万人助万企 (dialled 96150) goes to its own group, which nobody staffs here: after 1 s a
      // caller there becomes a callback task
      ACD_GROUPS: JSON.stringify({ lines: { enterprise: { group: 'ent' } }, overflow: { ent: { maxWaitSeconds: 1, callbackAfterSeconds: 1 } } }),
    },
  });
  tel = await startTelephonyOnFreePort(ADAPTER_IP, { realm: REALM, instance: 'telflow', redisUrl: process.env.TEST_REDIS_URL!, queuePrefix: t.prefix, maxRingMs: 60_000, ringingEvents: true }); // call.ringing: the tests see the phone alerting on the record
}, 60_000);

afterAll(async () => {
  await tel?.stop();
  await t?.close();
});

beforeEach(async () => {
  for (const a of ['agent1', 'agent2']) await t.api.post(`/api/agents/${a}/state`).set(await auth('super1')).send({ state: 'logged_out' });
});

describe('queue flow with real SIP peers', { timeout: 90_000 }, () => {
  it('caller hangs up while QUEUED (nobody available, no phone ringing): 487 to the caller, record abandoned with its times, a callback task for the agents', async () => {
    const cancelledBefore = tel.relay.stats.cancelled;
    const started = Date.now();
    const c = caller('caller-cancel-after.xml', ['-d', '2500']);
    const callId = await callFrom('13800138000', started);
    // it really waits in the ACD queue, on no phone
    await until('queued in the ACD', async () => (await t.api.get('/api/acd/queue').set(await auth('agent1'))).body.items.some((e: { callId: string }) => e.callId === callId));
    const waiting = await cdr(callId);
    expect(waiting).toMatchObject({ outcome: 'queued', agentId: null, rings: [] });

    const cr = await c;
    expect(cr.code, describeRun(cr)).toBe(0); // 200 to its CANCEL, 487 to its INVITE (required by the scenario)
    expect(tel.relay.stats.cancelled).toBe(cancelledBefore + 1);
    expect(tel.relay.activeCalls.find((x) => x.callId === callId)).toBeUndefined();

    const rec = await until('abandoned', async () => {
      const r = await cdr(callId);
      return r.outcome === 'abandoned' ? r : null;
    });
    expect(rec).toMatchObject({ abandonReason: 'caller-cancel', answeredBy: null, agentId: null, ringingAt: null, answeredAt: null, rings: [], line: 'main', fromNumber: '13800138000' });
    expect(ms(rec.queuedAt)).toBeGreaterThanOrEqual(ms(rec.offeredAt));
    expect(ms(rec.abandonedAt) - ms(rec.queuedAt)).toBeGreaterThanOrEqual(2_000); // waited the 2.5 s pause
    expect(rec.endedAt).toBe(rec.abandonedAt);
    expect(rec.waitedMs).toBeGreaterThanOrEqual(2_000);
    expect(rec.callbackTaskId).toEqual(expect.any(String));
    // 未接回拨: visible to an agent
    expect(await callbackTasks('agent1')).toContainEqual(expect.objectContaining({ callId, callerNumber: '13800138000', id: rec.callbackTaskId }));
    expect((await t.api.get('/api/acd/queue').set(await auth('agent1'))).body.items).toEqual([]);
  });

  it('maximum wait reached: the caller gets 480, the record is abandoned (max-wait-callback) and a callback task exists', async () => {
    const started = Date.now();
    const c = caller('flow-caller-480.xml', [], '96150');
    const callId = await callFrom('13800138000', started);
    const cr = await c;
    expect(cr.code, describeRun(cr)).toBe(0); // 480 (required by the scenario), ACKed
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(tel.relay.activeCalls.find((x) => x.callId === callId)).toBeUndefined();
    const rec = await until('abandoned', async () => {
      const r = await cdr(callId);
      return r.outcome === 'abandoned' ? r : null;
    });
    expect(rec).toMatchObject({ line: 'enterprise', abandonReason: 'max-wait-callback', answeredBy: null, rings: [] });
    expect(rec.waitedMs).toBeGreaterThanOrEqual(1_000);
    expect(rec.callbackTaskId).toEqual(expect.any(String));
    expect(await callbackTasks('agent1')).toContainEqual(expect.objectContaining({ callId, callerNumber: '13800138000', id: rec.callbackTaskId }));
  });

  it('stop-ring: the agent goes on break while the phone rings; the phone gets CANCEL at once, the call waits on, its ring is on the record as cancelled', async () => {
    await setState('agent1', 'available');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-no-answer.xml'); // requires the CANCEL (and ACKs our ACK of its 487)
    const started = Date.now();
    // the caller holds on for 8 s after ringback, then hangs up
    const c = caller('caller-cancel-after.xml', ['-d', '8000']);
    const callId = await callFrom('13800138000', started);
    const alerting = await until('the phone alerting (call.ringing on the record)', async () => {
      const r = await cdr(callId);
      return r.rings?.[0]?.alertingAt ? r : null;
    });
    expect(alerting.rings).toEqual([expect.objectContaining({ agentId: 'agent1', result: null, endedAt: null })]);
    expect(ms(alerting.rings[0]!.alertingAt)).toBeGreaterThanOrEqual(ms(alerting.rings[0]!.at));

    const breakAt = Date.now();
    await setState('agent1', 'break');
    const pr = await p1.run;
    const phoneDone = Date.now();
    expect(pr.code, describeRun(pr)).toBe(0);
    // long before the 20 s ring timeout and before the caller's own CANCEL (8 s after 180)
    expect(phoneDone - breakAt).toBeLessThan(5_000);
    // the call is back in the queue, still up for the caller
    expect(tel.relay.activeCalls.find((x) => x.callId === callId)?.state).toBe('ringing');
    const back = await cdr(callId);
    expect(back.outcome).toBe('queued');
    expect(back.rings).toEqual([expect.objectContaining({ agentId: 'agent1', result: 'cancelled', endedAt: expect.any(String) })]);

    const cr = await c;
    expect(cr.code, describeRun(cr)).toBe(0);
    const rec = await until('abandoned', async () => {
      const r = await cdr(callId);
      return r.outcome === 'abandoned' ? r : null;
    });
    expect(rec).toMatchObject({ abandonReason: 'caller-cancel', answeredBy: null });
    expect(rec.rings).toHaveLength(1);
    expect(rec.rings[0]).toMatchObject({ agentId: 'agent1', result: 'cancelled' });
  });

  it('hold from the agent\'s phone: its re-INVITE (a=sendonly) reaches the caller, the resume (a=sendrecv) too; call.held/call.resumed on the record', async () => {
    await setState('agent1', 'available');
    const p1 = await phone('agent1', PHONE1_IP, 'flow-phone-hold.xml');
    const started = Date.now();
    const c = caller('flow-caller-held-bye.xml', ['-d', '500']);
    const callId = await callFrom('13800138000', started);
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    expect(cr.logs).toContain('reinvite-1-offer=a=sendonly');
    expect(cr.logs).toContain('reinvite-2-offer=a=sendrecv');
    expect(pr.logs).toContain('reinvite-2-answer=a=recvonly');
    const rec = await until('ended with its hold', async () => {
      const r = await cdr(callId);
      return r.outcome === 'ended' && r.holds.length === 1 && r.holds[0]!.endedAt ? r : null;
    });
    expect(rec).toMatchObject({ answeredBy: 'agent1', endedBy: 'caller', holdCount: 1 });
    expect(rec.holds[0]).toMatchObject({ seq: 1, by: 'agent' });
    expect(ms(rec.holds[0]!.at)).toBeGreaterThanOrEqual(ms(rec.answeredAt));
    expect(ms(rec.holds[0]!.endedAt)).toBeGreaterThan(ms(rec.holds[0]!.at));
    expect(rec.heldMs).toBeGreaterThanOrEqual(400); // the phone resumed 0.6 s after its hold
    expect(rec.rings).toEqual([expect.objectContaining({ agentId: 'agent1', result: 'answered', alertingAt: expect.any(String) })]);
  });

  it('both sides hold: the phone\'s hold and resume are its own, the caller\'s hold lasts until the caller resumes', async () => {
    await setState('agent1', 'available');
    const p1 = await phone('agent1', PHONE1_IP, 'flow-phone-hold-both.xml');
    const started = Date.now();
    const c = caller('flow-caller-hold-both.xml');
    const callId = await callFrom('13800138000', started);
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    const rec = await until('ended with both holds closed', async () => {
      const r = await cdr(callId);
      return r.outcome === 'ended' && r.holds.length === 2 && r.holds.every((h) => h.endedAt) ? r : null;
    });
    expect(rec.holdCount).toBe(2);
    const [callerHold, phoneHold] = rec.holds;
    expect(callerHold).toMatchObject({ seq: 1, by: 'caller' });
    expect(phoneHold).toMatchObject({ seq: 2, by: 'agent' });
    // the phone's hold sits inside the caller's: its resume did not end the caller's hold
    expect(ms(phoneHold!.at)).toBeGreaterThanOrEqual(ms(callerHold!.at));
    expect(ms(phoneHold!.endedAt)).toBeLessThanOrEqual(ms(callerHold!.endedAt));
    expect(ms(callerHold!.endedAt) - ms(phoneHold!.endedAt)).toBeGreaterThanOrEqual(600); // the caller resumed 0.8 s later
  });
});
