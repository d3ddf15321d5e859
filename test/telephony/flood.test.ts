// A flood of out-of-dialog requests from one source gets 503 Retry-After beyond the per-source
// rate, the adapter stays up and serves other sources; a trusted source (the carrier's SBC) is
// never limited (issue #4 item 9).
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelephony, type TelephonyAdapter } from '../../telephony/src/adapter.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const ADAPTER_IP = '127.0.0.1';
const FLOODER_IP = '127.0.0.7';
const TRUSTED_IP = '127.0.0.8';
const OTHER_IP = '127.0.0.2';

let tel: TelephonyAdapter;

beforeAll(async () => {
  const port = await freeUdpPort(ADAPTER_IP);
  tel = await startTelephony({
    address: ADAPTER_IP, port, realm: 'flood.test', instance: `flood${port}`, redisUrl: process.env.TEST_REDIS_URL!,
    queuePrefix: `{flood${port}}`, requireEngineHeartbeat: false, flood: { perSecond: 20, trustedSources: [TRUSTED_IP] },
  });
});

afterAll(async () => {
  await tel?.stop();
});

/** Sends `n` OPTIONS from `ip` as fast as possible; counts the final statuses that come back. */
async function blast(ip: string, n: number): Promise<Map<number, number>> {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, ip, r));
  const { port } = sock.address();
  const counts = new Map<number, number>();
  sock.on('message', (m) => {
    const status = Number(/^SIP\/2\.0 (\d{3})/.exec(m.toString('latin1'))?.[1]);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  });
  for (let i = 0; i < n; i++) {
    const msg = [
      `OPTIONS sip:12345@${ADAPTER_IP}:${tel.port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ip}:${port};branch=z9hG4bK-flood-${i}-${Date.now()}`,
      'Max-Forwards: 70',
      `From: <sip:probe@${ip}>;tag=f${i}`,
      `To: <sip:12345@${ADAPTER_IP}>`,
      `Call-ID: flood-${i}-${Date.now()}@${ip}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    sock.send(msg, tel.port, ADAPTER_IP);
    // 200 in about 100 ms: a flood, yet within the kernel's UDP buffers (nothing lost in transit)
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 1_000));
  sock.close();
  return counts;
}

describe('floods from one source', { timeout: 30_000 }, () => {
  it('beyond 20 requests/s from one source: 503 Retry-After; other sources still served; trusted sources never limited', async () => {
    const flooded = await blast(FLOODER_IP, 200);
    expect(flooded.get(200) ?? 0).toBeGreaterThanOrEqual(20);
    expect(flooded.get(200) ?? 0).toBeLessThanOrEqual(40); // at most two 1-second windows' worth
    expect(flooded.get(503) ?? 0).toBeGreaterThanOrEqual(150);
    expect((flooded.get(200) ?? 0) + (flooded.get(503) ?? 0)).toBe(200); // every request answered
    expect(tel.relay.stats.rateLimited).toBeGreaterThanOrEqual(150);

    // meanwhile another source is served normally (a real SIPp peer)
    const r = await runSipp({ scenario: 'options.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: OTHER_IP });
    expect(r.code, describeRun(r)).toBe(0);

    const trusted = await blast(TRUSTED_IP, 200);
    expect(trusted.get(200)).toBe(200);
    expect(trusted.get(503) ?? 0).toBe(0);
  });
});
