/**
 * Ticket KPIs: every definition in one place (HOTLINE-RULES.md "KPI definitions"; seed items 35
 * and 36 ask for 100% timely transfer, on-time reply, rating coverage and on-time rectification
 * of real-name bad ratings; issue #6 item 5 adds on-time completion, return and extension rates
 * and repeat complaints, per department, category, channel and period). Pure: ticket documents
 * in, numbers out; tested on constructed data (test/unit/stats/ticket-kpis.test.ts). The reader
 * (routes.ts) streams candidate tickets through a plain find with a projection — one pass, no
 * aggregation pipeline — which works the same on MongoDB and FerretDB v1.
 *
 * Every KPI is counted over a range [from, to) of the instant its event happened, and a group
 * (period bucket, department) is the one of that event:
 *
 * - 及时转办率 timely dispatch rate = dispatches made within the dispatch deadline ÷ dispatches.
 *   A dispatch is a `dispatch` timeline entry at in [from, to). Its clock starts when the ticket
 *   last entered `received` (intake, or an approved return / reopen that sent it back to the
 *   hotline for 改派) and allows DISPATCH_HOURS (HOTLINE-RULES "Default deadlines": 转办 after
 *   intake 2 h for 特急/紧急, 24 h for 一般; elapsed time — the hotline works 7×24).
 *   Event time: the dispatch.
 * - 按期回复率 on-time reply rate = replies before the (extended) reply deadline ÷ replies due.
 *   Read from the `reply` milestone: met (doneAt in range) counts as due, on time when doneAt ≤
 *   dueAt (dueAt already includes approved extensions and suspended time); still open with
 *   dueAt in range and passed counts as due and late; cancelled clocks (returned, re-dispatched)
 *   do not count. A redo re-opens the milestone, so the latest clock of each ticket counts.
 *   Event time: doneAt, or dueAt for a clock that ran out.
 * - 按期办结率 on-time completion = tickets closed (办结) in time ÷ tickets closed that had a
 *   handling deadline. HOTLINE-RULES "Default deadlines" gives one deadline for "reply (答复/办结)"
 *   (咨询 3, 求助/建议 5, 投诉/举报 10 working days, extensions included), so a department's
 *   办结 is judged on that clock, but per ticket and at closure — after review, redo and any
 *   rectification: a ticket closed in [from, to) (handled: not out of scope, not closed by the
 *   hotline at intake) with a reply clock that was not cancelled is in time when that clock was
 *   met by its due time and, if a rectification (整改) was owed, it was fed back by its due time
 *   too. Tickets without a handling deadline (表扬, answered on the spot) are not counted.
 *   Unlike 按期回复率 (each reply, when it happens) this is the final result of the ticket.
 *   Event time: closure.
 * - 满意率 satisfaction = (非常满意 + 满意 + 基本满意) ÷ ratings; `strict` leaves out 基本满意.
 *   Ratings counted by their `at`; every handling round's rating counts, a default rating
 *   (DEFAULT_RATING, given when none came within the window; off by default) like any other.
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
 * - 重复投诉率 repeat complaints = tickets taken in (受理, createdAt in range) that repeat an
 *   earlier ticket ÷ tickets taken in. A ticket repeats an earlier one when the same caller phone
 *   (digits only, a leading 86 country code dropped) filed a ticket of the same category, or about
 *   the same address (whitespace and punctuation ignored), within REPEAT_WINDOW_DAYS before it.
 *   Sources: 国办函〔2025〕66号 asks platforms to merge repeat complaints (并单), and issue #6
 *   item 8 treats "same address within a window" as the same matter; the window is a default
 *   (30 days, one monthly assessment cycle), a parameter like every other number here. 表扬
 *   (praise) is neither counted nor a predecessor: it is not a 诉求 to be resolved. The earlier
 *   ticket may lie before `from` (the reader fetches the window before the range too), and may
 *   belong to any department. Event time: intake.
 *
 * Department scope: dispatch, return and extension counts go to the department the dispatch
 * named as lead; milestones, ratings, closures and intakes to the ticket's current lead
 * department (a re-dispatch cancels the earlier department's clocks). Co-handling departments
 * are not counted: the lead answers for the ticket (主办). Category and channel are the ticket's.
 */
