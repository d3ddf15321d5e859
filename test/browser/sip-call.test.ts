/**
 * The agent's call journeys in the browser with real telephony (issue #5 item 8): the server
 * (real Redis + FerretDB, workers on) and the telephony adapter run in this process, as in
 * test/telephony/journeys.test.ts; SIPp plays the citizen calling 12345, agent1's registered
 * phone and the 110 gateway; chromium (playwright-core) drives the console.
 *
 * 1. agent1 goes available in the console; a SIPp caller dials 12345; agent1's SIPp phone
 *    answers; the caller card pops without a reload; the agent files the pre-filled ticket and
 *    dispatches it; the ticket's call records list that SIP call.
 * 2. another call; the agent presses 转110 and confirms; the SIPp gateway answers; the console
 *    shows "已接通"; the caller is re-INVITEd to the gateway and hangs up cleanly; the CDR keeps
 *    the transfer.
 * 3. 转110 again, with the POST's 202 held back (page.route) until the gateway's answer has
 *    reached the console — the order a loaded machine produces by chance: the card must keep
 *    "已接通" once the late 202 (outcome pending) arrives.
 * All calls are then counted on our side: adapter stats and the call KPIs from the CDRs.
 * The ACD's presence check is on (default): agent1 is reachable through the console's socket and
 * the phone's binding in the registrations.
 *
 * Hosts: adapter 127.0.0.1, caller 127.0.0.12, agent1's phone 127.0.0.13, 110 gateway
 * 127.0.0.16 — distinct because a next hop on the adapter's own host is refused (sip defect 1).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallDoc } from '../../server/src/calls/model.js';
import type { CallKpiReport } from '../../server/src/calls/kpis.js';
import type { TelephonyAdapter } from '../../telephony/src/adapter.js';
import { buildGatewayTable } from '../../telephony/src/gateways.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { describeRun, freeUdpPort, runSipp, startTelephonyOnFreePort, type SippRun } from '../telephony/sipp.js';
import { ensureConsoleBuild, hasBrowser, launch, login, newPage, settledDialog, SHOTS, textOf, visible } from './browser.js';

const ADAPTER_IP = '127.0.0.1';
const CALLER_IP = '127.0.0.12';
const PHONE_IP = '127.0.0.13';
const GATEWAY_IP = '127.0.0.16';
const REALM = 'hotline.local';
/** the number test/telephony/scenarios/caller-*.xml call from, and their display name */
const CALLER = '13800138000';
const CALLER_NAME = '市民张三';
/** SIPp's own limits: well past anything a loaded machine needs (runSipp's default is 15 s) */
const SIPP_LIMITS = ['-recv_timeout', '45000', '-timeout', '90s'];
const SIPP_KILL_MS = 100_000;

const sh = promisify(execFile);

/** SIPp has bound its UDP socket: ask the kernel (iproute2's ss); without ss, the 300 ms test/telephony waits. */
async function bound(ip: string, port: number): Promise<void> {
  await until(`SIPp listening on ${ip}:${port}`, async () => {
    try {
      const { stdout } = await sh('ss', ['-Hlun', 'src', `${ip}:${port}`]);
      return stdout.trim().length > 0;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
      await new Promise((r) => setTimeout(r, 300));
      return true;
    }
  }, 15_000);
}

