/**
 * Daily KPI roll-ups (server/src/stats/kpi-facts.ts) against the streaming accumulator
 * (ticket-kpis.ts), on random tickets: for whole-city-day ranges and every grouping, the report
 * read from summed facts is the accumulator's, to the count — also when the roll-ups were built
 * by adding each ticket's delta between versions, as the live store does.
 */
import { describe, expect, it } from 'vitest';
import type { Milestone } from '../../../server/src/deadlines/milestones.js';
import {
  factDelta,
  groupKey,
  parseGroupKey,
  repeatingTickets,
  repeatKeys,
  rollupBreakdown,
  rollupIncrements,
  rollupPlan,
  sumFacts,
  ticketFacts,
  type CodedCounts,
  type FactEntry,
  type RollupDoc,
} from '../../../server/src/stats/kpi-facts.js';
import { REPEAT_WINDOW_DAYS, TicketKpiAccumulator, type GroupDimension, type KpiOptions, type KpiRange, type KpiTicket } from '../../../server/src/stats/ticket-kpis.js';
import type { RatingRecord } from '../../../server/src/tickets/types.js';
import { CATEGORIES, CHANNELS, type Category, type Channel } from '../../../server/src/tickets/vocabulary.js';

const H = 3_600_000;
const DAY = 24 * H;
const OFFSET = 480;
const cst = (local: string): Date => new Date(`${local}+08:00`);
const WINDOW = REPEAT_WINDOW_DAYS * DAY;

let seed = 7;
const rnd = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const DEPTS = ['city-urban', 'city-water', 'wenfeng-urban', 'beiguan-gov'];
const LEVELS: RatingRecord['level'][] = ['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied'];

function clock(start: number, dueInH: number, doneInH: number | null, cancelled = false): Milestone {
  return {
    unit: 'workingDays',
    startedAt: new Date(start),
    dueAt: new Date(start + dueInH * H),
    warnAt: new Date(start + dueInH * H),
    doneAt: doneInH === null ? null : new Date(start + doneInH * H),
    cancelledAt: cancelled ? new Date(start + 1 * H) : null,
    version: 1,
    level: 'on_time',
    reminders: 0,
    escalations: 0,
  };
}

