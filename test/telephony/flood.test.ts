// A flood of out-of-dialog requests from one source gets 503 Retry-After beyond the per-source
// rate, the adapter stays up and serves other sources; a trusted source (the carrier's SBC) is
// never limited (issue #4 item 9). REGISTER (served by the registrar, before the relay's limiter)
// has the same per-source limit, before any digest or Redis work.
import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelephony, type TelephonyAdapter } from '../../telephony/src/adapter.js';
import { describeRun, freeUdpPort, runSipp } from './sipp.js';

const ADAPTER_IP = '127.0.0.1';
const FLOODER_IP = '127.0.0.7';
const TRUSTED_IP = '127.0.0.8';
const OTHER_IP = '127.0.0.2';

let tel: TelephonyAdapter;
const logs: Array<Record<string, unknown>> = [];
const PASSWORD = 'flood-pw-1001';

beforeAll(async () => {
  const port = await freeUdpPort(ADAPTER_IP);
  tel = await startTelephony({
    address: ADAPTER_IP, port, realm: 'flood.test', instance: `flood${port}`, redisUrl: process.env.TEST_REDIS_URL!,
    queuePrefix: `{flood${port}}`, requireEngineHeartbeat: false, flood: { perSecond: 20, trustedSources: [TRUSTED_IP] },
    lookupCredentials: async (u) => (u === '1001' ? { password: PASSWORD } : null),
    logger: {
      info: (o) => logs.push({ level: 'info', ...o }),
      warn: (o) => logs.push({ level: 'warn', ...o }),
      error: (o) => logs.push({ level: 'error', ...o }),
    },
  });
});

afterAll(async () => {
  await tel?.stop();
});

/** Sends `n` OPTIONS (or REGISTERs) from `ip` as fast as possible; counts the final statuses that come back. */
async function blast(ip: string, n: number, method: 'OPTIONS' | 'REGISTER' = 'OPTIONS'): Promise<Map<number, number>> {
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
      method === 'OPTIONS' ? `OPTIONS sip:12345@${ADAPTER_IP}:${tel.port} SIP/2.0` : `REGISTER sip:${ADAPTER_IP}:${tel.port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${ip}:${port};branch=z9hG4bK-flood-${i}-${Date.now()}`,
      'Max-Forwards: 70',
      method === 'OPTIONS' ? `From: <sip:probe@${ip}>;tag=f${i}` : `From: <sip:1001@flood.test>;tag=f${i}`,
      method === 'OPTIONS' ? `To: <sip:12345@${ADAPTER_IP}>` : 'To: <sip:1001@flood.test>',
      `Call-ID: flood-${i}-${Date.now()}@${ip}`,
      `CSeq: 1 ${method}`,
      ...(method === 'REGISTER' ? [`Contact: <sip:1001@${ip}:${port}>`, 'Expires: 600'] : []),
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

describe('REGISTER floods from one source', { timeout: 60_000 }, () => {
  it('beyond 20 REGISTERs/s from one source: 503 Retry-After before any digest work, logged once; another source still registers (SIPp); trusted sources never limited', async () => {
    const before = { ...tel.registrar.stats };
    const t0 = Date.now();
    const flooded = await blast(FLOODER_IP, 200, 'REGISTER');
    // the first 20 of each 1-second window are challenged (401), the rest refused with 503; the
    // blast takes about 0.1 s, so it touches two windows at most unless the machine is loaded
    const windows = Math.ceil((Date.now() - t0) / 1000) + 1;
    expect(flooded.get(401) ?? 0).toBeGreaterThanOrEqual(20);
    expect(flooded.get(401) ?? 0).toBeLessThanOrEqual(20 * windows);
    expect(flooded.get(503) ?? 0).toBeGreaterThanOrEqual(200 - 20 * windows);
    expect((flooded.get(401) ?? 0) + (flooded.get(503) ?? 0)).toBe(200); // every request answered
    expect(tel.registrar.stats.floodLimited - before.floodLimited).toBe(flooded.get(503));
    expect(tel.registrar.stats.challenges - before.challenges).toBe(flooded.get(401)); // no digest work for the rest

    // logged once per source per window, without credentials
    const limited = logs.filter((l) => l.event === 'register.rate_limited');
    expect(limited).toEqual([{ level: 'warn', event: 'register.rate_limited', source: FLOODER_IP, method: 'REGISTER' }]);

    // meanwhile another source registers with digest authentication (a real SIPp phone)
    const r = await runSipp({
      scenario: 'register.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: OTHER_IP,
      args: ['-s', '1001', '-au', '1001', '-ap', PASSWORD, '-key', 'realm', 'flood.test', '-key', 'expires', '600'],
    });
    expect(r.code, describeRun(r)).toBe(0);
    const bindings = await tel.bindings.list('sip:1001@flood.test', Date.now());
    expect(bindings.map((b) => b.source.address)).toEqual([OTHER_IP]);
    expect(JSON.stringify(logs)).not.toContain(PASSWORD);

    // the carrier's SBC (trusted) is never limited
    const trusted = await blast(TRUSTED_IP, 200, 'REGISTER');
    expect(trusted.get(401)).toBe(200);
    expect(trusted.get(503) ?? 0).toBe(0);
  });
});
