/**
 * Call records with write-behind (server/src/calls/call-store.ts) on the real Redis and FerretDB
 * of the test run: records live in Redis, reach MongoDB in batches (a finished call at once, a
 * live one after the delay), nothing is lost when a record changes during its flush or when
 * the flushing process dies, and only one flusher writes at a time.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallStore, newCallDoc } from '../../../server/src/calls/call-store.js';
import { callModel, type CallDoc } from '../../../server/src/calls/model.js';
import { createLogger } from '../../../server/src/shared/logger.js';
import { serviceUrls } from '../../helpers/app.js';
import { until } from '../../helpers/until.js';

const TAG = `{cdr${randomBytes(4).toString('hex')}}`;
const log = createLogger('silent');
let redis: Redis;
let redis2: Redis;
let conn: Connection;
let seq = 0;

beforeAll(async () => {
  const urls = serviceUrls();
  redis = new Redis(urls.redis, { maxRetriesPerRequest: 2 });
  redis2 = new Redis(urls.redis, { maxRetriesPerRequest: 2 });
  conn = await mongoose.createConnection(`${urls.mongo}/cdr_${randomBytes(4).toString('hex')}`).asPromise();
  await callModel(conn).init();
});

afterAll(async () => {
  const keys = await redis.keys(`${TAG}*`);
  if (keys.length > 0) await redis.del(...keys);
  await conn.dropDatabase();
  await conn.close();
  redis.disconnect();
  redis2.disconnect();
});

function store(opts: { redis?: Redis; now?: () => number; flushDelayMs?: number; prefix?: string; flushLive?: boolean } = {}): CallStore {
  return new CallStore({
    redis: opts.redis ?? redis,
    prefix: opts.prefix ?? `${TAG}:s${++seq}`,
    Call: callModel(conn),
    log,
    flushDelayMs: opts.flushDelayMs ?? 2_000,
    flushLive: opts.flushLive ?? true,
    now: opts.now,
  });
}

const call = (id: string, extra: Partial<CallDoc> = {}): CallDoc =>
  newCallDoc({ _id: id, line: 'main', lineName: '12345', fromNumber: '13800000000', offeredAt: new Date('2026-11-26T08:00:00Z'), queuedAt: new Date('2026-11-26T08:00:00Z'), outcome: 'queued', ...extra });

const inMongo = (id: string) => callModel(conn).findById(id).lean<CallDoc>();

describe('CallStore', () => {
  it('a live record waits for the delay, a finished one is written at once, with its dates and fields intact', async () => {
    let now = 1_000_000;
    const s = store({ now: () => now });
    const id = `live-${randomBytes(3).toString('hex')}`;
    expect(await s.create(call(id))).toBe(true);
    expect(await s.create(call(id))).toBe(false); // a redelivered offer
    expect(await s.flushDue()).toBe(0);
    expect(await inMongo(id)).toBeNull();
    // readers see the live copy meanwhile
    expect(await s.get(id)).toMatchObject({ _id: id, outcome: 'queued', offeredAt: new Date('2026-11-26T08:00:00Z') });

    now += 2_001;
    expect(await s.flushDue()).toBe(1);
    expect(await inMongo(id)).toMatchObject({ outcome: 'queued', fromNumber: '13800000000', ticketIds: [] });

    now += 10;
    const answeredAt = new Date('2026-11-26T08:00:05Z');
    await s.update(id, { outcome: 'answered', answeredAt, answeredBy: 'agent1' });
    expect(await s.flushDue()).toBe(0); // still live: due after the delay
    await s.update(id, { outcome: 'ended', endedAt: new Date('2026-11-26T08:01:05Z'), talkMs: 60_000, endedBy: 'caller' });
    expect(await s.flushDue()).toBe(1); // over: due at once
    const doc = await inMongo(id);
    expect(doc).toMatchObject({ outcome: 'ended', answeredBy: 'agent1', talkMs: 60_000, endedBy: 'caller' });
    expect(doc!.answeredAt).toEqual(answeredAt);
    expect(doc!.endedAt).toBeInstanceOf(Date);
    expect(await s.pending()).toBe(0);
    // a finished record stays readable in Redis for a while, then expires
    const ttl = await redis.ttl(`${(s as unknown as { o: { prefix: string } }).o.prefix}:cdr:${id}`);
    expect(ttl).toBeGreaterThan(80_000);
  });

  it('a finished call costs MongoDB one insert: offer, answer and end inside the delay are one document write', async () => {
    const s = store({ flushDelayMs: 60_000 });
    const id = `short-${randomBytes(3).toString('hex')}`;
    await s.create(call(id));
    await s.update(id, { outcome: 'answered', answeredBy: 'agent2', answeredAt: new Date() });
    expect(await s.flushDue()).toBe(0);
    await s.update(id, { outcome: 'ended', endedAt: new Date(), endedBy: 'agent' });
    expect(await s.flushDue()).toBe(1);
    expect(await inMongo(id)).toMatchObject({ outcome: 'ended', answeredBy: 'agent2', endedBy: 'agent' });
  });

  it('a record changed while it is being flushed stays dirty, and the next flush writes the change', async () => {
    const s = store({ flushDelayMs: 0 });
    const id = `race-${randomBytes(3).toString('hex')}`;
    await s.create(call(id));
    // change the record between the flusher's read and its ack: wrap the collection write
    const coll = callModel(conn).collection;
    const original = coll.insertMany.bind(coll);
    (coll as { insertMany: unknown }).insertMany = async (...args: Parameters<typeof original>) => {
      const r = await original(...args);
      await s.update(id, { outcome: 'abandoned', abandonReason: 'caller-cancel', endedAt: new Date() });
      return r;
    };
    try {
      await s.flushDue();
    } finally {
      (coll as { insertMany: unknown }).insertMany = original;
    }
    expect((await inMongo(id))?.outcome).toBe('queued'); // what the flush read
    expect(await s.pending()).toBe(1); // …but the change is still due
    await s.flushDue();
    expect(await inMongo(id)).toMatchObject({ outcome: 'abandoned', abandonReason: 'caller-cancel' });
    expect(await s.pending()).toBe(0);
  });

  it('a flush that died after writing MongoDB but before its ack is repeated as a replacement, not a duplicate', async () => {
    const s = store({ flushDelayMs: 0 });
    const id = `replay-${randomBytes(3).toString('hex')}`;
    await s.create(call(id, { outcome: 'abandoned', abandonReason: 'caller-cancel' }));
    await callModel(conn).collection.insertOne({ ...call(id), outcome: 'queued' } as never); // the dead flush's write
    expect(await s.flushDue()).toBe(1);
    expect(await callModel(conn).countDocuments({ _id: id })).toBe(1);
    expect(await inMongo(id)).toMatchObject({ outcome: 'abandoned' });
  });

  it('a record only MongoDB has (older than Redis keeps) is loaded for a change, not overwritten by a partial one', async () => {
    const s = store({ flushDelayMs: 0 });
    const id = `old-${randomBytes(3).toString('hex')}`;
    await callModel(conn).create(call(id, { outcome: 'answered', answeredBy: 'agent3' }));
    expect(await s.addToSet(id, 'ticketIds', 'ticket-1')).toBe(true);
    expect(await s.addToSet(id, 'ticketIds', 'ticket-1')).toBe(true); // once only
    expect(await s.addToSet(id, 'ticketIds', 'ticket-2')).toBe(true);
    expect(await s.update('no-such-call', { outcome: 'ended' })).toBe(false);
    await s.flushAll();
    expect(await inMongo(id)).toMatchObject({ outcome: 'answered', answeredBy: 'agent3', fromNumber: '13800000000', ticketIds: ['ticket-1', 'ticket-2'] });
    expect(await inMongo('no-such-call')).toBeNull();
  });

  it('with live flushing off (FerretDB), a record reaches MongoDB only when its call is over, as one insert', async () => {
    let now = 5_000_000;
    const s = store({ now: () => now, flushLive: false });
    const id = `nolive-${randomBytes(3).toString('hex')}`;
    await s.create(call(id));
    await s.update(id, { outcome: 'answered', answeredBy: 'agent4', answeredAt: new Date() });
    now += 3_600_000;
    expect(await s.pending()).toBe(0); // nothing due, however long the call lasts
    expect(await s.flushAll()).toBe(0);
    expect(await inMongo(id)).toBeNull();
    expect(await s.get(id)).toMatchObject({ outcome: 'answered', answeredBy: 'agent4' }); // read from Redis
    await s.update(id, { outcome: 'ended', endedAt: new Date(), endedBy: 'caller' });
    expect(await s.flushDue()).toBe(1);
    expect(await inMongo(id)).toMatchObject({ outcome: 'ended', answeredBy: 'agent4' });
  });

  it('open calls are indexed by offer time until they finish (the stale sweep reads this)', async () => {
    const s = store({ flushLive: false });
    const old = `open-old-${randomBytes(3).toString('hex')}`;
    const fresh = `open-new-${randomBytes(3).toString('hex')}`;
    const done = `open-done-${randomBytes(3).toString('hex')}`;
    await s.create(call(old, { offeredAt: new Date('2026-11-26T01:00:00Z') }));
    await s.create(call(fresh, { offeredAt: new Date('2026-11-26T09:00:00Z') }));
    await s.create(call(done, { offeredAt: new Date('2026-11-26T01:00:00Z') }));
    await s.update(done, { outcome: 'abandoned', abandonedAt: new Date() });
    expect(await s.openBefore(new Date('2026-11-26T08:00:00Z').getTime())).toEqual([old]);
    await s.update(old, { outcome: 'ended' });
    expect(await s.openBefore(new Date('2026-11-26T08:00:00Z').getTime())).toEqual([]);
  });

  it('one flusher at a time; when its process dies, another instance takes over and writes what was left', async () => {
    const prefix = `${TAG}:lease${++seq}`;
    const a = store({ prefix, flushDelayMs: 0 });
    const b = store({ prefix, flushDelayMs: 0, redis: redis2 });
    a.start(20);
    b.start(20);
    const ids = Array.from({ length: 20 }, (_, i) => `lease-${i}-${randomBytes(2).toString('hex')}`);
    for (const id of ids) await a.create(call(id, { outcome: 'ended' }));
    await until('all flushed', async () => (await a.pending()) === 0);
    expect(await redis.get(`${prefix}:cdr-flusher`)).toBeTruthy();
    // the holder "dies" without releasing the lease (no stop(): its timer just stops)
    const holder = (await redis.get(`${prefix}:cdr-flusher`)) === (a as unknown as { token: string }).token ? a : b;
    const other = holder === a ? b : a;
    (holder as unknown as { stopped: boolean }).stopped = true;
    clearTimeout((holder as unknown as { timer: NodeJS.Timeout }).timer);
    const more = `after-death-${randomBytes(2).toString('hex')}`;
    await other.create(call(more, { outcome: 'ended' }));
    await redis.pexpire(`${prefix}:cdr-flusher`, 200); // the lease runs out (10 s in production)
    await until('the other instance flushed it', async () => (await inMongo(more)) !== null, 10_000);
    await other.stop();
    for (const id of ids) expect((await inMongo(id))?.outcome).toBe('ended');
  });
});
