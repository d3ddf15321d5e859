/**
 * Side effects reach the real-time layer: a transition's events travel outbox → BullMQ →
 * worker → socket.io rooms, and only the people concerned hear them.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TicketEventMessage } from '../../server/src/realtime/contract.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const sockets: Socket[] = [];
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await t?.close();
});

async function client(username: string): Promise<{ socket: Socket; events: TicketEventMessage[] }> {
  const socket = connect(`http://127.0.0.1:${t.port}`, { auth: { token: await t.token(username) }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  const events: TicketEventMessage[] = [];
  socket.on('ticket.event', (m: TicketEventMessage) => events.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once('hello', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, events };
}

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('real-time notifications', () => {
  it('refuses a socket without a valid token', async () => {
    const socket = connect(`http://127.0.0.1:${t.port}`, { auth: { token: 'nope' }, transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const err = await new Promise<Error & { data?: { code?: string } }>((resolve) => socket.once('connect_error', resolve));
    expect(err.data?.code).toBe('UNAUTHENTICATED');
  });

  it('a dispatch reaches the lead and co-handling departments, the hotline and supervisors — not other departments', async () => {
    const [urban, nanguan, water, agent, sup] = (await Promise.all(['urban1', 'nanguan1', 'water1', 'agent2', 'super1'].map(client))) as [
      Awaited<ReturnType<typeof client>>,
      Awaited<ReturnType<typeof client>>,
      Awaited<ReturnType<typeof client>>,
      Awaited<ReturnType<typeof client>>,
      Awaited<ReturnType<typeof client>>,
    ];
    const auth = { authorization: `Bearer ${await t.token('agent1')}` };
    const created = await t.api.post('/api/tickets').set(auth).send(intake());
    const id = created.body.id as string;
    await t.api.post(`/api/tickets/${id}/dispatch`).set(auth).send({ leadDepartmentId: 'city-urban', coDepartmentIds: ['wenfeng-nanguan'] });
    const dispatchedTo = (c: { events: TicketEventMessage[] }) => c.events.some((e) => e.ticketId === id && e.type === 'ticket.dispatched');
    await until(() => [urban, nanguan, agent, sup].every(dispatchedTo));
    const msg = urban.events.find((e) => e.ticketId === id && e.type === 'ticket.dispatched')!;
    expect(msg).toMatchObject({ number: created.body.number, version: 2, state: 'dispatched', leadDepartmentId: 'city-urban' });
    expect(msg.eventId).toBe(`${id}-2-0`);
    // the creation event went to the hotline and supervisors, not to departments
    await until(() => agent.events.some((e) => e.ticketId === id && e.type === 'ticket.created'));
    expect(urban.events.some((e) => e.ticketId === id && e.type === 'ticket.created')).toBe(false);
    // give any stray delivery time to arrive, then check the unrelated department heard nothing
    await new Promise((r) => setTimeout(r, 300));
    expect(water.events.filter((e) => e.ticketId === id)).toEqual([]);
    // no message carries the caller's phone
    expect(JSON.stringify(urban.events)).not.toContain('13812345678');
  });
});
