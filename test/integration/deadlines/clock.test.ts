/**
 * Deadline supervision with an injected clock (no sleeping for real deadlines): the app's clock
 * is moved across working days of the real calendar and the timer handler is driven directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addWorkingTime } from '../../../server/src/deadlines/calendar.js';
import { intake, startTestApp, type TestApp } from '../../helpers/app.js';

// Wednesday 2026-09-23 10:00 in Anyang. The 2026 arrangement: Mid-Autumn 09-25…09-27 and
// National Day 10-01…10-07 off, Sunday 09-20 and Saturday 10-10 worked.
let now = new Date('2026-09-23T10:00:00+08:00');
const clock = (): Date => new Date(now);
let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });

beforeAll(async () => {
  t = await startTestApp({ clock, env: { RUN_WORKERS: 'false' } });
});
afterAll(async () => {
  await t?.close();
});

describe('supervision on the working calendar, clock injected', () => {
  it('computes due times across the holiday and acts step by step as the clock moves', async () => {
    const cal = t.app.store.calendar;
    const { body: created } = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ category: 'consultation' }));
    const id = created.id as string;
    const d = await t.api.post(`/api/tickets/${id}/dispatch`).set(await auth('agent1')).send({ leadDepartmentId: 'wenfeng-nanguan' });
    const reply = d.body.deadlines.reply;
    // 咨询: 3 working days = 21 office hours from Wed 10:00: Wed 6 h + Thu 7 h, Fri–Sun off
    // (Mid-Autumn), Mon 7 h, Tue 1 h → Tue 09-29 10:00
    expect(new Date(reply.dueAt).toISOString()).toBe(new Date('2026-09-29T10:00:00+08:00').toISOString());
    expect(new Date(reply.dueAt).toISOString()).toBe(addWorkingTime(now, { value: 3, unit: 'workingDays' }, cal).toISOString());
    // 签收: 24 h counted on working days only → Thu 09-24 10:00
    expect(new Date(d.body.deadlines.sign.dueAt).toISOString()).toBe(new Date('2026-09-24T10:00:00+08:00').toISOString());
    await t.api.post(`/api/tickets/${id}/sign`).set(await auth('nanguan1')).send({});

    const fire = async () => {
      const cur = (await t.api.get(`/api/tickets/${id}`).set(await auth('super1'))).body;
      return t.app.timers.fire({ ticketId: id, milestone: 'reply', version: cur.deadlines.reply.version, at: now.getTime() });
    };
    // during the holiday nothing is due: the office clock does not run
    now = new Date('2026-09-27T12:00:00+08:00');
    expect(await fire()).toBe('nothing');
    // 75 % of 21 h = 15 h 45 min of office time → Mon 09-28 11:45: yellow
    now = new Date('2026-09-28T11:40:00+08:00');
    expect(await fire()).toBe('nothing');
    now = new Date('2026-09-28T11:45:00+08:00');
    expect(await fire()).toBe('acted');
    let view = (await t.api.get(`/api/tickets/${id}/deadlines`).set(await auth('nanguan1'))).body;
    expect(view.milestones.find((m: { milestone: string }) => m.milestone === 'reply').state).toBe('warning');
    expect(await fire()).toBe('nothing'); // the same step never fires twice
    // due → red, 督办
    now = new Date('2026-09-29T10:00:00+08:00');
    expect(await fire()).toBe('acted');
    // two working days later — Wed 09-30, then National Day, then Thu 10-08: two reminders,
    // escalated street → district → city
    now = new Date('2026-10-08T09:59:00+08:00');
    now = new Date('2026-10-08T10:00:00+08:00');
    expect(await fire()).toBe('acted');
    const ticket = (await t.api.get(`/api/tickets/${id}`).set(await auth('super1'))).body;
    expect(ticket.deadlines.reply).toMatchObject({ level: 'overdue', reminders: 2, escalations: 2 });
    expect(ticket.escalatedTo).toEqual(['wenfeng', 'anyang']);
    expect(ticket.supervised).toBe(true);
    const steps = ticket.timeline.filter((e: { action: string }) => e.action === 'tick').map((e: { data: { level: string; reminders: number } }) => [e.data.level, e.data.reminders]);
    expect(steps).toEqual([
      ['warning', 0],
      ['overdue', 0],
      ['overdue', 2],
    ]);
    view = (await t.api.get(`/api/tickets/${id}/deadlines`).set(await auth('nanguan1'))).body;
    expect(view.milestones.find((m: { milestone: string }) => m.milestone === 'reply').remainingMs).toBe(-2 * 7 * 3600_000);
    // overdue list by department and category
    const list = await t.api.get('/api/tickets').query({ deadlineState: 'overdue', departmentId: 'wenfeng-nanguan', category: 'consultation' }).set(await auth('super1'));
    expect(list.body.items.map((x: { id: string }) => x.id)).toEqual([id]);
  });
});
