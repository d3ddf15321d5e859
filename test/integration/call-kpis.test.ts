/**
 * GET /api/kpis/calls against the real FerretDB of the run: call records inserted directly, KPIs
 * read back by hour, day, line and agent (numbers hand-computed below), roles and bad ranges.
 * The definitions themselves are tested in test/unit/calls/kpis.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callModel, type CallDoc } from '../../server/src/calls/model.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const get = async (qs: string, user = 'super1') => t.api.get(`/api/kpis/calls${qs}`).set(await auth(user));

/** An instant in city time (UTC+8, the default TIME_ZONE Asia/Shanghai). */
const cst = (local: string): Date => new Date(`${local}+08:00`);
const plus = (d: Date, ms: number): Date => new Date(d.getTime() + ms);

function cdr(id: string, offeredAt: Date, o: Partial<CallDoc>): Partial<CallDoc> {
  return { _id: `kpi-${id}`, line: 'main', lineName: '12345', fromNumber: '13800000000', toNumber: '12345', offeredAt, queuedAt: offeredAt, outcome: 'queued', ...o };
}
function answered(id: string, offeredAt: Date, agent: string, waitedMs: number, talkMs: number, o: Partial<CallDoc> = {}): Partial<CallDoc> {
  const answeredAt = plus(offeredAt, waitedMs);
  return cdr(id, offeredAt, { outcome: 'ended', agentId: agent, answeredBy: agent, answeredAt, waitedMs, talkMs, endedAt: plus(answeredAt, talkMs), ...o });
}
function abandoned(id: string, offeredAt: Date, reason: string, waitedMs: number, o: Partial<CallDoc> = {}): Partial<CallDoc> {
  const at = plus(offeredAt, waitedMs);
  return cdr(id, offeredAt, { outcome: 'abandoned', abandonReason: reason, abandonedAt: at, endedAt: at, waitedMs, ...o });
}
const transfer = (target: string, outcome: 'connected' | 'failed', at: Date) => ({ target, targetName: target, by: 'agent1', requestedAt: at, outcome, at, reason: outcome === 'failed' ? '486' : null, requestId: `req-${target}-${at.getTime()}` });

beforeAll(async () => {
  t = await startTestApp();
  const Call = callModel(t.app.mongo);
  await Call.insertMany([
    /* c1 */ answered('c1', cst('2026-03-10T09:00:00'), 'agent1', 8_000, 100_000),
    /* c2 */ answered('c2', cst('2026-03-10T09:30:00'), 'agent2', 20_000, 200_000, { transfer: transfer('110', 'connected', cst('2026-03-10T09:31:00')) }),
    /* c3 */ abandoned('c3', cst('2026-03-10T09:45:00'), 'caller-cancel', 2_000),
    /* c4 */ abandoned('c4', cst('2026-03-10T10:15:00'), 'caller-cancel', 40_000, { line: 'enterprise', agentId: 'agent1' }),
    /* c5 */ abandoned('c5', cst('2026-03-10T10:20:00'), 'shutdown', 1_000),
    /* c6 */ answered('c6', cst('2026-03-10T00:00:00'), 'agent1', 15_000, 50_000, { transfer: transfer('110', 'failed', cst('2026-03-10T00:01:00')) }),
    /* c7 */ answered('c7', cst('2026-03-11T00:00:00'), 'agent1', 1_000, 1_000), // at `to`: outside [from, to)
    /* c8 */ answered('c8', cst('2026-03-09T23:59:59'), 'agent1', 1_000, 1_000), // before `from`
  ]);
});

afterAll(async () => {
  await t?.close();
});

const DAY_QS = '?from=2026-03-10&to=2026-03-11'; // bare dates: city midnight

