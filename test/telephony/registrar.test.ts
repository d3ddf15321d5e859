// The registrar against the real SIPp (sip-tester) as the agent's phone, over UDP on loopback.
// The registrar listens on 127.0.0.2 and SIPp on 127.0.0.1: distinct hosts, so nothing here
// depends on the same-host next-hop defect of sip@0.0.6 (the registrar only answers requests;
// responses go back to the datagram's source address).
import { createSocket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ha1Of } from '../../telephony/src/digest.js';
import { startRegistrar, type Registrar, type RegistrarOptions } from '../../telephony/src/registrar.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const REGISTRAR_IP = '127.0.0.2';
const PHONE_IP = '127.0.0.1';
const REALM = 'hotline.test';
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const users: Record<string, { password?: string; ha1?: string }> = {
  '1001': { password: 's3cret-1001' },
  '1002': { ha1: ha1Of('1002', REALM, 'pw-1002') },
};

let clock = T0;
let registrar: Registrar;
let logs: Array<Record<string, unknown>>;

async function start(extra: Partial<RegistrarOptions> = {}): Promise<Registrar> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort(REGISTRAR_IP);
    try {
      return await startRegistrar({
        address: REGISTRAR_IP,
        port,
        realm: REALM,
        now: () => clock,
        lookupCredentials: async (u) => users[u] ?? null,
        logger: {
          info: (o) => logs.push({ level: 'info', ...o }),
          warn: (o) => logs.push({ level: 'warn', ...o }),
          error: (o) => logs.push({ level: 'error', ...o }),
        },
        minExpires: 60,
        maxExpires: 3600,
        ...extra,
      });
    } catch (e) {
      // the free port was taken between the probe and the bind: try another
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
    }
  }
}

function sipp(scenario: string, args: string[], more: { localPort?: number; calls?: number } = {}) {
  return runSipp({
    scenario,
    target: { address: registrar.address, port: registrar.port },
    localAddress: PHONE_IP,
    args,
    ...more,
  });
}

const phone = (user: string, password: string) => ['-s', user, '-au', user, '-ap', password, '-key', 'realm', REALM];

beforeEach(async () => {
  clock = T0;
  logs = [];
  registrar = await start();
});

afterEach(async () => {
  await registrar.stop();
});

