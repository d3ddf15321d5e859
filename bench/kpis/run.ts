/**
 * Ticket KPI benchmark (issue #6 item 5): a year of synthetic tickets, the KPIs read from the
 * daily roll-ups (server/src/stats/kpi-facts.ts, kpi-rollup.ts) in a private FerretDB, timed next
 * to a bare read of the same roll-up documents, cross-checked against the streaming accumulator
 * (ticket-kpis.ts) fed with the same tickets in memory; then the live write path per ticket.
 *
 *   npx tsx bench/kpis/run.ts [--tickets 1000000] [--batch 5000] [--repeat 3] [--live 2000]
 *   npx tsx bench/kpis/run.ts --pure [--tickets 1000000]     # build + in-memory cross-check only
 *
 * Processes: FerretDB (SQLite handler) and Redis (test/helpers/services.ts startFerretdb /
 * startRedis: free ports, private temporary directories removed at the end) and this script.
 *
 * 1. build (pure, no database): the generator runs twice over the same seed. Pass 1 keeps only
 *    (id, createdAt, repeatKeys) per ticket and decides repeat complaints (`repeatingTickets`);
 *    pass 2 computes each ticket's facts (`ticketFacts`) and sums them into roll-up documents
 *    (`sumFacts`), and feeds the same tickets to three `TicketKpiAccumulator`s (the reference).
 *    Ticket ids are 24-hex numbers in generation order, so `repeatingTickets`' tie-break (same
 *    intake instant: smaller id first) is the accumulator's (stream order).
 * 2. load: the roll-up documents (groups as one JSON string, as KpiRollup stores them) into `kpi_rollups_v2`, the meta document into `kpi_rollup_meta`.
 * 3. read (each `--repeat` times, interleaved; best and median): `ticketKpiReport` and two
 *    `readTicketKpis` breakdowns with source 'rollup' through a real `KpiRollup`, next to the bare
 *    `find({_id: {$in: plan}})` of the day-level plan; each result must equal the accumulator's.
 * 4. write path: `--live` generated tickets (another seed, a smaller caller pool so repeats and
 *    their cascades happen) inserted into `tickets` of fresh databases; `KpiRollup.recompute`
 *    over each, sequentially and with 4 at a time; the roll-ups then read must equal an
 *    accumulator over those tickets. Baseline: findOne + updateOne per ticket.
 * Peak RSS / heap of this process is sampled every 100 ms during each timed step.
 */
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import mongoose, { Types, type Connection } from 'mongoose';
import { pino } from 'pino';
import type { Milestone } from '../../server/src/deadlines/milestones.js';
import { repeatingTickets, repeatKeys, rollupBreakdown, rollupPlan, sumFacts, ticketFacts, type CodedCounts, type RollupDoc } from '../../server/src/stats/kpi-facts.js';
import { KpiRollup, ROLLUP_VERSION } from '../../server/src/stats/kpi-rollup.js';
import { readTicketKpis, ticketKpiReport } from '../../server/src/stats/routes.js';
import {
  departmentReport,
  REPEAT_WINDOW_DAYS,
  TICKET_KPI_PROJECTION,
  TicketKpiAccumulator,
  type KpiBreakdown,
  type KpiOptions,
  type KpiRange,
  type KpiTicket,
} from '../../server/src/stats/ticket-kpis.js';
import { ticketModels } from '../../server/src/tickets/model.js';
import type { Category, Channel, RatingLevel, Urgency } from '../../server/src/tickets/vocabulary.js';
import { startFerretdb, startRedis, stopAll } from '../../test/helpers/services.js';

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(argOf('tickets') ?? 1_000_000);
const BATCH = Number(argOf('batch') ?? 5000);
const REPEAT = Number(argOf('repeat') ?? 3);
const LIVE = Number(argOf('live') ?? 2000);
const PURE = process.argv.includes('--pure');
const SEED = 12345;
const LIVE_SEED = 777;
const H = 3_600_000;
const DAY = 24 * H;
const OFFSET = 480; // Asia/Shanghai
const WINDOW_MS = REPEAT_WINDOW_DAYS * DAY;

const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// ----- a deterministic generator ---------------------------------------------------------------
let seed = 12345;
/** Restart the generator: the same seed gives the same tickets (the build reads them twice). */
const reseed = (s: number, tickets: number): void => {
  seed = s;
  phones = Math.max(1000, Math.floor(tickets * 0.6));
};
const rnd = (): number => {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
};
function pick<T>(weighted: readonly (readonly [T, number])[]): T {
  const total = weighted.reduce((a, [, w]) => a + w, 0);
  let x = rnd() * total;
  for (const [v, w] of weighted) if ((x -= w) < 0) return v;
  return weighted[weighted.length - 1]![0];
}
const expo = (mean: number): number => -Math.log(1 - rnd()) * mean;

