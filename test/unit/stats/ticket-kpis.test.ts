/**
 * Ticket KPI definitions (server/src/stats/ticket-kpis.ts, HOTLINE-RULES "KPI definitions") on
 * constructed ticket documents with hand-computed answers.
 */
import { describe, expect, it } from 'vitest';
import type { Milestone } from '../../../server/src/deadlines/milestones.js';
import {
  bucketOf,
  bucketRange,
  clockOutcome,
  completionOutcome,
  computeTicketKpiBreakdown,
  computeTicketKpis,
  DISPATCH_HOURS,
  normaliseAddress,
  normalisePhone,
  REPEAT_WINDOW_DAYS,
  type KpiTicket,
} from '../../../server/src/stats/ticket-kpis.js';
import type { RatingRecord } from '../../../server/src/tickets/types.js';

/** An instant given in city time (UTC+8). */
const cst = (local: string): Date => new Date(`${local}+08:00`);
const RANGE = { from: cst('2026-11-26T00:00:00'), to: cst('2026-11-27T00:00:00'), now: cst('2026-11-27T10:00:00') };

type Entry = KpiTicket['timeline'][number];
const e = (at: string, action: string, to: string, data: Record<string, unknown> | null = null): Entry => ({ at: cst(at), action, from: null, to: to as Entry['to'], data });
const created = (at: string): Entry => e(at, 'create', 'received');
const dispatch = (at: string, dept: string): Entry => e(at, 'dispatch', 'dispatched', { leadDepartmentId: dept, coDepartmentIds: [] });

function clock(o: { due: string; done?: string; cancelled?: string }): Milestone {
  return {
    unit: 'workingDays',
    startedAt: cst('2026-11-01T09:00:00'),
    dueAt: cst(o.due),
    warnAt: cst(o.due),
    doneAt: o.done ? cst(o.done) : null,
    cancelledAt: o.cancelled ? cst(o.cancelled) : null,
    version: 1,
    level: 'on_time',
    reminders: 0,
    escalations: 0,
  };
}
const rating = (at: string, level: RatingRecord['level'], round = 1): RatingRecord => ({
  level,
  round,
  realName: true,
  comment: null,
  at: cst(at),
  by: { id: 'agent1', name: 'a', role: 'agent', departmentId: null },
  source: 'return_visit',
});

function ticket(o: Partial<KpiTicket> & { timeline: Entry[] }): KpiTicket {
  return {
    _id: Math.random().toString(36),
    urgency: 'normal',
    state: 'handling',
    round: 1,
    createdAt: o.timeline[0]!.at,
    leadDepartmentId: null,
    deadlines: {},
    ratings: [],
    closure: null,
    ...o,
  };
}

