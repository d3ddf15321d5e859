// Hardening of the patched sip@0.0.6 stack (patches/sip+0.0.6.patch; TELEPHONY-NOTES defects 6,
// 4 and 1), checked on the running stack with real datagrams and a real SIPp peer.
import { createSocket, type Socket } from 'node:dgram';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sip, { type SipMessage } from 'sip';
import { afterEach, describe, expect, it } from 'vitest';
import { startTelephony } from '../../telephony/src/adapter.js';
import { buildGatewayTable } from '../../telephony/src/gateways.js';
import { startSipStack, type RunningStack } from '../../telephony/src/sip-stack.js';
import { until } from '../helpers/until.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A stack that answers every request 200 (with an Allow naming REGISTER, for options.xml). */
async function answeringStack(address: string, extra: { inviteCancelTimeout?: number } = {}): Promise<{ stack: RunningStack; requests: SipMessage[] }> {
  const requests: SipMessage[] = [];
  const port = await freeUdpPort(address);
  let stack: RunningStack | undefined;
  stack = await startSipStack({ address, port, ...extra }, (rq) => {
    requests.push(rq);
    if (rq.method !== 'ACK') stack?.send(sip.makeResponse(rq, 200, 'OK', { headers: { allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER' } }));
  });
  const s = stack;
  cleanups.push(() => s.destroy());
  return { stack: s, requests };
}

async function udpSocket(address: string): Promise<Socket> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
  return sock;
}

describe('defect 6: header parsing is linear (whitespace-padded datagrams under the 8 KB cap)', { timeout: 60_000 }, () => {
  it('50 padded datagrams from one source do not stall the event loop, and the stack still answers OPTIONS', async () => {
    const { stack } = await answeringStack('127.0.0.2');
    const sock = await udpSocket('127.0.0.31');
    const from = sock.address();
    let answered = 0;
    sock.on('message', (m) => {
      if (/^SIP\/2\.0 200 /.test(m.toString('latin1'))) answered++;
    });
    const pad = (n: number) => ' '.repeat(n);
    // each of these took 60-200 ms to parse on the unpatched stack; `Contact: <` + blanks is
    // cubic (97 s at 7,900 blanks; 1,500 here keep an unpatched run finite)
    const shapes: Array<(i: number) => string> = [
      (i) => `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bKpad${i}${pad(7_800)}`,
      (i) => `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bKpad${i}\r\nContact: <sip:a@${from.address}>${pad(7_700)}`,
      (i) => `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bKpad${i}\r\nRoute: <sip:a@${from.address}>${pad(7_700)}`,
      (i) => `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bKpad${i}\r\nRecord-Route: <sip:a@${from.address}>${'\t'.repeat(7_600)}`,
      (i) => `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=z9hG4bKpad${i}\r\nContact: <${pad(1_500)}`,
    ];
    const datagrams = Array.from({ length: 50 }, (_, i) => {
      const s =
        `OPTIONS sip:${stack.address}:${stack.port} SIP/2.0\r\n${shapes[i % shapes.length]!(i)}\r\n` +
        `From: <sip:pad@${from.address}>;tag=p${i}\r\nTo: <sip:${stack.address}>\r\nCall-ID: pad-${i}-${Date.now()}\r\n` +
        'CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n';
      return Buffer.from(s, 'latin1');
    });
    for (const d of datagrams) expect(d.length).toBeLessThan(8_192); // all under the size cap

    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const t0 = performance.now();
    for (const [i, d] of datagrams.entries()) {
      await new Promise<void>((r) => sock.send(d, stack.port, stack.address, () => r()));
      // 5 datagrams (40 KB) per 20 ms: within the default 208 KB receive buffer, so none is lost
      // in the kernel (the sender shares this event loop: a stalled stack holds it back too)
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 20));
    }
    await until('answers to the 50 padded OPTIONS', async () => answered >= 50, 40_000);
    const elapsed = performance.now() - t0;
    h.disable();
    const p99 = h.percentile(99) / 1e6;
    const max = h.max / 1e6;
    // the unpatched stack: p99 and max of seconds (2,024 ms p99 measured), elapsed > 10 s; the
    // bounds leave room for a loaded CI machine (other test files, garbage collection)
    const seen = JSON.stringify({ p99: Math.round(p99), max: Math.round(max), elapsed: Math.round(elapsed) });
    expect(p99, seen).toBeLessThan(250);
    expect(max, seen).toBeLessThan(1_000);
    expect(elapsed, seen).toBeLessThan(8_000);
    expect(answered).toBe(50); // every padded request was parsed and answered once

    // and a real peer is still served
    const r = await runSipp({ scenario: 'options.xml', target: { address: stack.address, port: stack.port }, localAddress: '127.0.0.32' });
    expect(r.code, describeRun(r)).toBe(0);
  });

  it('well-formed messages parse as before (multi-valued headers, parameters, quoted strings, compact forms)', () => {
    const m = sip.parse(
      Buffer.from(
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bKa;rport=5060;received=1.2.3.4 , SIP/2.0/UDP h;branch=x\r\n' +
          'f: "A b" <sip:a@b>;tag=1\r\nTo: Bob <sip:c@d;transport=udp>;tag=2\r\ni: 1\r\nCSeq: 1 INVITE\r\n' +
          'm: <sip:x@1.2.3.4:5070>;expires=60, sip:y@h;q=0.5\r\nRoute: <sip:p1;lr>, <sip:p2>\r\n' +
          'WWW-Authenticate: Digest realm="r", nonce="n",qop="auth"\r\nContent-Length: 3\r\n\r\nabcXX',
        'latin1',
      ),
    );
    expect(m).toMatchObject({
      status: 200,
      reason: 'OK',
      content: 'abc',
      headers: {
        via: [
          { protocol: 'UDP', host: '1.2.3.4', port: 5060, params: { branch: 'z9hG4bKa', rport: '5060', received: '1.2.3.4' } },
          { protocol: 'UDP', host: 'h', params: { branch: 'x' } },
        ],
        from: { name: '"A b"', uri: 'sip:a@b', params: { tag: '1' } },
        to: { name: 'Bob', uri: 'sip:c@d;transport=udp', params: { tag: '2' } },
        contact: [
          { uri: 'sip:x@1.2.3.4:5070', params: { expires: '60' } },
          { uri: 'sip:y@h', params: { q: '0.5' } },
        ],
        route: [{ uri: { host: 'p1', params: { lr: null } } }, { uri: { host: 'p2' } }],
        'www-authenticate': [{ scheme: 'Digest', realm: '"r"', nonce: '"n"', qop: '"auth"' }],
      },
    });
    // leading blank lines before the start line are still skipped
    expect(sip.parse(Buffer.from('\r\n\r\nOPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n', 'latin1'))?.method).toBe('OPTIONS');
  });
});

describe('defect 4: a CANCELled INVITE whose peer never sends a final response is freed', { timeout: 60_000 }, () => {
  it('SIPp phone answers 180, then 200 to our CANCEL and never 487: synthetic 408, transactions back to baseline', async () => {
    const { stack } = await answeringStack('127.0.0.2', { inviteCancelTimeout: 1_500 });
    const baseline = stack.transactionCount();
    expect(baseline).toEqual({ client: 0, server: 0 });
    const phonePort = await freeUdpPort('127.0.0.33');
    const phone = runSipp({
      scenario: 'hard-phone-180-silent.xml',
      target: { address: stack.address, port: stack.port },
      localAddress: '127.0.0.33',
      localPort: phonePort,
    });
    await new Promise((r) => setTimeout(r, 300)); // SIPp binds its port
    const statuses: number[] = [];
    const invite: SipMessage = {
      method: 'INVITE',
      uri: `sip:agent@127.0.0.33:${phonePort}`,
      headers: {
        to: { uri: `sip:agent@127.0.0.33:${phonePort}`, params: {} },
        from: { uri: `sip:12345@${stack.address}`, params: { tag: 'hard4' } },
        'call-id': `hard4-${Date.now()}`,
        cseq: { method: 'INVITE', seq: 1 },
        contact: [{ uri: `sip:12345@${stack.address}:${stack.port}`, params: {} }],
        'max-forwards': 70,
      },
    };
    stack.send(invite, (rs) => statuses.push(rs.status ?? 0));
    await until('the phone rings (180)', async () => statuses.includes(180));
    expect(stack.transactionCount().client).toBe(1);

    const cancelStatuses: number[] = [];
    const cancelledAt = Date.now();
    stack.send(
      {
        method: 'CANCEL',
        uri: invite.uri,
        headers: {
          via: [invite.headers.via![0]!],
          to: invite.headers.to,
          from: invite.headers.from,
          'call-id': invite.headers['call-id'],
          cseq: { method: 'CANCEL', seq: 1 },
          'max-forwards': 70,
        },
      },
      (rs) => cancelStatuses.push(rs.status ?? 0),
    );
    const run = await phone;
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.logs).toContain('cancel-answered-no-final');
    expect(cancelStatuses).toEqual([200]);

    // the application learns the INVITE is over (RFC 3261 section 9.1 / timer B style 408) …
    await until('a synthetic 408 for the INVITE', async () => statuses.includes(408), 10_000);
    expect(Date.now() - cancelledAt).toBeGreaterThanOrEqual(1_400);
    expect(statuses).toEqual([180, 408]);
    // … and every transaction is gone (the CANCEL's after its timer K, 5 s)
    await until('transactions back to the baseline', async () => {
      const c = stack.transactionCount();
      return c.client === baseline.client && c.server === baseline.server;
    }, 15_000);
  });
});