/** A random ticket over ~70 days before `end`, with unique intake instants (ties break differently). */
function randomTicket(i: number, end: number): KpiTicket {
  const created = end - Math.floor(rnd() * 70 * DAY) - i; // unique ms
  const category = pick(CATEGORIES) as Category;
  const channel = pick(CHANNELS) as Channel;
  const dept = pick(DEPTS);
  const tl: KpiTicket['timeline'] = [{ at: new Date(created), action: 'create', from: null, to: 'received', data: null }];
  let at = created;
  const step = (h: number): Date => new Date((at += h * H));
  const deadlines: KpiTicket['deadlines'] = {};
  let state: KpiTicket['state'] = 'received';
  let closure: KpiTicket['closure'] = null;
  const ratings: RatingRecord[] = [];
  let lead: string | null = null;
  if (rnd() < 0.25) {
    state = 'closed';
    closure = { kind: rnd() < 0.8 ? 'answered_directly' : 'out_of_scope', at: step(0.2) };
    if (rnd() < 0.5) ratings.push({ level: pick(LEVELS), round: 1, realName: true, comment: null, at: step(5), by: null as never, source: 'return_visit' });
  } else {
    tl.push({ at: step(rnd() * 30), action: 'dispatch', from: 'received', to: 'dispatched', data: { leadDepartmentId: dept } });
    lead = dept;
    state = 'dispatched';
    if (rnd() < 0.15) {
      tl.push({ at: step(rnd() * 20), action: 'return', from: 'dispatched', to: 'received', data: null });
      const other = pick(DEPTS);
      tl.push({ at: step(rnd() * 5), action: 'dispatch', from: 'received', to: 'dispatched', data: { leadDepartmentId: other } });
      lead = other;
    }
    if (rnd() < 0.1) tl.push({ at: step(rnd() * 30), action: 'decideExtension', from: null, to: null as never, data: { approve: rnd() < 0.7 } });
    const r = rnd();
    const done = r < 0.6 ? rnd() * 200 : r < 0.8 ? 200 + rnd() * 200 : null;
    deadlines.reply = clock(at, 240, done, rnd() < 0.05);
    if (done !== null && !deadlines.reply.cancelledAt) {
      state = 'replied';
      if (rnd() < 0.7) {
        const rated = rnd() < 0.8;
        if (rated) ratings.push({ level: pick(LEVELS), round: 1, realName: rnd() < 0.8, comment: null, at: new Date(deadlines.reply.doneAt!.getTime() + 10 * H), by: null as never, source: 'return_visit' });
        if (rnd() < 0.1) deadlines.rectify = clock(deadlines.reply.doneAt!.getTime() + 20 * H, 100, rnd() < 0.7 ? rnd() * 150 : null);
        if (!deadlines.rectify || deadlines.rectify.doneAt) {
          state = 'closed';
          closure = { kind: 'resolved', at: new Date(Math.max(deadlines.reply.doneAt!.getTime(), deadlines.rectify?.doneAt?.getTime() ?? 0) + 30 * H) };
        }
      }
    }
  }
  // callers from a small pool, so some repeat; some without a usable phone or address
  const phone = rnd() < 0.9 ? `139${String(Math.floor(rnd() * 60)).padStart(8, '0')}` : null;
  const address = rnd() < 0.7 ? pick(['文峰区中华路88号', '北关区 红旗路 1 号', '殷都区钢城路9号', '']) : null;
  return {
    _id: `t${i}`,
    urgency: rnd() < 0.9 ? 'normal' : 'urgent',
    state,
    round: 1,
    createdAt: new Date(created),
    leadDepartmentId: lead,
    deadlines,
    ratings,
    closure,
    timeline: tl,
    category,
    channel,
    caller: { phone },
    address,
  };
}

const END = cst('2026-11-27T00:00:00').getTime();
const NOW = new Date(END - 20 * DAY); // some clocks still open and not yet due, some overdue
const RANGES: { name: string; range: KpiRange }[] = [
  { name: 'one day', range: { from: cst('2026-10-20T00:00:00'), to: cst('2026-10-21T00:00:00'), now: NOW } },
  { name: 'a month and a bit', range: { from: cst('2026-09-28T00:00:00'), to: cst('2026-11-03T00:00:00'), now: NOW } },
  { name: 'everything', range: { from: cst('2026-08-01T00:00:00'), to: cst('2026-12-01T00:00:00'), now: NOW } },
];
const GROUPINGS: KpiOptions[] = [
  { groupBy: ['department'] },
  { groupBy: ['category', 'channel'] },
  { groupBy: ['department', 'period'], bucket: 'month' },
  { groupBy: ['channel', 'period'], bucket: 'week' },
  { groupBy: ['period'], bucket: 'day' },
  { groupBy: ['department', 'category'], departmentId: 'city-urban' },
  { groupBy: [] as GroupDimension[] },
];

function rollupsOf(tickets: readonly KpiTicket[], now: Date): Map<string, RollupDoc> {
  const repeats = repeatingTickets(
    tickets.map((t) => ({ id: String(t._id), createdAt: t.createdAt.getTime(), keys: repeatKeys(t) })),
    WINDOW,
  );
  const sums = new Map<string, Map<string, CodedCounts>>();
  for (const t of tickets) sumFacts(sums, ticketFacts(t, now, repeats.has(String(t._id)), OFFSET));
  return new Map([...sums].map(([id, g]) => [id, { _id: id, g: Object.fromEntries(g) }]));
}

function fromRollups(docs: Map<string, RollupDoc>, range: KpiRange, opts: KpiOptions) {
  const plan = rollupPlan(range, opts, OFFSET);
  expect(plan).not.toBeNull();
  return rollupBreakdown(
    plan!.flatMap((id) => (docs.has(id) ? [docs.get(id)!] : [])),
    range,
    { ...opts, utcOffsetMinutes: OFFSET },
  );
}

