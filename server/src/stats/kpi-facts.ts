/**
 * Daily roll-ups of the ticket KPIs (issue #6 item 5: "fast enough for a year of data"). Pure:
 * no I/O; the store that keeps them is kpi-rollup.ts.
 *
 * Every KPI of ticket-kpis.ts is a sum of counted events (`kpiEvents`), each at its own instant
 * and attributed to one department. A ticket's *facts* are its events summed per city day and
 * group (lead department, category, channel). The roll-up of a day is the sum of every ticket's
 * facts for that day; a month's, of its days. When a ticket changes, the difference between its
 * new and its last facts is added to the roll-ups — so a report over whole city days reads a few
 * hundred small documents instead of a year of tickets, and gives the same numbers as the
 * streaming accumulator (test/unit/stats/kpi-facts.test.ts checks that on random tickets).
 *
 * Repeat complaints (重复投诉) compare tickets: the store decides whether a ticket repeats an
 * earlier one (its caller index) and passes `repeat` in.
 */
import {
  COUNTERS,
  kpiEvents,
  normaliseAddress,
  normalisePhone,
  TicketKpiAccumulator,
  type Counter,
  type Counts,
  type KpiBreakdown,
  type KpiOptions,
  type KpiRange,
  type KpiTicket,
} from './ticket-kpis.js';
import { CATEGORIES, CHANNELS, type Category, type Channel } from '../tickets/vocabulary.js';

const DAY = 86_400_000;

/** Short field names of the counters in stored roll-ups (a year of day documents is read per report). */
export const COUNTER_CODES: Record<Counter, string> = {
  dispatched: 'd',
  dispatchedInTime: 'dt',
  returned: 'rt',
  extended: 'ex',
  repliesDue: 'rd',
  repliesOnTime: 'ro',
  completionsDue: 'cd',
  completionsOnTime: 'co',
  rectifyDue: 'kd',
  rectifyOnTime: 'ko',
  very_satisfied: 'r5',
  satisfied: 'r4',
  basically_satisfied: 'r3',
  dissatisfied: 'r2',
  very_dissatisfied: 'r1',
  closed: 'cl',
  closedRated: 'cr',
  intakes: 'in',
  repeats: 'rp',
};
const COUNTER_OF: Record<string, Counter> = Object.fromEntries(COUNTERS.map((c) => [COUNTER_CODES[c], c]));

/** Counts by short code, zeros left out. */
export type CodedCounts = Record<string, number>;

/** One ticket's (or a delta's) counts for one city day and group. */
export interface FactEntry {
  /** city date YYYY-MM-DD */
  d: string;
  /** group key: lead department ~ category ~ channel ('-' for none) */
  k: string;
  c: CodedCounts;
}

const DIMENSION_VALUE = /^[A-Za-z0-9_-]{1,64}$/;

/** `dept~category~channel`; a value that could not be a stored field name part becomes '-'. */
export function groupKey(dept: string | null | undefined, category: string | null | undefined, channel: string | null | undefined): string {
  const v = (x: string | null | undefined): string => (x && DIMENSION_VALUE.test(x) ? x : '-');
  return `${v(dept)}~${v(category)}~${v(channel)}`;
}

export function parseGroupKey(k: string): { departmentId: string | null; category: Category | null; channel: Channel | null } {
  const [d, c, ch] = k.split('~');
  const v = (x: string | undefined): string | null => (x && x !== '-' ? x : null);
  const category = v(c);
  const channel = v(ch);
  return {
    departmentId: v(d),
    category: category && (CATEGORIES as readonly string[]).includes(category) ? (category as Category) : null,
    channel: channel && (CHANNELS as readonly string[]).includes(channel) ? (channel as Channel) : null,
  };
}

const cityDay = (at: number, utcOffsetMinutes: number): string => new Date(at + utcOffsetMinutes * 60_000).toISOString().slice(0, 10);

/**
 * A ticket's facts as of `now`: its counted events summed per city day and group, sorted by
 * day then group. `repeat`: this ticket repeats an earlier one (重复投诉; its intake day counts it).
 */
export function ticketFacts(tk: KpiTicket, now: Date, repeat: boolean, utcOffsetMinutes: number): FactEntry[] {
  const byKey = new Map<string, FactEntry>();
  for (const ev of kpiEvents(tk, now)) {
    const counts = repeat && ev.counts.intakes ? { ...ev.counts, repeats: 1 } : ev.counts;
    const d = cityDay(ev.at, utcOffsetMinutes);
    const k = groupKey(ev.dept, tk.category, tk.channel);
    const id = `${d}|${k}`;
    let e = byKey.get(id);
    if (!e) byKey.set(id, (e = { d, k, c: {} }));
    for (const name in counts) {
      const code = COUNTER_CODES[name as Counter];
      e.c[code] = (e.c[code] ?? 0) + counts[name as Counter]!;
    }
  }
  return [...byKey.values()].sort((a, b) => (a.d === b.d ? (a.k < b.k ? -1 : a.k > b.k ? 1 : 0) : a.d < b.d ? -1 : 1));
}

/** next − previous, entry by entry; entries whose counts all cancel are left out. */
export function factDelta(previous: readonly FactEntry[], next: readonly FactEntry[]): FactEntry[] {
  const byKey = new Map<string, FactEntry>();
  const add = (entries: readonly FactEntry[], sign: 1 | -1): void => {
    for (const e of entries) {
      const id = `${e.d}|${e.k}`;
      let x = byKey.get(id);
      if (!x) byKey.set(id, (x = { d: e.d, k: e.k, c: {} }));
      for (const code in e.c) x.c[code] = (x.c[code] ?? 0) + sign * e.c[code]!;
    }
  };
  add(previous, -1);
  add(next, 1);
  const out: FactEntry[] = [];
  for (const e of byKey.values()) {
    for (const code in e.c) if (e.c[code] === 0) delete e.c[code];
    if (Object.keys(e.c).length > 0) out.push(e);
  }
  return out;
}