// A: dispatched 1 h after intake (in time), replied on time, rated 非常满意, closed.
const A = ticket({
  state: 'closed',
  leadDepartmentId: 'city-urban',
  timeline: [created('2026-11-26T08:00:00'), dispatch('2026-11-26T09:00:00', 'city-urban'), e('2026-11-26T15:00:00', 'reply', 'replied')],
  deadlines: { reply: clock({ due: '2026-12-10T17:30:00', done: '2026-11-26T15:00:00' }) },
  ratings: [rating('2026-11-26T16:00:00', 'very_satisfied')],
  closure: { kind: 'resolved', at: cst('2026-11-26T16:00:00') },
});
// B (紧急): dispatched 3 h after intake (late: 2 h), returned, the return approved (back to
// received), re-dispatched 30 min later (in time) to the water utility, whose reply clock ran
// out in the range without a reply.
const B = ticket({
  urgency: 'urgent',
  leadDepartmentId: 'city-water',
  timeline: [
    created('2026-11-26T08:00:00'),
    dispatch('2026-11-26T11:00:00', 'city-urban'),
    e('2026-11-26T12:00:00', 'return', 'returned'),
    e('2026-11-26T13:00:00', 'reviewReturn', 'received', { approve: true }),
    dispatch('2026-11-26T13:30:00', 'city-water'),
  ],
  deadlines: { reply: clock({ due: '2026-11-26T20:00:00' }) },
});
// C: dispatched before the range (not counted); an extension approved in the range (not counted:
// its dispatch is outside); replied late in the range; rated 不满意 in the range (disputed).
const C = ticket({
  state: 'disputed',
  leadDepartmentId: 'wenfeng-nanguan',
  timeline: [
    created('2026-11-20T08:00:00'),
    dispatch('2026-11-20T09:00:00', 'wenfeng-nanguan'),
    e('2026-11-26T08:00:00', 'decideExtension', 'handling', { approve: true, days: 2 }),
    e('2026-11-26T10:00:00', 'reply', 'replied'),
  ],
  deadlines: { reply: clock({ due: '2026-11-26T09:00:00', done: '2026-11-26T10:00:00' }), rectify: clock({ due: '2026-12-20T17:30:00' }) },
  ratings: [rating('2026-11-26T11:00:00', 'dissatisfied')],
});
// D: a rectification round: fed back on time in the range, rated 基本满意 (round 2), closed.
const D = ticket({
  state: 'closed',
  round: 2,
  leadDepartmentId: 'city-housing',
  timeline: [created('2026-11-01T08:00:00'), dispatch('2026-11-01T09:00:00', 'city-housing')],
  deadlines: { reply: clock({ due: '2026-11-10T17:30:00', done: '2026-11-05T10:00:00' }), rectify: clock({ due: '2026-11-26T12:00:00', done: '2026-11-26T10:00:00' }) },
  ratings: [rating('2026-11-02T10:00:00', 'very_dissatisfied', 1), rating('2026-11-26T14:00:00', 'basically_satisfied', 2)],
  closure: { kind: 'resolved', at: cst('2026-11-26T14:00:00') },
});
// E: answered on the spot, visited without a rating, closed: counts in coverage (not rated).
const E = ticket({
  state: 'closed',
  timeline: [created('2026-11-26T10:00:00'), e('2026-11-26T10:05:00', 'answerDirectly', 'visiting')],
  closure: { kind: 'answered_directly', at: cst('2026-11-26T10:30:00') },
});
// F: out of scope, closed at intake: never handled, never rated, not in coverage.
const F = ticket({ state: 'closed', timeline: [created('2026-11-26T09:00:00')], closure: { kind: 'out_of_scope', at: cst('2026-11-26T09:00:00') } });
// G: dispatched in time, an extension approved; the reply clock is not due yet.
const G = ticket({
  leadDepartmentId: 'city-urban',
  timeline: [
    created('2026-11-26T09:00:00'),
    dispatch('2026-11-26T10:00:00', 'city-urban'),
    e('2026-11-26T11:00:00', 'requestExtension', 'handling', { days: 3 }),
    e('2026-11-26T12:00:00', 'decideExtension', 'handling', { approve: true, days: 3 }),
  ],
  deadlines: { reply: clock({ due: '2026-12-15T17:30:00' }) },
});
// H: a cancelled reply clock due in the range does not count.
const H = ticket({ state: 'received', timeline: [created('2026-11-20T08:00:00')], deadlines: { reply: clock({ due: '2026-11-26T12:00:00', cancelled: '2026-11-25T12:00:00' }) } });

const ALL = [A, B, C, D, E, F, G, H];
const r = (numerator: number, denominator: number) => ({ numerator, denominator, rate: denominator === 0 ? null : numerator / denominator });