import type { Milestone } from '../deadlines/milestones.js';
import type { RatingRecord, TimelineEntry } from '../tickets/types.js';
import type { ClosureKind } from '../tickets/types.js';
import type { Category, Channel, TicketState, Urgency } from '../tickets/vocabulary.js';

/** 转办 deadline after intake, hours (HOTLINE-RULES "Default deadlines"). */
export const DISPATCH_HOURS: Record<Urgency, number> = { critical: 2, urgent: 2, normal: 24 };

/** 重复投诉: an earlier ticket of the same caller within this many days (see the header). */
export const REPEAT_WINDOW_DAYS = 30;

const DAY = 86_400_000;

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
  /** Breakdown and repeat complaints; optional so older callers' documents still count. */
  category?: Category;
  channel?: Channel;
  caller?: { phone?: string | null } | null;
  address?: string | null;
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
  category: 1,
  channel: 1,
  caller: 1,
  address: 1,
} as const;

export interface Ratio {
  numerator: number;
  denominator: number;
  /** numerator ÷ denominator, null when nothing was due */
  rate: number | null;
}

/** The KPIs of the wallboard and the ledger export (issue #5; their columns are fixed there). */
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

/** Every KPI (issue #6 item 5 adds on-time completion and repeat complaints). */
export interface AllTicketKpis extends TicketKpis {
  onTimeCompletion: Ratio;
  repeatComplaints: Ratio;
}

/** Every count the KPIs are made of; the rating levels count ratings given. */
export const COUNTERS = [
  'dispatched',
  'dispatchedInTime',
  'returned',
  'extended',
  'repliesDue',
  'repliesOnTime',
  'completionsDue',
  'completionsOnTime',
  'rectifyDue',
  'rectifyOnTime',
  'very_satisfied',
  'satisfied',
  'basically_satisfied',
  'dissatisfied',
  'very_dissatisfied',
  'closed',
  'closedRated',
  'intakes',
  'repeats',
] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Record<Counter, number>;

export const emptyCounts = (): Counts => Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counts;

const isEmpty = (c: Counts): boolean => COUNTERS.every((k) => c[k] === 0);

/** a += b */
export function addCounts(a: Counts, b: Partial<Counts>): void {
  for (const k in b) a[k as Counter] += b[k as Counter]!;
}

export const ratio = (numerator: number, denominator: number): Ratio => ({ numerator, denominator, rate: denominator === 0 ? null : numerator / denominator });

export interface KpiRange {
  from: Date;
  to: Date;
  /** the moment of the report: an open milestone is late only once its due time has passed */
  now: Date;
}

const t = (d: Date | string): number => (d instanceof Date ? d.getTime() : new Date(d).getTime());
const inRange = (at: Date | string | null | undefined, r: KpiRange): boolean => at != null && t(at) >= t(r.from) && t(at) < t(r.to);

/** Was this (reply or rectify) clock due in the range, and was it met in time? null: not due in range. */
export function clockOutcome(m: Milestone | undefined, r: KpiRange): 'on_time' | 'late' | null {
  if (!m || m.cancelledAt) return null;
  if (m.doneAt) return inRange(m.doneAt, r) ? (t(m.doneAt) <= t(m.dueAt) ? 'on_time' : 'late') : null;
  // still open: late once its due time has passed, counted in the range the due time falls in
  return inRange(m.dueAt, r) && t(m.dueAt) <= t(r.now) ? 'late' : null;
}

/** The instant a counted clock outcome belongs to (its period bucket). */
const clockAt = (m: Milestone): Date => m.doneAt ?? m.dueAt;

/** 按期办结: a closed, handled ticket with a handling deadline; null when it does not count. */
export function completionOutcome(tk: Pick<KpiTicket, 'state' | 'closure' | 'deadlines'>): 'on_time' | 'late' | null {
  if (tk.state !== 'closed' || !tk.closure || !handledClosure(tk.closure.kind)) return null;
  const reply = tk.deadlines?.reply;
  if (!reply || reply.cancelledAt) return null;
  const met = (m: Milestone): boolean => m.doneAt != null && t(m.doneAt) <= t(m.dueAt);
  if (!met(reply)) return 'late';
  const rectify = tk.deadlines?.rectify;
  if (rectify && !rectify.cancelledAt && !met(rectify)) return 'late';
  return 'on_time';
}