const CATEGORY_W: [Category, number][] = [['consultation', 35], ['help', 20], ['complaint', 25], ['report', 5], ['suggestion', 10], ['praise', 5]];
const CHANNEL_W: [Channel, number][] = [['phone', 60], ['wechat', 12], ['miniprogram', 8], ['web', 6], ['portal', 5], ['window', 4], ['media', 2], ['webhook', 2], ['police110', 1]];
const URGENCY_W: [Urgency, number][] = [['normal', 90], ['urgent', 8], ['critical', 2]];
const RATING_W: [RatingLevel, number][] = [['very_satisfied', 55], ['satisfied', 25], ['basically_satisfied', 12], ['dissatisfied', 5], ['very_dissatisfied', 3]];
const DEPARTMENTS = [
  ...['urban', 'water', 'housing', 'transport', 'education', 'health', 'hrss', 'market', 'ecology', 'police', 'power', 'gas', 'heating', 'civil', 'agri', 'culture'].map((d) => `city-${d}`),
  ...['wenfeng', 'beiguan', 'yindu', 'longan', 'anyangxian', 'tangyin', 'neihuang', 'huaxian', 'linzhou'].flatMap((d) => [`${d}-gov`, `${d}-street1`, `${d}-street2`]),
];
const DEPT_W: [string, number][] = DEPARTMENTS.map((d, i) => [d, 1 / (i + 3)]);
const REPLY_DAYS: Record<Category, number | null> = { consultation: 3, help: 5, suggestion: 5, complaint: 10, report: 10, praise: null };
const STREETS = ['文峰大道', '中华路', '人民大道', '解放路', '红旗路', '紫薇大道', '德隆街', '永明路', '彰德路', '光明路'];
/** Callers: a Zipf-like pool so some call again (repeat complaints). */
let phones = Math.max(1000, Math.floor(N * 0.6));
const phoneOf = (): string => `13${String(Math.floor(phones * Math.pow(rnd(), 1.6))).padStart(9, '0')}`;
const YEAR_END = Date.parse('2026-11-26T00:00:00+08:00');
const YEAR_START = YEAR_END - 365 * DAY;
const NOW = new Date(YEAR_END);

const POLICY = {
  id: 'default',
  version: 3,
  durations: { sign: { value: 24, unit: 'hours' }, contact: null, reply: { value: 10, unit: 'workingDays' }, review: { value: 1, unit: 'workingDays' }, visit: { value: 2, unit: 'workingDays' }, verify: { value: 48, unit: 'hours' }, rectify: { value: 15, unit: 'workingDays' } },
  rules: { returnWindow: { value: 2, unit: 'workingDays' }, maxExtensionDays: 10, warnRatio: 0.75, remindEvery: { value: 1, unit: 'workingDays' }, escalateAfter: { value: 1, unit: 'workingDays' }, redoFlagAfter: 2 },
};
const actor = (id: string, role: string, departmentId: string | null = null) => ({ id, name: `用户${id}`, role, departmentId });

function clock(startedAt: number, dueAt: number, doneAt: number | null, cancelledAt: number | null = null): Milestone {
  return {
    unit: 'workingDays',
    startedAt: new Date(startedAt),
    dueAt: new Date(dueAt),
    warnAt: new Date(startedAt + (dueAt - startedAt) * 0.75),
    doneAt: doneAt === null ? null : new Date(doneAt),
    cancelledAt: cancelledAt === null ? null : new Date(cancelledAt),
    version: 1,
    level: doneAt !== null && doneAt > dueAt ? 'overdue' : 'on_time',
    reminders: 0,
    escalations: 0,
  };
}

