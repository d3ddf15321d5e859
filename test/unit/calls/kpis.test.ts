/**
 * Call KPI definitions (server/src/calls/kpis.ts, HOTLINE-RULES "KPI definitions") on constructed
 * call records with hand-computed numbers, edge cases, and fast-check properties.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CallKpiAccumulator,
  KPI_GROUPS,
  bucketKey,
  bucketKeysOfRange,
  computeCallKpis,
  type CallKpiRow,
  type CallKpis,
} from '../../../server/src/calls/kpis.js';

/** An instant given in city time (UTC+8). */
const cst = (local: string): Date => new Date(`${local}+08:00`);
const plus = (d: Date, ms: number): Date => new Date(d.getTime() + ms);

const T9 = cst('2026-11-26T09:10:00');

function row(o: Partial<CallKpiRow> = {}): CallKpiRow {
  return {
    offeredAt: T9,
    queuedAt: T9,
    line: 'main',
    agentId: null,
    answeredBy: null,
    answeredAt: null,
    abandonedAt: null,
    abandonReason: null,
    outcome: 'queued',
    waitedMs: null,
    talkMs: null,
    transfer: null,
    ...o,
  };
}
const answered = (agent: string, waitedMs: number, o: Partial<CallKpiRow> = {}): CallKpiRow =>
  row({ outcome: 'ended', agentId: agent, answeredBy: agent, answeredAt: plus(T9, waitedMs), waitedMs, ...o });
const abandoned = (reason: string, waitedMs: number, o: Partial<CallKpiRow> = {}): CallKpiRow =>
  row({ outcome: 'abandoned', abandonReason: reason, abandonedAt: plus(T9, waitedMs), waitedMs, ...o });

/** Eleven calls in the 09 hour of 2026-11-26 (city time), all on line main. */
const SET: CallKpiRow[] = [
  /* A1 */ answered('agent1', 10_000, { talkMs: 120_000 }),
  /* A2 */ answered('agent2', 15_000, { talkMs: 60_000 }), // exactly 15 s: within (≤)
  /* A3 */ answered('agent1', 20_000, { outcome: 'answered', agentId: 'agent2' }), // still talking; answeredBy wins over agentId
  /* A4 */ answered('agent2', 5_000, { outcome: 'transferred', transfer: { target: '110', outcome: 'connected' } }),
  /* A5 */ answered('agent1', 8_000, { talkMs: 90_000, transfer: { target: '110', outcome: 'failed' } }),
  /* A6 */ answered('agent2', 12_000, { talkMs: 30_000, transfer: { target: '120', outcome: 'connected' } }),
  /* B1 */ abandoned('caller-cancel', 3_000), // short abandon (< 5 s)
  /* B2 */ abandoned('caller-cancel', 30_000, { agentId: 'agent1' }), // rang agent1, then the caller left
  /* B3 */ abandoned('ring-timeout', 300_000),
  /* X1 */ abandoned('shutdown', 1_000), // outage: excluded from offered
  /* Q1 */ row({ outcome: 'queued' }),
];

