// Working the callback list (未接回拨) on real Redis and FerretDB: an attempt nobody answered keeps
// the task with its count, a reached citizen closes it (with a linked ticket), a second close is a
// 409 naming who closed it, a withheld number can only be closed as invalid, consoles are told,
// and the results outlive the Redis list.
import { Redis } from 'ioredis';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_RESULTS_COLLECTION } from '../../server/src/calls/callbacks.js';
import { entry } from '../helpers/acd-fixtures.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

let t: TestApp;
let agent: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  t = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'false' } });
  agent = `Bearer ${await t.token('agent1')}`;
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await t?.close();
});

/** A call that waited and hung up: its callback task. */
async function missedCall(callId: string, callerNumber = '13800001111'): Promise<string> {
  expect(await t.app.calls.acd.enqueue(entry(callId, { callerNumber, enqueuedAt: Date.now() - 20_000 }))).toBe(true);
  const task = await t.app.calls.acd.abandon(callId, Date.now());
  expect(task?.id).toBe(`cb-${callId}`);
  return task!.id;
}

const listed = async (): Promise<Array<{ id: string; attempts?: number; lastAttempt?: { result: string; by: string; at: string } }>> => {
  const r = await t.api.get('/api/callbacks').set('authorization', agent);
  expect(r.status).toBe(200);
  return r.body.items;
};

