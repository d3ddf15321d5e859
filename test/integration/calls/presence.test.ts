/**
 * Agent state is never stuck (issue 4 item 3) and no call record stays open forever (item 9):
 * the ACD sweep logs out agents whose phone registration is gone or expired, or whose console
 * disconnected, after a grace period; the stale sweep closes call records nobody will close.
 * Real Redis (registrations as telephony writes them) and FerretDB; real socket.io clients.
 */
import { Redis } from 'ioredis';
import { connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCallDoc } from '../../../server/src/calls/call-store.js';
import { callModel } from '../../../server/src/calls/model.js';
import { RedisBindingStore } from '../../../telephony/src/redis-binding-store.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { until } from '../../helpers/until.js';

const REALM = 'hotline.local';
let t: TestApp;
let redis: Redis;
const sockets: Socket[] = [];


const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const stateOf = async (u: string) => ((await t.api.get('/api/agents/me').set(await auth(u))).body as { state: string }).state;

async function console_(u: string): Promise<{ socket: Socket; events: Array<{ type: string; data: Record<string, unknown> }> }> {
  const socket = connect(`http://127.0.0.1:${t.port}`, { auth: { token: await t.token(u) }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  socket.on('call.event', (m) => events.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once('hello', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, events };
}

async function register(user: string, ttlMs: number): Promise<void> {
  const now = Date.now();
  await new RedisBindingStore(redis, `${t.prefix}:sip`).put({
    aor: `sip:${user}@${REALM}`, contact: `sip:${user}@127.0.0.3:5099`, expiresAt: now + ttlMs, callId: `${user}-reg`, cseq: 1,
    source: { protocol: 'UDP', address: '127.0.0.3', port: 5099 }, updatedAt: now,
  });
}

beforeAll(async () => {
  t = await startTestApp({ env: { ACD_PRESENCE_CHECK: 'true', ACD_TICK_MS: '250', ACD_PRESENCE_GRACE_MS: '1500', SIP_REALM: REALM, CALL_STALE_MS: '3600000' } });
  redis = new Redis(process.env.TEST_REDIS_URL!, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  redis?.disconnect();
  await t?.close();
});

describe('agent presence reconciliation', { timeout: 30_000 }, () => {
  it('available with the console open but no registered phone: logged out by the system, told why', async () => {
    const c = await console_('agent1');
    expect((await t.api.post('/api/agents/me/state').set(await auth('agent1')).send({ state: 'available' })).status).toBe(200);
    expect(await stateOf('agent1')).toBe('available'); // within the grace period
    await until('logged out', async () => (await stateOf('agent1')) === 'logged_out');
    const ev = await until('state event', async () => c.events.find((e) => e.type === 'agent.state' && e.data.state === 'logged_out'));
    expect(ev.data).toMatchObject({ agentId: 'agent1', reason: 'phone-unregistered' });
  });

  it('phone registered and console open: stays available; the console closes: logged out; a registration that expires: logged out', async () => {
    await register('agent2', 60_000);
    const c = await console_('agent2');
    expect((await t.api.post('/api/agents/me/state').set(await auth('agent2')).send({ state: 'available' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_500)); // several sweeps past the grace period
    expect(await stateOf('agent2')).toBe('available');
    c.socket.disconnect();
    await until('logged out after the console left', async () => (await stateOf('agent2')) === 'logged_out');

    await register('window1', 3_000); // expires soon
    await console_('window1');
    expect((await t.api.post('/api/agents/me/state').set(await auth('window1')).send({ state: 'available' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await stateOf('window1')).toBe('available'); // past the grace period, still registered
    await until('logged out after the registration expired', async () => (await stateOf('window1')) === 'logged_out');
  });
});

describe('stale call records', () => {
  it('records still queued or answered hours after the offer are closed by the system; fresh ones are left alone', async () => {
    const Call = callModel(t.app.mongo);
    const old = new Date(Date.now() - 2 * 3600_000);
    const base = { instance: 'gone', line: 'main', lineName: '12345', fromNumber: '13900000000', displayName: '', toNumber: '12345', sdp: '', priority: 0 };
    await Call.create([
      { ...base, _id: 'stale-queued', offeredAt: old, queuedAt: old, outcome: 'queued' },
      { ...base, _id: 'stale-answered', offeredAt: old, queuedAt: old, answeredAt: old, answeredBy: 'agent1', outcome: 'answered' },
      { ...base, _id: 'fresh-answered', offeredAt: new Date(), queuedAt: new Date(), answeredAt: new Date(), answeredBy: 'agent1', outcome: 'answered' },
    ]);
    // one that only Redis has (on FerretDB a live record is written to MongoDB when it finishes)
    await t.app.calls.records.create(newCallDoc({ ...base, _id: 'stale-live', offeredAt: old, queuedAt: old, answeredAt: old, answeredBy: 'agent1', outcome: 'answered' }));
    const r = await t.app.calls.sweepStale();
    expect(r.closed.sort()).toEqual(['stale-answered', 'stale-live', 'stale-queued']);
    await t.app.calls.records.flushAll();
    const docs = Object.fromEntries((await Call.find({ _id: { $in: ['stale-queued', 'stale-answered', 'fresh-answered'] } }).lean()).map((d) => [d._id, d]));
    expect(docs['stale-queued']).toMatchObject({ outcome: 'abandoned', abandonReason: 'stale' });
    expect(docs['stale-answered']).toMatchObject({ outcome: 'ended', endedBy: 'system', endReason: 'stale' });
    expect(await Call.findById('stale-live').lean()).toMatchObject({ outcome: 'ended', endedBy: 'system', endReason: 'stale' });
    expect(docs['fresh-answered']).toMatchObject({ outcome: 'answered' });
    expect((await t.app.calls.sweepStale()).closed).toEqual([]); // nothing left: idempotent
  });
});
