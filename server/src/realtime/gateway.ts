import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type { TokenService } from '../auth/tokens.js';
import type { UserStatus } from '../auth/user-status.js';
import type { Actor } from '../tickets/types.js';
import type { ClientToServer, ServerToClient, SocketData, TicketEventMessage } from './contract.js';

export type Io = Server<ClientToServer, ServerToClient, Record<string, never>, SocketData>;

export function roomsOf(actor: Actor): string[] {
  const rooms = [`agent:${actor.id}`];
  if (actor.role === 'department' && actor.departmentId) rooms.push(`dept:${actor.departmentId}`);
  if (actor.role === 'agent' || actor.role === 'window') rooms.push('hotline');
  if (actor.role === 'supervisor') rooms.push('supervisors', 'hotline');
  return rooms;
}

/**
 * Authenticated at the handshake (`auth.token`); a bad token is refused with `connect_error`.
 * With `pub`/`sub` Redis clients, the Redis adapter carries events between server instances.
 */
export function createGateway(http: HttpServer, tokens: TokenService, status: UserStatus, redis?: { pub: Redis; sub: Redis; key?: string }): Io {
  const io: Io = new Server(http, { path: '/socket.io', serveClient: false, cors: { origin: false } });
  // `key`: the Redis channel prefix, so deployments (or test apps) sharing a Redis stay apart
  if (redis) io.adapter(createAdapter(redis.pub, redis.sub, redis.key ? { key: redis.key } : {}));
  io.use(async (socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown })?.token;
    const verified = typeof token === 'string' ? await tokens.verify(token) : null;
    const actor = verified && (await status.isActive(verified.id)) ? verified : null;
    if (!actor) {
      const err = new Error('unauthenticated') as Error & { data?: unknown };
      err.data = { code: 'UNAUTHENTICATED' };
      return next(err);
    }
    socket.data = { userId: actor.id, role: actor.role, departmentId: actor.departmentId ?? null };
    const rooms = roomsOf(actor);
    await socket.join(rooms);
    socket.emit('hello', { userId: actor.id, role: actor.role, rooms });
    next();
  });
  io.on('connection', (socket) => {
    socket.on('ping', (ack) => typeof ack === 'function' && ack(Date.now()));
  });
  return io;
}

const SUPERVISION_EVENTS = new Set(['ticket.deadline_warning', 'ticket.deadline_overdue', 'ticket.deadline_reminder', 'ticket.escalated']);

/**
 * Who hears about a ticket: its departments, the hotline and the supervisors — nobody else.
 * Deadline warnings, reminders and escalations go to exactly the people concerned: the handling
 * department, the supervisors, and the departments up the hierarchy it was escalated to.
 */
export function ticketRooms(msg: Pick<TicketEventMessage, 'type' | 'leadDepartmentId' | 'data'>): string[] {
  if (SUPERVISION_EVENTS.has(msg.type)) {
    const rooms = new Set<string>(['supervisors']);
    if (msg.leadDepartmentId) rooms.add(`dept:${msg.leadDepartmentId}`);
    const up = msg.data.escalatedTo;
    if (Array.isArray(up)) for (const d of up) if (typeof d === 'string') rooms.add(`dept:${d}`);
    return [...rooms];
  }
  const rooms = new Set<string>(['hotline', 'supervisors']);
  if (msg.leadDepartmentId) rooms.add(`dept:${msg.leadDepartmentId}`);
  const co = msg.data.coDepartmentIds;
  if (Array.isArray(co)) for (const d of co) if (typeof d === 'string') rooms.add(`dept:${d}`);
  // A department that just lost the ticket (returned, re-dispatched) is told too.
  const prev = msg.data.departmentId;
  if (typeof prev === 'string') rooms.add(`dept:${prev}`);
  return [...rooms];
}
