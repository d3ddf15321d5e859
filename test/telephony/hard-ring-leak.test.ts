// TELEPHONY-NOTES defect 4 through the whole adapter: the engine rings an agent whose phone rings
// (180), answers our CANCEL (ring timeout) with 200 and never sends the 487. The ring INVITE's
// client transaction must still be freed (64*T1 after the CANCEL, shortened here), the relay must
// report the ring failure once (the stack's synthetic 408 is not a second failure), and the
// caller's call goes on normally. Hosts: adapter 127.0.0.1, caller 127.0.0.2, phone 127.0.0.4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelephonyAdapter } from '../../telephony/src/adapter.js';
import type { CallEvent, CallEventPublisher } from '../../telephony/src/call-events.js';
import { until } from '../helpers/until.js';
import { describeRun, freeUdpPort, runSipp, startTelephonyOnFreePort } from './sipp.js';

const ADAPTER_IP = '127.0.0.1';
const CALLER_IP = '127.0.0.2';
const PHONE_IP = '127.0.0.4';
const REALM = 'hardleak.test';
const CANCEL_TIMEOUT_MS = 2_000;

let tel: TelephonyAdapter;
const events: CallEvent[] = [];
const publisher: CallEventPublisher = {
  publish: async (e) => void events.push(e),
  close: async () => {},
};

beforeAll(async () => {
  const tag = `hardleak${process.pid}`;
  tel = await startTelephonyOnFreePort(ADAPTER_IP, {
    realm: REALM, instance: tag, redisUrl: process.env.TEST_REDIS_URL!, queuePrefix: `{${tag}}`,
    requireEngineHeartbeat: false, publisher, inviteCancelTimeout: CANCEL_TIMEOUT_MS,
  });
}, 30_000);

afterAll(async () => {
  await tel?.stop();
});

describe('defect 4 through the adapter', { timeout: 60_000 }, () => {
  it('a phone that never answers our CANCEL with 487: the ring INVITE transaction is freed, one ring failure, the caller is unaffected', async () => {
    expect(tel.transactionCount().client).toBe(0);
    const phonePort = await freeUdpPort(PHONE_IP);
    await tel.bindings.put({
      aor: `sip:hard1@${REALM}`, contact: `sip:hard1@${PHONE_IP}:${phonePort}`, expiresAt: Date.now() + 600_000,
      callId: 'hardleak-reg', cseq: 1, source: { protocol: 'UDP', address: PHONE_IP, port: phonePort }, updatedAt: Date.now(),
    });
    const phone = runSipp({ scenario: 'hard-phone-180-silent.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: PHONE_IP, localPort: phonePort, args: ['-recv_timeout', '20000'] });
    await new Promise((r) => setTimeout(r, 300)); // SIPp binds its socket

    // the caller waits 10 s after ringback, then hangs up (CANCEL; the scenario requires 200 + 487)
    const started = Date.now();
    const caller = runSipp({ scenario: 'caller-cancel-after.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: CALLER_IP, args: ['-s', '12345', '-d', '10000', '-recv_timeout', '30000', '-timeout', '40s'], killAfterMs: 45_000 });
    const callId = await until('the call', async () => tel.relay.activeCalls.find((c) => c.receivedAt >= started)?.callId);
    const offerAt = Date.now();
    expect(await tel.relay.ring({ callId, agentId: 'agent-hard1', sipUser: 'hard1', offerAt, ringTimeoutMs: 1_000 })).toBe('ringing');

    const p = await phone;
    expect(p.code, describeRun(p)).toBe(0); // it got our INVITE and our CANCEL, and sent no 487
    expect(p.logs).toContain('cancel-answered-no-final');
    const cancelledAt = Date.now();

    // the ring INVITE (and the CANCEL, after its timer K) are gone: no client transaction left
    await until('client transactions back to 0', async () => tel.transactionCount().client === 0, 20_000);
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(CANCEL_TIMEOUT_MS - 1_000);

    const failures = events.filter((e) => e.type === 'call.ring-failed');
    expect(failures).toEqual([expect.objectContaining({ callId, agentId: 'agent-hard1', offerAt, reason: 'no-answer' })]);

    // the caller still gets its 200 + 487 when it hangs up
    const c = await caller;
    expect(c.code, describeRun(c)).toBe(0);
    expect(events.filter((e) => e.type === 'call.abandoned')).toEqual([expect.objectContaining({ callId })]);
    expect(events.filter((e) => e.type === 'call.ring-failed')).toHaveLength(1);
  });
});