describe('computeCallKpis: the definitions on a hand-computed set', () => {
  const r = computeCallKpis(SET, { groupBy: 'hour' });

  it('counts, rates and averages', () => {
    const expected: CallKpis = {
      received: 11,
      excluded: { outage: 1, overload: 0 }, // X1 (shutdown)
      offered: 10, // 11 − 1 outage
      answered: 6, // A1..A6
      answerRate: 0.6, // 6 / 10
      answeredWithinServiceLevel: 5, // waits 10, 15, 5, 8, 12 s ≤ 15 s; A3 (20 s) is not
      serviceLevel: 0.8333, // 5 / 6 = 0.83333…
      serviceLevelOfOffered: 0.5, // 5 / 10
      abandoned: 3, // B1, B2, B3 (X1 is excluded, not abandoned)
      shortAbandoned: 1, // B1 waited 3 s < 5 s
      abandonRate: 0.3, // 3 / 10, all abandons
      abandonRateExcludingShort: 0.2222, // (3 − 1) / (10 − 1) = 2 / 9 = 0.22222…
      abandonedByReason: { 'caller-cancel': 2, 'ring-timeout': 1 },
      averageWaitSeconds: 11.7, // (10 + 15 + 20 + 5 + 8 + 12) / 6 = 70 / 6 = 11.666… s
      averageAbandonWaitSeconds: 111, // (3 + 30 + 300) / 3 = 111 s
      talked: 4, // A1, A2, A5, A6 (A3 still talking, A4 transferred and still up)
      averageTalkSeconds: 75, // (120 + 60 + 90 + 30) / 4 = 300 / 4 = 75 s
      stillQueued: 1, // Q1
      transfers: {
        requested: 3, // A4, A5, A6
        connected: 2, // A4 (110), A6 (120)
        failed: 1, // A5 (110)
        pending: 0,
        byTarget: {
          '110': { requested: 2, connected: 1, failed: 1, pending: 0 },
          '120': { requested: 1, connected: 1, failed: 0, pending: 0 },
        },
      },
    };
    expect(r.total).toEqual(expected);
    expect(r.buckets).toEqual([{ key: '2026-11-26T09', ...expected }]);
    expect(r).toMatchObject({ groupBy: 'hour', utcOffsetMinutes: 480, serviceLevelSeconds: 15, shortAbandonSeconds: 5 });
  });

  it('by agent: answeredBy ?? agentId ?? (none)', () => {
    const byAgent = computeCallKpis(SET, { groupBy: 'agent' });
    expect(byAgent.buckets.map((b) => b.key)).toEqual(['(none)', 'agent1', 'agent2']);
    const [none, a1, a2] = byAgent.buckets;
    // agent1: A1, A3 (answeredBy agent1 although agentId agent2), A5 answered; B2 rang agent1 and was abandoned
    expect(a1).toMatchObject({ offered: 4, answered: 3, answerRate: 0.75, abandoned: 1, answeredWithinServiceLevel: 2 });
    expect(a1!.serviceLevel).toBe(0.6667); // A1 10 s, A5 8 s of 3 answered = 2 / 3
    expect(a1!.averageWaitSeconds).toBe(12.7); // (10 + 20 + 8) / 3 = 12.666… s
    expect(a1!.averageTalkSeconds).toBe(105); // (120 + 90) / 2
    // agent2: A2, A4, A6, all within 15 s
    expect(a2).toMatchObject({ offered: 3, answered: 3, answerRate: 1, serviceLevel: 1, abandoned: 0, abandonRate: 0 });
    expect(a2!.transfers.byTarget['110']).toEqual({ requested: 1, connected: 1, failed: 0, pending: 0 }); // A4
    // never reached an agent: B1, B3, X1 (outage), Q1
    expect(none).toMatchObject({ received: 4, excluded: { outage: 1, overload: 0 }, offered: 3, answered: 0, answerRate: 0, abandoned: 2, shortAbandoned: 1, stillQueued: 1 });
    expect(none!.serviceLevel).toBeNull(); // 0 answered
    expect(none!.averageWaitSeconds).toBeNull();
    expect(none!.abandonRateExcludingShort).toBe(0.5); // (2 − 1) / (3 − 1)
  });

  it('by line', () => {
    const rows = [...SET, answered('agent3', 2_000, { line: 'enterprise' })];
    const byLine = computeCallKpis(rows, { groupBy: 'line' });
    expect(byLine.buckets.map((b) => [b.key, b.offered, b.answered])).toEqual([
      ['enterprise', 1, 1],
      ['main', 10, 6],
    ]);
    expect(byLine.total).toMatchObject({ offered: 11, answered: 7, answerRate: 0.6364 }); // 7 / 11 = 0.63636…
  });
});

