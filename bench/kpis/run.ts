/**
 * Ticket KPI benchmark (issue #6 item 5): a year of synthetic tickets in a private FerretDB, the
 * yearly KPI report and breakdowns timed next to a bare cursor over the same projection in the
 * same run.
 *
 *   npx tsx bench/kpis/run.ts [--tickets 1000000] [--batch 5000] [--repeat 2] [--with-filter]
 *   NODE_OPTIONS=--expose-gc npx tsx bench/kpis/run.ts --pure [--tickets 1000000]
 *
 * Processes: FerretDB (SQLite handler, test/helpers/services.ts startFerretdb: free port, private
 * temporary directory, removed at the end) and this script. Tickets are generated in memory one
 * batch at a time and inserted with the native driver's insertMany (unordered); no indexes but
 * `_id` (what FerretDB v1 uses anyway).
 *
 * Timed (each `--repeat` times, interleaved, best and median reported):
 *   bare        Ticket.collection.find({}, {projection: TICKET_KPI_PROJECTION}) counting documents
 *   bare+filter the same with the report's candidate filter (ticketKpiFilter; --with-filter)
 *   report      ticketKpiReport (GET /api/kpis/tickets: total + per department) over the year
 *   breakdown   streamTicketKpis groupBy=department,period bucket=month
 *   breakdown2  streamTicketKpis groupBy=category,channel,period bucket=week
 * Peak RSS / heap of this process is sampled every 100 ms during each timed step.
 */
import { performance } from 'node:perf_hooks';
import mongoose from 'mongoose';
import type { Milestone } from '../../server/src/deadlines/milestones.js';
import { streamTicketKpis, ticketKpiFilter, ticketKpiReport } from '../../server/src/stats/routes.js';
import { TICKET_KPI_PROJECTION, TicketKpiAccumulator, type KpiRange, type KpiTicket } from '../../server/src/stats/ticket-kpis.js';
import { ticketModels } from '../../server/src/tickets/model.js';
import type { Category, Channel, RatingLevel, Urgency } from '../../server/src/tickets/vocabulary.js';
import { startFerretdb, stopAll } from '../../test/helpers/services.js';

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(argOf('tickets') ?? 1_000_000);
const BATCH = Number(argOf('batch') ?? 5000);
const REPEAT = Number(argOf('repeat') ?? 2);
/** also time the bare cursor with the report's candidate filter */
const WITH_FILTER = process.argv.includes('--with-filter');
const H = 3_600_000;
const DAY = 24 * H;
const OFFSET = 480; // Asia/Shanghai

const log = (...a: unknown[]) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// ----- a deterministic generator ---------------------------------------------------------------
let seed = 12345;
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
const PHONES = Math.max(1000, Math.floor(N * 0.6));
const phoneOf = (): string => `13${String(Math.floor(PHONES * Math.pow(rnd(), 1.6))).padStart(9, '0')}`;
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

