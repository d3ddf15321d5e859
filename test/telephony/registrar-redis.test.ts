// The registrar with its bindings in Redis (RedisBindingStore), against the real SIPp phone and
// the Redis of the test run: two registrar instances share one store, as two telephony
// processes would. Registrars on 127.0.0.2 / 127.0.0.3, SIPp on 127.0.0.1 (distinct hosts).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisBindingStore } from '../../telephony/src/redis-binding-store.js';
import { startRegistrar, type Registrar } from '../../telephony/src/registrar.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const PHONE_IP = '127.0.0.1';
const REALM = 'hotline.test';
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const FILE_TAG = `{sipreg${randomBytes(4).toString('hex')}}`;
const users: Record<string, { password: string }> = { '1001': { password: 's3cret-1001' } };
const nonceSecret = randomBytes(32);

let redis: Redis;
let clock = T0;
let seq = 0;
let regA: Registrar;
let regB: Registrar;
let storeA: RedisBindingStore;

async function start(address: string, store: RedisBindingStore): Promise<Registrar> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort(address);
    try {
      return await startRegistrar({
        address, port, realm: REALM, now: () => clock, nonceSecret, store,
        lookupCredentials: async (u) => users[u] ?? null,
        minExpires: 60, maxExpires: 3600,
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
    }
  }
}

const phone = (user: string, password: string) => ['-s', user, '-au', user, '-ap', password, '-key', 'realm', REALM];
const sipp = (r: Registrar, scenario: string, args: string[], localPort?: number) =>
  runSipp({ scenario, target: { address: r.address, port: r.port }, localAddress: PHONE_IP, args, localPort });

beforeAll(() => {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL not set: run through vitest (test/global-setup.ts)');
  redis = new Redis(url, { maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  const keys = await redis.keys(`${FILE_TAG}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

beforeEach(async () => {
  clock = T0;
  const prefix = `${FILE_TAG}:t${++seq}`;
  storeA = new RedisBindingStore(redis, prefix, { now: () => clock });
  regA = await start('127.0.0.2', storeA);
  regB = await start('127.0.0.3', new RedisBindingStore(redis, prefix, { now: () => clock }));
});

afterEach(async () => {
  await regA.stop();
  await regB.stop();
});

describe('registrar with RedisBindingStore (SIPp phone, two instances)', () => {
  it('a binding made through one instance is seen by the other; expiry honoured', async () => {
    const localPort = await freeUdpPort(PHONE_IP);
    const run = await sipp(regA, 'register.xml', [...phone('1001', 's3cret-1001'), '-key', 'expires', '600'], localPort);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('binding-expires=600');

    const aor = regA.aorOf('1001');
    const bindings = await regB.store.list(aor, clock);
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({
      aor: 'sip:1001@hotline.test',
      contact: `sip:1001@${PHONE_IP}:${localPort}`,
      expiresAt: T0 + 600_000,
      source: { protocol: 'UDP', address: PHONE_IP, port: localPort },
      userAgent: 'SIPp agent phone',
    });
    expect(await storeA.isRegistered(aor, clock)).toBe(true);
    expect(await storeA.registeredUsers(clock)).toEqual([aor]);

    clock = T0 + 600_001;
    expect(await regB.store.list(aor, clock)).toEqual([]);
    expect(await storeA.isRegistered(aor, clock)).toBe(false);
  });

  it('registered through one instance, unregistered through the other (shared nonce secret)', async () => {
    const localPort = await freeUdpPort(PHONE_IP);
    const reg = await sipp(regA, 'register.xml', [...phone('1001', 's3cret-1001'), '-key', 'expires', '600'], localPort);
    expect(reg.code, describeRun(reg)).toBe(0);
    const unreg = await sipp(regB, 'unregister.xml', phone('1001', 's3cret-1001'), localPort);
    expect(unreg.code, describeRun(unreg)).toBe(0);
    expect(await regA.store.list(regA.aorOf('1001'), clock)).toEqual([]);
    expect(await storeA.registeredUsers(clock)).toEqual([]);
    expect(regB.stats).toMatchObject({ unregistrations: 1, authFailures: 0 });
  });

  it('wrong password: 403, nothing stored in Redis', async () => {
    const run = await sipp(regA, 'register-wrong-password.xml', [...phone('1001', 'guess-123'), '-key', 'expires', '600']);
    expect(run.code, describeRun(run)).toBe(0);
    expect(regA.stats).toMatchObject({ authFailures: 1, registrations: 0 });
    expect(await redis.keys(`${FILE_TAG}:t${seq}*`)).toEqual([]);
  });
});