export const dayDocId = (day: string): string => `d:${day}`;
export const monthDocId = (day: string): string => `m:${day.slice(0, 7)}`;

/** The `$inc` of each roll-up document (its day and its month) for a delta. */
export function rollupIncrements(delta: readonly FactEntry[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const e of delta) {
    for (const id of [dayDocId(e.d), monthDocId(e.d)]) {
      let inc = out.get(id);
      if (!inc) out.set(id, (inc = {}));
      for (const code in e.c) {
        const path = `g.${e.k}.${code}`;
        inc[path] = (inc[path] ?? 0) + e.c[code]!;
      }
    }
  }
  return out;
}

/** Sum of facts into roll-up documents (a rebuild, the benchmark): id → group → counts. */
export function sumFacts(into: Map<string, Map<string, CodedCounts>>, facts: readonly FactEntry[]): void {
  for (const [id, inc] of rollupIncrements(facts)) {
    let doc = into.get(id);
    if (!doc) into.set(id, (doc = new Map()));
    for (const path in inc) {
      const [, k, code] = path.split('.') as [string, string, string];
      let g = doc.get(k);
      if (!g) doc.set(k, (g = {}));
      g[code] = (g[code] ?? 0) + inc[path]!;
    }
  }
}

/** The caller keys of a ticket for repeat complaints (same phone and category; same phone and address). */
export function repeatKeys(tk: Pick<KpiTicket, 'category' | 'caller' | 'address'>): string[] {
  if (tk.category === 'praise') return [];
  const phone = normalisePhone(tk.caller?.phone);
  if (!phone) return [];
  const address = normaliseAddress(tk.address);
  return address ? [`c:${phone}:${tk.category ?? ''}`, `a:${phone}:${address}`] : [`c:${phone}:${tk.category ?? ''}`];
}

// ----- reading ---------------------------------------------------------------------------------

/** A stored roll-up document: one city day (`d:YYYY-MM-DD`) or month (`m:YYYY-MM`). */
export interface RollupDoc {
  _id: string;
  g?: Record<string, CodedCounts>;
}

const midnight = (day: string, utcOffsetMinutes: number): number => Date.parse(`${day}T00:00:00Z`) - utcOffsetMinutes * 60_000;

/**
 * The roll-up documents a report over [from, to) needs, or null when the range does not start
 * and end at city midnight (then only the tickets can answer). Whole months inside the range
 * are read as month documents unless the report is broken down by day or week.
 */
export function rollupPlan(range: Pick<KpiRange, 'from' | 'to'>, opts: Pick<KpiOptions, 'groupBy' | 'bucket'>, utcOffsetMinutes: number): string[] | null {
  const from = range.from.getTime();
  const to = range.to.getTime();
  const off = utcOffsetMinutes * 60_000;
  if ((from + off) % DAY !== 0 || (to + off) % DAY !== 0 || to <= from) return null;
  const fine = opts.groupBy?.includes('period') && (opts.bucket ?? 'day') !== 'month';
  const ids: string[] = [];
  for (let at = from; at < to; ) {
    const day = cityDay(at, utcOffsetMinutes);
    if (!fine && day.endsWith('-01')) {
      const [y, m] = day.split('-').map(Number) as [number, number];
      const next = midnight(new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10), utcOffsetMinutes);
      if (next <= to) {
        ids.push(monthDocId(day));
        at = next;
        continue;
      }
    }
    ids.push(dayDocId(day));
    at += DAY;
  }
  return ids;
}

/** The report from roll-up documents (those of `rollupPlan`), shaped like the accumulator's. */
export function rollupBreakdown(docs: Iterable<RollupDoc>, range: KpiRange, opts: KpiOptions): KpiBreakdown {
  const offset = opts.utcOffsetMinutes ?? 480;
  const acc = new TicketKpiAccumulator(range, opts);
  for (const doc of docs) {
    const day = doc._id.startsWith('m:') ? `${doc._id.slice(2)}-01` : doc._id.slice(2);
    const at = new Date(midnight(day, offset));
    for (const k in doc.g ?? {}) {
      const coded = doc.g![k]!;
      const counts: Partial<Counts> = {};
      for (const code in coded) {
        const name = COUNTER_OF[code];
        if (name && coded[code]) counts[name] = coded[code];
      }
      acc.addCounts(parseGroupKey(k), at, counts);
    }
  }
  return acc.result();
}

/**
 * Which of these tickets repeat an earlier one (the caller index's rule, in memory: a rebuild
 * from scratch, the benchmark, tests): under one of its keys, another ticket taken in within
 * the window before it (same instant: the smaller id is the earlier).
 */
export function repeatingTickets(tickets: Iterable<{ id: string; createdAt: number; keys: readonly string[] }>, windowMs: number): Set<string> {
  const byKey = new Map<string, { id: string; at: number }[]>();
  for (const tk of tickets) {
    for (const k of tk.keys) {
      let list = byKey.get(k);
      if (!list) byKey.set(k, (list = []));
      list.push({ id: tk.id, at: tk.createdAt });
    }
  }
  const out = new Set<string>();
  for (const list of byKey.values()) {
    list.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (let i = 1; i < list.length; i++) if (list[i]!.at - list[i - 1]!.at <= windowMs) out.add(list[i]!.id);
  }
  return out;
}
