/**
 * Daily KPI roll-ups (server/src/stats/kpi-rollup.ts) on real FerretDB and Redis, kept by the
 * ticket-events worker: after tickets walk the loop the roll-ups answer exactly what a scan of
 * the tickets answers; a process dying in the middle of adding a delta neither loses nor doubles
 * it; a reclassified ticket moves a later ticket of the same caller out of the repeat complaints;
 * roll-ups of tickets filed before they existed are rebuilt at start-up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Types } from 'mongoose';
import { KpiRollup, ROLLUP_VERSION } from '../../server/src/stats/kpi-rollup.js';
import { readTicketKpis } from '../../server/src/stats/routes.js';
import { intake, kpiRollupsCaughtUp, startTestApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

let t: TestApp;
const DAY = 86_400_000;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
/** City date (UTC+8) of an instant. */
const cityDate = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);
/** Whole city days around now: yesterday to the day after tomorrow. */
const days = (): string => `from=${cityDate(Date.now() - DAY)}&to=${cityDate(Date.now() + 2 * DAY)}`;

let phoneSeq = 0;
async function create(over: Record<string, unknown> = {}): Promise<string> {
  phoneSeq += 1;
  const body = intake({ caller: { name: '市民', phone: `1370000${String(phoneSeq).padStart(4, '0')}`, anonymous: false }, address: `文峰区测试路${phoneSeq}号`, ...over });
  const res = await t.api.post('/api/tickets').set(await auth('agent1')).send(body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}
async function act(user: string, id: string, action: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);
  expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(200);
}

type Report = { source: string; total: Record<string, unknown>; byDepartment?: unknown[]; groups?: unknown[] };
const get = async (path: string): Promise<Report> => {
  const res = await t.api.get(path).set(await auth('super1'));
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Report;
};
const strip = ({ source: _s, ...rest }: Report) => rest;

/** Wait until the roll-ups answer what the tickets answer (the worker is asynchronous), then return both. */
const settled = async (query: string): Promise<{ rollup: Report; scan: Report }> => kpiRollupsCaughtUp<Report>(t, (await auth('super1')).authorization, query);

/** Another instance of the store on the app's database and Redis (another process). */
const store = (): KpiRollup =>
  new KpiRollup({ db: t.app.mongo.db!, redis: t.app.redis, prefix: t.prefix, Ticket: t.app.models.Ticket, log: t.app.log, clock: () => new Date(), utcOffsetMinutes: 480 });