const handledClosure = (kind: ClosureKind): boolean => kind !== 'out_of_scope' && kind !== 'closed_by_hotline';

// ----- events ---------------------------------------------------------------------------------

/**
 * One counted event of a ticket: its instant, the department it is attributed to and what it
 * adds. Every KPI above is a sum of these over the events whose instant is in the range (the
 * accumulator) — or over the city days the range covers (the daily roll-up, kpi-rollup.ts).
 * Repeat complaints are the exception: they compare tickets, so `repeats` is added by whoever
 * knows (the accumulator's sort, or the roll-up's caller index).
 */
export interface KpiEvent {
  at: number;
  dept: string | null;
  counts: Partial<Counts>;
}

/**
 * The counted events of a ticket as of `now` (an open clock is counted late at its due time
 * once that has passed). Intake (受理) is one event with `intakes: 1`; praise is not counted.
 */
export function kpiEvents(tk: KpiTicket, now: Date): KpiEvent[] {
  const out: KpiEvent[] = [];
  // Dispatches, and what followed each one until the next (return, approved extension).
  let receivedAt: number = t(tk.createdAt);
  const tl = [...(tk.timeline ?? [])].sort((a, b) => t(a.at) - t(b.at));
  for (let i = 0; i < tl.length; i++) {
    const e = tl[i]!;
    if (e.action !== 'dispatch') {
      if (e.to === 'received') receivedAt = t(e.at);
      continue;
    }
    const lead = typeof e.data?.leadDepartmentId === 'string' ? e.data.leadDepartmentId : null;
    const counts: Partial<Counts> = { dispatched: 1 };
    for (let j = i + 1; j < tl.length && tl[j]!.action !== 'dispatch'; j++) {
      const f = tl[j]!;
      if (f.action === 'return') counts.returned = 1;
      if (f.action === 'decideExtension' && f.data?.approve === true) counts.extended = 1;
    }
    if (t(e.at) - receivedAt <= DISPATCH_HOURS[tk.urgency] * 3_600_000) counts.dispatchedInTime = 1;
    out.push({ at: t(e.at), dept: lead, counts });
  }

  const dept = tk.leadDepartmentId;
  // every instant is in range: the caller's range picks events by their instant (clockAt)
  const always: KpiRange = { from: new Date(-8.64e15), to: new Date(8.64e15), now };
  const clock = (m: Milestone | undefined, due: 'repliesDue' | 'rectifyDue', onTime: 'repliesOnTime' | 'rectifyOnTime'): void => {
    const outcome = clockOutcome(m, always);
    if (outcome) out.push({ at: t(clockAt(m!)), dept, counts: outcome === 'on_time' ? { [due]: 1, [onTime]: 1 } : { [due]: 1 } });
  };
  clock(tk.deadlines?.reply, 'repliesDue', 'repliesOnTime');
  clock(tk.deadlines?.rectify, 'rectifyDue', 'rectifyOnTime');
  for (const rating of tk.ratings ?? []) out.push({ at: t(rating.at), dept, counts: { [rating.level]: 1 } });
  if (tk.state === 'closed' && tk.closure && handledClosure(tk.closure.kind)) {
    const counts: Partial<Counts> = { closed: 1 };
    if ((tk.ratings ?? []).some((x) => x.round === tk.round)) counts.closedRated = 1;
    const completion = completionOutcome(tk);
    if (completion) {
      counts.completionsDue = 1;
      if (completion === 'on_time') counts.completionsOnTime = 1;
    }
    out.push({ at: t(tk.closure.at), dept, counts });
  }
  if (tk.category !== 'praise') out.push({ at: t(tk.createdAt), dept, counts: { intakes: 1 } });
  return out;
}

// ----- groups ---------------------------------------------------------------------------------

export const GROUP_DIMENSIONS = ['department', 'category', 'channel', 'period'] as const;
export type GroupDimension = (typeof GROUP_DIMENSIONS)[number];
export const BUCKETS = ['day', 'week', 'month'] as const;
export type Bucket = (typeof BUCKETS)[number];

/**
 * The city-time bucket an instant falls in, as the city date its bucket starts on (YYYY-MM-DD):
 * day; ISO week starting Monday; calendar month. `utcOffsetMinutes` is the city's (Asia/Shanghai
 * +480, no daylight saving).
 */
