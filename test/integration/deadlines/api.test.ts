/** Calendar overrides, policy versions, suspension and the deadline view over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workingTimeBetween } from '../../../server/src/deadlines/calendar.js';
import { intake, startTestApp, type TestApp } from '../../helpers/app.js';

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('working calendar', () => {
  it('shows official holidays and 调休 working weekends, and admins add local overrides', async () => {
    const res = await t.api.get('/api/calendar/days').query({ from: '2026-02-13', to: '2026-02-16' }).set(await auth('agent1'));
    expect(res.body.days.map((d: { date: string; working: boolean }) => [d.date, d.working])).toEqual([
      ['2026-02-13', true],
      ['2026-02-14', true], // Saturday worked (调休)
      ['2026-02-15', false], // Spring Festival
      ['2026-02-16', false],
    ]);
    expect(res.body.utcOffsetMinutes).toBe(480);
    expect((await t.api.post('/api/calendar/overrides').set(await auth('super1')).send({ date: '2026-12-01', working: false, name: '本地节日' })).status).toBe(403);
    const set = await t.api.post('/api/calendar/overrides').set(await auth('admin')).send({ date: '2026-12-01', working: false, name: '城市纪念日' });
    expect(set.status).toBe(200);
    const day = await t.api.get('/api/calendar/days').query({ from: '2026-12-01', to: '2026-12-01' }).set(await auth('agent1'));
    expect(day.body.days[0]).toEqual({ date: '2026-12-01', working: false, reason: 'local: 城市纪念日' });
    expect(t.app.store.calendar.isWorkingDay('2026-12-01')).toBe(false);
    expect((await t.api.delete('/api/calendar/overrides/2026-12-01').set(await auth('admin'))).status).toBe(204);
    expect(t.app.store.calendar.isWorkingDay('2026-12-01')).toBe(true);
    expect((await t.api.get('/api/calendar/days').query({ from: '2026-01-01', to: '2027-06-01' }).set(await auth('agent1'))).status).toBe(400);
  });

  it('the current policy carries the Henan defaults', async () => {
    const p = await t.api.get('/api/sla-policies/current').set(await auth('urban1'));
    expect(p.body.version).toBe(1);
    expect(p.body.deadlines.complaint.normal.reply).toEqual({ value: 10, unit: 'workingDays' });
    expect(p.body.deadlines.consultation.normal.reply).toEqual({ value: 3, unit: 'workingDays' });
    expect(p.body.deadlines.complaint.critical.sign).toEqual({ value: 2, unit: 'hours' });
    expect(p.body.deadlines.praise.normal.reply).toBeNull();
    expect(p.body.rules).toMatchObject({ warnRatio: 0.75, maxExtensionDays: 10 });
  });
});

describe('suspension (挂起)', () => {
  it('request → supervisor approves → clocks stop → resume moves every open deadline by the paused working time', async () => {
    const { body: created } = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const id = created.id as string;
    await t.api.post(`/api/tickets/${id}/dispatch`).set(await auth('agent1')).send({ leadDepartmentId: 'city-urban' });
    await t.api.post(`/api/tickets/${id}/sign`).set(await auth('urban1')).send({});
    const req = await t.api.post(`/api/tickets/${id}/request-suspension`).set(await auth('urban1')).send({ reason: '等待市民提供材料' });
    expect(req.body.suspension.requested.reason).toBe('等待市民提供材料');
    expect((await t.api.post(`/api/tickets/${id}/decide-suspension`).set(await auth('agent1')).send({ approve: true })).status).toBe(403);
    const ok = await t.api.post(`/api/tickets/${id}/decide-suspension`).set(await auth('super1')).send({ approve: true });
    expect(ok.body.suspension.since).toBeTruthy();
    expect(ok.body.nextDueAt).toBeNull(); // no deadline runs while suspended
    expect(ok.body.deadlineState).toBe('paused');
    const view = await t.api.get(`/api/tickets/${id}/deadlines`).set(await auth('urban1'));
    expect(view.body.milestones.find((m: { milestone: string }) => m.milestone === 'reply').state).toBe('paused');
    const dueBefore = new Date(ok.body.deadlines.reply.dueAt);
    const since = new Date(ok.body.suspension.since);
    await new Promise((r) => setTimeout(r, 300));
    const resumed = await t.api.post(`/api/tickets/${id}/resume`).set(await auth('agent1')).send({ note: '市民已补充材料' });
    expect(resumed.status).toBe(200);
    expect(resumed.body.suspension.since).toBeNull();
    const dueAfter = new Date(resumed.body.deadlines.reply.dueAt);
    const resumedAt = new Date(resumed.body.updatedAt);
    const paused = workingTimeBetween(since, resumedAt, 'workingDays', t.app.store.calendar);
    // the reply clock moved on by exactly the working time that passed while suspended
    expect(workingTimeBetween(dueBefore, dueAfter, 'workingDays', t.app.store.calendar)).toBe(paused);
    // outside office hours no working time passes, and the deadline (and its version) stays
    expect(resumed.body.deadlines.reply.version).toBe(paused > 0 ? 2 : 1);
    expect(resumed.body.nextDueAt).not.toBeNull();
  });
});