describe('callback results', () => {
  it('no_answer keeps the task and counts it; reached closes it with a linked ticket; a second close is 409', async () => {
    const socket = connect(`http://127.0.0.1:${t.port}`, { auth: { token: (await t.token('agent2')) }, transports: ['websocket'] });
    sockets.push(socket);
    const events: Array<{ type: string; data: { reasons?: string[] } }> = [];
    socket.on('call.event', (m: { type: string; data: { reasons?: string[] } }) => events.push(m));
    await until('socket connected', async () => socket.connected);

    const id = await missedCall('cb-flow-1@127.0.0.1');
    const tried = await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).send({ result: 'no_answer', note: '无人接听' });
    expect(tried.status).toBe(200);
    expect(tried.body).toMatchObject({ result: 'no_answer', closed: false, task: { id, attempts: 1, lastAttempt: { result: 'no_answer', by: '李娜', note: '无人接听' } } });
    // a retried request (same Idempotency-Key, e.g. after a network error) counts once
    for (let i = 0; i < 2; i++) {
      const r = await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).set('idempotency-key', 'retry-key-0001').send({ result: 'no_answer' });
      expect(r.status).toBe(200);
    }
    const second = (await listed()).find((x) => x.id === id)!;
    expect(second).toMatchObject({ attempts: 2, lastAttempt: { result: 'no_answer' } });
    expect(second.lastAttempt?.at).toMatch(/^\d{4}-\d{2}-\d{2}T.*Z$/); // ISO like every other time of the API
    await until('agent2 told the list changed', async () => events.some((e) => e.type === 'acd.changed' && e.data.reasons?.includes('callback')));

    const ticket = await t.api.post('/api/tickets').set('authorization', agent).send(intake({ caller: { name: '回拨市民', phone: '13800001111', anonymous: false } }));
    expect(ticket.status).toBe(201);
    const done = await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).send({ result: 'reached', note: '已联系，受理工单', ticketId: ticket.body.id });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ result: 'reached', closed: true });
    expect((await listed()).some((x) => x.id === id)).toBe(false);

    const again = await t.api.post(`/api/callbacks/${id}/results`).set('authorization', `Bearer ${await t.token('agent2')}`).send({ result: 'reached' });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'CALLBACK_CLOSED', details: { result: 'reached', by: { id: 'agent1' } } });

    const history = await t.api.get(`/api/callbacks/${id}/results`).set('authorization', agent);
    expect(history.status).toBe(200);
    expect(history.body.items.map((r: { result: string; closed: boolean }) => [r.result, r.closed])).toEqual([
      ['no_answer', false],
      ['no_answer', false],
      ['reached', true],
    ]);
    expect(history.body.items[2]).toMatchObject({ ticketId: ticket.body.id, callerNumber: '13800001111', by: { id: 'agent1', name: '李娜' } });
  });

  it('a close recorded before a crash (list not yet updated) is repaired by the next close: 409, and the task leaves the list', async () => {
    const id = await missedCall('cb-flow-2@127.0.0.1');
    // the result reached MongoDB, the process died before Redis was updated
    await t.app.mongo.db!.collection(CALLBACK_RESULTS_COLLECTION).insertOne({
      _id: `${id}:closed` as never, taskId: id, callId: 'cb-flow-2@127.0.0.1', callerNumber: '13800001111', result: 'invalid_number', note: '', ticketId: null, by: { id: 'agent2', name: '张伟' }, at: new Date(),
    });
    expect((await listed()).some((x) => x.id === id)).toBe(true);
    const r = await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).send({ result: 'reached' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('CALLBACK_CLOSED');
    expect((await listed()).some((x) => x.id === id)).toBe(false);
  });

  it('bad input and unknown tasks get clear errors; a withheld number closes only as invalid_number; departments get 403', async () => {
    const id = await missedCall('cb-flow-3@127.0.0.1', '');
    const bad = await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).send({ result: 'reached' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).send({ result: 'invalid_number' }).expect(200);

    expect((await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).send({ result: 'maybe' })).status).toBe(400);
    expect((await t.api.post(`/api/callbacks/${id}/results`).set('authorization', agent).send({ result: 'reached', note: 'x'.repeat(501) })).status).toBe(400);
    const unknown = await t.api.post('/api/callbacks/cb-nobody@127.0.0.1/results').set('authorization', agent).send({ result: 'reached' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    expect((await t.api.get('/api/callbacks/cb-nobody@127.0.0.1/results').set('authorization', agent)).status).toBe(404);
    const open = await missedCall('cb-flow-4@127.0.0.1');
    const noTicket = await t.api.post(`/api/callbacks/${open}/results`).set('authorization', agent).send({ result: 'reached', ticketId: 'a'.repeat(24) });
    expect(noTicket.status).toBe(404);
    expect((await listed()).some((x) => x.id === open)).toBe(true); // nothing recorded
    const dept = await t.api.post(`/api/callbacks/${open}/results`).set('authorization', `Bearer ${await t.token('urban1')}`).send({ result: 'reached' });
    expect(dept.status).toBe(403);
  });

  it('Redis loses the callback list: the next start rebuilds it from the call records, without the closed ones, with the attempts made', async () => {
    const own = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'false' } });
    let again: TestApp | undefined;
    try {
      const token = `Bearer ${await own.token('agent1')}`;
      const SDP = 'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
      const ids: string[] = [];
      for (const [n, from] of [[1, '13800002221'], [2, '13800002222'], [3, '13800002223']] as const) {
        const callId = `cb-restore-${n}@127.0.0.1`;
        const at = new Date(Date.now() - 60_000 + n * 1000).toISOString();
        await own.app.calls.offered({ type: 'call.offered', callId, instance: 'tel1', line: 'main', lineName: '12345', fromNumber: from, displayName: '', toNumber: '12345', sdp: SDP, receivedAt: at, fromGateway: null, gatewayReference: null });
        const task = await own.app.calls.abandoned({ type: 'call.abandoned', callId, line: 'main', reason: n === 3 ? 'max-wait-callback' : 'caller-cancel', finalStatus: 487, at: new Date(Date.parse(at) + 15_000).toISOString() });
        ids.push(task!.id);
      }
      await own.api.post(`/api/callbacks/${ids[0]}/results`).set('authorization', token).send({ result: 'no_answer', note: '关机' }).expect(200);
      await own.api.post(`/api/callbacks/${ids[1]}/results`).set('authorization', token).send({ result: 'reached' }).expect(200);
      const before = (await own.api.get('/api/callbacks').set('authorization', token)).body.items as Array<Record<string, unknown>>;
      expect(before.map((x) => x.id)).toEqual([ids[0], ids[2]]);
      // the finished calls' records reach MongoDB (write-behind)
      const calls = own.app.mongo.db!.collection('calls');
      await until('call records written', async () => (await calls.countDocuments({ callbackTaskId: { $ne: null } })) === 3, 20_000);

      // Redis loses everything of this deployment; the engine starts again on the same database
      const { dbName, prefix } = own;
      await own.app.close();
      const r = new Redis(process.env.TEST_REDIS_URL!);
      for (const k of await r.keys(`${prefix}*`)) await r.del(k);
      r.disconnect();
      again = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'false' }, reuseDatabase: { dbName, prefix } });
      const after = (await again.api.get('/api/callbacks').set('authorization', `Bearer ${await again.token('agent1')}`)).body.items as Array<Record<string, unknown>>;
      expect(after.map((x) => x.id)).toEqual([ids[0], ids[2]]);
      expect(after[0]).toMatchObject({ callerNumber: '13800002221', reason: 'abandoned', restored: true, attempts: 1, lastAttempt: { result: 'no_answer', note: '关机', by: '李娜' } });
      expect(after[1]).toMatchObject({ callerNumber: '13800002223', reason: 'max_wait', restored: true, waitedSeconds: before[1]!.waitedSeconds });
      expect(after[0]!.leftAt).toBe(before[0]!.leftAt);
      // a rebuilt task is worked like any other
      await again.api.post(`/api/callbacks/${ids[2]}/results`).set('authorization', `Bearer ${await again.token('agent1')}`).send({ result: 'invalid_number' }).expect(200);
    } finally {
      if (again) await again.close();
      else await own.close();
    }
  }, 120_000);
});
