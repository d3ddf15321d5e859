/**
 * Ticket KPI definitions (server/src/stats/ticket-kpis.ts, HOTLINE-RULES "KPI definitions") on
 * constructed ticket documents with hand-computed answers.
 */
import { describe, expect, it } from 'vitest';
import type { Milestone } from '../../../server/src/deadlines/milestones.js';
import { clockOutcome, computeTicketKpis, DISPATCH_HOURS, type KpiTicket } from '../../../server/src/stats/ticket-kpis.js';
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
      // A 非常满意, C 不满意, D 基本满意
      satisfaction: r(2, 3),
      satisfactionStrict: r(1, 3),
      // A rated, D rated (its last round), E not; F out of scope is not counted
      ratingCoverage: r(2, 3),
      rectificationOnTime: r(1, 1),
      // of the 4 dispatches, B's first was returned, G's was extended
      returnRate: r(1, 4),
      extensionRate: r(1, 4),
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
