/**
 * The engine side of calls against the real FerretDB + Redis of the run: telephony's publisher
 * puts `call.offered` / `call.abandoned` on `call-events`; the engine records the CDR, queues the
 * call in the ACD, and commands `ring` on `telephony-commands` when an agent becomes available.
 */
import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_EVENTS_QUEUE, commandsQueueName, type RingCommand } from '../../../server/src/calls/telephony-contract.js';
import { callModel } from '../../../server/src/calls/model.js';
import { createBullmqPublisher, type CallAbandoned, type CallEventPublisher, type CallOffered } from '../../../telephony/src/call-events.js';
import { serviceUrls, startTestApp, type TestApp } from '../../helpers/app.js';
import { until } from '../../helpers/until.js';

let t: TestApp;
let publisher: CallEventPublisher;
let redis: Redis;
let commands: Queue;
let events: Queue;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });

beforeAll(async () => {
  t = await startTestApp();
  redis = new Redis(serviceUrls().redis, { maxRetriesPerRequest: null });
  await redis.ping(); // the publisher fails fast unless its connection is ready
  publisher = createBullmqPublisher({ redis, prefix: t.prefix });
  commands = new Queue(commandsQueueName('tel1'), { connection: redis, prefix: t.prefix });
  events = new Queue(CALL_EVENTS_QUEUE, { connection: redis, prefix: t.prefix });
});

afterAll(async () => {
  await publisher?.close();
  await commands?.close();
  await events?.close();
  await t?.close();
  redis?.disconnect();
});


const SDP = 'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const offered = (callId: string, fromNumber: string, o: Partial<CallOffered> = {}): CallOffered => ({
  type: 'call.offered',
  callId,
  instance: 'tel1',
  line: 'main',
  lineName: '12345政务服务便民热线',
  fromNumber,
  displayName: '',
  toNumber: '12345',
  sdp: SDP,
  receivedAt: new Date().toISOString(),
  ...o,
});
const abandoned = (callId: string): CallAbandoned => ({ type: 'call.abandoned', callId, line: 'main', reason: 'caller-cancel', finalStatus: 487, at: new Date().toISOString() });
const newCallId = (): string => `${randomUUID()}@127.0.0.1`;

async function cdr(callId: string, user = 'agent1') {
  const res = await t.api.get(`/api/calls/${encodeURIComponent(callId)}`).set(await auth(user));
  return res.status === 200 ? (res.body as Record<string, unknown>) : null;
}
async function queueIds(): Promise<string[]> {
  const res = await t.api.get('/api/acd/queue').set(await auth('super1'));
  expect(res.status).toBe(200);
  return (res.body.items as { callId: string }[]).map((i) => i.callId);
}
async function ringJobs(): Promise<Job<RingCommand>[]> {
  const jobs = (await commands.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])) as Job<RingCommand>[];
  return jobs.filter((j) => j.name === 'ring');
}

const c1 = newCallId();

describe('call.offered → CDR and ACD queue → ring', () => {
  it('an offered call is recorded and queued with its position', async () => {
    await publisher.publish(offered(c1, '13800000001'));
    const rec = await until('CDR of c1', () => cdr(c1));
    expect(rec).toMatchObject({ id: c1, line: 'main', fromNumber: '13800000001', toNumber: '12345', outcome: 'queued', agentId: null, abandonedAt: null });
    expect(rec.queuedAt).toEqual(expect.any(String));
    expect(JSON.stringify(rec)).not.toContain('m=audio'); // SDP is not part of the API record
    const q = await t.api.get('/api/acd/queue').set(await auth('agent1'));
    expect(q.status).toBe(200);
    expect(q.body.items).toEqual([expect.objectContaining({ callId: c1, position: 1, callerNumber: '13800000001', group: 'main' })]);
  });

  it('an agent who sets itself available gets a ring command for the call on the telephony instance holding it', async () => {
    const me = await t.api.get('/api/agents/me').set(await auth('agent1'));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ agentId: 'agent1', state: 'logged_out', offer: null });
    const res = await t.api.post('/api/agents/me/state').set(await auth('agent1')).send({ state: 'available' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ agentId: 'agent1', state: 'available', offer: { callId: c1 } });
    const rings = await until('ring job', async () => {
      const js = (await ringJobs()).filter((j) => j.data.callId === c1);
      return js.length > 0 ? js : null;
    });
    expect(rings).toHaveLength(1);
    expect(rings[0]!.data).toEqual({ callId: c1, agentId: 'agent1', sipUser: 'agent1', offerAt: expect.any(Number), ringTimeoutMs: 15_000 });
    expect(rings[0]!.id).toMatch(/^ring-[0-9a-f]{32}-[0-9a-f]{12}-\d+$/);
    expect(await queueIds()).toEqual([]); // ringing calls are no longer waiting
    expect(await cdr(c1)).toMatchObject({ outcome: 'queued', agentId: 'agent1', ringingAt: expect.any(String) });
  });
});