function ticket(i: number): Record<string, unknown> {
  // intake: uniform over the year, more by day than by night (city time)
  let created = YEAR_START + Math.floor(rnd() * 365) * DAY;
  const hour = rnd() < 0.85 ? 8 + rnd() * 12 : rnd() * 24;
  created += (hour - 8) * H + Math.floor(rnd() * H);
  const category = pick(CATEGORY_W);
  const channel = pick(CHANNEL_W);
  const urgency = category === 'praise' ? 'normal' : pick(URGENCY_W);
  const operator = actor(`agent${1 + (i % 80)}`, 'agent');
  const timeline: Record<string, unknown>[] = [];
  let seq = 0;
  const push = (at: number, action: string, from: string | null, to: string, by = operator, data: Record<string, unknown> | null = null, note: string | null = null) =>
    timeline.push({ seq: ++seq, at: new Date(at), actor: by, action, from, to, note, data });
  push(created, 'create', null, 'received', operator, { channel, category, urgency });
  const deadlines: Record<string, Milestone> = {};
  const ratings: Record<string, unknown>[] = [];
  let state = 'received';
  let lead: string | null = null;
  let closure: Record<string, unknown> | null = null;
  let round = 1;
  let at = created;
  const open = (until: number) => until > YEAR_END; // not happened yet at the report's end

  if (category === 'consultation' && rnd() < 0.7) {
    // answered on the spot from the knowledge base (直接办结), then visited
    at += 5 * 60_000 + rnd() * 20 * 60_000;
    push(at, 'answerDirectly', 'received', 'visiting', operator, { knowledgeArticleId: `kb${i % 500}` });
    state = 'visiting';
    const visit = at + expo(DAY);
    if (!open(visit)) {
      const level = rnd() < 0.4 ? pick(RATING_W) : null;
      if (level) ratings.push({ level, round, realName: rnd() < 0.8, comment: null, at: new Date(visit), by: operator, source: 'return_visit' });
      push(visit, 'returnVisit', 'visiting', 'closed', operator, { contacted: true, rating: level });
      state = 'closed';
      closure = { kind: 'answered_directly', reason: null, at: new Date(visit) };
    }
  } else {
    // dispatch (转办): mostly within the deadline
    const limit = urgency === 'normal' ? 24 * H : 2 * H;
    at += rnd() < 0.93 ? rnd() * limit : limit + expo(limit);
    lead = pick(DEPT_W);
    const dispatchAt = at;
    if (!open(at)) {
      push(at, 'dispatch', 'received', 'dispatched', operator, { leadDepartmentId: lead, coDepartmentIds: rnd() < 0.05 ? [pick(DEPT_W)] : [] });
      state = 'dispatched';
      const clerk = actor(`${lead}-1`, 'department', lead);
      if (rnd() < 0.04) {
        // returned (退单), approved, re-dispatched
        at += expo(6 * H);
        push(at, 'return', 'dispatched', 'returned', clerk, null, '不属于本单位职责');
        at += expo(3 * H);
        push(at, 'reviewReturn', 'returned', 'received', operator, { approve: true });
        at += expo(2 * H);
        lead = pick(DEPT_W);
        push(at, 'dispatch', 'received', 'dispatched', operator, { leadDepartmentId: lead, coDepartmentIds: [] });
      }
      const replyDays = REPLY_DAYS[category];
      at += expo(4 * H);
      push(at, 'sign', 'dispatched', 'handling', clerk);
      state = 'handling';
      if (replyDays !== null) {
        let due = dispatchAt + replyDays * 1.4 * DAY;
        if (rnd() < 0.06) {
          push(at + H, 'requestExtension', 'handling', 'handling', clerk, { days: 5 }, '需协调');
          push(at + 3 * H, 'decideExtension', 'handling', 'handling', actor('super1', 'supervisor'), { approve: true, days: 5 });
          due += 7 * DAY;
        }
        const replyAt = rnd() < 0.9 ? at + rnd() * (due - at) : due + expo(2 * DAY);
        deadlines.reply = clock(dispatchAt, due, open(replyAt) ? null : replyAt);
        if (!open(replyAt)) {
          push(replyAt, 'reply', 'handling', 'replied', clerk, null, '已处理完毕，答复如下。');
          at = replyAt + expo(6 * H);
          if (!open(at)) {
            push(at, 'reviewReply', 'replied', 'visiting', operator, { accept: true });
            state = 'visiting';
            const visit = at + expo(DAY);
            if (!open(visit)) {
              const level = rnd() < 0.7 ? pick(RATING_W) : null;
              const realName = rnd() < 0.8;
              if (level) ratings.push({ level, round, realName, comment: null, at: new Date(visit), by: operator, source: 'return_visit' });
              push(visit, 'returnVisit', 'visiting', level && (level === 'dissatisfied' || level === 'very_dissatisfied') && realName ? 'disputed' : 'closed', operator, { contacted: true, rating: level });
              if (level && (level === 'dissatisfied' || level === 'very_dissatisfied') && realName) {
                state = 'disputed';
                const verify = visit + expo(DAY);
                if (!open(verify)) {
                  const valid = rnd() < 0.5;
                  if (valid) {
                    round = 2;
                    const rdue = verify + 21 * DAY;
                    const fed = rnd() < 0.85 ? verify + rnd() * 21 * DAY : rdue + expo(3 * DAY);
                    deadlines.rectify = clock(verify, rdue, open(fed) ? null : fed);
                    push(verify, 'verifyRating', 'disputed', 'handling', operator, { valid: true, rectify: true });
                    state = 'handling';
                    if (!open(fed)) {
                      push(fed, 'reply', 'handling', 'replied', clerk, null, '整改完成');
                      const v2 = fed + expo(2 * DAY);
                      if (!open(v2)) {
                        const l2 = pick(RATING_W);
                        ratings.push({ level: l2, round, realName, comment: null, at: new Date(v2), by: operator, source: 'return_visit' });
                        push(v2, 'returnVisit', 'replied', 'closed', operator, { contacted: true, rating: l2 });
                        state = 'closed';
                        closure = { kind: 'resolved', reason: null, at: new Date(v2) };
                      }
                    }
                  } else {
                    push(verify, 'verifyRating', 'disputed', 'closed', operator, { valid: false });
                    state = 'closed';
                    closure = { kind: 'rating_invalid', reason: '评价与办理无关', at: new Date(verify) };
                  }
                }
              } else {
                state = 'closed';
                closure = { kind: 'resolved', reason: null, at: new Date(visit) };
              }
            }
          }
        }
      } else {
        // praise: forwarded, no handling deadline
        at += expo(DAY);
        if (!open(at)) {
          push(at, 'close', 'handling', 'closed', operator);
          state = 'closed';
          closure = { kind: 'resolved', reason: null, at: new Date(at) };
        }
      }
    }
  }
  const last = timeline[timeline.length - 1]!.at as Date;
  const street = STREETS[Math.floor(rnd() * STREETS.length)]!;
  return {
    number: `AY${String(i).padStart(10, '0')}`,
    state,
    version: seq,
    round,
    channel,
    category,
    urgency,
    area: { districtId: 'wenfeng', streetId: 'nanguan' },
    policy: POLICY,
    caller: { name: rnd() < 0.2 ? null : '张先生', phone: phoneOf(), anonymous: false },
    title: null,
    address: `安阳市文峰区${street}${1 + Math.floor(Math.pow(rnd(), 2) * 300)}号`,
    content: `市民反映${street}附近夜间施工噪音扰民，影响休息，请相关部门核实处理。工单${i}。`,
    confidential: rnd() < 0.05,
    enterprise: rnd() < 0.03,
    elderly: rnd() < 0.08,
    callIds: channel === 'phone' ? [`call-${i}`] : [],
    externalRef: null,
    outOfScope: null,
    attachments: [],
    leadDepartmentId: lead,
    coDepartmentIds: [],
    dispatchCount: timeline.filter((e) => e.action === 'dispatch').length,
    returnedFrom: null,
    returnReason: null,
    pendingExtension: null,
    extendedDays: 0,
    deadlines,
    nextDueAt: null,
    nextWarnAt: null,
    returnUntil: null,
    suspension: { requested: null, since: null, reason: null },
    escalatedTo: [],
    reply: null,
    directAnswer: null,
    rating: ratings[ratings.length - 1] ?? null,
    ratings,
    redoCount: 0,
    flaggedRepeatedFailure: false,
    urgeCount: 0,
    supervised: false,
    mergedInto: null,
    closure,
    createdBy: operator,
    createdAt: new Date(created),
    updatedAt: last,
    timeline,
  };
}