describe('edge cases', () => {
  it('no calls: zero counts, null rates and averages (never NaN), no buckets', () => {
    const r = computeCallKpis([], { groupBy: 'day' });
    expect(r.buckets).toEqual([]);
    expect(r.total).toMatchObject({ received: 0, offered: 0, answered: 0, abandoned: 0, talked: 0, stillQueued: 0 });
    for (const k of ['answerRate', 'serviceLevel', 'serviceLevelOfOffered', 'abandonRate', 'abandonRateExcludingShort', 'averageWaitSeconds', 'averageAbandonWaitSeconds', 'averageTalkSeconds'] as const) {
      expect(r.total[k], k).toBeNull();
    }
    expect(r.total.transfers).toEqual({ requested: 0, connected: 0, failed: 0, pending: 0, byTarget: { '110': { requested: 0, connected: 0, failed: 0, pending: 0 } } });
    expect(JSON.stringify(r)).not.toContain('NaN');
  });

  it('only outages: offered 0, so every rate is null', () => {
    const r = computeCallKpis([abandoned('shutdown', 1000), abandoned('rejected', 0)], { groupBy: 'hour' });
    expect(r.total).toMatchObject({ received: 2, excluded: { outage: 2, overload: 0 }, offered: 0, answerRate: null, abandonRate: null, abandonedByReason: {} });
  });

  it('days and hours in city time (UTC+8): one second either side of midnight', () => {
    const before = cst('2026-11-26T23:59:59'); // 2026-11-26T15:59:59Z
    const after = cst('2026-11-27T00:00:01'); // 2026-11-26T16:00:01Z — the same UTC day
    const rows = [
      answered('agent1', 4_000, { offeredAt: before, queuedAt: before, answeredAt: plus(before, 4_000) }),
      abandoned('caller-cancel', 6_000, { offeredAt: after, queuedAt: after, abandonedAt: plus(after, 6_000) }),
    ];
    const days = computeCallKpis(rows, { groupBy: 'day' });
    expect(days.buckets.map((b) => [b.key, b.answered, b.abandoned])).toEqual([
      ['2026-11-26', 1, 0],
      ['2026-11-27', 0, 1],
    ]);
    expect(computeCallKpis(rows, { groupBy: 'hour' }).buckets.map((b) => b.key)).toEqual(['2026-11-26T23', '2026-11-27T00']);
    // at UTC both fall on the 26th
    expect(computeCallKpis(rows, { groupBy: 'day', utcOffsetMinutes: 0 }).buckets.map((b) => [b.key, b.offered])).toEqual([['2026-11-26', 2]]);
    // the 6 s abandon is not short: (1 − 0) / (2 − 0)
    expect(days.total).toMatchObject({ shortAbandoned: 0, abandonRate: 0.5, abandonRateExcludingShort: 0.5 });
  });

  it('bucketKey', () => {
    const r = { offeredAt: new Date('2026-11-26T01:30:00Z'), line: 'main', agentId: 'agent2', answeredBy: null };
    expect(bucketKey(r, 'hour')).toBe('2026-11-26T09');
    expect(bucketKey(r, 'day', -300)).toBe('2026-11-25'); // UTC−5: 20:30 the day before
    expect(bucketKey(r, 'line')).toBe('main');
    expect(bucketKey(r, 'agent')).toBe('agent2');
    expect(bucketKey({ ...r, answeredBy: 'agent1' }, 'agent')).toBe('agent1');
    expect(bucketKey({ ...r, agentId: null }, 'agent')).toBe('(none)');
  });

  it('range fills the empty hours/days, in order', () => {
    expect(bucketKeysOfRange(cst('2026-11-26T22:30:00'), cst('2026-11-27T01:00:00'), 'hour')).toEqual(['2026-11-26T22', '2026-11-26T23', '2026-11-27T00']);
    expect(bucketKeysOfRange(cst('2026-11-26T00:00:00'), cst('2026-11-28T00:00:00'), 'day')).toEqual(['2026-11-26', '2026-11-27']);
    expect(bucketKeysOfRange(cst('2026-11-26T00:00:00'), cst('2026-11-28T00:00:00'), 'line')).toEqual([]);
    const r = computeCallKpis([answered('agent1', 1000)], { groupBy: 'hour', range: { from: cst('2026-11-26T08:00:00'), to: cst('2026-11-26T11:00:00') } });
    expect(r.buckets.map((b) => [b.key, b.offered, b.answerRate])).toEqual([
      ['2026-11-26T08', 0, null],
      ['2026-11-26T09', 1, 1],
      ['2026-11-26T10', 0, null],
    ]);
  });

  it('short abandons: strictly under 5 s; an abandon of unknown wait is not short', () => {
    const rows = [
      abandoned('caller-cancel', 4_999),
      abandoned('caller-cancel', 5_000),
      abandoned('caller-cancel', 0),
      row({ outcome: 'abandoned', abandonReason: 'caller-cancel', queuedAt: null, waitedMs: null, abandonedAt: null }),
      answered('agent1', 20_000),
    ];
    const r = computeCallKpis(rows, { groupBy: 'day' }).total;
    expect(r).toMatchObject({ offered: 5, abandoned: 4, shortAbandoned: 2 }); // 4.999 s and 0 s
    expect(r.abandonRate).toBe(0.8); // 4 / 5
    expect(r.abandonRateExcludingShort).toBe(0.6667); // (4 − 2) / (5 − 2) = 2 / 3
    expect(r.averageAbandonWaitSeconds).toBe(3.3); // (4.999 + 5 + 0) / 3 known waits = 3.333 s
    // a threshold of 0 makes none short
    expect(computeCallKpis(rows, { groupBy: 'day', shortAbandonMs: 0 }).total.shortAbandoned).toBe(0);
  });

  it('transfers: failed, connected and pending per target; 110 always listed', () => {
    const rows = [
      answered('agent1', 1000, { transfer: { target: '110', outcome: 'failed' } }),
      answered('agent1', 1000, { transfer: { target: '110', outcome: 'failed' } }),
      answered('agent1', 1000, { outcome: 'transferred', transfer: { target: '110', outcome: 'connected' } }),
      answered('agent2', 1000, { outcome: 'answered', transfer: { target: '119', outcome: 'pending' } }),
      answered('agent2', 1000, { outcome: 'transferred', transfer: { target: '122', outcome: 'connected' } }),
    ];
    const t = computeCallKpis(rows, { groupBy: 'agent' });
    expect(t.total.transfers).toEqual({
      requested: 5,
      connected: 2,
      failed: 2,
      pending: 1,
      byTarget: {
        '110': { requested: 3, connected: 1, failed: 2, pending: 0 },
        '119': { requested: 1, connected: 0, failed: 0, pending: 1 },
        '122': { requested: 1, connected: 1, failed: 0, pending: 0 },
      },
    });
    expect(t.buckets.find((b) => b.key === 'agent2')!.transfers.byTarget['110']).toEqual({ requested: 0, connected: 0, failed: 0, pending: 0 });
  });

  it('wait derived from timestamps when waitedMs is missing; service level threshold is configurable', () => {
    const queuedAt = plus(T9, 1000);
    const r = row({ outcome: 'ended', answeredBy: 'agent1', queuedAt, answeredAt: plus(queuedAt, 14_000), waitedMs: null });
    expect(computeCallKpis([r], { groupBy: 'day' }).total).toMatchObject({ answeredWithinServiceLevel: 1, averageWaitSeconds: 14 });
    expect(computeCallKpis([r], { groupBy: 'day', serviceLevelSeconds: 10 }).total).toMatchObject({ answeredWithinServiceLevel: 0, serviceLevel: 0 });
    // no wait at all: answered, but neither in the wait average nor within the service level
    const blind = row({ outcome: 'answered', answeredBy: 'agent1', queuedAt: null, answeredAt: null, waitedMs: null, offeredAt: T9 });
    expect(computeCallKpis([blind], { groupBy: 'day' }).total).toMatchObject({ answered: 1, answeredWithinServiceLevel: 0, averageWaitSeconds: null });
  });

  it('a city may class an abandon reason as overload: excluded and shown separately', () => {
    const rows = [abandoned('max-wait-callback', 600_000), abandoned('caller-cancel', 20_000), answered('agent1', 3_000)];
    const dflt = computeCallKpis(rows, { groupBy: 'day' }).total;
    expect(dflt).toMatchObject({ offered: 3, abandoned: 2, answerRate: 0.3333 }); // by default a max-wait callback is an abandon: 1 / 3
    const custom = computeCallKpis(rows, { groupBy: 'day', excludedAbandonReasons: { 'max-wait-callback': 'overload' } }).total;
    expect(custom).toMatchObject({ received: 3, excluded: { outage: 0, overload: 1 }, offered: 2, abandoned: 1, answerRate: 0.5 });
  });

  it('the streaming accumulator gives the same report as computeCallKpis', () => {
    const acc = new CallKpiAccumulator({ groupBy: 'agent' });
    for (const r of SET) acc.add(r);
    expect(acc.result()).toEqual(computeCallKpis(SET, { groupBy: 'agent' }));
  });
});