describe('ticket KPIs over one day', () => {
  const report = computeTicketKpis(ALL, RANGE);

  it('total: hand-computed', () => {
    expect(report.total).toEqual({
      // A 1 h ✓, B 3 h ✗ (urgent: 2 h), B again 30 min after the approved return ✓, G 1 h ✓
      timelyDispatch: r(3, 4),
      // A on time; B open and past due; C replied after due; G not due; H cancelled
      onTimeReply: r(1, 3),
      // closed and handled with a reply clock: A (replied on time), D (replied and rectified on
      // time); E answered on the spot has no handling deadline, F is out of scope
      onTimeCompletion: r(2, 2),
      // A 非常满意, C 不满意, D 基本满意
      satisfaction: r(2, 3),
      satisfactionStrict: r(1, 3),
      // A rated, D rated (its last round), E not; F out of scope is not counted
      ratingCoverage: r(2, 3),
      rectificationOnTime: r(1, 1),
      // of the 4 dispatches, B's first was returned, G's was extended
      returnRate: r(1, 4),
      extensionRate: r(1, 4),
      // taken in on the day: A, B, E, F, G (C, D, H earlier); none has a caller phone here
      repeatComplaints: r(0, 5),
      ratings: { very_satisfied: 1, satisfied: 0, basically_satisfied: 1, dissatisfied: 1, very_dissatisfied: 0 },
    });
  });

  it('per department: dispatches go to the department they named, the rest to the current lead', () => {
    const by = Object.fromEntries(report.byDepartment.map((d) => [d.departmentId, d]));
    expect(Object.keys(by)).toEqual(['city-housing', 'city-urban', 'city-water', 'wenfeng-nanguan']);
    expect(by['city-urban']).toMatchObject({ timelyDispatch: r(2, 3), returnRate: r(1, 3), extensionRate: r(1, 3), onTimeReply: r(1, 1), satisfaction: r(1, 1), ratingCoverage: r(1, 1) });
    expect(by['city-water']).toMatchObject({ timelyDispatch: r(1, 1), onTimeReply: r(0, 1), returnRate: r(0, 1) });
    expect(by['city-housing']).toMatchObject({ timelyDispatch: r(0, 0), rectificationOnTime: r(1, 1), satisfaction: r(1, 1), satisfactionStrict: r(0, 1), ratingCoverage: r(1, 1) });
    expect(by['wenfeng-nanguan']).toMatchObject({ onTimeReply: r(0, 1), satisfaction: r(0, 1), extensionRate: r(0, 0) });
  });

  it('scoped to one department: only what belongs to it', () => {
    const urban = computeTicketKpis(ALL, RANGE, 'city-urban');
    expect(urban.byDepartment.map((d) => d.departmentId)).toEqual(['city-urban']);
    const { departmentId: _d, ...own } = report.byDepartment.find((d) => d.departmentId === 'city-urban')!;
    expect(urban.total).toEqual(own);
  });

  it('nothing in range: every rate is null, never NaN', () => {
    const empty = computeTicketKpis(ALL, { from: cst('2025-01-01T00:00:00'), to: cst('2025-01-02T00:00:00'), now: RANGE.now });
    for (const [k, v] of Object.entries(empty.total)) if (k !== 'ratings') expect(v, k).toEqual(r(0, 0));
    expect(empty.byDepartment).toEqual([]);
  });
});

describe('edges', () => {
  it('dispatch exactly at the deadline is in time; one millisecond later is not', () => {
    const at = (ms: number) => {
      const t0 = cst('2026-11-26T08:00:00');
      return ticket({ urgency: 'critical', timeline: [{ ...created('2026-11-26T08:00:00'), at: t0 }, { ...dispatch('2026-11-26T08:00:00', 'x'), at: new Date(t0.getTime() + ms) }] });
    };
    const limit = DISPATCH_HOURS.critical * 3_600_000;
    expect(computeTicketKpis([at(limit)], RANGE).total.timelyDispatch).toEqual(r(1, 1));
    expect(computeTicketKpis([at(limit + 1)], RANGE).total.timelyDispatch).toEqual(r(0, 1));
  });

  it('an open clock is late only once due, and in the range its due time falls in', () => {
    const m = clock({ due: '2026-11-26T20:00:00' });
    expect(clockOutcome(m, { ...RANGE, now: cst('2026-11-26T19:59:59') })).toBeNull();
    expect(clockOutcome(m, RANGE)).toBe('late');
    expect(clockOutcome(m, { ...RANGE, from: cst('2026-11-27T00:00:00'), to: cst('2026-11-28T00:00:00') })).toBeNull();
    expect(clockOutcome(clock({ due: '2026-11-26T20:00:00', done: '2026-11-26T20:00:00' }), RANGE)).toBe('on_time');
  });

  it('ratings are counted at their own time: a late rating of a ticket closed earlier counts in its day', () => {
    const late = ticket({
      state: 'closed',
      leadDepartmentId: 'city-urban',
      timeline: [created('2026-11-20T08:00:00')],
      ratings: [rating('2026-11-26T09:00:00', 'satisfied')],
      closure: { kind: 'resolved', at: cst('2026-11-21T10:00:00') },
    });
    const k = computeTicketKpis([late], RANGE).total;
    expect(k.satisfaction).toEqual(r(1, 1));
    expect(k.ratingCoverage).toEqual(r(0, 0));
  });
});