describe('call.abandoned → CDR abandoned + callback task (未接回拨)', () => {
  it('a caller who hangs up while queued becomes a callback task', async () => {
    const c2 = newCallId();
    await publisher.publish(offered(c2, '13800000002')); // agent1 is busy ringing; agent2 logged out
    await until('c2 queued', async () => (await queueIds()).includes(c2));
    await publisher.publish(abandoned(c2));
    const rec = await until('c2 abandoned', async () => {
      const r = await cdr(c2);
      return r?.outcome === 'abandoned' ? r : null;
    });
    expect(rec).toMatchObject({ abandonReason: 'caller-cancel', callbackTaskId: `cb-${c2}`, waitedMs: expect.any(Number) });
    expect(rec.abandonedAt).toEqual(expect.any(String));
    expect(await queueIds()).not.toContain(c2);
    const cb = await t.api.get('/api/callbacks').set(await auth('window1'));
    expect(cb.status).toBe(200);
    expect(cb.body.items).toEqual([expect.objectContaining({ id: `cb-${c2}`, callId: c2, callerNumber: '13800000002', reason: 'abandoned', status: 'open', line: 'main' })]);
    // no ring was ever sent for it
    expect((await ringJobs()).filter((j) => j.data.callId === c2)).toEqual([]);
  });
});

describe('at-least-once delivery', () => {
  it('the same call.offered delivered twice (republished, and redelivered under another job id) makes one CDR and one queue entry', async () => {
    const c3 = newCallId();
    const ev = offered(c3, '13800000003');
    await publisher.publish(ev);
    await publisher.publish(ev); // same job id: BullMQ keeps one
    const again = await events.add('call.offered', ev, { jobId: `redelivered-${randomUUID()}` });
    await until('redelivered job done', async () => (await again.getState()) === 'completed');
    await until('CDR of c3', () => cdr(c3));
    expect((await t.app.calls.records.get(c3))?.outcome).toBe('queued');
    expect((await queueIds()).filter((id) => id === c3)).toHaveLength(1);
    // once the call is over its record is written to MongoDB: one document
    await publisher.publish(abandoned(c3));
    await until('c3 abandoned', async () => (await t.app.calls.records.get(c3))?.outcome === 'abandoned');
    await t.app.calls.records.flushAll();
    const Call = callModel(t.app.mongo);
    expect(await Call.countDocuments({ _id: c3 })).toBe(1);
  });

  it('a malformed job fails at once without retries', async () => {
    const bad = await events.add('call.offered', { type: 'call.offered', callId: 42 } as unknown as CallOffered, { attempts: 5 });
    await until('malformed job failed', async () => (await bad.getState()) === 'failed');
    const job = await events.getJob(bad.id!);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('malformed call event');
  });
});

describe('agent state rules and roles', () => {
  it('agents cannot set on_call themselves; a supervisor can force a state; unknown agents are 404', async () => {
    const own = await t.api.post('/api/agents/me/state').set(await auth('agent2')).send({ state: 'on_call' });
    expect(own.status).toBe(400);
    expect(own.body.error.code).toBe('VALIDATION_FAILED');
    const forced = await t.api.post('/api/agents/agent2/state').set(await auth('super1')).send({ state: 'break' });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ agentId: 'agent2', state: 'break' });
    // wrap_up → available is allowed for the agent; break → wrap_up too (pure rules)
    expect((await t.api.post('/api/agents/me/state').set(await auth('agent2')).send({ state: 'available' })).body.state).toBe('available');
    expect((await t.api.post('/api/agents/nanguan1/state').set(await auth('super1')).send({ state: 'break' })).status).toBe(404);
    expect((await t.api.post('/api/agents/nobody99/state').set(await auth('super1')).send({ state: 'break' })).status).toBe(404);
  });

  it('department users get 403 on every call route; agents cannot force others', async () => {
    const h = await auth('urban1');
    const checks = [
      t.api.get('/api/agents/me').set(h),
      t.api.post('/api/agents/me/state').set(h).send({ state: 'available' }),
      t.api.post('/api/agents/agent1/state').set(h).send({ state: 'break' }),
      t.api.get('/api/acd/queue').set(h),
      t.api.get('/api/callbacks').set(h),
      t.api.get(`/api/calls/${encodeURIComponent(c1)}`).set(h),
    ];
    for (const [i, res] of (await Promise.all(checks)).entries()) {
      expect(res.status, `check ${i}`).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    const byAgent = await t.api.post('/api/agents/agent2/state').set(await auth('agent1')).send({ state: 'break' });
    expect(byAgent.status).toBe(403);
    expect((await t.api.get('/api/calls/no-such-call').set(await auth('super1'))).status).toBe(404);
  });
});