// ---------------------------------------------------------------------------------------------

const T0 = Date.UTC(2026, 10, 25, 0, 0, 0);
const arbRow: fc.Arbitrary<CallKpiRow> = fc
  .record({
    offset: fc.integer({ min: 0, max: 3 * 86_400_000 }),
    line: fc.constantFrom('main', 'enterprise'),
    agent: fc.option(fc.constantFrom('agent1', 'agent2', 'window1'), { nil: null }),
    outcome: fc.constantFrom('queued', 'abandoned', 'answered', 'transferred', 'ended'),
    reason: fc.option(fc.constantFrom('caller-cancel', 'ring-timeout', 'max-wait-callback', 'shutdown', 'rejected'), { nil: null }),
    waitedMs: fc.option(fc.integer({ min: 0, max: 900_000 }), { nil: null }),
    talkMs: fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: null }),
    transfer: fc.option(fc.record({ target: fc.constantFrom('110', '119', '120', '122'), outcome: fc.constantFrom('pending', 'connected', 'failed') }), { nil: null }),
  })
  .map(({ offset, line, agent, outcome, reason, waitedMs, talkMs, transfer }) => {
    const offeredAt = new Date(T0 + offset);
    const isAnswered = outcome === 'answered' || outcome === 'transferred' || outcome === 'ended';
    return row({
      offeredAt,
      queuedAt: offeredAt,
      line,
      agentId: agent,
      answeredBy: isAnswered ? agent : null,
      answeredAt: isAnswered && waitedMs !== null ? new Date(offeredAt.getTime() + waitedMs) : null,
      abandonedAt: outcome === 'abandoned' ? new Date(offeredAt.getTime() + (waitedMs ?? 0)) : null,
      abandonReason: outcome === 'abandoned' ? reason : null,
      outcome,
      waitedMs,
      talkMs: isAnswered ? talkMs : null,
      transfer: isAnswered ? transfer : null,
    });
  });