describe('按期办结率 on-time completion', () => {
  const closed = (o: Partial<KpiTicket>): KpiTicket =>
    ticket({ state: 'closed', closure: { kind: 'resolved', at: cst('2026-11-26T12:00:00') }, timeline: [created('2026-11-20T08:00:00')], ...o });
  it('judged on the reply (答复/办结) clock and any rectification owed, at closure', () => {
    expect(completionOutcome(closed({ deadlines: { reply: clock({ due: '2026-11-25T17:30:00', done: '2026-11-25T17:30:00' }) } }))).toBe('on_time');
    expect(completionOutcome(closed({ deadlines: { reply: clock({ due: '2026-11-25T17:30:00', done: '2026-11-25T17:30:01' }) } }))).toBe('late');
    // replied on time, rectified late: the ticket was not completed on time
    const rectifiedLate = { reply: clock({ due: '2026-11-25T17:30:00', done: '2026-11-24T10:00:00' }), rectify: clock({ due: '2026-11-26T09:00:00', done: '2026-11-26T10:00:00' }) };
    expect(completionOutcome(closed({ deadlines: rectifiedLate }))).toBe('late');
    // a cancelled rectification clock owes nothing
    const cancelled = { reply: clock({ due: '2026-11-25T17:30:00', done: '2026-11-24T10:00:00' }), rectify: clock({ due: '2026-11-26T09:00:00', cancelled: '2026-11-25T10:00:00' }) };
    expect(completionOutcome(closed({ deadlines: cancelled }))).toBe('on_time');
  });
  it('not counted: no handling deadline (表扬, answered on the spot), cancelled reply clock, not handled, still open', () => {
    expect(completionOutcome(closed({ deadlines: {} }))).toBeNull();
    expect(completionOutcome(closed({ deadlines: { reply: clock({ due: '2026-11-25T17:30:00', cancelled: '2026-11-24T10:00:00' }) } }))).toBeNull();
    const onTime = { reply: clock({ due: '2026-11-25T17:30:00', done: '2026-11-24T10:00:00' }) };
    expect(completionOutcome(closed({ deadlines: onTime, closure: { kind: 'closed_by_hotline', at: cst('2026-11-26T12:00:00') } }))).toBeNull();
    expect(completionOutcome(closed({ deadlines: onTime, closure: { kind: 'out_of_scope', at: cst('2026-11-26T12:00:00') } }))).toBeNull();
    expect(completionOutcome(closed({ deadlines: onTime, state: 'visiting' }))).toBeNull();
  });
});

