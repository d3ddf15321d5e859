/**
 * RedisBindingStore against the real Redis of the test run (test/global-setup.ts): the same
 * contract as InMemoryBindingStore, shared by two clients (two telephony instances), expiry
 * honoured with lazy removal, key TTLs, and the presence queries used for reconciliation.
 * Every test uses its own prefix under this file's hash tag; afterAll deletes them all.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Binding } from '../../telephony/src/binding-store.js';
import { RedisBindingStore } from '../../telephony/src/redis-binding-store.js';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z: the store uses the caller's clock, not Redis's
const FILE_TAG = `{sipbind${randomBytes(4).toString('hex')}}`;
let seq = 0;
let r1: Redis;
let r2: Redis;

beforeAll(() => {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL not set: run through vitest (test/global-setup.ts)');
  r1 = new Redis(url, { maxRetriesPerRequest: 2 });
  r2 = new Redis(url, { maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  const keys = await r1.keys(`${FILE_TAG}*`);
  if (keys.length) await r1.del(...keys);
  r1.disconnect();
  r2.disconnect();
});

let clock = T0;
/** Two stores on two connections sharing one prefix: two telephony instances. */
function stores(): { a: RedisBindingStore; b: RedisBindingStore; prefix: string } {
  const prefix = `${FILE_TAG}:t${++seq}`;
  clock = T0;
  return {
    a: new RedisBindingStore(r1, prefix, { now: () => clock }),
    b: new RedisBindingStore(r2, prefix, { now: () => clock }),
    prefix,
  };
}

const binding = (aor: string, contact: string, expiresInS: number, o: Partial<Binding> = {}): Binding => ({
  aor,
  contact,
  expiresAt: clock + expiresInS * 1000,
  callId: 'cid-' + contact,
  cseq: 1,
  source: { protocol: 'UDP', address: '127.0.0.1', port: 5060 },
  updatedAt: clock,
  ...o,
});

const AOR = 'sip:1001@hotline.test';

