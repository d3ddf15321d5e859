/**
 * Happy paths of the routes the loop tests do not walk: directory administration, auth,
 * intake variants, and the side paths of the loop (classify, answer on the spot, urge,
 * supervise, merge, reopen, close, co-handling, list filters).
 */
import { LOGIN_FAILURES_ALLOWED } from '../../server/src/auth/routes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DEPARTMENTS } from '../../server/src/directory/seed-data.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function create(over: Record<string, unknown> = {}, user = 'agent1') {
  const res = await t.api.post('/api/tickets').set(await auth(user)).send(intake(over));
  expect(res.status).toBe(201);
  return res.body as { id: string; number: string; state: string };
}
const act = async (user: string, id: string, action: string, body: Record<string, unknown> = {}) =>
  t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);

describe('auth', () => {
  it('login returns a token and the user; /auth/me answers who is logged in', async () => {
    const res = await t.api.post('/api/auth/login').send({ username: 'nanguan1', password: 'Hotline@12345' });
    expect(res.status).toBe(200);
    expect(res.body.user).toEqual({ id: 'nanguan1', username: 'nanguan1', name: '郑丽（南关街道）', role: 'department', departmentId: 'wenfeng-nanguan', active: true });
    expect(new Date(res.body.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const me = await t.api.get('/api/auth/me').set('authorization', `Bearer ${res.body.token}`);
    expect(me.body.username).toBe('nanguan1');
    expect(JSON.stringify(me.body)).not.toContain('passwordHash');
  });

  it('password guessing: after 10 failed logins for one account, 429 with Retry-After even with the right password; other accounts unaffected', async () => {
    for (let i = 0; i < LOGIN_FAILURES_ALLOWED; i++) {
      expect((await t.api.post('/api/auth/login').send({ username: 'hrss1', password: `guess-${i}-123456` })).status).toBe(401);
    }
    const blocked = await t.api.post('/api/auth/login').send({ username: 'hrss1', password: 'Hotline@12345' });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('RATE_LIMITED');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await t.api.post('/api/auth/login').send({ username: 'market1', password: 'Hotline@12345' })).status).toBe(200);
  });
});

describe('directory', () => {
  it('lists the three-level hierarchy', async () => {
    const res = await t.api.get('/api/departments').set(await auth('agent1'));
    expect(res.body.items).toHaveLength(DEMO_DEPARTMENTS.length);
    const levels = new Set(res.body.items.map((d: { level: string }) => d.level));
    expect([...levels].sort()).toEqual(['city', 'district', 'street']);
    const street = res.body.items.find((d: { id: string }) => d.id === 'wenfeng-nanguan');
    expect(street).toMatchObject({ level: 'street', parentId: 'wenfeng', kind: 'government' });
  });

  it('an admin creates a department and a user bound to it; the user logs in; deactivation locks them out', async () => {
    const admin = await auth('admin');
    const dept = await t.api.post('/api/departments').set(admin).send({ id: 'wenfeng-dongguan', name: '东关街道办事处', nameEn: 'Dongguan Subdistrict', level: 'street', kind: 'government', parentId: 'wenfeng', districtId: 'wenfeng', streetId: 'dongguan' });
    expect(dept.status).toBe(201);
    expect((await t.api.post('/api/departments').set(admin).send({ id: 'wenfeng-dongguan', name: '重复', nameEn: 'Dup', level: 'street' })).body.error.code).toBe('DUPLICATE');
    const user = await t.api.post('/api/users').set(admin).send({ username: 'dongguan1', name: '钱多', role: 'department', departmentId: 'wenfeng-dongguan', password: 'Str0ng-pass!' });
    expect(user.status).toBe(201);
    expect(user.body).toMatchObject({ id: 'dongguan1', role: 'department', departmentId: 'wenfeng-dongguan', active: true });
    const login = await t.api.post('/api/auth/login').send({ username: 'dongguan1', password: 'Str0ng-pass!' });
    expect(login.status).toBe(200);
    const list = await t.api.get('/api/users').set(await auth('super1'));
    expect(list.body.items.map((u: { id: string }) => u.id)).toContain('dongguan1');
    const off = await t.api.patch('/api/users/dongguan1').set(admin).send({ active: false });
    expect(off.body.active).toBe(false);
    // the token issued before deactivation stops working at once
    const stale = await t.api.get('/api/auth/me').set('authorization', `Bearer ${login.body.token}`);
    expect(stale.status).toBe(401);
    expect(stale.body.error.message).toContain('deactivated');
    expect((await t.api.post('/api/auth/login').send({ username: 'dongguan1', password: 'Str0ng-pass!' })).status).toBe(401);
    const renamed = await t.api.patch('/api/departments/wenfeng-dongguan').set(admin).send({ name: '东关街道' });
    expect(renamed.body.name).toBe('东关街道');
    expect((await t.api.patch('/api/departments/wenfeng-dongguan').set(admin).send({ parentId: 'wenfeng-dongguan' })).status).toBe(400);
    // a department user must be bound to a department, others must not be
    expect((await t.api.post('/api/users').set(admin).send({ username: 'bad1', name: 'x', role: 'department', password: 'Str0ng-pass!' })).status).toBe(400);
    expect((await t.api.post('/api/users').set(admin).send({ username: 'bad2', name: 'x', role: 'agent', departmentId: 'city-urban', password: 'Str0ng-pass!' })).status).toBe(400);
  });
});

