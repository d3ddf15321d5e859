/**
 * Two handlers writing one call record at once (the call ends while the ticket filed from it is
 * being linked) must both land. FerretDB v1 loses one of two concurrent updates of a document
 * (bench/sip/ferretdb-lost-update.ts: 421 of 500); the engine writes live records in Redis (one
 * atomic write per step, call-store.ts) and MongoDB gets whole documents from the flusher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callModel } from '../../../server/src/calls/model.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'false' } });
});

afterAll(async () => {
  await t?.close();
});

describe('call record writes', { timeout: 60_000 }, () => {
  it('call.ended and two ticket links arriving together on 50 calls: every record is ended and lists both tickets', async () => {
    const Call = callModel(t.app.mongo);
    const answeredAt = new Date(Date.now() - 60_000);
    const ids = Array.from({ length: 50 }, (_, i) => `concurrent-${i}@127.0.0.1`);
    await Call.insertMany(
      ids.map((id) => ({
        _id: id, instance: 'tel1', line: 'main', lineName: '12345', fromNumber: '13600000000', displayName: '', toNumber: '12345', sdp: '',
        offeredAt: answeredAt, queuedAt: answeredAt, answeredAt, answeredBy: 'nobody', priority: 0, outcome: 'answered',
      })),
    );
    const at = new Date().toISOString();
    await Promise.all(
      ids.flatMap((id) => [
        t.app.calls.ended({ type: 'call.ended', callId: id, by: 'caller', reason: 'bye', at }),
        t.app.calls.linkTicket(id, `ticket-of-${id}`),
        t.app.calls.linkTicket(id, `second-ticket-of-${id}`), // a repeat complaint filed from the same call
      ]),
    );
    await t.app.calls.records.flushAll(); // the live records (Redis) reach MongoDB
    const docs = await Promise.all(ids.map((id) => Call.findById(id).lean()));
    const lost = docs.filter((d) => d?.outcome !== 'ended' || !d.ticketIds.includes(`ticket-of-${d._id}`) || !d.ticketIds.includes(`second-ticket-of-${d._id}`));
    expect(lost.map((d) => d?._id)).toEqual([]);
    expect(docs.every((d) => d!.talkMs! >= 60_000 && d!.endedBy === 'caller')).toBe(true);
  });
});
