/**
 * Deadline supervision end to end with deadlines of seconds: real BullMQ delayed jobs on real
 * Redis, tickets on FerretDB, notifications over socket.io to exactly the rooms concerned.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultPolicyTable, MILESTONES, type PolicyTable } from '../../../server/src/deadlines/policy.js';
import type { TicketEventMessage } from '../../../server/src/realtime/contract.js';
import { CATEGORIES, URGENCIES } from '../../../server/src/tickets/vocabulary.js';
import { intake, startTestApp, type TestApp } from '../../helpers/app.js';

let t: TestApp;
const sockets: Socket[] = [];
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const seconds = (s: number) => ({ value: s / 3600, unit: 'hours' as const });

/** Every milestone `due` seconds, warnings at half, reminders every second, escalation every 1.5 s. */
function fastTable(due: number): PolicyTable {
  const table = defaultPolicyTable();
  table.rules = { ...table.rules, warnRatio: 0.5, remindEvery: seconds(1), escalateAfter: seconds(1.5) };
  for (const c of CATEGORIES) for (const u of URGENCIES) for (const m of MILESTONES) table.deadlines[c][u][m] = seconds(due);
  return table;
}

async function client(username: string) {
  const socket = connect(`http://127.0.0.1:${t.port}`, { auth: { token: await t.token(username) }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  const events: TicketEventMessage[] = [];
  socket.on('ticket.event', (m: TicketEventMessage) => events.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once('hello', () => resolve());
    socket.once('connect_error', reject);
  });
  return events;
}

const until = async (cond: () => boolean | Promise<boolean>, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await t?.close();
});

