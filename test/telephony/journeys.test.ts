// Call journeys end to end with real SIP peers (issue #4 items 4–7 and 10): SIPp as the caller,
// as agents' phones and as the 110 gateway, baresip as a real phone registering with the demo
// SIP password; the engine (real Redis + FerretDB) and the telephony adapter in between.
// Hosts: adapter 127.0.0.1, caller 127.0.0.2, phones 127.0.0.3 / 127.0.0.4, gateway 127.0.0.6,
// baresip 127.0.0.5 — distinct because of sip defect 1 (a next hop on our own host is refused).
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CallDoc } from '../../server/src/calls/model.js';
import { DEMO_PASSWORD } from '../../server/src/directory/seed-data.js';
import type { TelephonyAdapter } from '../../telephony/src/adapter.js';
import { buildGatewayTable } from '../../telephony/src/gateways.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';
import { startBaresip } from './baresip.js';
import { describeRun, freeUdpPort, runSipp, startTelephonyOnFreePort, type SippRun } from './sipp.js';
import { until } from '../helpers/until.js';

const ADAPTER_IP = '127.0.0.1';
const CALLER_IP = '127.0.0.2';
const PHONE1_IP = '127.0.0.3';
const PHONE2_IP = '127.0.0.4';
const BARESIP_IP = '127.0.0.5';
const GATEWAY_IP = '127.0.0.6';
const REALM = 'hotline.local';

let t: TestApp;
let tel: TelephonyAdapter;
let gatewayPort: number;
const sockets: Socket[] = [];


const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const cdr = async (id: string) => (await t.api.get(`/api/calls/${encodeURIComponent(id)}`).set(await auth('super1'))).body as Record<string, unknown> & Partial<CallDoc>;
const agentState = async (id: string) => (await t.api.get('/api/agents/me').set(await auth(id))).body as { state: string };