// ----- run ------------------------------------------------------------------------------------
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T; rssMb: number; heapMb: number }> {
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
    return { ms: performance.now() - t0, value, rssMb: rss / 2 ** 20, heapMb: heap / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/**
 * --pure: no database. The same generator feeds the accumulators (ticket-kpis.ts) directly, one
 * batch at a time, so the KPI code's own cost and memory at the full size can be measured where
 * FerretDB is too slow to load it. Timed: the accumulators' `add` loops and `result`, next to a
 * bare loop over the same batches.
 */
async function pure(): Promise<void> {
  log(`pure: tickets ${fmt(N)}, batch ${BATCH}; node ${process.version}`);
  const range: KpiRange = { from: new Date(YEAR_START), to: new Date(YEAR_END), now: NOW };
  const accs: [string, TicketKpiAccumulator][] = [
    ['report (dept)', new TicketKpiAccumulator(range, { groupBy: ['department'] })],
    ['breakdown dept×month', new TicketKpiAccumulator(range, { groupBy: ['department', 'period'], bucket: 'month', utcOffsetMinutes: OFFSET })],
    ['breakdown cat×channel×week', new TicketKpiAccumulator(range, { groupBy: ['category', 'channel', 'period'], bucket: 'week', utcOffsetMinutes: OFFSET })],
  ];
  const ms = new Map<string, number>(accs.map(([n]) => [n, 0]));
  let bareMs = 0;
  let genMs = 0;
  let seen = 0;
  global.gc?.();
  // typed arrays (the repeat-complaint columns) live outside the JS heap: count them too
  const held = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const heap0 = held();
  for (let i = 0; i < N; i += BATCH) {
    const g0 = performance.now();
    const docs = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => ticket(i + k)) as unknown as KpiTicket[];
    genMs += performance.now() - g0;
    const b0 = performance.now();
    for (const d of docs) if (d) seen += 1;
    bareMs += performance.now() - b0;
    for (const [name, acc] of accs) {
      const t0 = performance.now();
      for (const d of docs) acc.add(d);
      ms.set(name, ms.get(name)! + performance.now() - t0);
    }
  }
  global.gc?.();
  const heapBefore = held();
  console.log(`\ngenerated ${fmt(seen)} tickets in ${fmt(genMs / 1000, 1)} s (not counted); bare loop ${fmt(bareMs, 1)} ms`);
  console.log(`heap + array buffers held by the three accumulators before result(): ${fmt((heapBefore - heap0) / 2 ** 20)} MB (gc ${global.gc ? 'on' : 'off: run with NODE_OPTIONS=--expose-gc'})`);
  console.log('\n| accumulator | add s | result s | µs/ticket | groups |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, acc] of accs) {
    const t0 = performance.now();
    const res = acc.result();
    const resMs = performance.now() - t0;
    console.log(`| ${name} | ${fmt(ms.get(name)! / 1000, 2)} | ${fmt(resMs / 1000, 2)} | ${fmt(((ms.get(name)! + resMs) * 1000) / N, 1)} | ${res.groups.length} |`);
    if (name === 'report (dept)') {
      for (const [k, v] of Object.entries(res.total)) if (k !== 'ratings') console.log(`    ${k}: ${((v as { rate: number }).rate * 100).toFixed(1)}% (${fmt((v as { numerator: number }).numerator)}/${fmt((v as { denominator: number }).denominator)})`);
    }
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--pure')) return pure();
  log(`tickets ${fmt(N)}, batch ${BATCH}, repeat ${REPEAT}; node ${process.version}`);
  const fdb = await startFerretdb();
  const conn = await mongoose.createConnection(fdb.url, { dbName: 'bench_kpis', autoIndex: false, autoCreate: false }).asPromise();
  try {
    const { Ticket } = ticketModels(conn);
    const col = Ticket.collection;
    const tLoad = performance.now();
    let bytes = 0;
    for (let i = 0; i < N; i += BATCH) {
      const docs = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => ticket(i + k));
      if (i === 0) bytes = JSON.stringify(docs.slice(0, 100)).length / 100;
      await col.insertMany(docs, { ordered: false });
      if ((i / BATCH) % 20 === 0) log(`loaded ${fmt(i + docs.length)} (${fmt((i + docs.length) / ((performance.now() - tLoad) / 1000))}/s)`);
    }
    const loadS = (performance.now() - tLoad) / 1000;
    log(`loaded ${fmt(N)} tickets in ${fmt(loadS, 1)} s (${fmt(N / loadS)}/s), ~${fmt(bytes)} bytes of JSON each`);

    const range: KpiRange = { from: new Date(YEAR_START), to: new Date(YEAR_END), now: NOW };
    const count = async (filter: Record<string, unknown>) => {
      let n = 0;
      const cur = col.find(filter, { projection: TICKET_KPI_PROJECTION, batchSize: 2000 });
      for await (const _ of cur) n += 1;
      return n;
    };
    const steps: [string, () => Promise<unknown>][] = [
      ['bare', () => count({})],
      ...(WITH_FILTER ? ([['bare+filter', () => count(ticketKpiFilter(range))]] as [string, () => Promise<unknown>][]) : []),
      ['report', () => ticketKpiReport(Ticket, range, null)],
      ['breakdown dept×month', () => streamTicketKpis(Ticket, range, { groupBy: ['department', 'period'], bucket: 'month', utcOffsetMinutes: OFFSET })],
      ['breakdown cat×channel×week', () => streamTicketKpis(Ticket, range, { groupBy: ['category', 'channel', 'period'], bucket: 'week', utcOffsetMinutes: OFFSET })],
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
        log(`${name}: ${fmt(r.ms / 1000, 2)} s (peak rss ${fmt(r.rssMb)} MB, heap ${fmt(r.heapMb)} MB)`);
      }
    }
    const best = (name: string) => Math.min(...results.get(name)!.ms);
    const median = (name: string) => {
      const s = [...results.get(name)!.ms].sort((a, b) => a - b);
      return s[Math.floor((s.length - 1) / 2)]!;
    };
    const bare = best('bare');
    console.log('\n| step | best s | median s | ÷ bare (best) | docs/s (best) | peak RSS MB | peak heap MB |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const [name] of steps) {
      const r = results.get(name)!;
      console.log(`| ${name} | ${fmt(best(name) / 1000, 2)} | ${fmt(median(name) / 1000, 2)} | ${fmt(best(name) / bare, 2)} | ${fmt(N / (best(name) / 1000))} | ${fmt(r.rss)} | ${fmt(r.heap)} |`);
    }
    const report = results.get('report')!.value as Awaited<ReturnType<typeof ticketKpiReport>>;
    const pctOf = (r: { rate: number | null; numerator: number; denominator: number }) => `${r.rate === null ? '–' : (r.rate * 100).toFixed(1)}% (${fmt(r.numerator)}/${fmt(r.denominator)})`;
    console.log('\nyearly totals (sanity):');
    for (const [k, v] of Object.entries(report.total)) if (k !== 'ratings') console.log(`  ${k}: ${pctOf(v as never)}`);
    console.log(`  departments: ${report.byDepartment.length}`);
    for (const name of ['breakdown dept×month', 'breakdown cat×channel×week']) console.log(`  ${name}: ${(results.get(name)!.value as { groups: unknown[] }).groups.length} groups`);
    console.log(`bare documents counted: ${fmt(N)} expected`);
  } finally {
    await conn.close().catch(() => undefined);
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(err);
    await stopAll().catch(() => undefined);
    process.exit(1);
  },
);