describe('RedisBindingStore', () => {
  it('put/list/remove/removeAll with the BindingStore contract; values round-trip (incl. UTF-8 user agent)', async () => {
    const { a, b } = stores();
    expect(await a.list(AOR, clock)).toEqual([]);
    const desk = binding(AOR, 'sip:1001@10.0.0.5:5060', 600, { userAgent: '坐席话机 1.0' });
    await a.put(desk);
    await b.put(binding(AOR, 'sip:1001@10.0.0.6:5062;transport=udp', 300));
    const both = await b.list(AOR, clock);
    expect(both.map((x) => x.contact).sort()).toEqual(['sip:1001@10.0.0.5:5060', 'sip:1001@10.0.0.6:5062;transport=udp']);
    expect(both.find((x) => x.contact === desk.contact)).toEqual(desk);

    // put replaces the same (aor, contact)
    await b.put({ ...desk, expiresAt: clock + 900_000, cseq: 2 });
    const replaced = await a.list(AOR, clock);
    expect(replaced).toHaveLength(2);
    expect(replaced.find((x) => x.contact === desk.contact)).toMatchObject({ cseq: 2, expiresAt: T0 + 900_000 });

    await a.remove(AOR, desk.contact);
    expect((await b.list(AOR, clock)).map((x) => x.contact)).toEqual(['sip:1001@10.0.0.6:5062;transport=udp']);
    await a.remove(AOR, 'sip:nobody@nowhere'); // removing an unknown contact is harmless

    await b.put(desk);
    await a.removeAll(AOR);
    expect(await b.list(AOR, clock)).toEqual([]);
    expect(await a.isRegistered(AOR, clock)).toBe(false);
    expect(await a.registeredUsers(clock)).toEqual([]);
  });

  it('expired bindings are ignored and lazily removed; the key TTL follows the latest expiry', async () => {
    const { a, b, prefix } = stores();
    const key = `${prefix}:b:${AOR}`;
    await a.put(binding(AOR, 'sip:1001@10.0.0.5', 120));
    await a.put(binding(AOR, 'sip:1001@10.0.0.6', 600));
    const ttl = await r1.pttl(key);
    expect(ttl).toBeGreaterThan(599_000);
    expect(ttl).toBeLessThanOrEqual(600_000);

    clock = T0 + 120_000; // the first one expires exactly now
    const left = await b.list(AOR, clock);
    expect(left.map((x) => x.contact)).toEqual(['sip:1001@10.0.0.6']);
    expect(await r1.hkeys(key)).toEqual(['sip:1001@10.0.0.6']); // removed from Redis, not only filtered

    // removing the longest-lived binding shortens the TTL to the remaining one
    clock = T0;
    await a.put(binding(AOR, 'sip:1001@10.0.0.7', 200));
    await a.remove(AOR, 'sip:1001@10.0.0.6');
    const ttl2 = await r1.pttl(key);
    expect(ttl2).toBeGreaterThan(199_000);
    expect(ttl2).toBeLessThanOrEqual(200_000);

    // all expired: the list is empty and the key and index entry are gone
    clock = T0 + 200_000;
    expect(await a.list(AOR, clock)).toEqual([]);
    expect(await r1.exists(key)).toBe(0);
    expect(await r1.zscore(`${prefix}:aors`, AOR)).toBeNull();

    // putting an already expired binding stores nothing
    await a.put(binding(AOR, 'sip:1001@10.0.0.8', 0));
    expect(await r1.exists(key)).toBe(0);
  });

  it('a dead AOR vanishes by itself (Redis key expiry), and the index no longer counts it', async () => {
    const { a, prefix } = stores();
    // expiry 1 s (the registrar never stores so short a binding; the store does not care)
    await a.put(binding(AOR, 'sip:1001@10.0.0.5', 1));
    expect(await r1.exists(`${prefix}:b:${AOR}`)).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await r1.exists(`${prefix}:b:${AOR}`)).toBe(0);
    clock = T0 + 1000;
    expect(await a.isRegistered(AOR, clock)).toBe(false);
    expect(await a.registeredUsers(clock)).toEqual([]);
    expect(await a.list(AOR, clock)).toEqual([]);
    expect(await r1.zscore(`${prefix}:aors`, AOR)).toBeNull(); // list pruned the stale index entry
  });

  it('presence for reconciliation: registeredUsers, isRegistered, unregistered, purgeExpired', async () => {
    const { a, b, prefix } = stores();
    const aor = (u: string) => `sip:${u}@hotline.test`;
    await a.put(binding(aor('1001'), 'sip:1001@10.0.0.1', 600));
    await b.put(binding(aor('1002'), 'sip:1002@10.0.0.2', 60));
    await b.put(binding(aor('1002'), 'sip:1002@10.0.0.3', 120));
    await a.put(binding(aor('1003'), 'sip:1003@10.0.0.4', 60));

    expect((await b.registeredUsers(clock)).sort()).toEqual([aor('1001'), aor('1002'), aor('1003')]);
    clock = T0 + 60_000;
    // 1002 still has one phone; 1003 has none (nothing has touched its key yet)
    expect((await b.registeredUsers(clock)).sort()).toEqual([aor('1001'), aor('1002')]);
    expect(await a.isRegistered(aor('1002'), clock)).toBe(true);
    expect(await a.isRegistered(aor('1003'), clock)).toBe(false);
    expect(await a.unregistered([aor('1001'), aor('1003'), aor('9999')], clock)).toEqual([aor('1003'), aor('9999')]);
    expect(await a.unregistered([], clock)).toEqual([]);

    clock = T0 + 120_000;
    expect(await a.registeredUsers(clock)).toEqual([aor('1001')]);
    // the purge removes what expired everywhere (1002's two phones, 1003's phone)
    expect(await b.purgeExpired(clock)).toBe(2);
    expect(await r1.exists(`${prefix}:b:${aor('1002')}`, `${prefix}:b:${aor('1003')}`)).toBe(0);
    expect(await r1.zrange(`${prefix}:aors`, '0', '-1')).toEqual([aor('1001')]);
    expect(await b.purgeExpired(clock)).toBe(0);
  });

  it('concurrent REGISTERs of one AOR from two instances: every binding kept, TTL and index consistent', async () => {
    const { a, b, prefix } = stores();
    const puts: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const s = i % 2 ? a : b;
      puts.push(s.put(binding(AOR, `sip:1001@10.0.1.${i}`, 60 + i)));
      if (i % 5 === 4) puts.push(s.remove(AOR, `sip:1001@10.0.1.${i - 2}`));
    }
    await Promise.all(puts);
    const left = await a.list(AOR, clock);
    // removes raced with their puts; whatever is left, the index and TTL match the latest expiry
    const latest = Math.max(...left.map((x) => x.expiresAt));
    expect(left.length).toBeGreaterThanOrEqual(40);
    expect(Number(await r1.zscore(`${prefix}:aors`, AOR))).toBe(latest);
    const ttl = await r1.pttl(`${prefix}:b:${AOR}`);
    expect(ttl).toBeGreaterThan(latest - clock - 1000);
    expect(ttl).toBeLessThanOrEqual(latest - clock);
  });

  it('a lazy removal never deletes a binding that another instance just refreshed', async () => {
    const { a, b } = stores();
    await a.put(binding(AOR, 'sip:1001@10.0.0.5', 60));
    // instance B refreshes at T0+59s while instance A lists at T0+60s (its view: expired)
    clock = T0 + 59_000;
    await b.put(binding(AOR, 'sip:1001@10.0.0.5', 60, { cseq: 2 }));
    clock = T0 + 60_000;
    const seen = await a.list(AOR, clock);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.cseq).toBe(2);
  });
});
