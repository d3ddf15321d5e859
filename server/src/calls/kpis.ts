/**
 * Call KPIs from call records (issue 4 item 8) — the ONE place their definitions live. Pure: no
 * I/O, no clock; the reader (kpi-routes.ts) streams records in and gets numbers out.
 *
 * Definitions (../shared/HOTLINE-RULES.md, section "KPI definitions"):
 *
 * - Every record is counted in the bucket of its `offeredAt` (when the INVITE arrived), including
 *   what happened to it later (answer, talk time, transfer). A call offered at 09:59:58 and
 *   answered at 10:00:05 belongs to the 09 hour.
 * - received: every call record in the range.
 * - excluded (outage / overload): calls the system itself dropped before an answer, NOT counted
 *   as offered. HOTLINE-RULES: answer rate is over "calls offered to the human queue (outages and
 *   overload excluded, shown separately)". Default table EXCLUDED_ABANDON_REASONS: `shutdown`
 *   (telephony restarted with the call up) and `rejected` (engine unavailable, 503) are outages.
 *   No abandon reason means "overload" yet; the class exists so a city can map one.
 *   Caller hang-ups (`caller-cancel`), telephony's ring limit (`ring-timeout`) and the queue's
 *   max-wait callback (`max-wait-callback`) stay abandons: excluding them would let a short
 *   time limit flatter the answer rate.
 * - offered = received − excluded.
 * - answered: outcome answered / transferred / ended (an agent picked the call up). Answer rate
 *   (人工接通率) = answered ÷ offered (target ≥ 95 % over any 24 h, GB/T 33358).
 * - wait: `waitedMs` (queue entry → answer or abandon); when missing it is derived from
 *   answeredAt / abandonedAt − (queuedAt ?? offeredAt); a call without any is left out of the
 *   wait figures (and so cannot count as answered within the service level).
 * - answeredWithinServiceLevel: answered with wait ≤ serviceLevelSeconds (15 s) after entering
 *   the queue. Service level (人工应答及时率, 15-second rate) = that ÷ answered (city target
 *   ≥ 80 %); serviceLevelOfOffered = that ÷ offered, as HOTLINE-RULES asks to show both.
 * - abandoned: outcome abandoned, not excluded (left the queue or ringing before an answer).
 *   shortAbandoned: abandoned with wait < shortAbandonMs (5 s); an abandon of unknown wait is
 *   never short.
 *   abandonRate = abandoned ÷ offered — ALL abandons, the HOTLINE-RULES headline.
 *   abandonRateExcludingShort = (abandoned − shortAbandoned) ÷ (offered − shortAbandoned): short
 *   abandons (misdials, instant hang-ups) removed from numerator AND denominator, the variant
 *   HOTLINE-RULES allows ("abandons under 5 s may be excluded; say so").
 * - averageWaitSeconds: mean wait of answered calls (average speed of answer, ASA).
 *   averageAbandonWaitSeconds: mean wait of abandoned calls (short ones included).
 * - averageTalkSeconds: mean talkMs of calls that have one (answered and finished; a call still
 *   talking has talkMs null and is left out). talked = how many calls that mean is over.
 * - transfers: calls with a one-click transfer asked for (转110/119/120/122; the record keeps the
 *   last one asked for), split by outcome connected / failed / pending, overall and per target;
 *   `byTarget['110']` is always present.
 * - stillQueued: offered calls still waiting or ringing (outcome queued) — they are in offered
 *   but neither answered nor abandoned, so the current hour's answer rate reads low until they
 *   settle.
 * - Rates are rounded to 4 decimals, averages (seconds) to 1 decimal; a rate or average whose
 *   denominator is 0 is null, never NaN.
 *
 * Bucket keys: hour 'YYYY-MM-DDTHH' and day 'YYYY-MM-DD' in the city's time zone (a fixed offset,
 * UTC+8 by default; China has no DST), line = the line id, agent = answeredBy ?? agentId
 * ('(none)' when the call never reached an agent) — an unanswered call counts against the last
 * agent it rang on.
 */

