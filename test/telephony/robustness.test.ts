// Bad and oversized input on the caller's INVITE (issue #4 item 9): an INVITE whose Contact
// cannot be used is refused with 400 (nothing could reach the caller inside the call); an
// oversized From user and display name are cut to what the engine's contract accepts, so the
// caller is still queued instead of ringing for nothing.
import { createSocket } from 'node:dgram';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_EVENTS_QUEUE, callOfferedSchema } from '../../server/src/calls/telephony-contract.js';
import { startTelephony, type TelephonyAdapter } from '../../telephony/src/adapter.js';
import { until } from '../helpers/until.js';
import { freeUdpPort } from './sipp.js';

const ADAPTER_IP = '127.0.0.1';
const CALLER_IP = '127.0.0.2';
let tel: TelephonyAdapter;
let redis: Redis;
let queue: Queue;
let prefix: string;

beforeAll(async () => {
  const port = await freeUdpPort(ADAPTER_IP);
  prefix = `{robust${port}}`;
  tel = await startTelephony({ address: ADAPTER_IP, port, realm: 'robust.test', instance: `robust${port}`, redisUrl: process.env.TEST_REDIS_URL!, queuePrefix: prefix, requireEngineHeartbeat: false });
  redis = new Redis(process.env.TEST_REDIS_URL!, { maxRetriesPerRequest: null });
  queue = new Queue(CALL_EVENTS_QUEUE, { connection: redis, prefix });
});

afterAll(async () => {
  await tel?.stop();
  await queue?.close();
  redis?.disconnect();
});

/** Sends one INVITE from a raw socket; resolves with the statuses received within `ms`. */
async function invite(headers: string[], ms = 1_000): Promise<number[]> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, CALLER_IP, r));
  const { port } = sock.address();
  const statuses: number[] = [];
  sock.on('message', (m) => statuses.push(Number(/^SIP\/2\.0 (\d{3})/.exec(m.toString('latin1'))?.[1])));
  const callId = `robust-${Date.now()}-${Math.random()}@${CALLER_IP}`;
  const msg = [
    `INVITE sip:12345@${ADAPTER_IP}:${tel.port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${CALLER_IP}:${port};branch=z9hG4bK-${Math.random().toString(36).slice(2)}`,
    'Max-Forwards: 70',
    `To: <sip:12345@${ADAPTER_IP}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 INVITE',
    ...headers.map((h) => h.replace('PORT', String(port))),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  sock.send(Buffer.from(msg, 'utf8'), tel.port, ADAPTER_IP);
  await new Promise((r) => setTimeout(r, ms));
  sock.close();
  return statuses;
}

describe('the caller\'s INVITE', { timeout: 20_000 }, () => {
  it('without a Contact: 400, nothing published', async () => {
    const before = tel.relay.stats.offered;
    const noContact = await invite([`From: <sip:13800138000@${CALLER_IP}>;tag=a1`]);
    expect(noContact.length).toBeGreaterThan(0);
    expect(new Set(noContact)).toEqual(new Set([400])); // (retransmitted until an ACK, which this test never sends)
    expect(new Set(await invite([`From: <sip:13800138000@${CALLER_IP}>;tag=a2`, 'Contact: <not a uri>']))).toEqual(new Set([400]));
    expect(tel.relay.stats.offered).toBe(before);
  });

  it('an oversized From user and display name are cut to the contract\'s limits: the call is still offered', async () => {
    const longName = '市'.repeat(300);
    const longUser = '1'.repeat(150);
    const statuses = await invite([`From: "${longName}" <sip:${longUser}@${CALLER_IP}>;tag=b1`, `Contact: <sip:${longUser}@${CALLER_IP}:PORT>`]);
    expect(statuses.slice(0, 2)).toEqual([100, 180]);
    const job = await until('call.offered', async () => (await queue.getJobs(['waiting', 'completed', 'active', 'delayed'])).find((j) => j.name === 'call.offered' && String(j.data.fromNumber).startsWith('111')));
    expect(job.data.fromNumber).toHaveLength(64);
    expect(job.data.displayName).toBe('市'.repeat(200));
    expect(callOfferedSchema.safeParse(job.data).success).toBe(true); // the engine will accept it
  });
});