async function available(...agents: string[]): Promise<void> {
  for (const a of agents) {
    const r = await t.api.post('/api/agents/me/state').set(await auth(a)).send({ state: 'available' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await new Promise((r2) => setTimeout(r2, 5)); // distinct idle-since times: longest idle is well defined
  }
}

async function reset(...agents: string[]): Promise<void> {
  for (const a of agents) await t.api.post(`/api/agents/${a}/state`).set(await auth('super1')).send({ state: 'logged_out' });
}

/** An agent's phone: SIPp UAS on `ip`, its binding in the registrations (as a REGISTER would). */
async function phone(agent: string, ip: string, scenario: string, args: string[] = []): Promise<{ run: Promise<SippRun>; port: number }> {
  const port = await freeUdpPort(ip);
  await tel.bindings.put({
    aor: `sip:${agent}@${REALM}`, contact: `sip:${agent}@${ip}:${port}`, expiresAt: Date.now() + 600_000,
    callId: randomBytes(6).toString('hex'), cseq: 1, source: { protocol: 'UDP', address: ip, port }, updatedAt: Date.now(),
  });
  const run = runSipp({ scenario, target: { address: ADAPTER_IP, port: tel.port }, localAddress: ip, localPort: port, args: ['-recv_timeout', '20000', ...args], killAfterMs: 40_000 });
  await new Promise((r) => setTimeout(r, 300)); // SIPp binds its socket
  return { run, port };
}

function caller(scenario: string, args: string[] = [], localAddress = CALLER_IP): Promise<SippRun> {
  return runSipp({ scenario, target: { address: ADAPTER_IP, port: tel.port }, localAddress, args: ['-s', '12345', '-recv_timeout', '20000', ...args], killAfterMs: 40_000 });
}

/** The call id (SIP Call-ID) of the newest call record from this number. */
async function callFrom(number: string, after: number): Promise<string> {
  return until(`a call from ${number}`, async () => {
    const c = tel.relay.activeCalls.find((x) => x.fromNumber === number && x.receivedAt >= after);
    return c?.callId;
  });
}

async function listen(agent: string): Promise<{ events: Array<{ type: string; at: string; data: Record<string, unknown>; receivedAt: number }> }> {
  const socket = connect(`http://127.0.0.1:${t.port}`, { auth: { token: await t.token(agent) }, transports: ['websocket'], reconnection: false });
  sockets.push(socket);
  const out = { events: [] as Array<{ type: string; at: string; data: Record<string, unknown>; receivedAt: number }> };
  socket.on('call.event', (m) => out.events.push({ ...m, receivedAt: Date.now() }));
  await new Promise<void>((resolve, reject) => {
    socket.once('hello', () => resolve());
    socket.once('connect_error', reject);
  });
  return out;
}

beforeAll(async () => {
  // the usual caller of these journeys is on the elderly list (老年人优先)
  t = await startTestApp({ env: { RING_TIMEOUT_MS: '2500', ACD_TICK_MS: '500', ACD_PRESENCE_CHECK: 'false', SIP_REALM: REALM, ELDERLY_NUMBERS: '13800138000,13900000001' } });
  gatewayPort = await freeUdpPort(GATEWAY_IP);
  tel = await startTelephonyOnFreePort(ADAPTER_IP, {
    realm: REALM, instance: 'tel1', redisUrl: process.env.TEST_REDIS_URL!, queuePrefix: t.prefix,
    gateways: buildGatewayTable([
      { key: '110', name: '公安110', uri: `sip:110@${GATEWAY_IP}:${gatewayPort}`, inboundSources: [GATEWAY_IP], referenceHeader: 'x-110-incident' },
    ]),
    maxRingMs: 30_000, transferTimeoutMs: 4_000,
  });
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await tel?.stop();
  await t?.close();
});

beforeEach(async () => {
  await reset('agent1', 'agent2');
});

describe('call journeys with real SIP peers', { timeout: 60_000 }, () => {
  it('answered call: the agent phone gets the caller SDP, the caller the phone SDP; screen pop; caller hangs up; CDR complete; agent in wrap-up', async () => {
    const pop = await listen('agent1');
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-answer.xml');
    const started = Date.now();
    const c = caller('caller-talk-bye.xml', ['-d', '800']);
    const callId = await callFrom('13800138000', started);
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    // media end to end: each side got the other's SDP
    expect(pr.logs).toContain(`offered-with=c=IN IP4 ${CALLER_IP}`);
    expect(cr.logs).toContain(`answered-with=c=IN IP4 ${PHONE1_IP}`);
    // the caller's display name went to the phone as UTF-8
    expect(pr.logs).toContain('市民张三');

    const rec = await until('the call record closed', async () => {
      const r = await cdr(callId);
      return r.outcome === 'ended' ? r : null;
    });
    expect(rec).toMatchObject({ answeredBy: 'agent1', endedBy: 'caller', endReason: 'bye', line: 'main', fromNumber: '13800138000' });
    expect(Date.parse(String(rec.answeredAt))).toBeGreaterThanOrEqual(Date.parse(String(rec.offeredAt)));
    expect(rec.talkMs).toBeGreaterThanOrEqual(500);
    expect(rec.waitedMs).toBeGreaterThanOrEqual(0);
    expect(await agentState('agent1')).toMatchObject({ state: 'wrap_up' });

    const card = pop.events.find((e) => e.type === 'call.answered');
    expect(card?.data).toMatchObject({ callId, fromNumber: '13800138000', displayName: '市民张三', line: 'main', elderly: true, repeatCaller: false, earlierTickets: [] });
    expect(rec.priority).toBe(10); // served ahead of ordinary callers
    // the pop reaches the console within a few hundred ms of the answer (same machine, same clock)
    expect(card!.receivedAt - Date.parse(String(rec.answeredAt))).toBeLessThan(500);
    expect(pop.events.some((e) => e.type === 'call.ended' && e.data.callId === callId)).toBe(true);
    expect(tel.relay.activeCalls).toHaveLength(0);
  });

  it('delayed offer: an INVITE without SDP gets the phone\'s offer in the 200, and the caller\'s answer reaches the phone in the ACK', async () => {
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-delayed-offer.xml');
    const started = Date.now();
    const c = caller('caller-delayed-offer.xml', ['-d', '300']);
    const callId = await callFrom('13800138000', started);
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    expect(cr.logs).toContain(`answered-with=c=IN IP4 ${PHONE1_IP}`); // the phone's offer
    expect(pr.logs).toContain(`ack-answer=c=IN IP4 ${CALLER_IP}`); // the caller's answer
    expect(pr.logs).toContain('invited-without-sdp');
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ answeredBy: 'agent1', endedBy: 'caller' });
  });

  it('hold: the caller\'s re-INVITE (a=sendonly) is relayed to the agent\'s phone and its a=recvonly answer back; CSeqs per leg', async () => {
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-answer-hold.xml');
    const started = Date.now();
    const c = caller('caller-hold-bye.xml', ['-d', '300']);
    const callId = await callFrom('13800138000', started);
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    expect(pr.logs).toContain('hold-offer=a=sendonly');
    expect(cr.logs).toContain('hold-answer=a=recvonly');
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ answeredBy: 'agent1', endedBy: 'caller' });
    expect(tel.relay.stats.reinvites).toBeGreaterThanOrEqual(1);
    // call.held from the caller's side is on the record (never resumed: the caller hung up on hold)
    const held = await until('the hold on the record', async () => {
      const r = await cdr(callId);
      return (r.holds as unknown[] | undefined)?.length ? r : null;
    });
    expect(held.holds).toEqual([expect.objectContaining({ seq: 1, by: 'caller', at: expect.any(String), endedAt: null })]);
  });

  it('the agent hangs up: BYE relayed to the caller, CDR ended by the agent; earlier tickets of the number pop up', async () => {
    const ticket = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ caller: { name: '张三', phone: '13800138000', anonymous: false } }));
    expect(ticket.status, JSON.stringify(ticket.body)).toBe(201);
    const pop = await listen('agent2');
    await available('agent2');
    const p2 = await phone('agent2', PHONE2_IP, 'phone-answer-hangup.xml', ['-d', '500']);
    const started = Date.now();
    const c = caller('caller-wait-bye.xml');
    const callId = await callFrom('13800138000', started);
    const [cr, pr] = await Promise.all([c, p2.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ answeredBy: 'agent2', endedBy: 'agent' });
    const card = await until('screen pop', async () => pop.events.find((e) => e.type === 'call.answered'));
    expect(card.data.earlierTickets).toEqual([expect.objectContaining({ number: ticket.body.number, category: 'complaint' })]);
  });

  it('the first agent does not answer in time: CANCEL to that phone, the next agent gets the call, the first goes on break', async () => {
    await available('agent1', 'agent2'); // agent1 idle longest: offered first
    const p1 = await phone('agent1', PHONE1_IP, 'phone-no-answer.xml');
    const p2 = await phone('agent2', PHONE2_IP, 'phone-answer.xml');
    const started = Date.now();
    const c = caller('caller-talk-bye.xml', ['-d', '300']);
    const callId = await callFrom('13800138000', started);
    const [cr, r1, r2] = await Promise.all([c, p1.run, p2.run]);
    expect(r1.code, describeRun(r1)).toBe(0);
    expect(r2.code, describeRun(r2)).toBe(0);
    expect(cr.code, describeRun(cr)).toBe(0);
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ answeredBy: 'agent2' });
    expect(rec.waitedMs).toBeGreaterThanOrEqual(2_000); // rang on agent1 for the 2.5 s ring timeout first
    expect(await agentState('agent1')).toMatchObject({ state: 'break' });
    // every ring attempt is on the record: agent1's no-answer, then agent2's answer
    const rings = rec.rings as unknown as Array<{ agentId: string; at: string; alertingAt: string | null; result: string; endedAt: string }>;
    expect(rings).toEqual([
      expect.objectContaining({ agentId: 'agent1', result: 'no_answer', alertingAt: expect.any(String) }),
      expect.objectContaining({ agentId: 'agent2', result: 'answered', alertingAt: expect.any(String) }),
    ]);
    expect(Date.parse(rings[0]!.endedAt) - Date.parse(rings[0]!.at)).toBeGreaterThanOrEqual(2_000); // the ring timeout
    expect(Date.parse(rings[1]!.at)).toBeGreaterThanOrEqual(Date.parse(rings[0]!.endedAt));
    expect(rings[1]!.endedAt).toBe(rec.answeredAt);
    expect(rec).toMatchObject({ agentId: 'agent2', ringingAt: rings[1]!.at }); // the last ring, as before
  });

  it('an agent whose phone vanished (binding to a dead address) costs one ring timeout: the call goes to the next agent', async () => {
    await available('agent1', 'agent2');
    const dead = await freeUdpPort(PHONE1_IP); // nothing listens there
    await tel.bindings.removeAll(`sip:agent1@${REALM}`);
    await tel.bindings.put({
      aor: `sip:agent1@${REALM}`, contact: `sip:agent1@${PHONE1_IP}:${dead}`, expiresAt: Date.now() + 600_000,
      callId: 'vanished', cseq: 1, source: { protocol: 'UDP', address: PHONE1_IP, port: dead }, updatedAt: Date.now(),
    });
    const p2 = await phone('agent2', PHONE2_IP, 'phone-answer.xml');
    const started = Date.now();
    const c = caller('caller-talk-bye.xml', ['-d', '300']);
    const callId = await callFrom('13800138000', started);
    const [cr, r2] = await Promise.all([c, p2.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(r2.code, describeRun(r2)).toBe(0);
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ answeredBy: 'agent2' });
    expect(await agentState('agent1')).toMatchObject({ state: 'break' }); // no more calls to the dead phone
  });

  it('the caller hangs up while an agent phone rings: CANCEL relayed to the phone, abandoned call becomes a callback task', async () => {
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-no-answer.xml');
    const started = Date.now();
    const c = caller('caller-cancel-after.xml', ['-d', '1000']);
    const callId = await callFrom('13800138000', started);
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    const rec = await until('abandoned', async () => ((await cdr(callId)).outcome === 'abandoned' ? cdr(callId) : null));
    expect(rec).toMatchObject({ abandonReason: 'caller-cancel', answeredBy: null });
    expect(rec.rings).toEqual([expect.objectContaining({ agentId: 'agent1', result: 'cancelled', alertingAt: expect.any(String), endedAt: rec.abandonedAt })]);
    const tasks = (await t.api.get('/api/callbacks').set(await auth('agent1'))).body.items as Array<{ callId: string; callerNumber: string }>;
    expect(tasks).toContainEqual(expect.objectContaining({ callId, callerNumber: '13800138000' }));
    expect(await agentState('agent1')).toMatchObject({ state: 'available' }); // free again
  });

  it('one-click transfer to 110: gateway INVITEd with the caller SDP, caller re-INVITEd with the gateway SDP, agent released; recorded and told', async () => {
    const pop = await listen('agent1');
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-answer.xml');
    const gw = runSipp({ scenario: 'phone-answer.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: GATEWAY_IP, localPort: gatewayPort, args: ['-recv_timeout', '20000'], killAfterMs: 40_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const c = caller('caller-reinvited-bye.xml', ['-d', '500']);
    const callId = await callFrom('13800138000', started);
    await until('answered', async () => (await cdr(callId)).outcome === 'answered');
    // only the agent on the call may transfer it
    const other = await t.api.post(`/api/calls/${encodeURIComponent(callId)}/transfer`).set(await auth('agent2')).send({ target: '110' });
    expect(other.status).toBe(403);
    const bad = await t.api.post(`/api/calls/${encodeURIComponent(callId)}/transfer`).set(await auth('agent1')).send({ target: '999' });
    expect(bad.status).toBe(400);
    const res = await t.api.post(`/api/calls/${encodeURIComponent(callId)}/transfer`).set(await auth('agent1')).send({ target: '110' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ target: '110', targetName: '公安110', by: 'agent1', outcome: 'pending' });
    const [cr, pr, gr] = await Promise.all([c, p1.run, gw]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0); // the agent's phone got its BYE
    expect(gr.code, describeRun(gr)).toBe(0); // the gateway got the caller's SDP, then the caller's BYE
    expect(gr.logs).toContain(`offered-with=c=IN IP4 ${CALLER_IP}`);
    expect(gr.logs).toContain('from=');
    expect(gr.logs).toContain('13800138000'); // 110 sees the caller's number
    expect(cr.logs).toContain(`reinvited-with=c=IN IP4 ${GATEWAY_IP}`);
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec.transfer).toMatchObject({ target: '110', by: 'agent1', outcome: 'connected', reason: null });
    expect(rec).toMatchObject({ endedBy: 'caller', answeredBy: 'agent1' });
    const told = await until('transfer event', async () => pop.events.find((e) => e.type === 'call.transfer'));
    expect(told.data).toMatchObject({ callId, target: '110', outcome: 'connected' });
    expect(await agentState('agent1')).toMatchObject({ state: 'wrap_up' });
    // the agent files the ticket for the call: it shows the transfer (who, when, target, outcome)
    const ticket = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ callId, caller: { name: '张三', phone: '13800138000', anonymous: false } }));
    expect(ticket.status, JSON.stringify(ticket.body)).toBe(201);
    const linked = await t.api.get(`/api/tickets/${ticket.body.id}/calls`).set(await auth('agent1'));
    expect(linked.status).toBe(200);
    expect(linked.body.items).toEqual([expect.objectContaining({ id: callId, transfer: expect.objectContaining({ target: '110', targetName: '公安110', by: 'agent1', outcome: 'connected', requestedAt: expect.any(String), at: expect.any(String) }) })]);
    await until('the call record lists the ticket', async () => ((await cdr(callId)).ticketIds as string[]).includes(ticket.body.id));
  });

  it('the agent hangs up right after pressing 转110: the caller is not dropped, the transfer completes', async () => {
    const pop = await listen('agent1');
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-answer-hangup.xml', ['-d', '700']); // puts the handset down 0.7 s after answering
    const gw = runSipp({ scenario: 'phone-answer-slow.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: GATEWAY_IP, localPort: gatewayPort, args: ['-recv_timeout', '20000'], killAfterMs: 40_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const c = caller('caller-reinvited-bye.xml', ['-d', '500']);
    const callId = await callFrom('13800138000', started);
    await until('answered', async () => (await cdr(callId)).outcome === 'answered');
    const res = await t.api.post(`/api/calls/${encodeURIComponent(callId)}/transfer`).set(await auth('agent1')).send({ target: '110' });
    expect(res.status).toBe(202);
    const [cr, pr, gr] = await Promise.all([c, p1.run, gw]);
    expect(pr.code, describeRun(pr)).toBe(0); // the agent's BYE was answered
    expect(gr.code, describeRun(gr)).toBe(0); // the gateway (answering after 2 s) got the caller
    expect(cr.code, describeRun(cr)).toBe(0); // the caller was re-INVITEd to the gateway, never dropped
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ endedBy: 'caller', transfer: expect.objectContaining({ outcome: 'connected' }) });
    expect(pop.events.find((e) => e.type === 'call.transfer')?.data).toMatchObject({ outcome: 'connected' });
  });

  it('transfer to 110 fails (gateway busy): the caller stays with the agent, never re-INVITEd; the agent is told; recorded as failed', async () => {
    const pop = await listen('agent1');
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-answer.xml');
    const gw = runSipp({ scenario: 'phone-busy.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: GATEWAY_IP, localPort: gatewayPort, args: ['-recv_timeout', '20000'], killAfterMs: 40_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    // the caller scenario fails on any unexpected request (a re-INVITE would be one)
    const c = caller('caller-talk-bye.xml', ['-d', '3000']);
    const callId = await callFrom('13800138000', started);
    await until('answered', async () => (await cdr(callId)).outcome === 'answered');
    const res = await t.api.post(`/api/calls/${encodeURIComponent(callId)}/transfer`).set(await auth('agent1')).send({ target: '110' });
    expect(res.status).toBe(202);
    const told = await until('transfer event', async () => pop.events.find((e) => e.type === 'call.transfer'));
    expect(told.data).toMatchObject({ callId, target: '110', outcome: 'failed', reason: 'status-486' });
    expect((await cdr(callId)).outcome).toBe('answered'); // still talking to the agent
    const [cr, pr, gr] = await Promise.all([c, p1.run, gw]);
    expect(gr.code, describeRun(gr)).toBe(0);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0); // the agent's leg ended by the caller's BYE, not by us
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec.transfer).toMatchObject({ target: '110', outcome: 'failed', reason: 'status-486' });
    expect(rec).toMatchObject({ endedBy: 'caller', answeredBy: 'agent1' });
  });

  it('transfer to a gateway that never answers: cancelled after the transfer timeout, the caller stays with the agent', async () => {
    const pop = await listen('agent1');
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-answer.xml');
    const started = Date.now();
    const c = caller('caller-talk-bye.xml', ['-d', '6000']); // a re-INVITE would fail this scenario
    const callId = await callFrom('13800138000', started);
    await until('answered', async () => (await cdr(callId)).outcome === 'answered');
    // nothing listens on the gateway address in this test
    const res = await t.api.post(`/api/calls/${encodeURIComponent(callId)}/transfer`).set(await auth('agent1')).send({ target: '110' });
    expect(res.status).toBe(202);
    const told = await until('transfer event', async () => pop.events.find((e) => e.type === 'call.transfer'), 10_000);
    expect(told.data).toMatchObject({ callId, outcome: 'failed', reason: 'timeout' });
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ endedBy: 'caller', transfer: expect.objectContaining({ outcome: 'failed', reason: 'timeout' }) });
  });

  it('a call handed over by the 110 gateway is marked, with 110\'s reference on the record and on the caller card', async () => {
    const pop = await listen('agent1');
    await available('agent1');
    const p1 = await phone('agent1', PHONE1_IP, 'phone-answer.xml');
    const started = Date.now();
    const c = caller('caller-gateway-110.xml', ['-d', '300'], GATEWAY_IP);
    const callId = await callFrom('110', started);
    const [cr, pr] = await Promise.all([c, p1.run]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
    expect(rec).toMatchObject({ fromGateway: '110', gatewayReference: 'JJ-20261126-0042', fromNumber: '110' });
    const card = await until('screen pop', async () => pop.events.find((e) => e.type === 'call.answered'));
    expect(card.data).toMatchObject({ fromGateway: '110', gatewayReference: 'JJ-20261126-0042', elderly: false });
    // a ticket filed from it keeps 110's reference; a ticket naming a call that does not exist is refused
    const ticket = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ callId }));
    expect(ticket.status, JSON.stringify(ticket.body)).toBe(201);
    expect(ticket.body.externalRef).toBe('110:JJ-20261126-0042');
    const bogus = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ callId: 'no-such-call@127.0.0.9' }));
    expect(bogus.status).toBe(400);
    expect(bogus.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: 'body.callId' })] });
  });

  it('baresip registers as agent1 with the directory SIP credentials and answers a call from SIPp', async () => {
    const phoneB = await startBaresip({
      user: 'agent1', password: DEMO_PASSWORD, domain: REALM, registrar: { address: ADAPTER_IP, port: tel.port },
      localAddress: BARESIP_IP, answer: 'auto', regint: 600,
    });
    try {
      const bindings = await tel.bindings.list(`sip:agent1@${REALM}`, Date.now());
      expect(bindings.map((b) => b.contact).join(' ')).toContain(`@${BARESIP_IP}:${phoneB.sipPort}`);
      // only this registration: the SIPp phones of earlier tests are gone
      for (const b of bindings) if (!b.contact.includes(BARESIP_IP)) await tel.bindings.remove(b.aor, b.contact);
      await available('agent1');
      const started = Date.now();
      const c = caller('caller-talk-bye.xml', ['-d', '1000']);
      const callId = await callFrom('13800138000', started);
      const cr = await c;
      expect(cr.code, describeRun(cr)).toBe(0);
      expect(cr.logs).toContain(`answered-with=c=IN IP4 ${BARESIP_IP}`);
      await phoneB.waitForEvent('CALL_CLOSED', 10_000);
      const rec = await until('ended', async () => ((await cdr(callId)).outcome === 'ended' ? cdr(callId) : null));
      expect(rec).toMatchObject({ answeredBy: 'agent1', endedBy: 'caller' });
    } finally {
      await phoneB.stop();
    }
  });
});