export const KPI_GROUPS = ['hour', 'day', 'line', 'agent'] as const;
export type KpiGroupBy = (typeof KPI_GROUPS)[number];

/** Default: Asia/Shanghai. */
export const DEFAULT_UTC_OFFSET_MINUTES = 480;
export const NO_AGENT = '(none)';

/** Abandon reasons that mean the system failed, not the hotline: excluded from offered. */
export type ExclusionClass = 'outage' | 'overload';
export const EXCLUDED_ABANDON_REASONS: Readonly<Record<string, ExclusionClass>> = {
  shutdown: 'outage',
  rejected: 'outage',
};

/** The fields of a call record (CallDoc) the KPIs read; the reader projects exactly these. */
export interface CallKpiRow {
  offeredAt: Date;
  queuedAt?: Date | null;
  line: string;
  agentId?: string | null;
  answeredBy?: string | null;
  answeredAt?: Date | null;
  abandonedAt?: Date | null;
  abandonReason?: string | null;
  outcome: string;
  waitedMs?: number | null;
  talkMs?: number | null;
  transfer?: { target: string; outcome: string } | null;
}

/** Mongo projection of CallKpiRow's fields. */
export const CALL_KPI_PROJECTION = {
  _id: 0,
  offeredAt: 1,
  queuedAt: 1,
  line: 1,
  agentId: 1,
  answeredBy: 1,
  answeredAt: 1,
  abandonedAt: 1,
  abandonReason: 1,
  outcome: 1,
  waitedMs: 1,
  talkMs: 1,
  'transfer.target': 1,
  'transfer.outcome': 1,
} as const;

export interface CallKpiOptions {
  groupBy: KpiGroupBy;
  /** minutes east of UTC for hour/day keys (480 = UTC+8) */
  utcOffsetMinutes?: number;
  /** answered within this many seconds counts for the service level (≤) */
  serviceLevelSeconds?: number;
  /** abandons after less than this wait are "short" (<) */
  shortAbandonMs?: number;
  excludedAbandonReasons?: Readonly<Record<string, ExclusionClass>>;
  /** for hour/day: also list the empty buckets of [from, to) */
  range?: { from: Date; to: Date };
}

export interface TransferCounts {
  requested: number;
  connected: number;
  failed: number;
  pending: number;
}

export interface CallKpis {
  received: number;
  excluded: { outage: number; overload: number };
  offered: number;
  answered: number;
  answerRate: number | null;
  answeredWithinServiceLevel: number;
  serviceLevel: number | null;
  serviceLevelOfOffered: number | null;
  abandoned: number;
  shortAbandoned: number;
  abandonRate: number | null;
  abandonRateExcludingShort: number | null;
  abandonedByReason: Record<string, number>;
  averageWaitSeconds: number | null;
  averageAbandonWaitSeconds: number | null;
  talked: number;
  averageTalkSeconds: number | null;
  stillQueued: number;
  transfers: TransferCounts & { byTarget: Record<string, TransferCounts> };
}

export interface CallKpiBucket extends CallKpis {
  key: string;
}