describe('intake', () => {
  it('an out-of-scope matter is recorded and closed at once with the legal route given', async () => {
    const res = await t.api
      .post('/api/tickets')
      .set(await auth('window1'))
      .send(intake({ channel: 'window', outOfScope: { kind: 'litigation', legalRoute: '告知可向文峰区人民法院提起诉讼' } }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'closed', channel: 'window', closure: { kind: 'out_of_scope' }, outOfScope: { kind: 'litigation' } });
    expect(res.body.timeline[0].note).toBe('告知可向文峰区人民法院提起诉讼');
    expect(res.body.availableCommands).toEqual([]);
  });

  it('an anonymous caller needs no name; a named one does', async () => {
    const anon = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ caller: { name: null, phone: '13700001111', anonymous: true } }));
    expect(anon.status).toBe(201);
    const missing = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ caller: { phone: '13700001111' } }));
    expect(missing.status).toBe(400);
  });

  it('answer on the spot (直接办结) from a knowledge article, then the return visit closes it', async () => {
    const tk = await create({ category: 'consultation', content: '请问社保卡丢失怎么补办？' });
    const kb = await t.api.get('/api/knowledge').query({ q: '社保卡丢失' }).set(await auth('agent1'));
    const article = kb.body.items[0];
    const answered = await act('agent1', tk.id, 'answer-directly', { answer: article.body, knowledgeArticleId: article.id });
    expect(answered.body).toMatchObject({ state: 'visiting', directAnswer: { knowledgeArticleId: article.id } });
    const closed = await act('agent1', tk.id, 'return-visit', { contacted: true, rating: 'very_satisfied' });
    expect(closed.body).toMatchObject({ state: 'closed', closure: { kind: 'answered_directly' } });
  });
});