describe('REGISTER with digest authentication (SIPp phone)', () => {
  it('challenges with 401, then 200 with the binding and its expiry', async () => {
    const localPort = await freeUdpPort(PHONE_IP);
    const run = await sipp('register.xml', [...phone('1001', 's3cret-1001'), '-key', 'expires', '600'], { localPort });
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('binding-expires=600');

    const bindings = await registrar.store.list(registrar.aorOf('1001'), clock);
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({
      aor: 'sip:1001@hotline.test',
      contact: `sip:1001@${PHONE_IP}:${localPort}`,
      expiresAt: T0 + 600_000,
      source: { protocol: 'UDP', address: PHONE_IP, port: localPort },
      userAgent: 'SIPp agent phone',
    });
    expect(registrar.stats).toMatchObject({ challenges: 1, registrations: 1, authFailures: 0, errors: 0 });

    // expiry honoured: gone once its time has passed
    clock = T0 + 600_001;
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toEqual([]);
  });

  it('accepts a precomputed HA1 from the directory and cuts a too-long expiry to the maximum', async () => {
    const run = await sipp('register.xml', [...phone('1002', 'pw-1002'), '-key', 'expires', '86400']);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('binding-expires=3600');
    const [b] = await registrar.store.list(registrar.aorOf('1002'), clock);
    expect(b?.expiresAt).toBe(T0 + 3_600_000);
  });

  it('wrong password: 401 then 403, no binding, failure logged without password or digest', async () => {
    const run = await sipp('register-wrong-password.xml', [...phone('1001', 'guess-123'), '-key', 'expires', '600']);
    expect(run.code, describeRun(run)).toBe(0);
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toEqual([]);
    expect(registrar.stats).toMatchObject({ challenges: 1, authFailures: 1, registrations: 0 });

    const failure = logs.find((l) => l.event === 'register.auth_failed');
    expect(failure).toMatchObject({ level: 'warn', source: PHONE_IP, username: '1001', reason: 'bad_credentials' });
    const text = JSON.stringify(logs);
    expect(text).not.toContain('guess-123');
    expect(text).not.toMatch(/[0-9a-f]{32}/); // no digest response (or HA1) in the logs
    expect(text).not.toMatch(/nonce|"response"/i);
  });

  it('a wrong answer fails the SIPp scenario (the scenarios really check)', async () => {
    const run = await sipp('register.xml', [...phone('1001', 'guess-123'), '-key', 'expires', '600']);
    expect(run.code).toBe(1);
    expect(run.errors).toMatch(/403/);
  });

  it('unknown user gets the same answer as a wrong password', async () => {
    const run = await sipp('register-wrong-password.xml', [...phone('7777', 'whatever'), '-key', 'expires', '600']);
    expect(run.code, describeRun(run)).toBe(0);
    expect(registrar.stats).toMatchObject({ challenges: 1, authFailures: 1 });
    expect(logs.find((l) => l.event === 'register.auth_failed')).toMatchObject({ reason: 'bad_credentials' });
  });

  it('Expires: 0 unregisters: 200 without Contact, binding gone', async () => {
    const localPort = await freeUdpPort(PHONE_IP);
    const reg = await sipp('register.xml', [...phone('1001', 's3cret-1001'), '-key', 'expires', '600'], { localPort });
    expect(reg.code, describeRun(reg)).toBe(0);
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toHaveLength(1);

    const unreg = await sipp('unregister.xml', phone('1001', 's3cret-1001'), { localPort });
    expect(unreg.code, describeRun(unreg)).toBe(0);
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toEqual([]);
    expect(registrar.stats).toMatchObject({ registrations: 1, unregistrations: 1, authFailures: 0 });
  });
  it('unregistering one phone keeps the agent\'s other phone (and unregister.xml notices a leftover Contact)', async () => {
    const desk = await freeUdpPort(PHONE_IP);
    expect((await sipp('register.xml', [...phone('1001', 's3cret-1001'), '-key', 'expires', '600'], { localPort: desk })).code).toBe(0);
    expect((await sipp('register.xml', [...phone('1001', 's3cret-1001'), '-key', 'expires', '600'])).code).toBe(0);
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toHaveLength(2);

    const unreg = await sipp('unregister.xml', phone('1001', 's3cret-1001'), { localPort: desk });
    expect(unreg.code).toBe(1); // the 200 still lists the softphone, which the scenario forbids
    expect(unreg.errors).toMatch(/Regexp matched but should not/);
    const left = await registrar.store.list(registrar.aorOf('1001'), clock);
    expect(left.map((b) => b.contact)).not.toContain(`sip:1001@${PHONE_IP}:${desk}`);
    expect(left).toHaveLength(1);
  });
});

describe('a Contact that is the registrar itself (TELEPHONY-NOTES defect 1)', () => {
  it('is refused with 403 even with the right password, logged, and no binding is stored', async () => {
    const run = await sipp('hard-register-own-contact.xml', phone('1001', 's3cret-1001'));
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('answer=SIP/2.0 403 Contact Is The Registrar Itself');
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toEqual([]);
    expect(logs.find((l) => l.event === 'register.own_address_contact')).toMatchObject({
      level: 'warn',
      aor: 'sip:1001@hotline.test',
      contact: `sip:1001@${REGISTRAR_IP}:${registrar.port}`,
      source: PHONE_IP,
    });
    expect(JSON.stringify(logs)).not.toContain('s3cret-1001');
  });

  it('another port on the registrar\'s host is a different endpoint and is accepted', async () => {
    // the phone (SIPp) on the registrar's own IP, another port
    const localPort = await freeUdpPort(REGISTRAR_IP);
    const run = await runSipp({
      scenario: 'register.xml', target: { address: registrar.address, port: registrar.port }, localAddress: REGISTRAR_IP, localPort,
      args: [...phone('1001', 's3cret-1001'), '-key', 'expires', '600'],
    });
    expect(run.code, describeRun(run)).toBe(0);
    const [b] = await registrar.store.list(registrar.aorOf('1001'), clock);
    expect(b?.contact).toBe(`sip:1001@${REGISTRAR_IP}:${localPort}`);
  });
});