export function bucketOf(at: Date, bucket: Bucket, utcOffsetMinutes: number): string {
  const local = new Date(at.getTime() + utcOffsetMinutes * 60_000);
  if (bucket === 'month') return `${local.toISOString().slice(0, 7)}-01`;
  if (bucket === 'week') {
    const dow = (local.getUTCDay() + 6) % 7; // Monday 0
    return new Date(local.getTime() - dow * DAY).toISOString().slice(0, 10);
  }
  return local.toISOString().slice(0, 10);
}

/** [start, end) instants of the bucket that starts on city date `key`. */
export function bucketRange(key: string, bucket: Bucket, utcOffsetMinutes: number): { from: Date; to: Date } {
  const start = Date.parse(`${key}T00:00:00Z`);
  let end: number;
  if (bucket === 'day') end = start + DAY;
  else if (bucket === 'week') end = start + 7 * DAY;
  else {
    const d = new Date(start);
    end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  const off = utcOffsetMinutes * 60_000;
  return { from: new Date(start - off), to: new Date(end - off) };
}

export interface GroupKey {
  departmentId?: string | null;
  category?: Category | null;
  channel?: Channel | null;
  /** city date the bucket starts on, with the bucket's [periodFrom, periodTo) instants */
  period?: string;
  periodFrom?: string;
  periodTo?: string;
}

export interface KpiOptions {
  /** only what is attributed to this department counts */
  departmentId?: string | null;
  /** dimensions of the breakdown (any subset, in this order of keys) */
  groupBy?: readonly GroupDimension[];
  bucket?: Bucket;
  utcOffsetMinutes?: number;
  repeatWindowDays?: number;
}

export interface KpiBreakdown {
  total: AllTicketKpis;
  /** one entry per non-empty group, sorted by the group's key */
  groups: ({ key: GroupKey } & AllTicketKpis)[];
}

/** Digits only, a leading 86 country code dropped; '' when too short to identify a caller. */
export function normalisePhone(phone: string | null | undefined): string {
  let d = (phone ?? '').replace(/\D/g, '');
  if (d.length === 13 && d.startsWith('86')) d = d.slice(2);
  return d.length >= 5 ? d : '';
}

/** Address compared without whitespace and punctuation; '' when too short to mean a place. */
export function normaliseAddress(address: string | null | undefined): string {
  const a = (address ?? '').toLowerCase().replace(/[\s\p{P}\p{S}]/gu, '');
  return a.length >= 4 ? a : '';
}

/**
 * A 52-bit hash of a caller key (two FNV-1a 32-bit hashes; exact as a double). Collisions: about
 * n²/2^53 pairs — for a year of a million tickets, 10^-4 expected false repeats.
 */
export function hash52(s: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h2 >>> 12) * 2 ** 32 + (h1 >>> 0);
}

/** Growable columns of the intakes repeat complaints look at (8 + 8 + 8 + 4 bytes each). */
class IntakeColumns {
  n = 0;
  at = new Float64Array(1024);
  byCategory = new Float64Array(1024);
  /** negative (unique, never equal to another): no usable address */
  byAddress = new Float64Array(1024);
  /** group index; -1: total only; -2: not counted (before the range, or out of scope) */
  group = new Int32Array(1024);

  push(at: number, byCategory: number, byAddress: number, group: number): void {
    if (this.n === this.at.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.at = grow(this.at);
      this.byCategory = grow(this.byCategory);
      this.byAddress = grow(this.byAddress);
      this.group = grow(this.group);
    }
    this.at[this.n] = at;
    this.byCategory[this.n] = byCategory;
    this.byAddress[this.n] = byAddress;
    this.group[this.n] = group;
    this.n += 1;
  }
}

/**
 * One pass over a stream of tickets, any order: `add` each candidate, then `result`. Memory is
 * the groups plus, for repeat complaints, 28 bytes per ticket taken in within the range and the
 * window before it (hashed caller keys, intake time, group) — never the documents.
 */