describe('breakdown by period, category, channel and department; repeat complaints', () => {
  // A week: Monday 2026-11-23 to Monday 2026-11-30 (city time); the report is read on 12-01.
  const WEEK = { from: cst('2026-11-23T00:00:00'), to: cst('2026-11-30T00:00:00'), now: cst('2026-12-01T10:00:00') };
  const who = (phone: string, address = '安阳市某地某号') => ({ caller: { phone }, address });
  // P1 complaint by phone from 13800000001: dispatched 1 h after intake, replied on time, rated 满意, closed
  const P1 = ticket({
    category: 'complaint',
    channel: 'phone',
    ...who('13800000001', '文峰大道1号'),
    state: 'closed',
    leadDepartmentId: 'city-urban',
    timeline: [created('2026-11-23T09:00:00'), dispatch('2026-11-23T10:00:00', 'city-urban')],
    deadlines: { reply: clock({ due: '2026-11-25T17:30:00', done: '2026-11-24T10:00:00' }) },
    ratings: [rating('2026-11-24T12:00:00', 'satisfied')],
    closure: { kind: 'resolved', at: cst('2026-11-24T12:00:00') },
  });
  // P2 the same caller (written differently), same category, 3 days later → a repeat. Taken in at
  // 01:00 city time on the 26th (17:00 UTC on the 25th): its day is the 26th. Reply clock ran out.
  const P2 = ticket({
    category: 'complaint',
    channel: 'wechat',
    ...who('+86 138-0000-0001', '北关区红旗路9号'),
    leadDepartmentId: 'city-water',
    timeline: [created('2026-11-26T01:00:00'), dispatch('2026-11-26T02:00:00', 'city-water')],
    deadlines: { reply: clock({ due: '2026-11-28T12:00:00' }) },
  });
  // P3 help from 13900000002: dispatched 26 h after intake (late), replied late, closed unrated
  const P3 = ticket({
    category: 'help',
    channel: 'phone',
    ...who('13900000002', '中华路 8 号'),
    state: 'closed',
    leadDepartmentId: 'city-urban',
    timeline: [created('2026-11-23T10:00:00'), dispatch('2026-11-24T12:00:00', 'city-urban')],
    deadlines: { reply: clock({ due: '2026-11-26T17:30:00', done: '2026-11-27T09:00:00' }) },
    closure: { kind: 'resolved', at: cst('2026-11-27T10:00:00') },
  });
  // P4 a suggestion from the same caller about the same address (punctuation differs) → a repeat
  const P4 = ticket({ category: 'suggestion', channel: 'web', ...who('13900000002', '中华路8号。'), state: 'received', timeline: [created('2026-11-29T10:00:00')] });
  // P5 praise from P1's caller: neither counted nor a predecessor
  const P5 = ticket({ category: 'praise', channel: 'phone', ...who('13800000001', '文峰大道1号'), state: 'received', timeline: [created('2026-11-27T10:00:00')] });
  // P8 before the range (inside the 30-day window), P9 the same caller and category 27 days later → a repeat
  const P8 = ticket({ category: 'complaint', channel: 'phone', ...who('13600000004'), state: 'received', timeline: [created('2026-11-01T10:00:00')] });
  const P9 = ticket({ category: 'complaint', channel: 'phone', ...who('13600000004', '另一个地址'), state: 'received', timeline: [created('2026-11-28T10:00:00')] });
  const SET = [P1, P2, P3, P4, P5, P8, P9];

  it('total: hand-computed', () => {
    const { total } = computeTicketKpiBreakdown(SET, WEEK, {});
    expect(total).toMatchObject({
      timelyDispatch: r(2, 3), // P1 ✓, P2 ✓, P3 ✗
      onTimeReply: r(1, 3), // P1 ✓, P3 late, P2 ran out on the 28th
      onTimeCompletion: r(1, 2), // P1 ✓, P3 ✗
      ratingCoverage: r(1, 2),
      satisfaction: r(1, 1),
      returnRate: r(0, 3),
      extensionRate: r(0, 3),
      repeatComplaints: r(3, 5), // taken in: P1, P2, P3, P4, P9 (P5 praise, P8 earlier); repeats P2, P4, P9
    });
  });

  it('by day (city time): each event in the bucket of its own time', () => {
    const { groups } = computeTicketKpiBreakdown(SET, WEEK, { groupBy: ['period'], bucket: 'day', utcOffsetMinutes: 480 });
    const by = Object.fromEntries(groups.map((g) => [g.key.period, g]));
    expect(Object.keys(by)).toEqual(['2026-11-23', '2026-11-24', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29']);
    expect(by['2026-11-23']).toMatchObject({ timelyDispatch: r(1, 1), repeatComplaints: r(0, 2), onTimeReply: r(0, 0) });
    expect(by['2026-11-23']!.key).toEqual({ period: '2026-11-23', periodFrom: '2026-11-22T16:00:00.000Z', periodTo: '2026-11-23T16:00:00.000Z' });
    expect(by['2026-11-24']).toMatchObject({ timelyDispatch: r(0, 1), onTimeReply: r(1, 1), onTimeCompletion: r(1, 1), ratingCoverage: r(1, 1), satisfaction: r(1, 1) });
    expect(by['2026-11-26']).toMatchObject({ timelyDispatch: r(1, 1), repeatComplaints: r(1, 1) });
    expect(by['2026-11-27']).toMatchObject({ onTimeReply: r(0, 1), onTimeCompletion: r(0, 1), ratingCoverage: r(0, 1), repeatComplaints: r(0, 0) });
    expect(by['2026-11-28']).toMatchObject({ onTimeReply: r(0, 1), repeatComplaints: r(1, 1) });
    expect(by['2026-11-29']).toMatchObject({ repeatComplaints: r(1, 1), timelyDispatch: r(0, 0) });
  });

  it('by week (Monday) and by month: one bucket here, equal to the total', () => {
    const week = computeTicketKpiBreakdown(SET, WEEK, { groupBy: ['period'], bucket: 'week', utcOffsetMinutes: 480 });
    expect(week.groups.map((g) => g.key)).toEqual([{ period: '2026-11-23', periodFrom: '2026-11-22T16:00:00.000Z', periodTo: '2026-11-29T16:00:00.000Z' }]);
    const { key: _k, ...weekKpis } = week.groups[0]!;
    expect(weekKpis).toEqual(week.total);
    const month = computeTicketKpiBreakdown(SET, WEEK, { groupBy: ['period'], bucket: 'month', utcOffsetMinutes: 480 });
    expect(month.groups.map((g) => g.key)).toEqual([{ period: '2026-11-01', periodFrom: '2026-10-31T16:00:00.000Z', periodTo: '2026-11-30T16:00:00.000Z' }]);
  });

  it('by category and by channel', () => {
    const cat = computeTicketKpiBreakdown(SET, WEEK, { groupBy: ['category'] });
    expect(cat.groups.map((g) => g.key.category)).toEqual(['complaint', 'help', 'suggestion']);
    expect(cat.groups[0]).toMatchObject({ timelyDispatch: r(2, 2), onTimeReply: r(1, 2), onTimeCompletion: r(1, 1), repeatComplaints: r(2, 3) });
    expect(cat.groups[1]).toMatchObject({ timelyDispatch: r(0, 1), onTimeReply: r(0, 1), onTimeCompletion: r(0, 1), repeatComplaints: r(0, 1) });
    expect(cat.groups[2]).toMatchObject({ repeatComplaints: r(1, 1), timelyDispatch: r(0, 0) });
    const ch = computeTicketKpiBreakdown(SET, WEEK, { groupBy: ['channel'] });
    const by = Object.fromEntries(ch.groups.map((g) => [g.key.channel, g]));
    expect(Object.keys(by)).toEqual(['phone', 'web', 'wechat']);
    expect(by.phone).toMatchObject({ timelyDispatch: r(1, 2), repeatComplaints: r(1, 3), onTimeReply: r(1, 2) });
    expect(by.wechat).toMatchObject({ timelyDispatch: r(1, 1), repeatComplaints: r(1, 1), onTimeReply: r(0, 1) });
    expect(by.web).toMatchObject({ repeatComplaints: r(1, 1) });
  });

  it('by department × day: keys in order, no department first; numerators add up to the total', () => {
    const b = computeTicketKpiBreakdown(SET, WEEK, { groupBy: ['period', 'department'], bucket: 'day' });
    expect(b.groups.map((g) => [g.key.departmentId, g.key.period])).toEqual([
      [null, '2026-11-28'],
      [null, '2026-11-29'],
      ['city-urban', '2026-11-23'],
      ['city-urban', '2026-11-24'],
      ['city-urban', '2026-11-27'],
      ['city-water', '2026-11-26'],
      ['city-water', '2026-11-28'],
    ]);
    expect(b.groups[2]).toMatchObject({ timelyDispatch: r(1, 1), repeatComplaints: r(0, 2) });
    for (const k of ['timelyDispatch', 'onTimeReply', 'onTimeCompletion', 'ratingCoverage', 'repeatComplaints'] as const) {
      expect(b.groups.reduce((a, g) => a + g[k].numerator, 0), k).toBe(b.total[k].numerator);
      expect(b.groups.reduce((a, g) => a + g[k].denominator, 0), k).toBe(b.total[k].denominator);
    }
  });

  it('any input order gives the same answer (one pass over an unsorted cursor)', () => {
    const opts = { groupBy: ['department', 'category', 'channel', 'period'] as const, bucket: 'day' as const };
    expect(computeTicketKpiBreakdown([...SET].reverse(), WEEK, opts)).toEqual(computeTicketKpiBreakdown(SET, WEEK, opts));
  });

  it('scoped to a department: its own events; the earlier ticket of a repeat may be anyone’s', () => {
    const water = computeTicketKpiBreakdown(SET, WEEK, { departmentId: 'city-water', groupBy: ['department'] });
    expect(water.total).toMatchObject({ timelyDispatch: r(1, 1), onTimeReply: r(0, 1), repeatComplaints: r(1, 1) });
    expect(water.groups.map((g) => g.key.departmentId)).toEqual(['city-water']);
  });

  it(`repeat window: ${REPEAT_WINDOW_DAYS} days to the millisecond, configurable`, () => {
    const at = (iso: string, phone = '13500000005') => ticket({ category: 'complaint', ...who(phone), state: 'received', timeline: [created(iso)] });
    const first = at('2026-10-27T10:00:00');
    const exactly = at('2026-11-26T10:00:00'); // 30 × 24 h later
    const range = { from: cst('2026-11-26T00:00:00'), to: cst('2026-11-27T00:00:00'), now: RANGE.now };
    expect(computeTicketKpiBreakdown([first, exactly], range, {}).total.repeatComplaints).toEqual(r(1, 1));
    const later = ticket({ ...exactly, timeline: [{ ...created('2026-11-26T10:00:00'), at: new Date(cst('2026-11-26T10:00:00').getTime() + 1) }], createdAt: new Date(cst('2026-11-26T10:00:00').getTime() + 1) });
    expect(computeTicketKpiBreakdown([first, later], range, {}).total.repeatComplaints).toEqual(r(0, 1));
    expect(computeTicketKpiBreakdown([first, later], range, { repeatWindowDays: 31 }).total.repeatComplaints).toEqual(r(1, 1));
    // another caller, or another category at another address: not a repeat
    expect(computeTicketKpiBreakdown([at('2026-11-25T10:00:00', '13500000006'), exactly], range, {}).total.repeatComplaints).toEqual(r(0, 1));
    const otherCategory = ticket({ ...at('2026-11-25T10:00:00'), category: 'help', address: '别处某街某号' });
    expect(computeTicketKpiBreakdown([otherCategory, exactly], range, {}).total.repeatComplaints).toEqual(r(0, 1));
    // two repeats the same day: both count once each
    expect(computeTicketKpiBreakdown([first, exactly, at('2026-11-26T11:00:00')], range, {}).total.repeatComplaints).toEqual(r(2, 2));
  });

  it('caller and address normalisation', () => {
    expect(normalisePhone('+86 138-0000-0001')).toBe('13800000001');
    expect(normalisePhone('8613800000001')).toBe('13800000001');
    expect(normalisePhone('0372-5123456')).toBe('03725123456');
    expect(normalisePhone('')).toBe('');
    expect(normalisePhone(null)).toBe('');
    expect(normaliseAddress(' 中华路 8 号。')).toBe('中华路8号');
    expect(normaliseAddress('无')).toBe('');
  });

  it('buckets in city time: day, ISO week from Monday, month', () => {
    const late = new Date('2026-11-29T17:30:00Z'); // Monday 2026-11-30 01:30 in Anyang
    expect(bucketOf(late, 'day', 480)).toBe('2026-11-30');
    expect(bucketOf(late, 'day', 0)).toBe('2026-11-29');
    expect(bucketOf(late, 'week', 480)).toBe('2026-11-30');
    expect(bucketOf(new Date('2026-11-29T15:59:59.999Z'), 'week', 480)).toBe('2026-11-23'); // Sunday 23:59:59.999
    expect(bucketOf(new Date('2026-11-30T16:00:00Z'), 'month', 480)).toBe('2026-12-01');
    expect(bucketRange('2026-12-01', 'month', 480)).toEqual({ from: new Date('2026-11-30T16:00:00Z'), to: new Date('2026-12-31T16:00:00Z') });
    expect(bucketRange('2026-11-30', 'week', 480).to).toEqual(new Date('2026-12-06T16:00:00Z'));
  });
});
