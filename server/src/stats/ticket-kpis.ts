/**
 * Ticket KPIs: every definition in one place (HOTLINE-RULES.md "KPI definitions"; seed items 35
 * and 36 ask for 100% timely transfer, on-time reply, rating coverage and on-time rectification
 * of real-name bad ratings). Pure: ticket documents in, numbers out; tested on constructed data
 * (test/unit/stats/ticket-kpis.test.ts). The reader (routes.ts) only selects candidate tickets
 * with a plain find and a projection, which works the same on MongoDB and FerretDB.
 *
 * Every KPI is counted over a range [from, to) of the instant its event happened:
 *
 * - 及时转办率 timely dispatch rate = dispatches made within the dispatch deadline ÷ dispatches.
 *   A dispatch is a `dispatch` timeline entry at in [from, to). Its clock starts when the ticket
 *   last entered `received` (intake, or an approved return / reopen that sent it back to the
 *   hotline for 改派) and allows DISPATCH_HOURS (HOTLINE-RULES "Default deadlines": 转办 after
 *   intake 2 h for 特急/紧急, 24 h for 一般; elapsed time — the hotline works 7×24).
 * - 按期回复率 on-time reply rate = replies before the (extended) reply deadline ÷ replies due.
 *   Read from the `reply` milestone: met (doneAt in range) counts as due, on time when doneAt ≤
 *   dueAt (dueAt already includes approved extensions and suspended time); still open with
 *   dueAt in range and passed counts as due and late; cancelled clocks (returned, re-dispatched)
 *   do not count. A redo re-opens the milestone, so the latest clock of each ticket counts.
 * - 满意率 satisfaction = (非常满意 + 满意 + 基本满意) ÷ ratings; `strict` leaves out 基本满意.
 *   Ratings counted by their `at`; every handling round's rating counts.
 * - 评价覆盖率 rating coverage = closed tickets with a rating of their last round ÷ closed tickets
 *   (closure.at in range). Tickets closed as out of scope or by the hotline at intake are not
 *   counted: they were never handled and cannot be rated (machine.ts `rate` precondition).
 * - 差评按期整改率 on-time rectification of real-name bad ratings = rectifications fed back in
 *   time ÷ rectifications due. A valid real-name bad rating sent back for rectification opens
 *   the `rectify` milestone; it is read exactly like the reply milestone above. Bad ratings
 *   found invalid, or valid and settled by explanation at verification, owe no rectification.
 * - 退单率 return rate = dispatches (in range) the department returned (退单) before the next
 *   dispatch ÷ dispatches.
 * - 延期率 extension rate = dispatches (in range) that got an approved extension (延期) before
 *   the next dispatch ÷ dispatches.
 *
 * Department scope: dispatch, return and extension counts go to the department the dispatch
 * named as lead; milestones, ratings and closures to the ticket's current lead department (a
 * re-dispatch cancels the earlier department's clocks). Co-handling departments are not
 * counted: the lead answers for the ticket (主办).
 */
import type { Milestone } from '../deadlines/milestones.js';
import type { RatingRecord, TimelineEntry } from '../tickets/types.js';
import type { ClosureKind } from '../tickets/types.js';
import type { TicketState, Urgency } from '../tickets/vocabulary.js';

/** 转办 deadline after intake, hours (HOTLINE-RULES "Default deadlines"). */
export const DISPATCH_HOURS: Record<Urgency, number> = { critical: 2, urgent: 2, normal: 24 };

/** The fields the KPIs read (the reader's projection). */
export interface KpiTicket {
  _id: unknown;
  urgency: Urgency;
  state: TicketState;
  round: number;
  createdAt: Date;
  leadDepartmentId: string | null;
  deadlines: { reply?: Milestone; rectify?: Milestone };
  ratings: RatingRecord[];
  closure: { kind: ClosureKind; at: Date } | null;
  timeline: Pick<TimelineEntry, 'at' | 'action' | 'from' | 'to' | 'data'>[];
}

/** Whole sub-documents only: FerretDB v1 does not project dotted paths into arrays. */
export const TICKET_KPI_PROJECTION = {
  urgency: 1,
  state: 1,
  round: 1,
  createdAt: 1,
  leadDepartmentId: 1,
  deadlines: 1,
  ratings: 1,
  closure: 1,
  timeline: 1,
} as const;

export interface Ratio {
  numerator: number;
  denominator: number;
  /** numerator ÷ denominator, null when nothing was due */
  rate: number | null;
}

export interface TicketKpis {
  timelyDispatch: Ratio;
  onTimeReply: Ratio;
  satisfaction: Ratio;
  satisfactionStrict: Ratio;
  ratingCoverage: Ratio;
  rectificationOnTime: Ratio;
  returnRate: Ratio;
  extensionRate: Ratio;
  /** ratings by level, for the chart */
  ratings: Record<RatingRecord['level'], number>;
}

interface Counts {
  dispatched: number;
  dispatchedInTime: number;
  returned: number;
  extended: number;
  repliesDue: number;
  repliesOnTime: number;
  rectifyDue: number;
  rectifyOnTime: number;
  ratings: Record<RatingRecord['level'], number>;
  closed: number;
  closedRated: number;
}

const emptyCounts = (): Counts => ({
  dispatched: 0,
  dispatchedInTime: 0,
  returned: 0,
  extended: 0,
  repliesDue: 0,
  repliesOnTime: 0,
  rectifyDue: 0,
  rectifyOnTime: 0,
  ratings: { very_satisfied: 0, satisfied: 0, basically_satisfied: 0, dissatisfied: 0, very_dissatisfied: 0 },
  closed: 0,
  closedRated: 0,
});