export class TicketKpiAccumulator {
  private readonly range: KpiRange;
  private readonly departmentId: string | null;
  private readonly dims: readonly GroupDimension[];
  private readonly bucket: Bucket;
  private readonly offset: number;
  private readonly windowMs: number;
  private readonly total = emptyCounts();
  private readonly totalOnly: readonly Counts[] = [this.total];
  private readonly groupIndex = new Map<string, number>();
  private readonly groups: { key: GroupKey; counts: Counts; list: readonly Counts[] }[] = [];
  private readonly intakes = new IntakeColumns();
  private settled = false;

  constructor(range: KpiRange, opts: KpiOptions = {}) {
    this.range = range;
    this.departmentId = opts.departmentId ?? null;
    this.dims = GROUP_DIMENSIONS.filter((d) => opts.groupBy?.includes(d));
    this.bucket = opts.bucket ?? 'day';
    this.offset = opts.utcOffsetMinutes ?? 480;
    this.windowMs = (opts.repeatWindowDays ?? REPEAT_WINDOW_DAYS) * DAY;
  }

  /** Lower bound of intake times the reader must include for repeat complaints. */
  static lookbackFrom(range: Pick<KpiRange, 'from'>, repeatWindowDays = REPEAT_WINDOW_DAYS): Date {
    return new Date(range.from.getTime() - repeatWindowDays * DAY);
  }

  /** -2: out of scope; -1: the total only (no dimensions); else the group's index. */
  private groupOf(tk: { category?: Category | null; channel?: Channel | null }, dept: string | null, at: Date): number {
    if (this.departmentId !== null && dept !== this.departmentId) return -2;
    if (this.dims.length === 0) return -1;
    const key: GroupKey = {};
    const parts: string[] = [];
    for (const d of this.dims) {
      if (d === 'department') {
        key.departmentId = dept;
        parts.push(dept ?? '');
      } else if (d === 'category') {
        key.category = tk.category ?? null;
        parts.push(tk.category ?? '');
      } else if (d === 'channel') {
        key.channel = tk.channel ?? null;
        parts.push(tk.channel ?? '');
      } else {
        const p = bucketOf(at, this.bucket, this.offset);
        key.period = p;
        parts.push(p);
      }
    }
    const k = parts.join('\u0001');
    let i = this.groupIndex.get(k);
    if (i === undefined) {
      if (key.period !== undefined) {
        const { from, to } = bucketRange(key.period, this.bucket, this.offset);
        key.periodFrom = from.toISOString();
        key.periodTo = to.toISOString();
      }
      const counts = emptyCounts();
      i = this.groups.push({ key, counts, list: [this.total, counts] }) - 1;
      this.groupIndex.set(k, i);
    }
    return i;
  }

  private listOf(group: number): readonly Counts[] {
    return group === -2 ? [] : group === -1 ? this.totalOnly : this.groups[group]!.list;
  }

  add(tk: KpiTicket): void {
    const from = t(this.range.from);
    const to = t(this.range.to);
    for (const ev of kpiEvents(tk, this.range.now)) {
      if (ev.at < from || ev.at >= to) continue;
      for (const c of this.listOf(this.groupOf(tk, ev.dept, new Date(ev.at)))) addCounts(c, ev.counts);
    }
    this.addIntake(tk);
  }

  /**
   * Counts already summed elsewhere (a daily roll-up): attributed to `dept`, grouped by the
   * ticket dimensions and the instant `at` (any instant of the roll-up's day).
   */
  addCounts(dims: { departmentId: string | null; category: Category | null; channel: Channel | null }, at: Date, counts: Partial<Counts>): void {
    for (const c of this.listOf(this.groupOf(dims, dims.departmentId, at))) addCounts(c, counts);
  }

  /** Remember an intake for repeat complaints (its `intakes` count is one of its events). */
  private addIntake(tk: KpiTicket): void {
    if (tk.category === 'praise') return;
    const at = t(tk.createdAt);
    if (at < t(this.range.from) - this.windowMs || at >= t(this.range.to)) return;
    const group = at >= t(this.range.from) ? this.groupOf(tk, tk.leadDepartmentId, new Date(at)) : -2;
    const phone = normalisePhone(tk.caller?.phone);
    if (!phone) return;
    const address = normaliseAddress(tk.address);
    this.intakes.push(at, hash52(`${phone}\u0000${tk.category ?? ''}`), address ? hash52(`${phone}\u0001${address}`) : -1 - this.intakes.n, group);
  }