describe('defect 1: a next hop on our own host', { timeout: 30_000 }, () => {
  it('reaches another port on our host (upstream fix), and our own address without a flow token gets 404 without a loop', async () => {
    const { stack, requests } = await answeringStack('127.0.0.1');
    const peer = await udpSocket('127.0.0.1');
    peer.on('message', (d) => {
      const rq = sip.parse(d);
      if (rq?.method === 'OPTIONS') peer.send(Buffer.from(sip.stringify(sip.makeResponse(rq, 200, 'OK')), 'latin1'), stack.port, stack.address);
    });
    const options = (uri: string): SipMessage => ({
      method: 'OPTIONS',
      uri,
      headers: {
        to: { uri, params: {} },
        from: { uri: `sip:probe@${stack.address}`, params: { tag: `t${Math.random()}` } },
        'call-id': `hard1-${Math.random()}`,
        cseq: { method: 'OPTIONS', seq: 1 },
        'max-forwards': 70,
      },
    });
    // same host, other port: a phone on 127.0.0.1 (the unpatched stack answered 404 itself)
    const other = await new Promise<number>((r) => stack.send(options(`sip:phone@127.0.0.1:${peer.address().port}`), (rs) => r(rs.status ?? 0)));
    expect(other).toBe(200);
    // our own address: not sent anywhere (it would come back to us), 404
    const own = await new Promise<number>((r) => stack.send(options(`sip:phone@127.0.0.1:${stack.port}`), (rs) => r(rs.status ?? 0)));
    expect(own).toBe(404);
    expect(requests).toEqual([]);
  });

  it('a gateway whose URI is our own SIP address is refused at start-up with a clear error', async () => {
    const own = ['127.0.0.1:5060'];
    const ok = [{ key: '110', name: 'police', uri: 'sip:110@127.0.0.9:5070' }];
    expect(buildGatewayTable(ok, own).size).toBe(1);
    expect(() => buildGatewayTable([{ key: '110', name: 'police', uri: 'sip:110@127.0.0.1' }], own)).toThrow(
      /gateway 110: "sip:110@127\.0\.0\.1" is the adapter's own SIP address 127\.0\.0\.1:5060/,
    );
    // another port on our host is a different endpoint
    expect(buildGatewayTable([{ key: '110', name: 'police', uri: 'sip:110@127.0.0.1:5070' }], own).size).toBe(1);

    const port = await freeUdpPort('127.0.0.1');
    await expect(
      startTelephony({
        address: '127.0.0.1', port, realm: 'hard.test', instance: `hard${port}`, redisUrl: process.env.TEST_REDIS_URL!,
        queuePrefix: `{hard${port}}`, requireEngineHeartbeat: false,
        gateways: buildGatewayTable([{ key: '119', name: 'fire', uri: `sip:119@127.0.0.1:${port}` }]),
      }),
    ).rejects.toThrow(/gateway 119: .* is the adapter's own SIP address 127\.0\.0\.1:\d+; a transfer there would loop back to us/);
  });
});
