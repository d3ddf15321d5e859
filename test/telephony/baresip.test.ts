// The real baresip (baresip-core) as an agent's phone: it registers against our registrar with
// digest authentication, and answers an INVITE (sent by SIPp) with SDP, takes ACK and BYE.
// Registrar on 127.0.0.4, baresip on 127.0.0.5, SIPp on 127.0.0.1: distinct hosts (defect 1).
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryBindingStore } from '../../telephony/src/binding-store.js';
import { startRegistrar, type Registrar } from '../../telephony/src/registrar.js';
import { REGISTRATION_RESULT, startBaresip, type Baresip } from './baresip.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const REGISTRAR_IP = '127.0.0.4';
const PHONE_IP = '127.0.0.5';
const REALM = 'hotline.test';
const users: Record<string, { password: string }> = { '1001': { password: 's3cret-1001' } };

let registrar: Registrar | undefined;
let phone: Baresip | undefined;

async function start(): Promise<Registrar> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort(REGISTRAR_IP);
    try {
      return await startRegistrar({
        address: REGISTRAR_IP, port, realm: REALM, store: new InMemoryBindingStore(),
        lookupCredentials: async (u) => users[u] ?? null,
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw e;
    }
  }
}

afterEach(async () => {
  await phone?.stop();
  phone = undefined;
  await registrar?.stop();
  registrar = undefined;
});

describe('baresip as the agent phone', { timeout: 30_000 }, () => {
  it('registers with digest authentication: binding in the store with baresip\'s contact', async () => {
    registrar = await start();
    phone = await startBaresip({
      user: '1001', password: 's3cret-1001', domain: REALM,
      registrar: { address: registrar.address, port: registrar.port },
      localAddress: PHONE_IP, answer: 'auto', regint: 600,
    });
    const bindings = await registrar.store.list(registrar.aorOf('1001'), Date.now());
    expect(bindings).toHaveLength(1);
    expect(bindings[0]?.contact).toContain(`@${PHONE_IP}:${phone.sipPort}`);
    expect(bindings[0]?.source).toMatchObject({ protocol: 'UDP', address: PHONE_IP, port: phone.sipPort });
    expect(bindings[0]?.userAgent).toMatch(/baresip/i);
    expect(registrar.stats).toMatchObject({ challenges: 1, registrations: 1, authFailures: 0, errors: 0 });
    // the control channel works: baresip's own view of the registration
    expect(await phone.command('reginfo')).toMatch(/OK/);
  });

  it('wrong password: 403, no binding', async () => {
    registrar = await start();
    phone = await startBaresip({
      user: '1001', password: 'guess-123', domain: REALM,
      registrar: { address: registrar.address, port: registrar.port },
      localAddress: PHONE_IP, answer: 'auto', waitForRegistration: false,
    });
    const m = await phone.waitForOutput(REGISTRATION_RESULT);
    expect(m[1]).toBeUndefined();
    expect(m[2]).toBe('403');
    expect(registrar.stats.authFailures).toBeGreaterThan(0);
    expect(registrar.stats.registrations).toBe(0);
    expect(await registrar.store.list(registrar.aorOf('1001'), Date.now())).toEqual([]);
  });

  it('auto-answers an INVITE from SIPp: 200 with SDP, ACK, BYE → 200', async () => {
    registrar = await start();
    phone = await startBaresip({
      user: '1001', password: 's3cret-1001', domain: REALM,
      registrar: { address: registrar.address, port: registrar.port },
      localAddress: PHONE_IP, answer: 'auto',
    });
    // call the phone where the registrar says it is
    const [b] = await registrar.store.list(registrar.aorOf('1001'), Date.now());
    expect(b).toBeDefined();
    const run = await runSipp({
      scenario: 'uac-to-phone.xml',
      target: { address: b!.source.address, port: b!.source.port },
      localAddress: '127.0.0.1',
      args: ['-s', '1001'],
    });
    expect(run.code, describeRun(run)).toBe(0);
    // the SDP answer: media on the phone's loopback address, G.711
    expect(run.logs).toMatch(new RegExp(`answer-sdp=c=IN IP4 ${PHONE_IP.replace(/\./g, '\\.')} m=audio \\d+ RTP/AVP 0`));
    await phone.waitForEvent('CALL_ESTABLISHED');
    await phone.waitForEvent('CALL_CLOSED');
  });

  it('manual answer: rings (180) until the agent accepts through the control channel', async () => {
    registrar = await start();
    const p = (phone = await startBaresip({
      user: '1001', password: 's3cret-1001', domain: REALM,
      registrar: { address: registrar.address, port: registrar.port },
      localAddress: PHONE_IP, answer: 'manual',
    }));
    const call = runSipp({
      scenario: 'uac-to-phone.xml',
      target: { address: PHONE_IP, port: p.sipPort },
      localAddress: '127.0.0.1',
      args: ['-s', '1001'],
    });
    const incoming = await p.waitForEvent('CALL_INCOMING');
    expect(incoming.peeruri).toMatch(/^sip:13800138000@127\.0\.0\.1/);
    await new Promise((r) => setTimeout(r, 300)); // still ringing: no answer on its own
    expect(p.events.some((e) => e.type === 'CALL_ESTABLISHED')).toBe(false);
    await p.command('accept');
    const run = await call;
    expect(run.code, describeRun(run)).toBe(0);
    await p.waitForEvent('CALL_CLOSED');
  });
});