describe('rate limiting of authentication failures', () => {
  it('after 5 failures in a minute the source gets 403 with no challenge, even with the right password', async () => {
    const bad = await sipp('register-wrong-password.xml', [...phone('1001', 'guess-123'), '-key', 'expires', '600'], { calls: 5 });
    expect(bad.code, describeRun(bad)).toBe(0);
    expect(registrar.stats).toMatchObject({ challenges: 5, authFailures: 5 });
    expect(registrar.isBlocked(PHONE_IP)).toBe(true);

    const blocked = await sipp('register-blocked.xml', phone('1001', 's3cret-1001'), { calls: 3 });
    expect(blocked.code, describeRun(blocked)).toBe(0);
    expect(registrar.stats).toMatchObject({ challenges: 5, authFailures: 5, rateLimited: 3, registrations: 0 });
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toEqual([]);

    const blockLogs = logs.filter((l) => l.event === 'register.source_blocked');
    expect(blockLogs).toEqual([expect.objectContaining({ level: 'warn', source: PHONE_IP, failuresInWindow: 5 })]);
    expect(JSON.stringify(logs)).not.toContain('guess-123');

    // other sources are not affected, and the block lifts when the window has passed
    expect(registrar.isBlocked('127.0.0.3')).toBe(false);
    clock = T0 + 60_001;
    const ok = await sipp('register.xml', [...phone('1001', 's3cret-1001'), '-key', 'expires', '600']);
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(await registrar.store.list(registrar.aorOf('1001'), clock)).toHaveLength(1);
  });
});

describe('other requests', () => {
  it('OPTIONS → 200 with Allow', async () => {
    const run = await sipp('options.xml', []);
    expect(run.code, describeRun(run)).toBe(0);
  });

  it('an unknown method → 501, a known one the registrar does not serve → 405', async () => {
    const unknown = await sipp('unknown-method.xml', []);
    expect(unknown.code, describeRun(unknown)).toBe(0);
    const notAllowed = await sipp('method-not-allowed.xml', []);
    expect(notAllowed.code, describeRun(notAllowed)).toBe(0);
    expect(registrar.stats).toMatchObject({ requests: 2, errors: 0 });
  });

  it('drops an oversized datagram before parsing and garbage silently, and keeps answering', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, PHONE_IP, () => r()));
    const send = (b: Buffer) =>
      new Promise<void>((res, rej) => s.send(b, registrar.port, registrar.address, (e) => (e ? rej(e) : res())));
    // 60 KB: a REGISTER start line followed by spaces (the quadratic-framing payload of defect 6)
    await send(Buffer.concat([Buffer.from('REGISTER sip:x SIP/2.0\r\n'), Buffer.alloc(60_000, ' ')]));
    await send(Buffer.from('\x00\x01 not sip at all \r\n\r\n'));
    s.close();
    await vi.waitFor(() => expect(registrar.stats.oversizeDropped).toBe(1));
    expect(logs.find((l) => l.event === 'registrar.oversize_dropped')).toMatchObject({ size: 60_024 });

    const run = await sipp('options.xml', []);
    expect(run.code, describeRun(run)).toBe(0);
    expect(registrar.stats.errors).toBe(0);
  });
});

describe('startup', () => {
  it('rejects (instead of crashing the process) when the port is taken', async () => {
    await expect(
      startRegistrar({ address: REGISTRAR_IP, port: registrar.port, realm: REALM, lookupCredentials: async () => null }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });
});