// ----- helpers --------------------------------------------------------------------------------
interface Timed<T> {
  ms: number;
  value: T;
  rssMb: number;
  heapMb: number;
}
async function timed<T>(fn: () => Promise<T> | T): Promise<Timed<T>> {
  global.gc?.();
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  }, 100);
  const t0 = performance.now();
  try {
    const value = await fn();
    const m = process.memoryUsage();
    return { ms: performance.now() - t0, value, rssMb: Math.max(rss, m.rss) / 2 ** 20, heapMb: Math.max(heap, m.heapUsed) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** A ticket id in generation order: 24 hex digits (a valid ObjectId), so string order = stream order. */
const idOf = (i: number): string => i.toString(16).padStart(24, '0');

/** First difference between two JSON-like values (numbers compared exactly), or null. */
function firstDiff(a: unknown, b: unknown, path = ''): string | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return `${path || '(root)'}: roll-up ${JSON.stringify(a)} ≠ accumulator ${JSON.stringify(b)}`;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) return `${path}.length: roll-up ${a.length} ≠ accumulator ${b.length}`;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const k of keys) {
    const d = firstDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) {
      // name the group, not just its index
      const group = Array.isArray(a) ? ` [group ${JSON.stringify((a as { key?: unknown }[])[Number(k)]?.key)} vs ${JSON.stringify((b as { key?: unknown }[])[Number(k)]?.key)}]` : '';
      return d + group;
    }
  }
  return `${path}: differ`;
}

const withoutSource = <T extends { source?: unknown }>(x: T): Omit<T, 'source'> => {
  const { source: _, ...rest } = x;
  return rest;
};

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1]! };
};

// the three reports, their options
const READS: { name: string; opts: KpiOptions; report: boolean }[] = [
  { name: 'report', opts: { departmentId: null, groupBy: ['department'] }, report: true },
  { name: 'breakdown dept×month', opts: { groupBy: ['department', 'period'], bucket: 'month', utcOffsetMinutes: OFFSET }, report: false },
  { name: 'breakdown cat×channel×week', opts: { groupBy: ['category', 'channel', 'period'], bucket: 'week', utcOffsetMinutes: OFFSET }, report: false },
];
/** whole city days: [city midnight 365 days before the end day, city midnight after the last generated day) */
const RANGE: KpiRange = { from: new Date(YEAR_START), to: new Date(YEAR_END), now: NOW };

