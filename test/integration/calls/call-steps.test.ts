/**
 * Every step of a call is a call event into the engine and lands on the call record (issue #4
 * items 4 and 7): each ring attempt (offered → phone alerting → its outcome) and each hold
 * (call.held / call.resumed), against the real Redis + FerretDB of the run. Events of one call may
 * be handled out of order and more than once (BullMQ): the record must come out the same.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callModel } from '../../../server/src/calls/model.js';
import { callEventJobId, type CallHeld, type CallResumed, type RingCommand } from '../../../server/src/calls/telephony-contract.js';
import type { CallOffered } from '../../../telephony/src/call-events.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { callPlayer } from '../../helpers/call-player.js';
import { until } from '../../helpers/until.js';

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });

beforeAll(async () => {
  t = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'false' } });
});

afterAll(async () => {
  await t?.close();
});

const player = callPlayer(() => t);

const offered = (callId: string): CallOffered => ({
  type: 'call.offered', callId, instance: 'tel1', line: 'main', lineName: '12345', fromNumber: '13800000077', displayName: '', toNumber: '12345', sdp: '',
  receivedAt: new Date().toISOString(),
});
const newCallId = (): string => `${randomUUID()}@127.0.0.1`;
const cdr = async (id: string) => (await t.api.get(`/api/calls/${encodeURIComponent(id)}`).set(await auth('super1'))).body as Record<string, unknown> & { rings: Array<Record<string, unknown>>; holds: Array<Record<string, unknown>> };

async function ringFor(callId: string, agentId: string): Promise<RingCommand> {
  return until(`ring of ${callId} to ${agentId}`, async () => {
    const jobs = (await player.commands.getJobs(['waiting', 'active', 'completed', 'delayed', 'prioritized'])) as Job<RingCommand>[];
    return jobs.find((j) => j.name === 'ring' && j.data.callId === callId && j.data.agentId === agentId)?.data;
  });
}

describe('ring attempts on the call record', () => {
  it('offer → alerting → no answer → next agent answers: both attempts kept, the first outcome of an attempt wins', async () => {
    const callId = newCallId();
    await player.publisher.publish(offered(callId));
    await until('queued', async () => (await cdr(callId)).outcome === 'queued');
    for (const a of ['agent1', 'agent2']) await t.api.post(`/api/agents/${a}/state`).set(await auth('super1')).send({ state: 'logged_out' });
    expect((await t.api.post('/api/agents/me/state').set(await auth('agent1')).send({ state: 'available' })).status).toBe(200);
    const r1 = await ringFor(callId, 'agent1');
    // the attempt reaches the record with its first event (no write when the ring is commanded)
    expect((await cdr(callId)).rings).toEqual([]);

    // a live call.ringing (TELEPHONY_RINGING_EVENTS) adds the attempt with its alerting time
    const alertAt = new Date(r1.offerAt + 40).toISOString();
    await player.publisher.publish({ type: 'call.ringing', callId, agentId: 'agent1', offerAt: r1.offerAt, status: 180, at: alertAt });
    await until('alerting', async () => (await cdr(callId)).rings[0]?.alertingAt === alertAt);
    const failAt = new Date(r1.offerAt + 15_000).toISOString();
    await t.app.calls.ringFailed({ type: 'call.ring-failed', callId, agentId: 'agent1', offerAt: r1.offerAt, reason: 'no-answer', status: null, at: failAt });
    // a late, different report on the same attempt (a redelivery, a crossing 486) changes nothing
    await t.app.calls.ringFailed({ type: 'call.ring-failed', callId, agentId: 'agent1', offerAt: r1.offerAt, reason: 'busy', status: 486, at: new Date(r1.offerAt + 16_000).toISOString() });

    expect((await t.api.post('/api/agents/me/state').set(await auth('agent2')).send({ state: 'available' })).status).toBe(200);
    const r2 = await ringFor(callId, 'agent2');
    const answerAt = new Date(r2.offerAt + 900).toISOString();
    // without live ringing events the alerting time comes with the outcome
    const alert2At = new Date(r2.offerAt + 30).toISOString();
    await player.publisher.publish({ type: 'call.answered', callId, agentId: 'agent2', offerAt: r2.offerAt, at: answerAt, alertingAt: alert2At });
    const rec = await until('answered', async () => {
      const r = await cdr(callId);
      return r.outcome === 'answered' ? r : null;
    });
    expect(rec.rings).toEqual([
      { agentId: 'agent1', at: new Date(r1.offerAt).toISOString(), alertingAt: alertAt, result: 'no_answer', endedAt: failAt },
      { agentId: 'agent2', at: new Date(r2.offerAt).toISOString(), alertingAt: alert2At, result: 'answered', endedAt: answerAt },
    ]);
    expect(rec).toMatchObject({ agentId: 'agent2', answeredBy: 'agent2', ringingAt: new Date(r2.offerAt).toISOString() });

    // written to MongoDB with real dates once the call is over
    await player.publisher.publish({ type: 'call.ended', callId, by: 'caller', reason: 'bye', at: new Date(r2.offerAt + 5_000).toISOString() });
    await until('ended', async () => (await cdr(callId)).outcome === 'ended');
    await t.app.calls.records.flushAll();
    const stored = await callModel(t.app.mongo).findById(callId).lean();
    expect(stored?.rings).toHaveLength(2);
    expect(stored?.rings[0]?.at).toBeInstanceOf(Date);
    expect(stored?.rings[0]?.result).toBe('no_answer');
  });
});

describe('holds on the call record', () => {
  it('call.held / call.resumed in any order and redelivered: one entry per hold, count and time on hold', async () => {
    const callId = newCallId();
    await player.publisher.publish(offered(callId));
    await until('recorded', async () => (await cdr(callId)).outcome === 'queued');
    const t0 = Date.now();
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    const held = (seq: number, ms: number, by: CallHeld['by'] = 'agent'): CallHeld => ({ type: 'call.held', callId, seq, by, at: at(ms) });
    const resumed = (seq: number, ms: number, by: CallResumed['by'] = 'agent'): CallResumed => ({ type: 'call.resumed', callId, seq, by, at: at(ms) });
    // the resume of hold 1 is handled before its hold
    await t.app.calls.resumed(resumed(1, 3_000));
    await t.app.calls.held(held(1, 1_000));
    await t.app.calls.held(held(1, 1_000)); // redelivered
    await t.app.calls.held(held(2, 5_000, 'caller'));
    await t.app.calls.resumed(resumed(2, 5_500, 'caller'));
    await t.app.calls.resumed(resumed(2, 9_999, 'caller')); // a late copy does not move the end
    const rec = await cdr(callId);
    expect(rec.holds).toEqual([
      { seq: 1, by: 'agent', at: at(1_000), endedAt: at(3_000) },
      { seq: 2, by: 'caller', at: at(5_000), endedAt: at(5_500) },
    ]);
    expect(rec).toMatchObject({ holdCount: 2, heldMs: 2_500 });
    // distinct holds of one call are distinct jobs; the same hold is one job however often published
    expect(callEventJobId(held(1, 1_000))).not.toBe(callEventJobId(held(2, 5_000)));
    expect(callEventJobId(held(1, 1_000))).toBe(callEventJobId(held(1, 1_234)));
    expect(callEventJobId(held(1, 1_000))).not.toBe(callEventJobId(resumed(1, 3_000)));
  });
});