describe.skipIf(!hasBrowser)('agent console with real SIP: SIPp call, pop, ticket, 转110', { timeout: 180_000 }, () => {
  let t: TestApp;
  let tel: TelephonyAdapter;
  let gatewayPort: number;
  let browser: Browser;
  let base: string;
  let page: Page;
  let phoneContact: string | null = null;
  /** the SIP Call-IDs of the journeys, in order */
  const callIds: string[] = [];
  /** when the page POSTed a transfer (diagnostics) */
  const transferPosts: string[] = [];

  const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
  const cdr = async (id: string) => (await t.api.get(`/api/calls/${encodeURIComponent(id)}`).set(await auth('super1'))).body as Record<string, unknown> & Partial<CallDoc>;
  const ended = (id: string) => until(`call ${id} ended`, async () => {
    const r = await cdr(id);
    return r.outcome === 'ended' ? r : null;
  }, 30_000);

  /** agent1's phone: a SIPp UAS on PHONE_IP, registered as a REGISTER would (the binding replaces the previous one). */
  async function phone(scenario: string): Promise<{ run: Promise<SippRun> }> {
    const aor = `sip:agent1@${REALM}`;
    if (phoneContact) await tel.bindings.remove(aor, phoneContact);
    const port = await freeUdpPort(PHONE_IP);
    phoneContact = `sip:agent1@${PHONE_IP}:${port}`;
    const run = runSipp({ scenario, target: { address: ADAPTER_IP, port: tel.port }, localAddress: PHONE_IP, localPort: port, args: SIPP_LIMITS, killAfterMs: SIPP_KILL_MS });
    await bound(PHONE_IP, port);
    await tel.bindings.put({
      aor, contact: phoneContact, expiresAt: Date.now() + 600_000,
      callId: randomBytes(6).toString('hex'), cseq: 1, source: { protocol: 'UDP', address: PHONE_IP, port }, updatedAt: Date.now(),
    });
    return { run }; // (an async function returning the bare promise would wait for SIPp to finish)
  }

  /** The citizen dials 12345 from CALLER_IP; resolves with the SIP Call-ID once the adapter has the call. */
  async function call(scenario: string, talkMs: number): Promise<{ run: Promise<SippRun>; callId: string }> {
    const started = Date.now();
    const run = runSipp({ scenario, target: { address: ADAPTER_IP, port: tel.port }, localAddress: CALLER_IP, args: ['-s', '12345', '-d', String(talkMs), ...SIPP_LIMITS], killAfterMs: SIPP_KILL_MS });
    const callId = await until('the adapter has the call', async () => tel.relay.activeCalls.find((c) => c.fromNumber === CALLER && c.receivedAt >= started)?.callId, 20_000);
    callIds.push(callId);
    return { run, callId };
  }

  async function setAvailable(): Promise<void> {
    await page.locator('label.ant-radio-button-wrapper', { hasText: '示闲' }).click();
    await textOf(page.getByTestId('agent-state')).toBe('示闲');
    const me = await t.api.get('/api/agents/me').set(await auth('agent1'));
    expect(me.body).toMatchObject({ state: 'available' });
  }

  /**
   * The confirmation dialog closes once the transfer's 202 has been applied. If it stays open (a
   * refused or hung request), fail with what the page and the call record say, and a screenshot.
   */
  async function explained(what: string, callId: string, shot: string, step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (e) {
      await page.screenshot({ path: resolve(SHOTS, shot), fullPage: true }).catch(() => undefined);
      const messages = await page.locator('.ant-message').allTextContents().catch(() => []);
      const rec = await cdr(callId).catch((err) => ({ error: String(err) }));
      throw new Error(
        `${what}: ${String(e)}\ntransfer POSTs by the page: ${JSON.stringify(transferPosts)}\npage messages: ${JSON.stringify(messages)}\n` +
          `adapter stats: ${JSON.stringify(tel.relay.stats)}\ncall record: ${JSON.stringify(rec).slice(0, 1500)}\nscreenshot: ${shot}`,
      );
    }
  }
  const confirmClosed = (confirm: Locator, callId: string, shot: string) =>
    explained('the 转110 dialog stayed open', callId, shot, () => confirm.waitFor({ state: 'hidden', timeout: 30_000 }));
  const outcomeShows = (text: string, callId: string, shot: string) =>
    explained(`the card never showed ${text}`, callId, shot, () => textOf(page.getByTestId('transfer-outcome'), 30_000).toContain(text));

  /** Press 转110 and confirm (after the dialog's opening animation, as a person would). */
  async function transfer110(): Promise<Locator> {
    await page.getByTestId('transfer-110').click();
    const confirm = page.getByRole('dialog', { name: '确认转接 110？' });
    await visible(confirm.getByText(`将来电 ${CALLER} 转接至公安 110`));
    await settledDialog(confirm);
    await confirm.getByRole('button', { name: '确认转 110' }).click();
    return confirm;
  }

  beforeAll(async () => {
    ensureConsoleBuild();
    t = await startTestApp({ env: { RUN_WORKERS: 'true', ACD_TICK_MS: '500', SIP_REALM: REALM } });
    base = `http://127.0.0.1:${t.port}`;
    gatewayPort = await freeUdpPort(GATEWAY_IP);
    tel = await startTelephonyOnFreePort(ADAPTER_IP, {
      realm: REALM, instance: 'tel1', redisUrl: process.env.TEST_REDIS_URL!, queuePrefix: t.prefix,
      gateways: buildGatewayTable([
        { key: '110', name: '公安110', uri: `sip:110@${GATEWAY_IP}:${gatewayPort}`, inboundSources: [GATEWAY_IP], referenceHeader: 'x-110-incident' },
      ]),
      maxRingMs: 30_000, transferTimeoutMs: 8_000,
    });
    browser = await launch();
    page = await newPage(browser);
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/api\/calls\/[^/]+\/transfer$/.test(r.url())) transferPosts.push(new Date().toISOString());
    });
    // failed API calls of the page belong in the test output (a refused transfer keeps its dialog open)
    page.on('response', (r) => {
      if (r.status() >= 400 && r.url().includes('/api/') && !r.url().endsWith('/api/auth/me')) {
        void r.text().then((b) => console.error(`[api] ${r.status()} ${r.request().method()} ${r.url()} ${b.slice(0, 300)}`), () => undefined);
      }
    });
    await login(page, base, 'agent1');
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await tel?.stop();
    await t?.close();
  });

  it('journey 1: a SIPp call to 12345 is answered by the agent\'s SIPp phone; the card pops; the pre-filled ticket is dispatched with the call linked', async () => {
    await setAvailable();
    const { run: phoneRun } = await phone('phone-answer.xml');
    // the caller stays on the line for 15 s (the agent files the ticket meanwhile), then hangs up
    const c = await call('caller-talk-bye.xml', 15_000);

    // the screen pop arrives without a reload: number, line, live call; the agent is on the call
    await textOf(page.getByTestId('caller-number'), 30_000).toBe(CALLER);
    const card = page.getByTestId('call-card');
    await visible(card.getByText('12345政务服务便民热线'));
    await visible(card.getByText('通话中'));
    await textOf(page.getByTestId('agent-state'), 30_000).toBe('通话中');
    await until('the call record answered by agent1', async () => (await cdr(c.callId)).answeredBy === 'agent1', 15_000);

    // the form is pre-filled from the call: number and the caller's display name
    expect(await page.locator('#phone').inputValue()).toBe(CALLER);
    expect(await page.locator('#callerName').inputValue()).toBe(CALLER_NAME);

    // intake: category, area, address, content; routing suggests the lead department
    await page.locator('label.ant-radio-button-wrapper', { hasText: '投诉' }).click();
    await page.locator('#districtId').click();
    await page.locator('.ant-select-item-option', { hasText: '文峰区人民政府' }).click();
    await page.locator('#address').fill('文峰区中华路88号');
    await page.locator('#content').fill('楼下餐馆油烟直排，影响居民开窗通风，已持续一个月。');
    await visible(page.getByText(/建议：文峰区城市管理局/));
    await page.screenshot({ path: resolve(SHOTS, 'sip-call-pop.png'), fullPage: true });
    await page.getByTestId('dispatch').click();
    await visible(page.getByText(/已派单/), 30_000);

    // the ticket exists, dispatched, and its call records show this SIP call
    const agentAuth = await auth('agent1');
    const list = await t.api.get('/api/tickets').query({ phone: CALLER }).set(agentAuth);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const ticket = list.body.items[0] as { id: string; leadDepartmentId: string; state: string; category: string; address: string };
    expect(ticket).toMatchObject({ leadDepartmentId: 'wenfeng-urban', state: 'dispatched', category: 'complaint', address: '文峰区中华路88号' });
    const linked = await until('the ticket lists the call', async () => {
      const r = await t.api.get(`/api/tickets/${ticket.id}/calls`).set(agentAuth);
      return r.body.items?.length ? (r.body.items as Array<Record<string, unknown>>) : null;
    }, 30_000);
    expect(linked).toEqual([expect.objectContaining({ id: c.callId, fromNumber: CALLER, line: 'main', answeredBy: 'agent1' })]);

    // the SIP side: the caller's BYE got its 200, the phone got the BYE; both SIPp runs passed
    const [cr, pr] = await Promise.all([c.run, phoneRun]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    expect(pr.logs).toContain(`offered-with=c=IN IP4 ${CALLER_IP}`);
    expect(cr.logs).toContain(`answered-with=c=IN IP4 ${PHONE_IP}`);

    // the call record closes, ended by the caller, linked to the ticket; the card says the call ended
    const rec = await ended(c.callId);
    expect(rec).toMatchObject({ answeredBy: 'agent1', endedBy: 'caller', line: 'main', fromNumber: CALLER, transfer: null });
    expect(rec.ticketIds).toContain(ticket.id);
    await visible(card.getByText('已挂断'), 30_000);
    await textOf(page.getByTestId('agent-state'), 30_000).toBe('话后处理');
  });

  it('journey 2: 转110 from the console; the SIPp gateway answers; the console shows 已接通; the caller is re-INVITEd and hangs up cleanly', async () => {
    expect(callIds).toHaveLength(1); // journey 1 ran first
    await setAvailable();
    const { run: phoneRun } = await phone('phone-answer.xml');
    const gwRun = runSipp({ scenario: 'phone-answer.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: GATEWAY_IP, localPort: gatewayPort, args: SIPP_LIMITS, killAfterMs: SIPP_KILL_MS });
    await bound(GATEWAY_IP, gatewayPort);
    // the caller talks 1.5 s with 110 after the re-INVITE, then hangs up
    const c = await call('caller-reinvited-bye.xml', 1_500);

    // a new pop for the new call; the caller's earlier ticket (journey 1) is on the card
    const card = page.getByTestId('call-card');
    await until('the pop of the second call', async () => ((await cdr(c.callId)).outcome === 'answered' ? true : null), 30_000);
    await visible(card.getByText('通话中'), 30_000);
    await textOf(page.getByTestId('agent-state'), 30_000).toBe('通话中');
    await textOf(card.getByRole('heading', { name: /历史工单/ }), 30_000).toBe('历史工单（1）');
    // the form is pre-filled from the caller's latest ticket as well
    await expect.poll(() => page.locator('#address').inputValue(), { timeout: 15_000 }).toBe('文峰区中华路88号');
    expect(await page.getByTestId('transfer-110').isEnabled()).toBe(true);

    // the big button, then the confirmation
    const confirm = await transfer110();
    // The dialog closes once the POST's 202 (outcome pending) is applied; the gateway's answer
    // comes as a socket event that may arrive before or after that 202 — either way the card must
    // end up showing 已接通 (a late 202 must not turn it back to 转接中).
    await confirmClosed(confirm, c.callId, 'sip-call-transfer-110-failure.png');
    await outcomeShows('已接通', c.callId, 'sip-call-transfer-110-failure.png');
    expect(await page.getByTestId('transfer-110').isDisabled()).toBe(true); // no second transfer of a connected call
    await page.screenshot({ path: resolve(SHOTS, 'sip-call-transfer-110.png'), fullPage: true });

    // SIP side: the gateway got the caller's SDP and number, the caller was re-INVITEd with the
    // gateway's SDP and its BYE got a 200, the agent's phone was released with a BYE
    const [cr, pr, gr] = await Promise.all([c.run, phoneRun, gwRun]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    expect(gr.code, describeRun(gr)).toBe(0);
    expect(gr.logs).toContain(`offered-with=c=IN IP4 ${CALLER_IP}`);
    expect(gr.logs).toContain(CALLER);
    expect(cr.logs).toContain(`reinvited-with=c=IN IP4 ${GATEWAY_IP}`);

    const rec = await ended(c.callId);
    expect(rec.transfer).toMatchObject({ target: '110', outcome: 'connected', by: 'agent1', reason: null });
    expect(rec).toMatchObject({ answeredBy: 'agent1', endedBy: 'caller', fromNumber: CALLER });
    expect((await t.api.get('/api/agents/me').set(await auth('agent1'))).body).toMatchObject({ state: 'wrap_up' });
    await textOf(page.getByTestId('agent-state'), 30_000).toBe('话后处理');
    expect(await page.getByTestId('transfer-outcome').textContent()).toContain('已接通'); // still, after the call ended
  });

  it('转110 when the gateway\'s answer reaches the console before the POST\'s 202: the card keeps 已接通 (no flip back to 转接中)', async () => {
    expect(callIds).toHaveLength(2);
    await setAvailable();
    const { run: phoneRun } = await phone('phone-answer.xml');
    const gwRun = runSipp({ scenario: 'phone-answer.xml', target: { address: ADAPTER_IP, port: tel.port }, localAddress: GATEWAY_IP, localPort: gatewayPort, args: SIPP_LIMITS, killAfterMs: SIPP_KILL_MS });
    await bound(GATEWAY_IP, gatewayPort);
    const c = await call('caller-reinvited-bye.xml', 1_500);
    const card = page.getByTestId('call-card');
    await until('answered', async () => ((await cdr(c.callId)).outcome === 'answered' ? true : null), 30_000);
    await visible(card.getByText('通话中'), 30_000);
    await textOf(page.getByTestId('agent-state'), 30_000).toBe('通话中');
    expect(await page.getByTestId('transfer-outcome').count()).toBe(0); // a new call: no outcome shown yet

    // The order that happens by chance on a loaded machine, made certain: the server has taken the
    // request, but its 202 reaches the page only after the gateway's answer was shown.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const transferUrl = '**/api/calls/*/transfer';
    await page.route(transferUrl, async (route) => {
      const response = await route.fetch();
      if (response.status() !== 202) console.error(`[api] ${response.status()} transfer: ${(await response.text()).slice(0, 300)}`);
      await held;
      await route.fulfill({ response });
    });
    try {
      const confirm = await transfer110();
      await outcomeShows('已接通', c.callId, 'sip-call-transfer-race-failure.png');
      expect((await cdr(c.callId)).transfer).toMatchObject({ outcome: 'connected' });
      release();
      await confirmClosed(confirm, c.callId, 'sip-call-transfer-race-failure.png'); // the 202 has been applied
      expect(await page.getByTestId('transfer-outcome').textContent()).toContain('已接通');
    } finally {
      release();
      await page.unroute(transferUrl);
    }

    const [cr, pr, gr] = await Promise.all([c.run, phoneRun, gwRun]);
    expect(cr.code, describeRun(cr)).toBe(0);
    expect(pr.code, describeRun(pr)).toBe(0);
    expect(gr.code, describeRun(gr)).toBe(0);
    expect(cr.logs).toContain(`reinvited-with=c=IN IP4 ${GATEWAY_IP}`);
    const rec = await ended(c.callId);
    expect(rec.transfer).toMatchObject({ target: '110', outcome: 'connected', by: 'agent1' });
    expect(await page.getByTestId('transfer-outcome').textContent()).toContain('已接通');
  });

  it('counts the calls on our side: adapter stats and the call KPIs from the CDRs', async () => {
    expect(callIds).toHaveLength(3);
    // (should a journey fail early, its SIPp peers still finish the call: wait for that, count anyway)
    await until('no call left in the adapter', async () => tel.relay.activeCalls.length === 0, 30_000);
    expect(tel.relay.stats).toMatchObject({ offered: 3, answered: 3, transfers: 2, transfersFailed: 0, ringTimeouts: 0, cancelled: 0 });
    // finished calls reach MongoDB at once; the KPI report reads them there
    const report = await until('all calls in the KPIs', async () => {
      const r = await t.api.get('/api/kpis/calls').query({ groupBy: 'agent' }).set(await auth('super1'));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body as CallKpiReport).total.offered === 3 ? (r.body as CallKpiReport) : null;
    }, 30_000);
    expect(report.total).toMatchObject({ received: 3, offered: 3, answered: 3, abandoned: 0, stillQueued: 0, talked: 3 });
    expect(report.total.transfers).toMatchObject({ requested: 2, connected: 2, failed: 0, pending: 0 });
    expect(report.total.transfers.byTarget['110']).toMatchObject({ requested: 2, connected: 2 });
    expect(report.buckets).toEqual([expect.objectContaining({ key: 'agent1', offered: 3, answered: 3 })]);
    for (const id of callIds) expect((await cdr(id)).outcome).toBe('ended');
  });
});
