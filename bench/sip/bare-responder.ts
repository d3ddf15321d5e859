/**
 * bench/sip baseline: a bare `sip` (patched sip@0.0.6) UAS with no application logic, driven by
 * the same caller scenario as the adapter. INVITE → 100 + 200 with an SDP answer (the 200 is
 * retransmitted until the ACK, T1 = 500 ms doubling to 4 s, as the adapter does for its callers);
 * BYE → 200; ACK → stops the retransmission; anything else → 200.
 * Address and port from BARE_ADDRESS / BARE_PORT. IPC: { cmd: 'stats' } ⇒ { type: 'stats', … }.
 */
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sip, { type SipMessage } from 'sip';

const address = process.env.BARE_ADDRESS ?? '127.0.0.1';
const port = Number(process.env.BARE_PORT);
const stats = { invites: 0, acks: 0, byes: 0, other: 0, retransmits: 0 };
const pendingAck = new Map<string, { timer: NodeJS.Timeout; until: number }>();
const SDP = ['v=0', `o=bare 1 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

const stack = await new Promise<ReturnType<typeof sip.create>>((resolve, reject) => {
  const s = sip.create(
    {
      address,
      port,
      udp: true,
      tcp: false,
      maxMessageSize: 8192,
      onListening: () => resolve(s),
      onError: reject,
    },
    (rq: SipMessage) => {
      const callId = String(rq.headers['call-id']);
      if (rq.method === 'ACK') {
        stats.acks++;
        const p = pendingAck.get(callId);
        if (p) (clearTimeout(p.timer), pendingAck.delete(callId));
        return;
      }
      if (rq.method === 'INVITE') {
        stats.invites++;
        s.send(sip.makeResponse(rq, 100, 'Trying'));
        const ok = sip.makeResponse(rq, 200, 'OK', {
          headers: { contact: [{ uri: `sip:bare@${address}:${port}`, params: {} }], 'content-type': 'application/sdp' },
          content: SDP,
        });
        ok.headers.to = { ...rq.headers.to!, params: { ...rq.headers.to?.params, tag: randomBytes(6).toString('hex') } };
        s.send(ok);
        const until = Date.now() + 32_000;
        const again = (ms: number): NodeJS.Timeout =>
          setTimeout(() => {
            if (Date.now() > until) return void pendingAck.delete(callId);
            stats.retransmits++;
            s.send(ok);
            pendingAck.set(callId, { timer: again(Math.min(ms * 2, 4000)), until });
          }, ms);
        pendingAck.set(callId, { timer: again(500), until });
        return;
      }
      if (rq.method === 'BYE') stats.byes++;
      else stats.other++;
      s.send(sip.makeResponse(rq, 200, 'OK'));
    },
  );
});

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    process.send!({
      type: 'stats',
      stats: { ...stats },
      loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      heapMB: process.memoryUsage().heapUsed / 1048576,
    });
    loop.reset();
  } else if (m.cmd === 'stop') {
    stack.destroy();
    process.exit(0);
  }
});
process.on('SIGTERM', () => process.exit(0));
process.send!({ type: 'ready' });