const COUNTS = ['received', 'offered', 'answered', 'answeredWithinServiceLevel', 'abandoned', 'shortAbandoned', 'talked', 'stillQueued'] as const;
const RATES = ['answerRate', 'serviceLevel', 'serviceLevelOfOffered', 'abandonRate', 'abandonRateExcludingShort'] as const;

describe('properties', () => {
  it('answered ≤ offered ≤ received, rates in [0, 1] or null, buckets add up to the total', () => {
    fc.assert(
      fc.property(fc.array(arbRow, { maxLength: 60 }), fc.constantFrom(...KPI_GROUPS), fc.constantFrom(480, 0, -300), (rows, groupBy, utcOffsetMinutes) => {
        const r = computeCallKpis(rows, { groupBy, utcOffsetMinutes });
        for (const k of [r.total, ...r.buckets]) {
          expect(k.answered).toBeLessThanOrEqual(k.offered);
          expect(k.offered).toBeLessThanOrEqual(k.received);
          // every offered call is answered, abandoned or still queued
          expect(k.answered + k.abandoned + k.stillQueued).toBe(k.offered);
          expect(k.answeredWithinServiceLevel).toBeLessThanOrEqual(k.answered);
          expect(k.shortAbandoned).toBeLessThanOrEqual(k.abandoned);
          expect(k.transfers.connected + k.transfers.failed + k.transfers.pending).toBe(k.transfers.requested);
          for (const rate of RATES) {
            const v = k[rate];
            if (v !== null) {
              expect(v).toBeGreaterThanOrEqual(0);
              expect(v).toBeLessThanOrEqual(1);
            }
          }
          expect(k.answerRate === null).toBe(k.offered === 0);
          for (const a of [k.averageWaitSeconds, k.averageAbandonWaitSeconds, k.averageTalkSeconds]) if (a !== null) expect(a).toBeGreaterThanOrEqual(0);
        }
        for (const c of COUNTS) expect(r.buckets.reduce((s, b) => s + b[c], 0), c).toBe(r.total[c]);
        expect(r.buckets.reduce((s, b) => s + b.transfers.requested, 0)).toBe(r.total.transfers.requested);
        expect(r.total.received).toBe(rows.length);
        const keys = r.buckets.map((b) => b.key);
        expect(keys).toEqual([...keys].sort());
        expect(JSON.stringify(r)).not.toContain('NaN');
      }),
      { numRuns: 300 },
    );
  });
});
