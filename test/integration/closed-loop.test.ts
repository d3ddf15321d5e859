import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addWorkingTime } from '../../server/src/deadlines/calendar.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function act(user: string, id: string, action: string, body: Record<string, unknown> = {}) {
  return t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);
}

describe('the closed loop over HTTP', () => {
  it('create → dispatch → sign → reply → review → return visit with rating → closed', async () => {
    const created = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    expect(created.status).toBe(201);
    expect(created.body.number).toMatch(/^12345-\d{8}-\d{6}$/);
    expect(created.body.state).toBe('received');
    const id = created.body.id as string;

    const suggest = await t.api.get('/api/routing/suggest?category=complaint&districtId=wenfeng&streetId=nanguan').set(await auth('agent1'));
    expect(suggest.status).toBe(200);
    expect(suggest.body.suggestion.departmentId).toBe('wenfeng-urban');

    const dispatched = await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban', coDepartmentIds: ['wenfeng-nanguan'] });
    expect(dispatched.status).toBe(200);
    expect(dispatched.body.state).toBe('dispatched');
    expect(dispatched.body.deadlines.reply.dueAt).not.toBeNull();

    const signed = await act('urban1', id, 'sign');
    expect(signed.status).toBe(200);
    expect(signed.body.state).toBe('handling');
    expect(signed.body.caller.phone).toBe('138****5678');

    const co = await act('nanguan1', id, 'co-note', { text: '街道已配合现场核查' });
    expect(co.status).toBe(200);

    const replied = await act('urban1', id, 'reply', { text: '已责令施工单位停止夜间施工并处罚。' });
    expect(replied.body.state).toBe('replied');

    const reviewed = await act('agent1', id, 'review-reply', { accept: true });
    expect(reviewed.body.state).toBe('visiting');

    const visited = await act('agent2', id, 'return-visit', { contacted: true, rating: 'satisfied' });
    expect(visited.status).toBe(200);
    expect(visited.body.state).toBe('closed');
    expect(visited.body.closure.kind).toBe('resolved');
    expect(visited.body.rating.level).toBe('satisfied');

    const detail = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    expect(detail.body.timeline.map((e: { action: string }) => e.action)).toEqual([
      'create',
      'dispatch',
      'sign',
      'coNote',
      'reply',
      'reviewReply',
      'returnVisit',
    ]);
    expect(detail.body.timeline.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(detail.body.timeline[2].actor).toMatchObject({ id: 'urban1', role: 'department', departmentId: 'city-urban' });
    expect(detail.body.caller.phone).toBe('13812345678');
  });

  it('return → review approves → re-dispatch (改派) to another department', async () => {
    const { body: created } = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ category: 'help' }));
    const id = created.id;
    await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-housing' });
    const ret = await act('housing1', id, 'return', { reason: '不属于本局职责，建议派城管' });
    expect(ret.body.state).toBe('returned');
    const review = await act('super1', id, 'review-return', { approve: true, note: '同意改派' });
    expect(review.body.state).toBe('received');
    expect(review.body.leadDepartmentId).toBeNull();
    // the returning department can no longer see it
    const gone = await t.api.get(`/api/tickets/${id}`).set(await auth('housing1'));
    expect(gone.status).toBe(404);
    const again = await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban' });
    expect(again.body.state).toBe('dispatched');
    expect(again.body.dispatchCount).toBe(2);
    expect((await act('urban1', id, 'sign')).body.state).toBe('handling');
  });

  it('extension loop: request before due, supervisor approves, reply deadline moves', async () => {
    const { body: created } = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const id = created.id;
    const d = await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban' });
    const due0 = new Date(d.body.deadlines.reply.dueAt);
    await act('urban1', id, 'sign');
    const req = await act('urban1', id, 'request-extension', { days: 2, reason: '需第三方检测报告' });
    expect(req.status).toBe(200);
    expect(req.body.pendingExtension.days).toBe(2);
    const denyByAgent = await act('agent1', id, 'decide-extension', { approve: true });
    expect(denyByAgent.status).toBe(403);
    const ok = await act('super1', id, 'decide-extension', { approve: true });
    expect(ok.status).toBe(200);
    expect(ok.body.pendingExtension).toBeNull();
    // two working days later on the city's calendar (holidays, 调休, office hours)
    const expected = addWorkingTime(due0, { value: 2, unit: 'workingDays' }, t.app.store.calendar);
    expect(new Date(ok.body.deadlines.reply.dueAt).toISOString()).toBe(expected.toISOString());
    expect(ok.body.deadlines.reply.version).toBe(2);
  });

  it('bad rating → verification → redo (重办) by the same department → good rating closes', async () => {
    const { body: created } = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const id = created.id;
    await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban' });
    await act('urban1', id, 'sign');
    await act('urban1', id, 'reply', { text: '已处理。' });
    await act('agent1', id, 'review-reply', { accept: true });
    const bad = await act('agent1', id, 'return-visit', { contacted: true, rating: 'very_dissatisfied', comment: '问题没解决' });
    expect(bad.body.state).toBe('disputed');
    const verified = await act('super1', id, 'verify-rating', { valid: true, note: '回访核实：施工仍在继续' });
    expect(verified.body.state).toBe('dispatched');
    expect(verified.body.leadDepartmentId).toBe('city-urban');
    expect(verified.body.round).toBe(2);
    expect(verified.body.redoCount).toBe(1);
    await act('urban1', id, 'sign');
    await act('urban1', id, 'reply', { text: '已停工整改并复查。' });
    await act('agent1', id, 'review-reply', { accept: true });
    const good = await act('agent1', id, 'return-visit', { contacted: true, rating: 'very_satisfied' });
    expect(good.body.state).toBe('closed');
    expect(good.body.ratings.map((r: { level: string; round: number }) => [r.round, r.level])).toEqual([
      [1, 'very_dissatisfied'],
      [2, 'very_satisfied'],
    ]);
  });
});