export interface CallKpiReport {
  groupBy: KpiGroupBy;
  utcOffsetMinutes: number;
  serviceLevelSeconds: number;
  shortAbandonSeconds: number;
  buckets: CallKpiBucket[];
  total: CallKpis;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ANSWERED = new Set(['answered', 'transferred', 'ended']);

const ms = (d: Date | string | number | null | undefined): number | null => {
  if (d === null || d === undefined) return null;
  const t = new Date(d).getTime();
  return Number.isNaN(t) ? null : t;
};

/** Local 'YYYY-MM-DDTHH' of an instant at a fixed UTC offset. */
const localHour = (t: number, offset: number): string => new Date(t + offset * 60_000).toISOString().slice(0, 13);

/** The bucket a call record falls in. */
export function bucketKey(row: Pick<CallKpiRow, 'offeredAt' | 'line' | 'agentId' | 'answeredBy'>, groupBy: KpiGroupBy, utcOffsetMinutes = DEFAULT_UTC_OFFSET_MINUTES): string {
  switch (groupBy) {
    case 'hour':
      return localHour(new Date(row.offeredAt).getTime(), utcOffsetMinutes);
    case 'day':
      return localHour(new Date(row.offeredAt).getTime(), utcOffsetMinutes).slice(0, 10);
    case 'line':
      return row.line;
    case 'agent':
      return row.answeredBy ?? row.agentId ?? NO_AGENT;
  }
}

/** Every hour/day key of [from, to) in order (empty for line/agent or an empty range). */
export function bucketKeysOfRange(from: Date, to: Date, groupBy: KpiGroupBy, utcOffsetMinutes = DEFAULT_UTC_OFFSET_MINUTES): string[] {
  if (groupBy !== 'hour' && groupBy !== 'day') return [];
  const step = groupBy === 'hour' ? HOUR : DAY;
  const off = utcOffsetMinutes * 60_000;
  const start = Math.floor((from.getTime() + off) / step) * step - off; // start of the local hour/day
  const keys: string[] = [];
  for (let t = start; t < to.getTime(); t += step) keys.push(bucketKey({ offeredAt: new Date(t), line: '' }, groupBy, utcOffsetMinutes));
  return keys;
}

/** Running sums of one bucket; rates and averages are computed once at the end. */
class Tally {
  received = 0;
  outage = 0;
  overload = 0;
  answered = 0;
  withinSl = 0;
  waitSum = 0;
  waitN = 0;
  abandoned = 0;
  shortAbandoned = 0;
  abandonWaitSum = 0;
  abandonWaitN = 0;
  byReason: Record<string, number> = {};
  talkSum = 0;
  talkN = 0;
  queued = 0;
  transfers: Record<string, TransferCounts> = {};
}

const zeroTransfers = (): TransferCounts => ({ requested: 0, connected: 0, failed: 0, pending: 0 });
const rate = (num: number, den: number): number | null => (den > 0 ? Math.round((num / den) * 10_000) / 10_000 : null);
const avgSeconds = (sumMs: number, n: number): number | null => (n > 0 ? Math.round(sumMs / n / 100) / 10 : null);

/** Wait in the queue (ms) until `endAt`, from waitedMs or derived from the timestamps. */
function waitOf(row: CallKpiRow, endAt: Date | null | undefined): number | null {
  if (typeof row.waitedMs === 'number' && Number.isFinite(row.waitedMs)) return Math.max(0, row.waitedMs);
  const end = ms(endAt);
  const start = ms(row.queuedAt) ?? ms(row.offeredAt);
  return end !== null && start !== null ? Math.max(0, end - start) : null;
}

interface Resolved {
  serviceLevelMs: number;
  shortAbandonMs: number;
  excluded: Readonly<Record<string, ExclusionClass>>;
}

function add(t: Tally, row: CallKpiRow, o: Resolved): void {
  t.received++;
  if (row.outcome === 'abandoned') {
    const cls = row.abandonReason ? o.excluded[row.abandonReason] : undefined;
    if (cls === 'outage') t.outage++;
    else if (cls === 'overload') t.overload++;
    if (cls) return; // not offered: nothing else counts
    t.abandoned++;
    const reason = row.abandonReason ?? 'unknown';
    t.byReason[reason] = (t.byReason[reason] ?? 0) + 1;
    const w = waitOf(row, row.abandonedAt);
    if (w !== null) {
      t.abandonWaitSum += w;
      t.abandonWaitN++;
      if (w < o.shortAbandonMs) t.shortAbandoned++;
    }
  } else if (ANSWERED.has(row.outcome)) {
    t.answered++;
    const w = waitOf(row, row.answeredAt);
    if (w !== null) {
      t.waitSum += w;
      t.waitN++;
      if (w <= o.serviceLevelMs) t.withinSl++;
    }
  } else if (row.outcome === 'queued') {
    t.queued++;
  }
  if (typeof row.talkMs === 'number' && Number.isFinite(row.talkMs)) {
    t.talkSum += Math.max(0, row.talkMs);
    t.talkN++;
  }
  if (row.transfer?.target) {
    const c = (t.transfers[row.transfer.target] ??= zeroTransfers());
    c.requested++;
    if (row.transfer.outcome === 'connected') c.connected++;
    else if (row.transfer.outcome === 'failed') c.failed++;
    else c.pending++;
  }
}

function finish(t: Tally): CallKpis {
  const offered = t.received - t.outage - t.overload;
  const byTarget: Record<string, TransferCounts> = { '110': zeroTransfers() };
  for (const k of Object.keys(t.transfers).sort()) byTarget[k] = { ...t.transfers[k]! };
  const all = Object.values(byTarget).reduce<TransferCounts>(
    (s, c) => ({ requested: s.requested + c.requested, connected: s.connected + c.connected, failed: s.failed + c.failed, pending: s.pending + c.pending }),
    zeroTransfers(),
  );
  return {
    received: t.received,
    excluded: { outage: t.outage, overload: t.overload },
    offered,
    answered: t.answered,
    answerRate: rate(t.answered, offered),
    answeredWithinServiceLevel: t.withinSl,
    serviceLevel: rate(t.withinSl, t.answered),
    serviceLevelOfOffered: rate(t.withinSl, offered),
    abandoned: t.abandoned,
    shortAbandoned: t.shortAbandoned,
    abandonRate: rate(t.abandoned, offered),
    abandonRateExcludingShort: rate(t.abandoned - t.shortAbandoned, offered - t.shortAbandoned),
    abandonedByReason: Object.fromEntries(Object.entries(t.byReason).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    averageWaitSeconds: avgSeconds(t.waitSum, t.waitN),
    averageAbandonWaitSeconds: avgSeconds(t.abandonWaitSum, t.abandonWaitN),
    talked: t.talkN,
    averageTalkSeconds: avgSeconds(t.talkSum, t.talkN),
    stillQueued: t.queued,
    transfers: { ...all, byTarget },
  };
}

/**
 * Streaming form: `add` records one at a time (e.g. from a database cursor), `result` once. Memory
 * grows with the number of buckets, not of records.
 */
export class CallKpiAccumulator {
  private readonly o: Resolved;
  private readonly groupBy: KpiGroupBy;
  private readonly offset: number;
  private readonly serviceLevelSeconds: number;
  private readonly range: { from: Date; to: Date } | undefined;
  private readonly total = new Tally();
  private readonly buckets = new Map<string, Tally>();

  constructor(opts: CallKpiOptions) {
    this.groupBy = opts.groupBy;
    this.offset = opts.utcOffsetMinutes ?? DEFAULT_UTC_OFFSET_MINUTES;
    this.serviceLevelSeconds = opts.serviceLevelSeconds ?? 15;
    this.range = opts.range;
    this.o = {
      serviceLevelMs: this.serviceLevelSeconds * 1000,
      shortAbandonMs: opts.shortAbandonMs ?? 5000,
      excluded: opts.excludedAbandonReasons ?? EXCLUDED_ABANDON_REASONS,
    };
  }

  add(row: CallKpiRow): void {
    const key = bucketKey(row, this.groupBy, this.offset);
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new Tally()));
    add(b, row, this.o);
    add(this.total, row, this.o);
  }

  result(): CallKpiReport {
    if (this.range) for (const k of bucketKeysOfRange(this.range.from, this.range.to, this.groupBy, this.offset)) if (!this.buckets.has(k)) this.buckets.set(k, new Tally());
    const keys = [...this.buckets.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      groupBy: this.groupBy,
      utcOffsetMinutes: this.offset,
      serviceLevelSeconds: this.serviceLevelSeconds,
      shortAbandonSeconds: this.o.shortAbandonMs / 1000,
      buckets: keys.map((key) => ({ key, ...finish(this.buckets.get(key)!) })),
      total: finish(this.total),
    };
  }
}

/** KPIs of `rows` per bucket and in total (see the definitions at the top of this file). */
export function computeCallKpis(rows: Iterable<CallKpiRow>, opts: CallKpiOptions): CallKpiReport {
  const acc = new CallKpiAccumulator(opts);
  for (const r of rows) acc.add(r);
  return acc.result();
}