/** The reference answer of a read, from an accumulator. */
const expected = (r: (typeof READS)[number], acc: KpiBreakdown): unknown => (r.report ? departmentReport(acc) : acc);

type RollupMap = Map<string, Map<string, CodedCounts>>;
const toDocs = (map: RollupMap): RollupDoc[] =>
  [...map].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, g]) => ({ _id: id, g: Object.fromEntries([...g].sort(([a], [b]) => (a < b ? -1 : 1))) }));

// ----- 1. build (pure) ------------------------------------------------------------------------
interface Built {
  docs: RollupDoc[];
  reference: Map<string, KpiBreakdown>;
}

async function build(): Promise<Built> {
  log(`build: ${fmt(N)} tickets, batch ${BATCH}, seed ${SEED}`);
  // pass 1: ids, intake times and caller keys only
  let genMs = 0;
  const p1 = await timed(() => {
    reseed(SEED, N);
    const light: { id: string; createdAt: number; keys: string[] }[] = new Array(N);
    for (let i = 0; i < N; i += BATCH) {
      const g0 = performance.now();
      const docs = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => ticket(i + k));
      genMs += performance.now() - g0;
      for (let k = 0; k < docs.length; k++) {
        const tk = docs[k]! as unknown as KpiTicket;
        light[i + k] = { id: idOf(i + k), createdAt: (tk.createdAt as Date).getTime(), keys: repeatKeys(tk) };
      }
    }
    // same caller key and the same intake instant: where the two tie-breaks could disagree
    const seen = new Set<string>();
    let ties = 0;
    for (const l of light) for (const k of l.keys) {
      const s = `${l.createdAt}|${k}`;
      if (seen.has(s)) ties += 1;
      else seen.add(s);
    }
    seen.clear();
    const r0 = performance.now();
    const repeat = repeatingTickets(light, WINDOW_MS);
    return { repeat, ties, repeatMs: performance.now() - r0 };
  });
  const { repeat, ties, repeatMs } = p1.value;
  const gen1 = genMs;
  log(`pass 1: ${fmt(p1.ms / 1000, 1)} s (generation ${fmt(gen1 / 1000, 1)} s, repeatingTickets ${fmt(repeatMs / 1000, 1)} s); ${fmt(repeat.size)} repeats; ${ties} same-key same-instant ties; peak rss ${fmt(p1.rssMb)} MB`);

  // pass 2: facts summed into roll-up documents, and the reference accumulators
  genMs = 0;
  let factMs = 0;
  const accMs = READS.map(() => 0);
  const accs = READS.map((r) => new TicketKpiAccumulator(RANGE, r.opts));
  const map: RollupMap = new Map();
  let factEntries = 0;
  const p2 = await timed(() => {
    reseed(SEED, N);
    for (let i = 0; i < N; i += BATCH) {
      const g0 = performance.now();
      const docs = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => ticket(i + k)) as unknown as KpiTicket[];
      genMs += performance.now() - g0;
      const f0 = performance.now();
      for (let k = 0; k < docs.length; k++) {
        const facts = ticketFacts(docs[k]!, NOW, repeat.has(idOf(i + k)), OFFSET);
        factEntries += facts.length;
        sumFacts(map, facts);
      }
      factMs += performance.now() - f0;
      for (let a = 0; a < accs.length; a++) {
        const t0 = performance.now();
        for (const d of docs) accs[a]!.add(d);
        accMs[a] = accMs[a]! + performance.now() - t0;
      }
      if ((i / BATCH) % 40 === 0 && i > 0) log(`  pass 2: ${fmt(i)} tickets`);
    }
  });
  const reference = new Map<string, KpiBreakdown>();
  const resMs = READS.map(() => 0);
  READS.forEach((r, a) => {
    const t0 = performance.now();
    reference.set(r.name, accs[a]!.result());
    resMs[a] = performance.now() - t0;
  });
  const docs = toDocs(map);
  log(`pass 2: ${fmt(p2.ms / 1000, 1)} s (generation ${fmt(genMs / 1000, 1)} s); peak rss ${fmt(p2.rssMb)} MB, heap ${fmt(p2.heapMb)} MB`);
  console.log('\n| build step | s | µs/ticket |');
  console.log('| --- | --- | --- |');
  console.log(`| generate (×2 passes, not counted) | ${fmt((gen1 + genMs) / 1000, 1)} | ${fmt(((gen1 + genMs) * 1000) / N, 1)} |`);
  console.log(`| pass 1: repeatKeys + repeatingTickets (excl. generation) | ${fmt((p1.ms - gen1) / 1000, 1)} | ${fmt(((p1.ms - gen1) * 1000) / N, 1)} |`);
  console.log(`| pass 2: ticketFacts + sumFacts | ${fmt(factMs / 1000, 1)} | ${fmt((factMs * 1000) / N, 1)} |`);
  READS.forEach((r, a) => console.log(`| reference accumulator ${r.name} (add + result) | ${fmt((accMs[a]! + resMs[a]!) / 1000, 1)} | ${fmt(((accMs[a]! + resMs[a]!) * 1000) / N, 1)} |`));
  const bytes = docs.reduce((s, d) => s + JSON.stringify(d).length, 0);
  const dayDocs = docs.filter((d) => d._id.startsWith('d:')).length;
  console.log(`\nroll-up documents: ${docs.length} (${dayDocs} day, ${docs.length - dayDocs} month), ${fmt(bytes / 2 ** 20, 1)} MB of JSON, ${fmt(factEntries)} fact entries (${fmt(factEntries / N, 2)}/ticket)`);

  // in memory: the roll-up documents read back through rollupBreakdown equal the accumulators
  let bad = 0;
  for (const r of READS) {
    const plan = rollupPlan(RANGE, r.opts, OFFSET)!;
    const byId = new Map(docs.map((d) => [d._id, d]));
    const got = rollupBreakdown(plan.flatMap((id) => byId.get(id) ?? []), RANGE, { ...r.opts, utcOffsetMinutes: OFFSET });
    const d = firstDiff(r.report ? departmentReport(got) : got, expected(r, reference.get(r.name)!));
    if (d) {
      bad += 1;
      console.log(`cross-check (in memory) ${r.name}: DIFFERENT: ${d}`);
    }
  }
  console.log(bad === 0 ? 'cross-check (in memory, rollupBreakdown vs accumulators): identical' : 'cross-check (in memory): DIFFERENT');
  if (bad) process.exitCode = 1;
  const total = reference.get('report')!.total;
  console.log('yearly totals (accumulator):');
  for (const [k, v] of Object.entries(total)) {
    if (k === 'ratings') continue;
    const x = v as { rate: number | null; numerator: number; denominator: number };
    console.log(`  ${k}: ${x.rate === null ? '–' : (x.rate * 100).toFixed(1)}% (${fmt(x.numerator)}/${fmt(x.denominator)})`);
  }
  for (const r of READS) console.log(`  ${r.name}: ${reference.get(r.name)!.groups.length} groups`);
  return { docs, reference };
}

