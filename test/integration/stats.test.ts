/**
 * The console's resync and wallboard reads over HTTP on real FerretDB: ticket KPIs from tickets
 * walked through the loop (definitions: server/src/stats/ticket-kpis.ts), warning/overdue tickets
 * by department, tickets by category, agents with their ACD state — and their role scoping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
/** The app's clock runs `offset` ms ahead of real time (deadline states without waiting). */
let offset = 0;
const H = 3_600_000;
beforeAll(async () => {
  t = await startTestApp({ clock: () => new Date(Date.now() + offset) });
});
afterAll(async () => {
  await t?.close();
});

const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
async function create(over: Record<string, unknown> = {}): Promise<string> {
  const res = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake(over));
  expect(res.status).toBe(201);
  return res.body.id as string;
}
async function act(user: string, id: string, action: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);
  expect(res.status, `${action}: ${JSON.stringify(res.body)}`).toBe(200);
}
const r = (numerator: number, denominator: number) => ({ numerator, denominator, rate: denominator === 0 ? null : numerator / denominator });

describe('GET /api/kpis/tickets', () => {
  let range = '';
  beforeAll(async () => {
    const from = new Date(Date.now() - H).toISOString();
    // T1: dispatched, signed, replied, accepted, rated 满意 → closed and rated
    const t1 = await create();
    await act('agent1', t1, 'dispatch', { leadDepartmentId: 'city-urban' });
    await act('urban1', t1, 'sign');
    await act('urban1', t1, 'reply', { text: '已责令施工单位停止夜间施工。' });
    await act('agent1', t1, 'review-reply', { accept: true });
    await act('agent1', t1, 'return-visit', { contacted: true, rating: 'satisfied' });
    // T2: dispatched and returned by the department
    const t2 = await create();
    await act('agent1', t2, 'dispatch', { leadDepartmentId: 'city-urban' });
    await act('urban1', t2, 'return', { reason: '不属于本单位职责范围' });
    // T3: answered on the spot, visited without a rating → closed, not rated
    const t3 = await create({ category: 'consultation' });
    await act('agent1', t3, 'answer-directly', { answer: '可通过政务服务网办理。' });
    await act('agent1', t3, 'return-visit', { contacted: true });
    // T4: dispatched to the water utility, an extension approved
    const t4 = await create({ category: 'help' });
    await act('agent1', t4, 'dispatch', { leadDepartmentId: 'city-water' });
    await act('water1', t4, 'sign');
    await act('water1', t4, 'request-extension', { days: 2, reason: '需协调管网维修' });
    await act('super1', t4, 'decide-extension', { approve: true });
    range = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() + H).toISOString())}`;
  });

  it('supervisor: hand-computed totals and per-department numbers', async () => {
    const res = await t.api.get(`/api/kpis/tickets?${range}`).set(await auth('super1'));
    expect(res.status).toBe(200);
    expect(res.body.total).toEqual({
      timelyDispatch: r(3, 3),
      onTimeReply: r(1, 1),
      // T1 closed after an on-time reply; T3 answered on the spot has no handling deadline
      onTimeCompletion: r(1, 1),
      satisfaction: r(1, 1),
      satisfactionStrict: r(1, 1),
      ratingCoverage: r(1, 2),
      rectificationOnTime: r(0, 0),
      returnRate: r(1, 3),
      extensionRate: r(1, 3),
      // one caller (intake() defaults) at one address: T2 repeats T1 (same category), T3 and T4 the address
      repeatComplaints: r(3, 4),
      ratings: { very_satisfied: 0, satisfied: 1, basically_satisfied: 0, dissatisfied: 0, very_dissatisfied: 0 },
    });
    const by = Object.fromEntries((res.body.byDepartment as { departmentId: string }[]).map((d) => [d.departmentId, d]));
    expect(Object.keys(by).sort()).toEqual(['city-urban', 'city-water']);
    expect(by['city-urban']).toMatchObject({ timelyDispatch: r(2, 2), returnRate: r(1, 2), onTimeReply: r(1, 1), ratingCoverage: r(1, 1) });
    expect(by['city-water']).toMatchObject({ timelyDispatch: r(1, 1), extensionRate: r(1, 1) });
    // the supervisor may narrow to one department
    const water = await t.api.get(`/api/kpis/tickets?${range}&departmentId=city-water`).set(await auth('super1'));
    expect(water.body.total.extensionRate).toEqual(r(1, 1));
    expect(water.body.total.timelyDispatch).toEqual(r(1, 1));
  });

  it('a department user gets its own department only; another department is 403; agents are not allowed', async () => {
    const own = await t.api.get(`/api/kpis/tickets?${range}`).set(await auth('urban1'));
    expect(own.status).toBe(200);
    expect(own.body.departmentId).toBe('city-urban');
    expect(own.body.total).toMatchObject({ timelyDispatch: r(2, 2), returnRate: r(1, 2), extensionRate: r(0, 2), ratingCoverage: r(1, 1) });
    expect(own.body.byDepartment.map((d: { departmentId: string }) => d.departmentId)).toEqual(['city-urban']);
    const other = await t.api.get(`/api/kpis/tickets?${range}&departmentId=city-water`).set(await auth('urban1'));
    expect(other.status).toBe(403);
    expect((await t.api.get(`/api/kpis/tickets?${range}`).set(await auth('agent1'))).status).toBe(403);
  });

  it('bad ranges → 400', async () => {
    const h = await auth('super1');
    expect((await t.api.get('/api/kpis/tickets?from=2026-11-27&to=2026-11-26').set(h)).status).toBe(400);
    expect((await t.api.get('/api/kpis/tickets?from=yesterday').set(h)).status).toBe(400);
    expect((await t.api.get('/api/kpis/tickets?from=2024-01-01&to=2026-01-01').set(h)).status).toBe(400);
  });

  it('tickets by category over the same range; department users count their own', async () => {
    const all = await t.api.get(`/api/stats/tickets-by-category?${range}`).set(await auth('super1'));
    expect(all.status).toBe(200);
    const count = (body: { items: { category: string; count: number }[] }, c: string) => body.items.find((i) => i.category === c)?.count;
    expect(all.body.total).toBe(4);
    expect([count(all.body, 'complaint'), count(all.body, 'consultation'), count(all.body, 'help'), count(all.body, 'praise')]).toEqual([2, 1, 1, 0]);
    const urban = await t.api.get(`/api/stats/tickets-by-category?${range}`).set(await auth('urban1'));
    expect(urban.body.total).toBe(2);
    // default range: today (city time)
    const today = await t.api.get('/api/stats/tickets-by-category').set(await auth('agent1'));
    expect(today.status).toBe(200);
    expect(new Date(today.body.to).getTime() - new Date(today.body.from).getTime()).toBe(24 * H);
  });
  describe('GET /api/kpis/tickets/breakdown', () => {
    it('by category: hand-computed; the total is the one of GET /api/kpis/tickets', async () => {
      const res = await t.api.get(`/api/kpis/tickets/breakdown?${range}&groupBy=category`).set(await auth('super1'));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ groupBy: ['category'], bucket: 'day', departmentId: null });
      const plain = await t.api.get(`/api/kpis/tickets?${range}`).set(await auth('super1'));
      expect(res.body.total).toEqual(plain.body.total);
      const by = Object.fromEntries((res.body.groups as { key: { category: string } }[]).map((g) => [g.key.category, g]));
      expect(Object.keys(by)).toEqual(['complaint', 'consultation', 'help']);
      expect(by.complaint).toMatchObject({ timelyDispatch: r(2, 2), returnRate: r(1, 2), onTimeCompletion: r(1, 1), repeatComplaints: r(1, 2) });
      expect(by.consultation).toMatchObject({ ratingCoverage: r(0, 1), onTimeCompletion: r(0, 0), repeatComplaints: r(1, 1) });
      expect(by.help).toMatchObject({ timelyDispatch: r(1, 1), extensionRate: r(1, 1), repeatComplaints: r(1, 1) });
    });

    it('by channel × period (city days): every group is a phone-line day; the groups add up to the total', async () => {
      const res = await t.api.get(`/api/kpis/tickets/breakdown?${range}&groupBy=channel,period&bucket=day`).set(await auth('super1'));
      expect(res.status).toBe(200);
      const groups = res.body.groups as { key: { channel: string; period: string; periodFrom: string; periodTo: string }; timelyDispatch: { denominator: number }; repeatComplaints: { numerator: number } }[];
      expect(groups.length).toBeGreaterThanOrEqual(1);
      for (const g of groups) {
        expect(g.key.channel).toBe('phone');
        expect(g.key.period).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        // a city day: from 16:00 UTC the day before (UTC+8)
        expect(new Date(g.key.periodTo).getTime() - new Date(g.key.periodFrom).getTime()).toBe(24 * H);
        expect(g.key.periodFrom).toBe(new Date(Date.parse(`${g.key.period}T00:00:00Z`) - 8 * H).toISOString());
      }
      expect(groups.reduce((a, g) => a + g.timelyDispatch.denominator, 0)).toBe(3);
      expect(groups.reduce((a, g) => a + g.repeatComplaints.numerator, 0)).toBe(3);
    });

    it('a department user gets its own department; bad groupBy / bucket → 400; agents 403', async () => {
      const own = await t.api.get(`/api/kpis/tickets/breakdown?${range}&groupBy=department,category`).set(await auth('urban1'));
      expect(own.status).toBe(200);
      expect(own.body.departmentId).toBe('city-urban');
      expect(own.body.groups.map((g: { key: { departmentId: string; category: string } }) => [g.key.departmentId, g.key.category])).toEqual([['city-urban', 'complaint']]);
      expect(own.body.total).toMatchObject({ timelyDispatch: r(2, 2), returnRate: r(1, 2) });
      expect((await t.api.get(`/api/kpis/tickets/breakdown?${range}&groupBy=category&departmentId=city-water`).set(await auth('urban1'))).status).toBe(403);
      const h = await auth('super1');
      for (const q of ['groupBy=colour', 'groupBy=', 'groupBy=category,', 'groupBy=period&bucket=year', 'groupBy=period&bucket=']) {
        const bad = await t.api.get(`/api/kpis/tickets/breakdown?${range}&${q}`).set(h);
        expect(bad.status, q).toBe(400);
        expect(bad.body.error?.code, q).toBe("VALIDATION_FAILED");
      }
      // groupBy defaults to department
      const dflt = await t.api.get(`/api/kpis/tickets/breakdown?${range}`).set(h);
      expect(dflt.status).toBe(200);
      expect(dflt.body.groupBy).toEqual(['department']);
      expect(dflt.body.groups.map((g: { key: { departmentId: string | null } }) => g.key.departmentId)).toEqual([null, 'city-urban', 'city-water']);
      expect((await t.api.get(`/api/kpis/tickets/breakdown?${range}&groupBy=category`).set(await auth('agent1'))).status).toBe(403);
    });

    it('is in the OpenAPI document', async () => {
      const doc = await t.api.get('/api/openapi.json');
      expect(doc.status).toBe(200);
      const op = doc.body.paths['/api/kpis/tickets/breakdown']?.get ?? doc.body.paths['/kpis/tickets/breakdown']?.get;
      expect(op, Object.keys(doc.body.paths).filter((p: string) => p.includes('kpis')).join(',')).toBeTruthy();
      expect(JSON.stringify(op.parameters)).toContain('groupBy');
    });
  });
});

describe('GET /api/agents', () => {
  it('supervisor: every agent and window clerk with ACD state; others 403', async () => {
    await t.api.post('/api/agents/me/state').set(await auth('agent2')).send({ state: 'available' }).expect(200);
    const res = await t.api.get('/api/agents').set(await auth('super1'));
    expect(res.status).toBe(200);
    const by = Object.fromEntries((res.body.items as { agentId: string; since: unknown }[]).map((a) => [a.agentId, a]));
    expect(Object.keys(by)).toEqual(expect.arrayContaining(['agent1', 'agent2', 'window1']));
    expect(by.agent2).toMatchObject({ state: 'available', role: 'agent', group: expect.any(String) });
    expect(typeof by.agent2!.since).toBe('string');
    expect(by.window1).toMatchObject({ role: 'window' });
    expect((await t.api.get('/api/agents').set(await auth('agent1'))).status).toBe(403);
  });
});

describe('GET /api/stats/deadlines', () => {
  it('counts warning and overdue tickets per lead department, most urgent first; departments see their own', async () => {
    const id = await create({ urgency: 'urgent' });
    await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-housing' }); // 签收 within 2 h
    const before = await t.api.get('/api/stats/deadlines').set(await auth('super1'));
    expect(before.body.items.map((i: { id: string }) => i.id)).not.toContain(id);

    offset = 1.6 * H; // past 75% of the 2 h
    const warn = await t.api.get('/api/stats/deadlines').set(await auth('super1'));
    expect(warn.status).toBe(200);
    const item = warn.body.items.find((i: { id: string }) => i.id === id);
    expect(item).toMatchObject({ deadlineState: 'warning', leadDepartmentId: 'city-housing', milestones: [expect.objectContaining({ key: 'sign', level: 'warning' })] });
    expect(warn.body.byDepartment).toContainEqual({ departmentId: 'city-housing', warning: 1, overdue: 0 });

    offset = 2.5 * H;
    const late = await t.api.get('/api/stats/deadlines').set(await auth('super1'));
    expect(late.body.byDepartment).toContainEqual({ departmentId: 'city-housing', warning: 0, overdue: 1 });
    expect(late.body.items[0].deadlineState).toBe('overdue');
    expect(late.body.total.overdue).toBeGreaterThanOrEqual(1);

    const housing = await t.api.get('/api/stats/deadlines').set(await auth('housing1'));
    expect(housing.body.items.map((i: { id: string }) => i.id)).toContain(id);
    const urban = await t.api.get('/api/stats/deadlines').set(await auth('urban1'));
    expect(urban.body.items.map((i: { id: string }) => i.id)).not.toContain(id);
    offset = 0;
  });
});