function accumulated(tickets: readonly KpiTicket[], range: KpiRange, opts: KpiOptions) {
  const acc = new TicketKpiAccumulator(range, { ...opts, utcOffsetMinutes: OFFSET });
  for (const t of tickets) acc.add(t);
  return acc.result();
}

describe('daily roll-ups give the accumulator’s numbers', () => {
  const tickets = Array.from({ length: 1500 }, (_, i) => randomTicket(i, END));

  it('the random data exercises every counter', () => {
    const all = accumulated(tickets, RANGES[2]!.range, {}).total;
    for (const [k, v] of Object.entries(all)) {
      if (k === 'ratings') continue;
      expect((v as { numerator: number }).numerator, k).toBeGreaterThan(0);
      expect((v as { denominator: number }).denominator, k).toBeGreaterThan((v as { numerator: number }).numerator);
    }
  });

  const docs = rollupsOf(tickets, NOW);
  for (const { name, range } of RANGES) {
    for (const opts of GROUPINGS) {
      it(`${name}, by ${opts.groupBy?.join('+') || 'nothing'}${opts.bucket ? `/${opts.bucket}` : ''}${opts.departmentId ? ` for ${opts.departmentId}` : ''}`, () => {
        expect(fromRollups(docs, range, opts)).toEqual(accumulated(tickets, range, opts));
      });
    }
  }

  it('built from each ticket’s deltas between versions (as the live store does), the same', () => {
    // every ticket is first seen as it was at intake, then as it is: the delta moves its counts
    const early = tickets.map((t) => ({ ...t, state: 'received' as const, timeline: t.timeline.slice(0, 1), deadlines: {}, ratings: [], closure: null, leadDepartmentId: null }));
    const repeats = repeatingTickets(
      tickets.map((t) => ({ id: String(t._id), createdAt: t.createdAt.getTime(), keys: repeatKeys(t) })),
      WINDOW,
    );
    const inc = new Map<string, Map<string, CodedCounts>>();
    const add = (id: string, path: Record<string, number>): void => {
      let g = inc.get(id);
      if (!g) inc.set(id, (g = new Map()));
      for (const p in path) {
        const [, k, code] = p.split('.') as [string, string, string];
        const c = g.get(k) ?? {};
        c[code] = (c[code] ?? 0) + path[p]!;
        g.set(k, c);
      }
    };
    for (let i = 0; i < tickets.length; i++) {
      const rep = repeats.has(String(tickets[i]!._id));
      const v1 = ticketFacts(early[i]!, NOW, rep, OFFSET);
      const v2 = ticketFacts(tickets[i]!, NOW, rep, OFFSET);
      for (const [id, p] of rollupIncrements(factDelta([], v1))) add(id, p);
      for (const [id, p] of rollupIncrements(factDelta(v1, v2))) add(id, p);
    }
    const docs2 = new Map([...inc].map(([id, g]) => [id, { _id: id, g: Object.fromEntries(g) }]));
    for (const { range } of RANGES) for (const opts of GROUPINGS) expect(fromRollups(docs2, range, opts)).toEqual(accumulated(tickets, range, opts));
  });
});