describe('deadline supervision with deadlines of seconds', () => {
  it('a new policy version applies to new tickets only', async () => {
    const before = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const published = await t.api.post('/api/sla-policies').set(await auth('admin')).send({ table: fastTable(3), note: 'test: deadlines of seconds' });
    expect(published.status).toBe(201);
    expect(published.body.version).toBe(2);
    const after = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const a = await t.api.get(`/api/tickets/${before.body.id}`).set(await auth('super1'));
    const b = await t.api.get(`/api/tickets/${after.body.id}`).set(await auth('super1'));
    expect(a.body.policy.version).toBe(1);
    expect(b.body.policy.version).toBe(2);
    expect((await t.api.post('/api/sla-policies').set(await auth('super1')).send({ table: fastTable(3) })).status).toBe(403);
  });

  it('warning → overdue (督办) → reminders → escalation street → district → city, each to exactly the rooms concerned', async () => {
    const [street, district, city, water, sup, agent] = await Promise.all(['nanguan1', 'wenfeng1', 'urban1', 'water1', 'super1', 'agent1'].map(client));
    const created = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const id = created.body.id as string;
    const d = await t.api.post(`/api/tickets/${id}/dispatch`).set(await auth('agent1')).send({ leadDepartmentId: 'wenfeng-nanguan' });
    expect(d.body.deadlines.sign.dueAt).toBeTruthy();
    const mine = (evs: TicketEventMessage[], type: string) => evs.filter((e) => e.ticketId === id && e.type === type);

    await until(() => mine(street!, 'ticket.deadline_warning').length > 0, 8000, 'the yellow warning');
    const warnedAt = Date.now();
    await until(() => mine(street!, 'ticket.deadline_overdue').length > 0, 8000, 'the red overdue');
    await until(() => mine(district!, 'ticket.escalated').length > 0, 10_000, 'escalation to the district');
    await until(() => mine(sup!, 'ticket.escalated').some((e) => (e.data.escalatedTo as string[]).includes('anyang')), 10_000, 'escalation to the city');
    await until(() => mine(street!, 'ticket.deadline_reminder').length >= 2, 10_000, 'repeated reminders');
    expect(Date.now() - warnedAt).toBeGreaterThan(500);

    const overdue = mine(sup!, 'ticket.deadline_overdue');
    expect(overdue.length).toBeGreaterThan(0);
    expect(overdue[0]!.data.supervisorId).toBe('super1');
    // the unrelated department and the agents' room hear none of it
    expect(water!.filter((e) => e.ticketId === id)).toEqual([]);
    expect(agent!.filter((e) => e.ticketId === id && e.type.startsWith('ticket.deadline'))).toEqual([]);
    // a city bureau that is not up this ticket's hierarchy hears nothing either
    expect(city!.filter((e) => e.ticketId === id)).toEqual([]);

    // the reply milestone (due a moment after sign) is found overdue too; on a loaded machine
    // its step may still be queued when sign's reminders have gone out
    type Tick = { action: string; note: string | null; data: { milestone: string } };
    const overdueOf = (b: { timeline: Tick[] }) => b.timeline.filter((e) => e.action === 'tick' && e.note?.startsWith('超期督办'));
    let ticket = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    const end = Date.now() + 20_000;
    while (overdueOf(ticket.body).length < 2 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      ticket = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    }
    expect(ticket.body.supervised).toBe(true);
    expect(ticket.body.deadlineState).toBe('overdue'); // the ticket is marked red
    expect(ticket.body.escalatedTo).toEqual(['wenfeng', 'anyang']);
    const ticks = ticket.body.timeline.filter((e: { action: string }) => e.action === 'tick');
    // one overdue record per milestone, never two
    const overdueEntries = ticks.filter((e: { note: string | null }) => e.note?.startsWith('超期督办'));
    expect(overdueEntries.map((e: { data: { milestone: string } }) => e.data.milestone).sort()).toEqual(['reply', 'sign']);
    // the escalated district may now read the ticket
    expect((await t.api.get(`/api/tickets/${id}`).set(await auth('wenfeng1'))).status).toBe(200);

    // deadline view and deadline-state lists
    const view = await t.api.get(`/api/tickets/${id}/deadlines`).set(await auth('nanguan1'));
    const sign = view.body.milestones.find((m: { milestone: string }) => m.milestone === 'sign');
    expect(sign.state).toBe('overdue');
    expect(sign.remainingMs).toBeLessThan(0);
    const overdueList = await t.api.get('/api/tickets').query({ deadlineState: 'overdue', departmentId: 'wenfeng-nanguan' }).set(await auth('super1'));
    expect(overdueList.body.items.map((x: { id: string }) => x.id)).toContain(id);

    // signing meets the sign milestone: its timers stop
    await t.api.post(`/api/tickets/${id}/sign`).set(await auth('nanguan1')).send({});
    const signedView = await t.api.get(`/api/tickets/${id}/deadlines`).set(await auth('nanguan1'));
    expect(signedView.body.milestones.find((m: { milestone: string }) => m.milestone === 'sign')).toMatchObject({ state: 'met', metLate: true });
  });

  it('a timer that fires after its ticket was closed or its deadline moved does nothing', async () => {
    // ordinary (working-day) deadlines again, so nothing falls due during this test
    expect((await t.api.post('/api/sla-policies').set(await auth('admin')).send({ table: defaultPolicyTable(), note: 'back to defaults' })).status).toBe(201);
    const created = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const id = created.body.id as string;
    await t.api.post(`/api/tickets/${id}/dispatch`).set(await auth('agent1')).send({ leadDepartmentId: 'city-urban' });
    await t.api.post(`/api/tickets/${id}/sign`).set(await auth('urban1')).send({});
    const before = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    const reply = before.body.deadlines.reply;
    // the deadline moves: an extension
    await t.api.post(`/api/tickets/${id}/request-extension`).set(await auth('urban1')).send({ days: 1, reason: '等待检测报告' });
    await t.api.post(`/api/tickets/${id}/decide-extension`).set(await auth('super1')).send({ approve: true });
    const stale = await t.app.timers.fire({ ticketId: id, milestone: 'reply', version: reply.version, at: Date.now() });
    expect(stale).toBe('stale');
    // closed: every timer is stale
    await t.api.post(`/api/tickets/${id}/reply`).set(await auth('urban1')).send({ text: '已处理完毕' });
    const after = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    expect(await t.app.timers.fire({ ticketId: id, milestone: 'reply', version: after.body.deadlines.reply.version, at: Date.now() })).toBe('stale');
    const final = await t.api.get(`/api/tickets/${id}`).set(await auth('super1'));
    expect(final.body.version).toBe(after.body.version);
  });
});