// ----- 3. reads -------------------------------------------------------------------------------
async function reads(conn: Connection, rollup: KpiRollup, built: Built): Promise<boolean> {
  const { Ticket } = ticketModels(conn);
  const deps = { Ticket, rollup };
  const dayPlan = rollupPlan(RANGE, READS[2]!.opts, OFFSET)!;
  for (const r of READS) log(`plan ${r.name}: ${rollupPlan(RANGE, r.opts, OFFSET)!.length} documents`);
  const col = conn.db!.collection<RollupDoc>(`kpi_rollups_v${ROLLUP_VERSION}`);
  const steps: [string, () => Promise<unknown>][] = [
    ['bare find $in (day plan)', () => col.find({ _id: { $in: dayPlan } }).toArray()],
    ['report', () => ticketKpiReport(deps, RANGE, null, 'rollup')],
    ['breakdown dept×month', () => readTicketKpis(deps, RANGE, READS[1]!.opts, 'rollup')],
    ['breakdown cat×channel×week', () => readTicketKpis(deps, RANGE, READS[2]!.opts, 'rollup')],
  ];
  const results = new Map<string, { ms: number[]; rss: number; heap: number; value: unknown }>();
  for (let rep = 0; rep < REPEAT; rep++) {
    for (const [name, fn] of steps) {
      const r = await timed(fn);
      const acc = results.get(name) ?? { ms: [], rss: 0, heap: 0, value: null };
      acc.ms.push(r.ms);
      acc.rss = Math.max(acc.rss, r.rssMb);
      acc.heap = Math.max(acc.heap, r.heapMb);
      acc.value = r.value;
      results.set(name, acc);
      log(`${name}: ${fmt(r.ms / 1000, 3)} s (peak rss ${fmt(r.rssMb)} MB, heap ${fmt(r.heapMb)} MB)`);
    }
  }
  const best = (name: string) => Math.min(...results.get(name)!.ms);
  const median = (name: string) => {
    const s = [...results.get(name)!.ms].sort((a, b) => a - b);
    return s[Math.floor((s.length - 1) / 2)]!;
  };
  const bare = best(steps[0]![0]);
  const bareDocs = results.get(steps[0]![0])!.value as RollupDoc[];
  console.log(`\nbare read: ${bareDocs.length} documents of ${dayPlan.length} asked`);
  console.log(`\n| step | runs s | best s | median s | ÷ bare (best) | peak RSS MB | peak heap MB |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [name] of steps) {
    const r = results.get(name)!;
    console.log(`| ${name} | ${r.ms.map((x) => fmt(x / 1000, 3)).join(' / ')} | ${fmt(best(name) / 1000, 3)} | ${fmt(median(name) / 1000, 3)} | ${fmt(best(name) / bare, 2)} | ${fmt(r.rss)} | ${fmt(r.heap)} |`);
  }
  let ok = true;
  for (const r of READS) {
    const got = results.get(r.name)!.value as { source: string } & object;
    if (got.source !== 'rollup') {
      console.log(`cross-check ${r.name}: source ${got.source}, expected rollup`);
      ok = false;
      continue;
    }
    const d = firstDiff(withoutSource(got), expected(r, built.reference.get(r.name)!));
    if (d) {
      console.log(`cross-check ${r.name}: DIFFERENT: ${d}`);
      ok = false;
    }
  }
  console.log(ok ? 'cross-check (FerretDB roll-ups via KpiRollup vs in-memory accumulators, all three reads): identical' : 'cross-check: DIFFERENT');
  return ok;
}

// ----- 4. write path --------------------------------------------------------------------------
function liveTickets(): Record<string, unknown>[] {
  reseed(LIVE_SEED, LIVE);
  return Array.from({ length: LIVE }, (_, i) => ({ _id: new Types.ObjectId(idOf(i)), ...ticket(i) }));
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (x: T) => Promise<void>): Promise<number[]> {
  const lat: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const x = items[next++]!;
        const t0 = performance.now();
        await fn(x);
        lat.push(performance.now() - t0);
      }
    }),
  );
  return lat;
}

async function writePath(conn: Connection, redis: Redis): Promise<boolean> {
  const tickets = liveTickets();
  const ids = tickets.map((t) => String(t._id));
  const accs = READS.map((r) => new TicketKpiAccumulator(RANGE, r.opts));
  for (const tk of tickets) for (const a of accs) a.add(tk as unknown as KpiTicket);
  const reference = READS.map((r, a) => expected(r, accs[a]!.result()));
  const repeats = (reference[0] as { total: { repeatComplaints: { numerator: number; denominator: number } } }).total.repeatComplaints;
  log(`write path: ${fmt(LIVE)} tickets (seed ${LIVE_SEED}, ${fmt(Math.max(1000, Math.floor(LIVE * 0.6)))} callers): ${repeats.numerator} repeat complaints of ${repeats.denominator} intakes`);
  const silent = pino({ level: 'silent' });
  const rows: string[] = [];
  let ok = true;
  const row = (name: string, lat: number[], wallMs: number, extra = '') => {
    const s = stats(lat);
    rows.push(`| ${name} | ${fmt(LIVE)} | ${fmt(wallMs / 1000, 1)} | ${fmt(LIVE / (wallMs / 1000), 1)} | ${fmt(s.p50, 1)} | ${fmt(s.p99, 1)} | ${fmt(s.max, 1)} | ${extra} |`);
    log(`${name}: ${fmt(LIVE / (wallMs / 1000), 1)} tickets/s, p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms ${extra}`);
  };

  // probe: is one single-document $inc atomic under concurrent writers? (MongoDB: yes; the roll-ups rely on it)
  const probe = conn.useDb('bench_kpis_probe', { useCache: false }).db!.collection<{ _id: string; n: number }>('inc');
  await probe.insertOne({ _id: 'a', n: 0 });
  await Promise.all([0, 1, 2, 3].map(async () => {
    for (let i = 0; i < 200; i++) await probe.updateOne({ _id: 'a' }, { $inc: { n: 1 } });
  }));
  const probed = (await probe.findOne({ _id: 'a' }))?.n;
  log(`probe: 4 concurrent writers × 200 updateOne $inc of one document → n = ${probed} (800 if atomic)`);

  // baseline: a bare findOne of the ticket + an upsert of one small document, per ticket
  const base = conn.useDb('bench_kpis_live_bare', { useCache: false });
  await base.db!.collection('tickets').insertMany(tickets as never[], { ordered: false });
  for (const conc of [1, 4]) {
    const scratch = base.db!.collection<{ _id: string; v: number }>(`bare_writes_${conc}`);
    const tcol = base.db!.collection('tickets');
    const t0 = performance.now();
    const lat = await pool(ids, conc, async (id) => {
      const tk = await tcol.findOne({ _id: new Types.ObjectId(id) }, { projection: { ...TICKET_KPI_PROJECTION, version: 1 } });
      await scratch.updateOne({ _id: id }, { $set: { v: Number(tk?.version ?? 0) } }, { upsert: true });
    });
    row(`bare findOne + updateOne, concurrency ${conc}`, lat, performance.now() - t0);
  }

  for (const conc of [1, 4]) {
    const db = conn.useDb(`bench_kpis_live_c${conc}`, { useCache: false });
    const { Ticket } = ticketModels(db);
    await db.db!.collection('tickets').insertMany(tickets as never[], { ordered: false });
    const rollup = new KpiRollup({ db: db.db!, redis, prefix: `bench-live-c${conc}`, Ticket, log: silent, clock: () => NOW, utcOffsetMinutes: OFFSET });
    // count every recompute, the cascades to later tickets of a caller key included
    let calls = 0;
    const inner = rollup.recompute.bind(rollup);
    rollup.recompute = (id: string, cascade?: boolean) => {
      calls += 1;
      return inner(id, cascade);
    };
    const t0 = performance.now();
    const lat = await pool(ids, conc, async (id) => {
      await rollup.recompute(id);
    });
    row(`KpiRollup.recompute, concurrency ${conc}`, lat, performance.now() - t0, `${fmt(calls)} recomputes (cascades ${fmt(calls - LIVE)})`);
    if (conc === 1) {
      calls = 0;
      const t1 = performance.now();
      const lat1 = await pool(ids, 1, async (id) => {
        await rollup.recompute(id);
      });
      row('KpiRollup.recompute again, nothing changed, concurrency 1', lat1, performance.now() - t1, `${fmt(calls)} recomputes`);
    }
    await rollup.pullDone(); // op ids of finished deltas are pulled in batches (after each drain in the app)
    const pending = await rollup.facts.countDocuments({ pending: { $exists: true } });
    const withOps = await rollup.rollups.countDocuments({ 'ops.0': { $exists: true } });
    await db.db!.collection('kpi_rollup_meta').insertOne({ _id: `v${ROLLUP_VERSION}`, complete: true, after: null, at: new Date() } as never);
    for (let r = 0; r < READS.length; r++) {
      const got = await rollup.read(RANGE, { ...READS[r]!.opts, utcOffsetMinutes: OFFSET });
      const d = got === null ? 'read returned null' : firstDiff(READS[r]!.report ? departmentReport(got) : got, reference[r]);
      if (d) {
        ok = false;
        console.log(`write-path cross-check (concurrency ${conc}) ${READS[r]!.name}: DIFFERENT: ${d}`);
      }
    }
    const nDocs = await rollup.rollups.countDocuments({});
    log(`concurrency ${conc}: ${nDocs} roll-up documents, ${pending} facts still pending, ${withOps} roll-ups with op ids left`);
    if (pending || withOps) ok = false;
  }
  console.log('\n| write path (FerretDB + Redis) | tickets | wall s | tickets/s | p50 ms | p99 ms | max ms | |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
  console.log(ok ? `write-path cross-check (roll-ups after recompute vs accumulator over the ${fmt(LIVE)} tickets, all three reads, both runs): identical` : 'write-path cross-check: DIFFERENT');
  return ok;
}

// ----- run ------------------------------------------------------------------------------------
async function main(): Promise<void> {
  log(`tickets ${fmt(N)}, batch ${BATCH}, repeat ${REPEAT}, live ${fmt(LIVE)}${PURE ? ', pure' : ''}; node ${process.version}`);
  const built = await build();
  if (PURE) return;
  let ok = process.exitCode !== 1;
  const [fdb, rds] = await Promise.all([startFerretdb(), startRedis()]);
  const conn = await mongoose.createConnection(fdb.url, { dbName: 'bench_kpis', autoIndex: false, autoCreate: false }).asPromise();
  const redis = new Redis(rds.url, { maxRetriesPerRequest: null });
  try {
    // 2. load
    const db = conn.db!;
    const load = await timed(async () => {
      const col = db.collection<{ _id: string; g: string; ops: string[]; rev: number }>(`kpi_rollups_v${ROLLUP_VERSION}`);
      const stored = built.docs.map((d) => ({ _id: d._id, g: JSON.stringify(d.g ?? {}), ops: [] as string[], rev: 1 }));
      for (let i = 0; i < stored.length; i += 20) await col.insertMany(stored.slice(i, i + 20), { ordered: true });
      await db.collection('kpi_rollup_meta').insertOne({ _id: `v${ROLLUP_VERSION}`, complete: true, after: null, at: new Date() } as never);
    });
    const bytes = built.docs.reduce((s, d) => s + JSON.stringify(d).length, 0);
    const stored = await db.collection(`kpi_rollups_v${ROLLUP_VERSION}`).countDocuments({});
    log(`load: ${stored} roll-up documents (${fmt(bytes / 2 ** 20, 1)} MB JSON, largest ${fmt(Math.max(...built.docs.map((d) => JSON.stringify(d).length)) / 1024)} KB) in ${fmt(load.ms / 1000, 2)} s`);

    // 3. reads
    const { Ticket } = ticketModels(conn);
    const rollup = new KpiRollup({ db, redis, prefix: 'bench', Ticket, log: pino({ level: 'silent' }), clock: () => NOW, utcOffsetMinutes: OFFSET });
    if (!(await reads(conn, rollup, built))) ok = false;

    // 4. write path
    if (LIVE > 0 && !(await writePath(conn, redis))) ok = false;
  } finally {
    redis.disconnect();
    await conn.close().catch(() => undefined);
    await stopAll();
  }
  if (!ok) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  async (err) => {
    console.error(err);
    await stopAll().catch(() => undefined);
    process.exit(1);
  },
);