describe('facts and plans', () => {
  it('a delta leaves out what cancels, and undoes what it replaces', () => {
    const a: FactEntry[] = [{ d: '2026-11-26', k: groupKey('city-urban', 'complaint', 'phone'), c: { d: 1, dt: 1, in: 1 } }];
    const b: FactEntry[] = [
      { d: '2026-11-26', k: groupKey('city-urban', 'complaint', 'phone'), c: { d: 1, dt: 1, in: 1, rt: 1 } },
      { d: '2026-11-27', k: groupKey('city-urban', 'complaint', 'phone'), c: { rd: 1 } },
    ];
    expect(factDelta(a, b)).toEqual([
      { d: '2026-11-26', k: 'city-urban~complaint~phone', c: { rt: 1 } },
      { d: '2026-11-27', k: 'city-urban~complaint~phone', c: { rd: 1 } },
    ]);
    expect(factDelta(b, b)).toEqual([]);
    expect(factDelta(b, [])).toEqual([
      { d: '2026-11-26', k: 'city-urban~complaint~phone', c: { d: -1, dt: -1, in: -1, rt: -1 } },
      { d: '2026-11-27', k: 'city-urban~complaint~phone', c: { rd: -1 } },
    ]);
    // a day's increments go to its day and its month
    expect([...rollupIncrements(factDelta(a, b)).keys()]).toEqual(['d:2026-11-26', 'm:2026-11', 'd:2026-11-27']);
  });

  it('group keys: no value that is not a plain id gets into a field name', () => {
    expect(groupKey(null, 'complaint', 'phone')).toBe('-~complaint~phone');
    expect(groupKey('a.b', '$x', 'web')).toBe('-~-~web');
    expect(parseGroupKey('city-urban~complaint~web')).toEqual({ departmentId: 'city-urban', category: 'complaint', channel: 'web' });
    expect(parseGroupKey('-~nonsense~-')).toEqual({ departmentId: null, category: null, channel: null });
  });

  it('plans whole city days only; whole months as month documents unless broken down by day or week', () => {
    const r = (from: string, to: string) => ({ from: cst(from), to: cst(to) });
    expect(rollupPlan(r('2026-11-26T00:00:00', '2026-11-26T12:00:00'), {}, OFFSET)).toBeNull();
    expect(rollupPlan({ from: new Date('2026-11-26T00:00:00Z'), to: new Date('2026-11-27T00:00:00Z') }, {}, OFFSET)).toBeNull(); // UTC midnight is 08:00 in the city
    expect(rollupPlan(r('2026-11-26T00:00:00', '2026-11-27T00:00:00'), {}, OFFSET)).toEqual(['d:2026-11-26']);
    expect(rollupPlan(r('2026-09-30T00:00:00', '2026-12-02T00:00:00'), { groupBy: ['department'] }, OFFSET)).toEqual(['d:2026-09-30', 'm:2026-10', 'm:2026-11', 'd:2026-12-01']);
    expect(rollupPlan(r('2026-09-30T00:00:00', '2026-12-02T00:00:00'), { groupBy: ['period'], bucket: 'month' }, OFFSET)).toEqual(['d:2026-09-30', 'm:2026-10', 'm:2026-11', 'd:2026-12-01']);
    expect(rollupPlan(r('2026-09-30T00:00:00', '2026-12-02T00:00:00'), { groupBy: ['period'], bucket: 'week' }, OFFSET)).toHaveLength(63);
    expect(rollupPlan(r('2025-11-27T00:00:00', '2026-11-27T00:00:00'), {}, OFFSET)).toHaveLength(4 + 11 + 26); // 27–30 Nov 2025 (4 days), Dec…Oct (11 months), 1–26 Nov 2026 (26 days)
  });

  it('repeat complaints: the same phone with the same category, or at the same address, within the window', () => {
    const t = (id: string, at: string, category: Category, phone: string | null, address: string | null) => ({
      id,
      createdAt: cst(at).getTime(),
      keys: repeatKeys({ category, caller: { phone }, address }),
    });
    const got = repeatingTickets(
      [
        t('a', '2026-11-01T09:00:00', 'complaint', '139 0000 0001', '中华路88号'),
        t('b', '2026-11-20T09:00:00', 'complaint', '+86 13900000001', null), // same phone and category: repeat
        t('c', '2026-11-21T09:00:00', 'help', '13900000001', '中华路 88 号'), // same phone and address as a: repeat
        t('d', '2026-12-25T09:00:00', 'help', '13900000001', null), // help again, but 34 days after c
        t('e', '2026-11-22T09:00:00', 'praise', '13900000001', '中华路88号'), // praise is never counted
        t('f', '2026-11-23T09:00:00', 'complaint', null, '中华路88号'), // no phone: no caller
      ],
      WINDOW,
    );
    expect([...got].sort()).toEqual(['b', 'c']);
  });
});
