import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server, type Socket } from 'socket.io';
import { AUTH_REASONS } from '../auth/middleware.js';
import { sessionTokenFrom } from '../auth/session-cookie.js';
import type { TokenRefusal, TokenService } from '../auth/tokens.js';
import type { UserStatus } from '../auth/user-status.js';
import type { Actor } from '../tickets/types.js';
import type { ClientToServer, ServerToClient, SessionEndedMessage, SocketData, TicketEventMessage } from './contract.js';

export type Io = Server<ClientToServer, ServerToClient, Record<string, never>, SocketData>;
type IoSocket = Socket<ClientToServer, ServerToClient, Record<string, never>, SocketData>;

export function roomsOf(actor: Actor): string[] {
  const rooms = [`agent:${actor.id}`];
  if (actor.role === 'department' && actor.departmentId) rooms.push(`dept:${actor.departmentId}`);
  if (actor.role === 'agent' || actor.role === 'window') rooms.push('hotline');
  if (actor.role === 'supervisor') rooms.push('supervisors', 'hotline');
  return rooms;
}

/** Every socket of one login session (one token) joins this room, on whatever instance it is. */
export const sessionRoom = (tokenId: string): string => `session:${tokenId}`;

/** setTimeout's limit; a longer expiry is left to the periodic check. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export interface GatewayOptions {
  /** How often this instance re-checks its sockets' sessions (revoked, deactivated, expired), ms. */
  sessionCheckMs?: number;
}

function refuse(reason: TokenRefusal | 'missing' | 'deactivated' | 'origin'): Error {
  const err = new Error('unauthenticated') as Error & { data?: unknown };
  err.data = { code: 'UNAUTHENTICATED', reason: reason === 'origin' ? 'ORIGIN_MISMATCH' : AUTH_REASONS[reason] };
  return err;
}

/** The browser's Origin (absent for non-browser clients) names the host the request went to. */
function sameOrigin(headers: Record<string, string | string[] | undefined>): boolean {
  const origin = headers.origin;
  if (typeof origin !== 'string') return true;
  const forwarded = headers['x-forwarded-host'];
  const host = (typeof forwarded === 'string' ? forwarded.split(',')[0]!.trim() : undefined) ?? headers.host;
  try {
    return typeof host === 'string' && new URL(origin).host === host;
  } catch {
    return false;
  }
}

function end(socket: IoSocket, reason: SessionEndedMessage['reason']): void {
  if (!socket.connected) return;
  socket.emit('session.ended', { reason });
  socket.disconnect(true);
}

/**
 * End the sockets of a session on every instance (the Redis adapter carries the request):
 * called when logout revokes the token.
 */
export function endSession(io: Io, tokenId: string, reason: SessionEndedMessage['reason'] = 'revoked'): void {
  io.to(sessionRoom(tokenId)).emit('session.ended', { reason });
  io.in(sessionRoom(tokenId)).disconnectSockets(true);
}

/**
 * Authenticated at the handshake from `auth.token` (API clients, tests) or, for the console, the
 * httpOnly session cookie the browser sends with the handshake request; a bad token is refused
 * with `connect_error` (`data: { code: 'UNAUTHENTICATED', reason }`). A socket lives no longer
 * than its session: a timer ends it at the token's expiry, logout ends it at once
 * (`endSession`, through the adapter), and a periodic check catches tokens revoked or users
 * deactivated while a message was lost. With `pub`/`sub` Redis clients, the Redis adapter
 * carries events between server instances.
 */
export function createGateway(
  http: HttpServer,
  tokens: TokenService,
  status: UserStatus,
  redis?: { pub: Redis; sub: Redis; key?: string },
  opts: GatewayOptions = {},
): Io {
  const io: Io = new Server(http, { path: '/socket.io', serveClient: false, cors: { origin: false } });
  // `key`: the Redis channel prefix, so deployments (or test apps) sharing a Redis stay apart
  if (redis) io.adapter(createAdapter(redis.pub, redis.sub, redis.key ? { key: redis.key } : {}));
  io.use(async (socket, next) => {
    const given = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    // An explicit auth.token wins; a wrong one is refused, never replaced by the cookie.
    const token = given !== undefined ? (typeof given === 'string' ? given : null) : sessionTokenFrom(socket.handshake.headers.cookie);
    if (!token) return next(refuse('missing'));
    // A WebSocket handshake has no CORS preflight: a cookie-authenticated one must come from a
    // page of this site (SameSite=Strict already keeps other sites' requests cookieless).
    if (given === undefined && !sameOrigin(socket.handshake.headers)) return next(refuse('origin'));
    const r = await tokens.inspect(token);
    if (!r.ok) return next(refuse(r.reason));
    if (!(await status.isActive(r.actor.id))) return next(refuse('deactivated'));
    const { actor } = r;
    socket.data = { userId: actor.id, role: actor.role, departmentId: actor.departmentId ?? null, tokenId: r.tokenId, expiresAt: r.expiresAt.getTime() };
    const rooms = roomsOf(actor);
    await socket.join([...rooms, sessionRoom(r.tokenId)]);
    socket.emit('hello', { userId: actor.id, role: actor.role, rooms, expiresAt: r.expiresAt.toISOString() });
    next();
  });
  io.on('connection', (socket) => {
    socket.on('ping', (ack) => typeof ack === 'function' && ack(Date.now()));
    const left = socket.data.expiresAt - Date.now();
    if (left <= MAX_TIMEOUT_MS) {
      const timer = setTimeout(() => end(socket, 'expired'), Math.max(0, left));
      timer.unref();
      socket.once('disconnect', () => clearTimeout(timer));
    }
  });

  // The safety net: sessions revoked or users deactivated while an instance missed the message.
  const check = async (): Promise<void> => {
    const local = [...io.of('/').sockets.values()];
    if (local.length === 0) return;
    const revoked = await tokens.revokedAmong([...new Set(local.map((s) => s.data.tokenId))]);
    const inactive = await status.inactiveAmong([...new Set(local.map((s) => s.data.userId).filter(Boolean))]);
    const now = Date.now();
    for (const s of local) {
      if (!s.data.tokenId) continue; // still in the handshake
      if (revoked.has(s.data.tokenId)) end(s, 'revoked');
      else if (inactive.has(s.data.userId)) end(s, 'deactivated');
      else if (s.data.expiresAt <= now) end(s, 'expired');
    }
  };
  const interval = setInterval(() => void check().catch(() => undefined), opts.sessionCheckMs ?? 30_000);
  interval.unref();
  http.once('close', () => clearInterval(interval));
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