describe('GET /api/kpis/calls', () => {
  it('one city day by day: hand-computed totals over c1..c6 (c7, c8 are outside the range)', async () => {
    const res = await get(`${DAY_QS}&groupBy=day`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ from: '2026-03-09T16:00:00.000Z', to: '2026-03-10T16:00:00.000Z', groupBy: 'day', utcOffsetMinutes: 480, line: null, serviceLevelSeconds: 15, shortAbandonSeconds: 5 });
    const total = {
      received: 6,
      excluded: { outage: 1, overload: 0 }, // c5 shutdown
      offered: 5,
      answered: 3, // c1, c2, c6
      answerRate: 0.6, // 3 / 5
      answeredWithinServiceLevel: 2, // c1 8 s, c6 15 s (c2 waited 20 s)
      serviceLevel: 0.6667, // 2 / 3
      serviceLevelOfOffered: 0.4, // 2 / 5
      abandoned: 2, // c3, c4
      shortAbandoned: 1, // c3 (2 s)
      abandonRate: 0.4, // 2 / 5
      abandonRateExcludingShort: 0.25, // (2 − 1) / (5 − 1)
      abandonedByReason: { 'caller-cancel': 2 },
      averageWaitSeconds: 14.3, // (8 + 20 + 15) / 3 = 14.33 s
      averageAbandonWaitSeconds: 21, // (2 + 40) / 2
      talked: 3,
      averageTalkSeconds: 116.7, // (100 + 200 + 50) / 3 = 116.67 s
      stillQueued: 0,
      transfers: { requested: 2, connected: 1, failed: 1, pending: 0, byTarget: { '110': { requested: 2, connected: 1, failed: 1, pending: 0 } } },
    };
    expect(res.body.total).toEqual(total);
    expect(res.body.buckets).toEqual([{ key: '2026-03-10', ...total }]);
  });

  it('by hour: 24 buckets of the city day, empty hours with null rates', async () => {
    const res = await get(`${DAY_QS}&groupBy=hour`);
    expect(res.status).toBe(200);
    const b = res.body.buckets as { key: string; received: number; offered: number; answered: number; abandoned: number; answerRate: number | null; excluded: { outage: number } }[];
    expect(b.map((x) => x.key)).toEqual(Array.from({ length: 24 }, (_, h) => `2026-03-10T${String(h).padStart(2, '0')}`));
    const at = (h: string) => b.find((x) => x.key === `2026-03-10T${h}`)!;
    expect(at('00')).toMatchObject({ offered: 1, answered: 1, answerRate: 1 }); // c6, included at `from`
    expect(at('09')).toMatchObject({ offered: 3, answered: 2, abandoned: 1, answerRate: 0.6667 }); // c1, c2 / c1, c2, c3
    expect(at('10')).toMatchObject({ received: 2, excluded: { outage: 1 }, offered: 1, abandoned: 1, answerRate: 0 }); // c4; c5 excluded
    expect(at('12')).toMatchObject({ offered: 0, answerRate: null });
  });

  it('by agent and filtered by line', async () => {
    const byAgent = await get(`${DAY_QS}&groupBy=agent`);
    expect(byAgent.status).toBe(200);
    expect(byAgent.body.buckets.map((x: { key: string; offered: number; answered: number; abandoned: number }) => [x.key, x.offered, x.answered, x.abandoned])).toEqual([
      ['(none)', 1, 0, 1], // c3 (c5 excluded)
      ['agent1', 3, 2, 1], // c1, c6 answered; c4 rang agent1 and was abandoned
      ['agent2', 1, 1, 0], // c2
    ]);
    const main = await get(`${DAY_QS}&groupBy=line&line=main`);
    expect(main.status).toBe(200);
    expect(main.body.line).toBe('main');
    expect(main.body.buckets.map((x: { key: string }) => x.key)).toEqual(['main']);
    expect(main.body.total).toMatchObject({ received: 5, offered: 4, answered: 3, abandoned: 1, answerRate: 0.75 }); // all but c4
  });

  it('ISO instants with an offset (a "+" left unencoded arrives as a space and is accepted)', async () => {
    const a = await get('?from=2026-03-10T09:00:00%2B08:00&to=2026-03-10T10:00:00%2B08:00&groupBy=line');
    const b = await get('?from=2026-03-10T09:00:00+08:00&to=2026-03-10T02:00:00Z&groupBy=line');
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    expect(a.body.total).toMatchObject({ offered: 3, answered: 2 }); // c1, c2, c3
    expect(b.body).toEqual(a.body);
  });

  it('defaults: the 24 hours up to the end of the current hour (city time), by hour', async () => {
    const before = Date.now();
    const res = await get('');
    expect(res.status).toBe(200);
    expect(res.body.groupBy).toBe('hour');
    const to = Date.parse(res.body.to);
    expect(to - Date.parse(res.body.from)).toBe(86_400_000);
    expect(to % 3_600_000).toBe(0); // UTC+8: local hours start on UTC hours
    expect(to).toBeGreaterThan(before);
    expect(to - before).toBeLessThanOrEqual(3_600_000);
    expect(res.body.buckets).toHaveLength(24);
    expect(res.body.total.received).toBe(0);
  });

  it('supervisor and admin only: department and agent users get 403', async () => {
    expect((await get(DAY_QS, 'admin')).status).toBe(200);
    for (const u of ['housing1', 'agent1']) {
      const res = await get(DAY_QS, u);
      expect(res.status, u).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect((await t.api.get(`/api/kpis/calls${DAY_QS}`)).status).toBe(401);
  });

  it('bad ranges and values → 400 VALIDATION_FAILED with the field', async () => {
    const cases: [string, string][] = [
      ['?from=2026-03-11&to=2026-03-10', 'query.to'], // backwards
      ['?from=2026-03-10&to=2026-03-10', 'query.to'], // empty
      ['?from=2025-01-01&to=2026-01-03', 'query.to'], // 367 days
      ['?from=2026-02-30&to=2026-03-10', 'query.from'], // no such day
      ['?from=yesterday', 'query.from'],
      ['?to=2026-03-10T09:00:00', 'query.to'], // no offset: ambiguous
      ['?groupBy=week', 'query.groupBy'],
      ['?line=%7B%22%24gt%22%3A%22%22%7D', 'query.line'],
      ['?from=2026-03-10&from=2026-03-11', 'query.from'],
    ];
    for (const [qs, path] of cases) {
      const res = await get(qs);
      expect(res.status, qs).toBe(400);
      expect(res.body.error.code, qs).toBe('VALIDATION_FAILED');
      expect(res.body.error.details.map((d: { path: string }) => d.path), qs).toContain(path);
    }
    // exactly 366 days is allowed
    expect((await get('?from=2025-01-01&to=2026-01-02&groupBy=day')).status).toBe(200);
  });
});