  /** Sort the intakes by (caller key, time) once per key kind; a neighbour within the window makes a repeat. */
  private settleRepeats(): void {
    const { n, at, byCategory, byAddress, group } = this.intakes;
    const repeat = new Uint8Array(n);
    for (const key of [byCategory, byAddress]) {
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => key[a]! - key[b]! || at[a]! - at[b]! || a - b);
      for (let i = 1; i < n; i++) {
        const cur = order[i]!;
        const prev = order[i - 1]!;
        if (key[cur] === key[prev] && at[cur]! - at[prev]! <= this.windowMs) repeat[cur] = 1;
      }
    }
    for (let i = 0; i < n; i++) if (repeat[i] && group[i]! !== -2) for (const c of this.listOf(group[i]!)) c.repeats += 1;
    this.intakes.n = 0;
  }

  result(): KpiBreakdown {
    if (!this.settled) {
      this.settleRepeats();
      this.settled = true;
    }
    const cmp = (a: GroupKey, b: GroupKey): number => {
      for (const d of this.dims) {
        const [x, y] = d === 'department' ? [a.departmentId, b.departmentId] : d === 'period' ? [a.period, b.period] : [a[d], b[d]];
        const c = (x ?? '').localeCompare(y ?? '');
        if (c !== 0) return c;
      }
      return 0;
    };
    return {
      total: kpisOf(this.total),
      groups: this.groups
        .filter((g) => !isEmpty(g.counts))
        .sort((a, b) => cmp(a.key, b.key))
        .map((g) => ({ key: g.key, ...kpisOf(g.counts) })),
    };
  }
}

export function kpisOf(c: Counts): AllTicketKpis {
  const ratings: Record<RatingRecord['level'], number> = {
    very_satisfied: c.very_satisfied,
    satisfied: c.satisfied,
    basically_satisfied: c.basically_satisfied,
    dissatisfied: c.dissatisfied,
    very_dissatisfied: c.very_dissatisfied,
  };
  const rated = Object.values(ratings).reduce((a, b) => a + b, 0);
  return {
    timelyDispatch: ratio(c.dispatchedInTime, c.dispatched),
    onTimeReply: ratio(c.repliesOnTime, c.repliesDue),
    onTimeCompletion: ratio(c.completionsOnTime, c.completionsDue),
    satisfaction: ratio(c.very_satisfied + c.satisfied + c.basically_satisfied, rated),
    satisfactionStrict: ratio(c.very_satisfied + c.satisfied, rated),
    ratingCoverage: ratio(c.closedRated, c.closed),
    rectificationOnTime: ratio(c.rectifyOnTime, c.rectifyDue),
    returnRate: ratio(c.returned, c.dispatched),
    extensionRate: ratio(c.extended, c.dispatched),
    repeatComplaints: ratio(c.repeats, c.intakes),
    ratings,
  };
}

export interface TicketKpiReport {
  /** all tickets (or, with `departmentId`, that department's share) */
  total: AllTicketKpis;
  /** per lead department, sorted by id; tickets without a department (answered on the spot) only count in `total` */
  byDepartment: ({ departmentId: string } & AllTicketKpis)[];
}

/** GET /api/kpis/tickets's shape from a department breakdown. */
export function departmentReport(b: KpiBreakdown): TicketKpiReport {
  return {
    total: b.total,
    byDepartment: b.groups.flatMap(({ key, ...k }) => (key.departmentId ? [{ departmentId: key.departmentId, ...k }] : [])),
  };
}

/**
 * The KPIs of `tickets` over the range. With `departmentId`, only what is attributed to that
 * department counts (see the header comment).
 */
export function computeTicketKpis(tickets: Iterable<KpiTicket>, range: KpiRange, departmentId: string | null = null): TicketKpiReport {
  const acc = new TicketKpiAccumulator(range, { departmentId, groupBy: ['department'] });
  for (const tk of tickets) acc.add(tk);
  return departmentReport(acc.result());
}

/** The KPIs of `tickets` over the range, broken down by `opts.groupBy`. */
export function computeTicketKpiBreakdown(tickets: Iterable<KpiTicket>, range: KpiRange, opts: KpiOptions): KpiBreakdown {
  const acc = new TicketKpiAccumulator(range, opts);
  for (const tk of tickets) acc.add(tk);
  return acc.result();
}