beforeAll(async () => {
  t = await startTestApp();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('KPI roll-ups kept by the worker', () => {
  it('after tickets walk the loop, whole-day reports come from the roll-ups with the scan’s numbers', async () => {
    const t1 = await create();
    await act('agent1', t1, 'dispatch', { leadDepartmentId: 'city-urban' });
    await act('urban1', t1, 'sign');
    await act('urban1', t1, 'reply', { text: '已责令施工单位停止夜间施工。' });
    await act('agent1', t1, 'review-reply', { accept: true });
    await act('agent1', t1, 'return-visit', { contacted: true, rating: 'dissatisfied' });
    const t2 = await create();
    await act('agent1', t2, 'dispatch', { leadDepartmentId: 'city-urban' });
    await act('urban1', t2, 'return', { reason: '不属于本单位职责范围' });
    const t3 = await create({ category: 'consultation' });
    await act('agent1', t3, 'answer-directly', { answer: '可通过政务服务网办理。' });
    await act('agent1', t3, 'return-visit', { contacted: true, rating: 'very_satisfied' });
    const t4 = await create({ category: 'help' });
    await act('agent1', t4, 'dispatch', { leadDepartmentId: 'city-water' });
    await act('water1', t4, 'sign');
    await act('water1', t4, 'request-extension', { days: 2, reason: '需协调管网维修' });
    await act('super1', t4, 'decide-extension', { approve: true });
    // t5 repeats t1's caller and category within the window: a repeat complaint
    const first = (await t.api.get(`/api/tickets/${t1}`).set(await auth('super1'))).body as { caller: { phone: string } };
    await create({ caller: { name: '市民', phone: first.caller.phone, anonymous: false } });

    const { rollup, scan } = await settled(`/api/kpis/tickets?${days()}`);
    expect(rollup.source).toBe('rollup');
    expect(scan.source).toBe('scan');
    const total = rollup.total as Record<string, { numerator: number; denominator: number }>;
    // hand-counted: 4 dispatches (t1, t2, t4), 1 return, 1 extension, 2 ratings, 5 intakes, 1 repeat
    expect(total.timelyDispatch).toMatchObject({ numerator: 3, denominator: 3 });
    expect(total.returnRate).toMatchObject({ numerator: 1, denominator: 3 });
    expect(total.extensionRate).toMatchObject({ numerator: 1, denominator: 3 });
    expect(total.satisfaction).toMatchObject({ numerator: 1, denominator: 2 });
    expect(total.repeatComplaints).toMatchObject({ numerator: 1, denominator: 5 });

    // breakdowns too, by day and by month
    const byDay = await settled(`/api/kpis/tickets/breakdown?${days()}&groupBy=department,category,period&bucket=day`);
    expect(byDay.rollup.source).toBe('rollup');
    expect(byDay.rollup.groups!.length).toBeGreaterThan(2);
    await settled(`/api/kpis/tickets/breakdown?${days()}&groupBy=channel,period&bucket=month`);

    // a range that is not whole city days is answered from the tickets; asking the roll-ups for it is refused
    const partial = `from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 3_600_000).toISOString())}`;
    expect((await get(`/api/kpis/tickets?${partial}`)).source).toBe('scan');
    const refused = await t.api.get(`/api/kpis/tickets?${partial}&source=rollup`).set(await auth('super1'));
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'query.source', code: 'rollup_unavailable' }] });
    // the KPI ledger export reads them the same way
    const csv = await t.api.get(`/api/exports/ticket-kpis.csv?${days()}`).set(await auth('super1'));
    expect(csv.status).toBe(200);
    expect(csv.text).toContain('全市合计');
  });

  it('a drain failing after one roll-up document took the delta: the retry adds the rest, none twice', async () => {
    const kpis = t.app.kpis!;
    const rollups = kpis.rollups;
    const original = rollups.updateOne.bind(rollups);
    // 1. the worker dies after the first roll-up document took the delta: its job is retried
    const a = await create();
    await settled(`/api/kpis/tickets?${days()}`);
    let failures = 0;
    (rollups as { updateOne: unknown }).updateOne = async (...args: Parameters<typeof original>) => {
      const r = await original(...args);
      const update = args[1] as { $set?: Record<string, unknown> };
      if (failures === 0 && update.$set && 'g' in update.$set) {
        failures += 1;
        throw new Error('simulated crash after one roll-up document took the delta');
      }
      return r;
    };
    try {
      await act('agent1', a, 'dispatch', { leadDepartmentId: 'city-urban' });
      await until('the failure happened', async () => failures === 1);
      // the retry (a few seconds later) finished the delta: nothing pending, every document counted it once
      await until('the pending delta cleared', async () => !(await kpis.facts.findOne({ _id: a }))?.pending);
      const { rollup } = await settled(`/api/kpis/tickets?${days()}`);
      expect(rollup.source).toBe('rollup');
    } finally {
      (rollups as { updateOne: unknown }).updateOne = original;
    }
  });

  it('a process dying between its new facts and the roll-ups: the ticket stays dirty and another process adds the delta once', async () => {
    const b = await create();
    await act('agent1', b, 'dispatch', { leadDepartmentId: 'city-water' });
    await settled(`/api/kpis/tickets?${days()}`);
    // a change no event announces (so only the process below sees it): a rating given
    const by = { id: 'agent1', name: '话务员', role: 'agent', departmentId: null };
    await t.app.models.Ticket.collection.updateOne(
      { _id: new Types.ObjectId(b) },
      { $push: { ratings: { level: 'basically_satisfied', round: 1, realName: true, comment: null, at: new Date(), by, source: 'return_visit' } } as never, $inc: { version: 1 } },
    );
    // another process (a second store instance) writes the new facts and dies before the roll-ups
    const dying = store();
    (dying.rollups as { updateOne: unknown }).updateOne = async () => {
      throw new Error('simulated crash before the roll-ups');
    };
    await expect(dying.recompute(b)).rejects.toThrow(/simulated crash/);
    expect((await t.app.kpis!.facts.findOne({ _id: b }))?.pending?.d.length).toBeGreaterThan(0);
    const scan = await get(`/api/kpis/tickets?${days()}&source=scan`);
    expect(strip(await get(`/api/kpis/tickets?${days()}&source=rollup`))).not.toEqual(strip(scan)); // the rating is not in the roll-ups

    // it had marked the ticket dirty (as the event would have): the app's drain finishes the delta
    await dying.markDirty(b);
    await until('the ticket drained', async () => (await t.app.kpis!.dirtyCount()) === 0 && !(await t.app.kpis!.facts.findOne({ _id: b }))?.pending);
    expect(strip(await get(`/api/kpis/tickets?${days()}&source=rollup`))).toEqual(strip(scan));
    // the op ids of finished deltas are pulled from the roll-up documents (after each drain)
    await until('op ids pulled', async () => (await t.app.kpis!.rollups.find({}, { projection: { ops: 1 } }).toArray()).every((d) => (d.ops ?? []).length === 0));
    // nothing left to do: recomputing again changes nothing
    expect(await t.app.kpis!.recompute(b)).toBe(false);
    expect(strip(await get(`/api/kpis/tickets?${days()}&source=rollup`))).toEqual(strip(scan));
  });

  it('many tickets at once, drained by two processes: every count lands', async () => {
    const other = store(); // a second worker process
    const ids = await Promise.all(Array.from({ length: 30 }, () => create()));
    await Promise.all(ids.map((id, i) => act('agent1', id, 'dispatch', { leadDepartmentId: i % 2 ? 'city-urban' : 'city-water' })));
    // both drain the same dirty set at once, four tickets at a time each
    const drains = Array.from({ length: 4 }, () => other.drain());
    await Promise.all(drains);
    const { rollup } = await settled(`/api/kpis/tickets/breakdown?${days()}&groupBy=department,channel,period&bucket=day`);
    expect(rollup.source).toBe('rollup');
    await settled(`/api/kpis/tickets?${days()}`);
  });

  it('a ticket reclassified: the later ticket of the same caller stops being a repeat complaint', async () => {
    const phone = '13911112222';
    const a = await create({ caller: { name: '市民', phone, anonymous: false } });
    const b = await create({ caller: { name: '市民', phone, anonymous: false } });
    const before = await settled(`/api/kpis/tickets?${days()}`);
    const repeats = (r: Report) => (r.total as { repeatComplaints: { numerator: number } }).repeatComplaints.numerator;
    const breakdown = `/api/kpis/tickets/breakdown?${days()}&groupBy=category`;
    await settled(breakdown);
    // a was a complaint like b; the agent classifies it as a suggestion
    await act('agent1', a, 'classify', { category: 'suggestion' });
    const after = await until('b no longer counted as a repeat', async () => {
      const r = await settled(`/api/kpis/tickets?${days()}`);
      return repeats(r.rollup) === repeats(before.rollup) - 1 ? r : null;
    });
    expect(repeats(after.scan)).toBe(repeats(before.scan) - 1);
    await settled(breakdown);
    // classified back: a repeat again
    await act('agent1', a, 'classify', { category: 'complaint' });
    await until('b counted as a repeat again', async () => repeats((await settled(`/api/kpis/tickets?${days()}`)).rollup) === repeats(before.rollup));
    expect(b).toBeTruthy();
  });

  it('roll-ups never built (a new definition version, tickets filed before): rebuilt, and until then reports scan', async () => {
    const x = await create();
    await act('agent1', x, 'dispatch', { leadDepartmentId: 'city-urban' });
    await settled(`/api/kpis/tickets?${days()}`);
    const fresh = store();
    // as if this version's collections had never been written
    await Promise.all([fresh.facts.deleteMany({}), fresh.rollups.deleteMany({}), t.app.mongo.db!.collection('kpi_rollup_meta').deleteMany({})]);
    const now = new Date();
    const range = { from: new Date(Date.parse(`${cityDate(Date.now() - DAY)}T00:00:00+08:00`)), to: new Date(Date.parse(`${cityDate(Date.now() + 2 * DAY)}T00:00:00+08:00`)), now };
    const opts = { departmentId: null, groupBy: ['department' as const], utcOffsetMinutes: 480 };
    expect(await fresh.read(range, opts)).toBeNull();
    await fresh.rebuild();
    expect(fresh.ready).toBe(true);
    const fromRollups = await fresh.read(range, opts);
    const scanned = await readTicketKpis({ Ticket: t.app.models.Ticket, rollup: null }, range, opts, 'scan');
    expect(fromRollups).not.toBeNull();
    expect(fromRollups!.total.timelyDispatch.denominator).toBeGreaterThan(0);
    const { source: _s, ...plain } = scanned;
    expect(fromRollups).toEqual(plain);
    const n = await t.app.models.Ticket.countDocuments();
    expect(await fresh.facts.countDocuments()).toBe(n);

    // `npm run kpi:rebuild` (after a Redis data loss): the same, from the command line
    const meta = t.app.mongo.db!.collection('kpi_rollup_meta');
    await meta.deleteMany({});
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'server/src/stats/rebuild-cli.ts'], {
      env: { ...process.env, MONGODB_URL: t.app.env.MONGODB_URL, REDIS_URL: t.app.env.REDIS_URL, QUEUE_PREFIX: t.prefix, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out).toMatch(new RegExp(`roll-ups v${ROLLUP_VERSION} complete`));
    expect(await meta.findOne({ _id: `v${ROLLUP_VERSION}` as never })).toMatchObject({ complete: true });
    expect(await fresh.read(range, opts)).toEqual(plain);
  });
});