export const ratio = (numerator: number, denominator: number): Ratio => ({ numerator, denominator, rate: denominator === 0 ? null : numerator / denominator });

export interface KpiRange {
  from: Date;
  to: Date;
  /** the moment of the report: an open milestone is late only once its due time has passed */
  now: Date;
}

const t = (d: Date | string): number => new Date(d).getTime();
const inRange = (at: Date | string | null | undefined, r: KpiRange): boolean => at != null && t(at) >= t(r.from) && t(at) < t(r.to);

/** Was this (reply or rectify) clock due in the range, and was it met in time? null: not due in range. */
export function clockOutcome(m: Milestone | undefined, r: KpiRange): 'on_time' | 'late' | null {
  if (!m || m.cancelledAt) return null;
  if (m.doneAt) return inRange(m.doneAt, r) ? (t(m.doneAt) <= t(m.dueAt) ? 'on_time' : 'late') : null;
  // still open: late once its due time has passed, counted in the range the due time falls in
  return inRange(m.dueAt, r) && t(m.dueAt) <= t(r.now) ? 'late' : null;
}

function addTicket(tk: KpiTicket, r: KpiRange, countsOf: (dept: string | null) => Counts[]): void {
  // Dispatches, and what followed each one until the next (return, approved extension).
  let receivedAt: number = t(tk.createdAt);
  const tl = [...tk.timeline].sort((a, b) => t(a.at) - t(b.at));
  for (let i = 0; i < tl.length; i++) {
    const e = tl[i]!;
    if (e.action !== 'dispatch') {
      if (e.to === 'received') receivedAt = t(e.at);
      continue;
    }
    if (!inRange(e.at, r)) continue;
    const lead = typeof e.data?.leadDepartmentId === 'string' ? e.data.leadDepartmentId : null;
    let returned = false;
    let extended = false;
    for (let j = i + 1; j < tl.length && tl[j]!.action !== 'dispatch'; j++) {
      const f = tl[j]!;
      if (f.action === 'return') returned = true;
      if (f.action === 'decideExtension' && f.data?.approve === true) extended = true;
    }
    const inTime = t(e.at) - receivedAt <= DISPATCH_HOURS[tk.urgency] * 3_600_000;
    for (const c of countsOf(lead)) {
      c.dispatched += 1;
      if (inTime) c.dispatchedInTime += 1;
      if (returned) c.returned += 1;
      if (extended) c.extended += 1;
    }
  }

  const current = countsOf(tk.leadDepartmentId);
  const reply = clockOutcome(tk.deadlines?.reply, r);
  const rectify = clockOutcome(tk.deadlines?.rectify, r);
  for (const c of current) {
    if (reply) {
      c.repliesDue += 1;
      if (reply === 'on_time') c.repliesOnTime += 1;
    }
    if (rectify) {
      c.rectifyDue += 1;
      if (rectify === 'on_time') c.rectifyOnTime += 1;
    }
    for (const rating of tk.ratings ?? []) if (inRange(rating.at, r)) c.ratings[rating.level] += 1;
    if (tk.state === 'closed' && tk.closure && inRange(tk.closure.at, r) && tk.closure.kind !== 'out_of_scope' && tk.closure.kind !== 'closed_by_hotline') {
      c.closed += 1;
      if ((tk.ratings ?? []).some((x) => x.round === tk.round)) c.closedRated += 1;
    }
  }
}

function kpisOf(c: Counts): TicketKpis {
  const { very_satisfied: vs, satisfied: s, basically_satisfied: bs } = c.ratings;
  const rated = Object.values(c.ratings).reduce((a, b) => a + b, 0);
  return {
    timelyDispatch: ratio(c.dispatchedInTime, c.dispatched),
    onTimeReply: ratio(c.repliesOnTime, c.repliesDue),
    satisfaction: ratio(vs + s + bs, rated),
    satisfactionStrict: ratio(vs + s, rated),
    ratingCoverage: ratio(c.closedRated, c.closed),
    rectificationOnTime: ratio(c.rectifyOnTime, c.rectifyDue),
    returnRate: ratio(c.returned, c.dispatched),
    extensionRate: ratio(c.extended, c.dispatched),
    ratings: { ...c.ratings },
  };
}

export interface TicketKpiReport {
  /** all tickets (or, with `departmentId`, that department's share) */
  total: TicketKpis;
  /** per lead department, sorted by id; tickets without a department (answered on the spot) only count in `total` */
  byDepartment: ({ departmentId: string } & TicketKpis)[];
}

/**
 * The KPIs of `tickets` over the range. With `departmentId`, only what is attributed to that
 * department counts (see the header comment).
 */
export function computeTicketKpis(tickets: Iterable<KpiTicket>, range: KpiRange, departmentId: string | null = null): TicketKpiReport {
  const total = emptyCounts();
  const perDept = new Map<string, Counts>();
  const countsOf = (dept: string | null): Counts[] => {
    if (departmentId !== null && dept !== departmentId) return [];
    if (dept === null) return [total];
    let c = perDept.get(dept);
    if (!c) perDept.set(dept, (c = emptyCounts()));
    return [total, c];
  };
  for (const tk of tickets) addTicket(tk, range, countsOf);
  return {
    total: kpisOf(total),
    byDepartment: [...perDept.entries()]
      .filter(([, c]) => Object.entries(c).some(([k, v]) => (k === 'ratings' ? Object.values(c.ratings).some((n) => n > 0) : (v as number) > 0)))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, c]) => ({ departmentId: id, ...kpisOf(c) })),
  };
}
