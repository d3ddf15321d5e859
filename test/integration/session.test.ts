/**
 * The console's session (issue #5 items 1 and 6): the httpOnly cookie, the CSRF header, the
 * distinct "session expired" reason, logout revoking the token and ending its sockets (on any
 * instance), sockets ended at expiry, and two instances sharing events through the Redis adapter.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { io as connect, type Socket } from 'socket.io-client';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../../server/src/directory/seed-data.js';
import type { TicketEventMessage } from '../../server/src/realtime/contract.js';
import { DEMO, intake, JWT_SECRET, startTestApp, type TestApp } from '../helpers/app.js';

let a: TestApp;
let b: TestApp;
const sockets: Socket[] = [];
beforeAll(async () => {
  a = await startTestApp({ env: { SESSION_CHECK_MS: '300' } });
  // a second instance on the same database and Redis, without workers: every ticket event is
  // emitted by instance a, so a client of b hears it only through the Redis adapter
  b = await startTestApp({ env: { SESSION_CHECK_MS: '300', RUN_WORKERS: 'false' }, reuseDatabase: { dbName: a.dbName, prefix: a.prefix } });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await b?.app.close().catch(() => undefined);
  await a?.close();
});

const http = (t: TestApp) => supertest(`http://127.0.0.1:${t.port}`);
const CONSOLE = { 'x-requested-with': 'hotline-console' };

async function consoleLogin(t: TestApp, username: string): Promise<{ cookie: string; body: Record<string, unknown>; setCookie: string }> {
  const res = await http(t).post('/api/auth/login').set(CONSOLE).send({ username, password: DEMO_PASSWORD });
  expect(res.status).toBe(200);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('hotline_session='))!;
  expect(setCookie).toBeDefined();
  return { cookie: setCookie.split(';')[0]!, body: res.body, setCookie };
}

function forge(username: string, exp: number, jti: string | undefined = randomUUID()): Promise<string> {
  const u = DEMO[username]!;
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({ name: u.name, role: u.role, dept: u.departmentId ?? null })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(u.username)
    .setIssuer('hotline-12345')
    .setIssuedAt(now - 10)
    .setExpirationTime(exp);
  if (jti) jwt = jwt.setJti(jti);
  return jwt.sign(new TextEncoder().encode(JWT_SECRET));
}

interface Client {
  socket: Socket;
  events: TicketEventMessage[];
  ended: { reason: string }[];
  hello: { userId: string; expiresAt: string };
}

async function client(t: TestApp, how: { cookie: string; origin?: string } | { token: string }): Promise<Client> {
  const socket = connect(`http://127.0.0.1:${t.port}`, {
    transports: ['websocket'],
    reconnection: false,
    ...('cookie' in how ? { extraHeaders: { cookie: how.cookie, ...(how.origin ? { origin: how.origin } : {}) } } : { auth: { token: how.token } }),
  });
  sockets.push(socket);
  const events: TicketEventMessage[] = [];
  const ended: { reason: string }[] = [];
  socket.on('ticket.event', (m: TicketEventMessage) => events.push(m));
  socket.on('session.ended', (m: { reason: string }) => ended.push(m));
  const hello = await new Promise<Client['hello']>((resolve, reject) => {
    socket.once('hello', resolve);
    socket.once('connect_error', reject);
  });
  return { socket, events, ended, hello };
}

const until = async (cond: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};
const disconnected = (s: Socket) => new Promise<string>((resolve) => s.once('disconnect', resolve));

describe('cookie session', () => {
  it('login sets an httpOnly, SameSite=Strict, Path=/ cookie; the console gets { user, expiresAt } without the token, API clients keep the token', async () => {
    const { setCookie, body } = await consoleLogin(a, 'agent1');
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; SameSite=Strict/i);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/; Secure/i); // plain http
    expect(body.token).toBeUndefined();
    expect(body.user).toMatchObject({ id: 'agent1', role: 'agent' });
    expect(new Date(body.expiresAt as string).getTime()).toBeGreaterThan(Date.now());
    const api = await http(a).post('/api/auth/login').send({ username: 'agent1', password: DEMO_PASSWORD });
    expect(typeof api.body.token).toBe('string');
    expect(api.body).toHaveProperty('user');
    expect(api.body).toHaveProperty('expiresAt');
  });

  it('Secure behind an https proxy (X-Forwarded-Proto from loopback)', async () => {
    const res = await http(a).post('/api/auth/login').set({ 'x-forwarded-proto': 'https' }).send({ username: 'agent1', password: DEMO_PASSWORD });
    expect(String(res.headers['set-cookie'])).toMatch(/; Secure/i);
  });

  it('the cookie authenticates reads; changes need X-Requested-With: hotline-console (CSRF_REQUIRED otherwise); Bearer needs no header', async () => {
    const { cookie } = await consoleLogin(a, 'agent1');
    const me = await http(a).get('/api/auth/me').set('cookie', cookie);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: 'agent1' });
    expect(new Date(me.body.sessionExpiresAt).getTime()).toBeGreaterThan(Date.now());

    const forged = await http(a).post('/api/tickets').set('cookie', cookie).send(intake());
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('CSRF_REQUIRED');
    const wrongValue = await http(a).post('/api/tickets').set('cookie', cookie).set('x-requested-with', 'XMLHttpRequest').send(intake());
    expect(wrongValue.body.error.code).toBe('CSRF_REQUIRED');
    const ok = await http(a).post('/api/tickets').set('cookie', cookie).set(CONSOLE).send(intake());
    expect(ok.status).toBe(201);
    const bearer = await http(a).post('/api/tickets').set('authorization', `Bearer ${await a.token('agent1')}`).send(intake());
    expect(bearer.status).toBe(201);
    // a present but malformed Authorization header is refused, never replaced by the cookie
    const both = await http(a).get('/api/auth/me').set('cookie', cookie).set('authorization', 'Bearer');
    expect(both.status).toBe(401);
  });

  it('an expired session → 401 UNAUTHENTICATED with reason SESSION_EXPIRED (cookie or Bearer); garbage → TOKEN_INVALID; none → TOKEN_MISSING', async () => {
    const expired = await forge('agent1', Math.floor(Date.now() / 1000) - 5);
    for (const req of [http(a).get('/api/tickets').set('cookie', `hotline_session=${expired}`), http(a).get('/api/tickets').set('authorization', `Bearer ${expired}`)]) {
      const res = await req;
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'SESSION_EXPIRED' } });
    }
    expect((await http(a).get('/api/tickets').set('cookie', 'hotline_session=abc.def.ghi')).body.error.details.reason).toBe('TOKEN_INVALID');
    expect((await http(a).get('/api/tickets')).body.error.details.reason).toBe('TOKEN_MISSING');
  });

  it('logout clears the cookie and revokes the token (SESSION_REVOKED) on every instance; with the cookie it needs the CSRF header', async () => {
    const { cookie } = await consoleLogin(a, 'agent2');
    expect((await http(a).post('/api/auth/logout').set('cookie', cookie)).body.error.code).toBe('CSRF_REQUIRED');
    const out = await http(a).post('/api/auth/logout').set('cookie', cookie).set(CONSOLE);
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ loggedOut: true, revoked: true });
    expect(String(out.headers['set-cookie'])).toMatch(/hotline_session=;.*Expires=Thu, 01 Jan 1970/);
    for (const t of [a, b]) {
      const res = await http(t).get('/api/auth/me').set('cookie', cookie);
      expect(res.status).toBe(401);
      expect(res.body.error.details.reason).toBe('SESSION_REVOKED');
    }
    // an API client logs out its Bearer token the same way; a second logout is harmless
    const api = await http(a).post('/api/auth/login').send({ username: 'agent2', password: DEMO_PASSWORD });
    const bearer = { authorization: `Bearer ${api.body.token}` };
    expect((await http(a).post('/api/auth/logout').set(bearer)).body).toEqual({ loggedOut: true, revoked: true });
    expect((await http(a).get('/api/auth/me').set(bearer)).status).toBe(401);
    expect((await http(a).post('/api/auth/logout').set(bearer)).body).toEqual({ loggedOut: true, revoked: false });
    expect((await http(a).post('/api/auth/logout')).body).toEqual({ loggedOut: true, revoked: false });
  });
});

describe('sockets and sessions', () => {
  it('the handshake accepts the session cookie; a bad auth.token is refused with its reason', async () => {
    const { cookie } = await consoleLogin(a, 'super1');
    const c = await client(a, { cookie });
    expect(c.hello.userId).toBe('super1');
    expect(new Date(c.hello.expiresAt).getTime()).toBeGreaterThan(Date.now());
    const expired = await forge('super1', Math.floor(Date.now() / 1000) - 5);
    const err = await client(a, { token: expired }).catch((e: Error & { data?: unknown }) => e.data);
    expect(err).toEqual({ code: 'UNAUTHENTICATED', reason: 'SESSION_EXPIRED' });
    // cross-site WebSocket hijacking: the cookie from a page of another origin is refused
    const foreign = connect(`http://127.0.0.1:${a.port}`, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie, origin: 'http://evil.example' } });
    sockets.push(foreign);
    const refused = await new Promise<unknown>((resolve) => foreign.once('connect_error', (e: Error & { data?: unknown }) => resolve(e.data)));
    expect(refused).toEqual({ code: 'UNAUTHENTICATED', reason: 'ORIGIN_MISMATCH' });
    const own = await client(a, { cookie, origin: `http://127.0.0.1:${a.port}` });
    expect(own.hello.userId).toBe('super1');
    const none = await client(a, { cookie: 'other=1' }).catch((e: Error & { data?: unknown }) => e.data);
    expect(none).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_MISSING' });
  });

  it('logout on instance a ends the sockets of that session on instance b (session.ended revoked), not other sessions of the same user', async () => {
    const first = await consoleLogin(a, 'agent1');
    const second = await consoleLogin(a, 'agent1');
    const onB = await client(b, { cookie: first.cookie });
    const otherTab = await client(b, { cookie: second.cookie });
    const gone = disconnected(onB.socket);
    await http(a).post('/api/auth/logout').set('cookie', first.cookie).set(CONSOLE).expect(200);
    expect(await gone).toBe('io server disconnect');
    await until(() => onB.ended.length > 0, 2000).catch(() => undefined); // the notice may race the disconnect
    await new Promise((r) => setTimeout(r, 700)); // more than one session check
    expect(otherTab.socket.connected).toBe(true);
  });

  it('a socket is ended when its token expires', async () => {
    const c = await client(a, { token: await forge('agent1', Math.floor(Date.now() / 1000) + 2) });
    const reason = await disconnected(c.socket);
    expect(reason).toBe('io server disconnect');
    expect(c.ended).toEqual([{ reason: 'expired' }]);
  });

  it('the periodic check ends sockets whose token was revoked behind its back (a lost message)', async () => {
    const jti = randomUUID();
    const c = await client(b, { token: await forge('agent2', Math.floor(Date.now() / 1000) + 3600, jti) });
    await a.app.redis.set(`${a.prefix}:auth:revoked:${jti}`, '1', 'PX', 60_000);
    expect(await disconnected(c.socket)).toBe('io server disconnect');
    expect(c.ended).toEqual([{ reason: 'revoked' }]);
  });
});

describe('deactivation', () => {
  it("an admin switching an account off ends its sockets on every instance (session.ended deactivated)", async () => {
    const c = await client(b, { cookie: (await consoleLogin(b, 'window1')).cookie });
    const gone = disconnected(c.socket);
    await http(a).patch('/api/users/window1').set('authorization', `Bearer ${await a.token('admin')}`).send({ active: false }).expect(200);
    expect(await gone).toBe('io server disconnect');
    expect(c.ended).toEqual([{ reason: 'deactivated' }]);
  });
});

describe('two instances (Redis adapter)', () => {
  it('an event raised on instance a reaches consoles connected to instance b, in the right rooms only', async () => {
    const dept = await client(b, { cookie: (await consoleLogin(b, 'urban1')).cookie });
    const sup = await client(b, { token: await b.token('super1') });
    const other = await client(b, { token: await b.token('water1') });
    const h = { authorization: `Bearer ${await a.token('agent1')}` };
    const created = await http(a).post('/api/tickets').set(h).send(intake());
    await http(a).post(`/api/tickets/${created.body.id}/dispatch`).set(h).send({ leadDepartmentId: 'city-urban' }).expect(200);
    const got = (c: Client) => c.events.some((e) => e.ticketId === created.body.id && e.type === 'ticket.dispatched');
    await until(() => got(dept) && got(sup));
    expect(sup.events.some((e) => e.ticketId === created.body.id && e.type === 'ticket.created')).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(other.events.filter((e) => e.ticketId === created.body.id)).toEqual([]);
  });
});