describe('side paths of the loop', () => {
  it('classify, urge (催办) with counts, supervise (督办), and the timeline records each', async () => {
    const tk = await create();
    const c = await act('agent1', tk.id, 'classify', { urgency: 'urgent', category: 'help' });
    expect(c.body).toMatchObject({ urgency: 'urgent', category: 'help' });
    await act('agent1', tk.id, 'dispatch', { leadDepartmentId: 'city-urban' });
    expect((await act('agent1', tk.id, 'urge', { message: '市民再次来电催促' })).body.urgeCount).toBe(1);
    expect((await act('super1', tk.id, 'urge', { message: '请今日内签收' })).body.urgeCount).toBe(2);
    expect((await act('agent1', tk.id, 'supervise', { note: '列入督办' })).status).toBe(403);
    const s = await act('super1', tk.id, 'supervise', { note: '列入督办，每日报告进展' });
    expect(s.body.supervised).toBe(true);
    const actions = s.body.timeline.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['create', 'classify', 'dispatch', 'urge', 'urge', 'supervise']);
    const urgeEntry = s.body.timeline[3];
    expect(urgeEntry).toMatchObject({ note: '市民再次来电催促', from: 'dispatched', to: 'dispatched', actor: { id: 'agent1' } });
    // the department sees urges and supervision on its ticket
    const dept = await t.api.get(`/api/tickets/${tk.id}`).set(await auth('urban1'));
    expect(dept.body).toMatchObject({ urgeCount: 2, supervised: true });
  });

  it('merge a duplicate into its master (重复件): the master lists it, the duplicate is closed off', async () => {
    const master = await create({ content: '南关街道中华路路灯不亮已一周' });
    const dup = await create({ content: '中华路路灯坏了，晚上很黑', caller: { name: '王五', phone: '13600002222', anonymous: false } });
    const merged = await act('agent1', dup.id, 'merge', { masterId: master.id, note: '同一路段路灯' });
    expect(merged.body).toMatchObject({ state: 'merged', mergedInto: master.id });
    const m = await t.api.get(`/api/tickets/${master.id}`).set(await auth('agent1'));
    expect(m.body.duplicates).toEqual([{ id: dup.id, number: dup.number }]);
    expect((await act('agent1', master.id, 'merge', { masterId: master.id })).body.error.code).toBe('INVALID_MERGE');
    expect((await act('agent2', (await create()).id, 'merge', { masterId: dup.id })).body.error.code).toBe('INVALID_MERGE');
  });

  it('close at intake with a reason, then a supervisor reopens it as a new round', async () => {
    const tk = await create({ category: 'praise', content: '表扬南关街道工作人员热情服务' });
    const closed = await act('agent1', tk.id, 'close', { reason: '表扬已转达' });
    expect(closed.body).toMatchObject({ state: 'closed', closure: { kind: 'closed_by_hotline', reason: '表扬已转达' } });
    expect((await act('agent1', tk.id, 'reopen', { reason: '市民补充诉求' })).status).toBe(403);
    const reopened = await act('super1', tk.id, 'reopen', { reason: '市民补充诉求' });
    expect(reopened.body).toMatchObject({ state: 'received', round: 2, closure: null });
  });

  it('a rejected reply goes back to the department and a second failure counts another redo', async () => {
    const tk = await create();
    await act('agent1', tk.id, 'dispatch', { leadDepartmentId: 'city-urban' });
    await act('urban1', tk.id, 'sign');
    await act('urban1', tk.id, 'reply', { text: '已转交施工单位' });
    const back = await act('agent1', tk.id, 'review-reply', { accept: false, note: '未说明处理结果' });
    expect(back.body).toMatchObject({ state: 'handling', redoCount: 1, reply: null });
  });

  it('lists with filters: state, category, department, text, number and phone', async () => {
    const a = await create({ category: 'report', content: '举报某超市销售过期食品，地址文峰区' });
    await act('agent1', a.id, 'dispatch', { leadDepartmentId: 'city-market' });
    const u = await auth('agent1');
    const byDept = await t.api.get('/api/tickets').query({ departmentId: 'city-market', state: 'dispatched' }).set(u);
    expect(byDept.body.items.map((x: { id: string }) => x.id)).toContain(a.id);
    expect(byDept.body.items.every((x: { leadDepartmentId: string }) => x.leadDepartmentId === 'city-market')).toBe(true);
    const byText = await t.api.get('/api/tickets').query({ q: '过期食品' }).set(u);
    expect(byText.body.items.map((x: { id: string }) => x.id)).toEqual([a.id]);
    const byNumber = await t.api.get('/api/tickets').query({ number: a.number }).set(u);
    expect(byNumber.body.total).toBe(1);
    const byCat = await t.api.get('/api/tickets').query({ category: 'report,help', pageSize: 200 }).set(u);
    expect(byCat.body.items.every((x: { category: string }) => ['report', 'help'].includes(x.category))).toBe(true);
    const byPhone = await t.api.get('/api/tickets').query({ phone: '13812345678', pageSize: 5, page: 1 }).set(u);
    expect(byPhone.body.total).toBeGreaterThan(1);
    expect(byPhone.body.items).toHaveLength(5);
    // regex metacharacters are searched literally, not interpreted
    expect((await t.api.get('/api/tickets').query({ q: '.*' }).set(u)).body.total).toBe(0);
  });
});
