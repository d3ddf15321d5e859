/**
 * The agent's call journey in the browser, with telephony played by its own event publisher
 * (telephony/src/call-events.ts) on the real queues — the SIP side is covered by
 * test/telephony/. The agent goes available, the call is answered, the caller card pops without
 * a reload, the form is pre-filled, the ticket is filed and dispatched with the call linked, and
 * 转110 shows telephony's outcome. The department sees the ticket arrive in its inbox.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RingCommand, TransferCommand } from '../../server/src/calls/telephony-contract.js';
import { until } from '../helpers/until.js';
import { hasBrowser, login, newPage, settledDialog, SHOTS, textOf, visible } from './browser.js';
import { callPlayer } from '../helpers/call-player.js';
import { browserSuite } from './suite.js';

const SDP = 'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';

describe.skipIf(!hasBrowser)('agent console: a call from pop to 110', () => {
  const suite = browserSuite();
  const player = callPlayer(() => suite.t);
  const jobs = player.jobs;

  it('pop, pre-filled intake, dispatch with the call linked, 转110 with its outcome', async () => {
    const page = await newPage(suite.browser);
    await login(page, suite.base, 'agent1');
    await page.locator('label.ant-radio-button-wrapper', { hasText: '示闲' }).click();
    await textOf(page.getByTestId('agent-state')).toBe('示闲');

    // a citizen calls 12345; the ACD rings agent1's phone; the phone answers
    const callId = `${randomUUID()}@127.0.0.1`;
    await player.publisher.publish({ type: 'call.offered', callId, instance: 'tel1', line: 'main', lineName: '12345政务服务便民热线', fromNumber: '13912345678', displayName: '', toNumber: '12345', sdp: SDP, receivedAt: new Date().toISOString() });
    const ring = await until('ring command', async () => (await jobs<RingCommand>('ring')).find((j) => j.data.callId === callId) ?? null);
    await player.publisher.publish({ type: 'call.answered', callId, agentId: 'agent1', offerAt: ring.data.offerAt, at: new Date().toISOString() });

    // the card pops without a reload, and the form takes the caller's number
    await textOf(page.getByTestId('caller-number')).toBe('13912345678');
    await textOf(page.getByTestId('agent-state')).toBe('通话中');
    expect(await page.locator('#phone').inputValue()).toBe('13912345678');

    // intake: category, area, address, content; routing suggests the lead department
    await page.locator('label.ant-radio-button-wrapper', { hasText: '投诉' }).click();
    await page.locator('#callerName').fill('王先生');
    await page.locator('#districtId').click();
    await page.locator('.ant-select-item-option', { hasText: '文峰区人民政府' }).click();
    await page.locator('#address').fill('文峰区中华路88号');
    await page.locator('#content').fill('楼下餐馆油烟直排，影响居民开窗通风，已持续一个月。');
    await visible(page.getByText(/建议：文峰区城市管理局/));
    await page.screenshot({ path: resolve(SHOTS, 'agent-call.png'), fullPage: true });
    await page.getByTestId('dispatch').click();
    await visible(page.getByText(/已派单/));

    // the ticket carries the call; the call record lists the ticket
    const agentToken = await suite.t.token('agent1');
    const list = await suite.t.api.get('/api/tickets').query({ phone: '13912345678' }).set('authorization', `Bearer ${agentToken}`);
    expect(list.body.items).toHaveLength(1);
    const ticket = list.body.items[0] as { id: string; leadDepartmentId: string; state: string };
    expect(ticket).toMatchObject({ leadDepartmentId: 'wenfeng-urban', state: 'dispatched' });
    const calls = await until('linked call', async () => {
      const r = await suite.t.api.get(`/api/tickets/${ticket.id}/calls`).set('authorization', `Bearer ${agentToken}`);
      return r.body.items?.length ? r.body.items : null;
    });
    expect(calls[0]).toMatchObject({ id: callId });

    // 转110: confirmation, command to telephony, outcome from telephony shown on the card
    await page.getByTestId('transfer-110').click();
    const confirm = await settledDialog(page.getByRole('dialog', { name: '确认转接 110？' }));
    await confirm.getByRole('button', { name: '确认转 110' }).click();
    await confirm.waitFor({ state: 'hidden', timeout: 15_000 });
    const transfer = await until('transfer command', async () => (await jobs<TransferCommand>('transfer')).find((j) => j.data.callId === callId) ?? null);
    expect(transfer.data).toMatchObject({ target: '110', by: 'agent1' });
    await textOf(page.getByTestId('transfer-outcome')).toContain('转接中');
    await player.publisher.publish({ type: 'call.transfer-result', callId, requestId: transfer.data.requestId, target: '110', outcome: 'connected', reason: null, at: new Date().toISOString() });
    await textOf(page.getByTestId('transfer-outcome')).toContain('已接通');
    await page.screenshot({ path: resolve(SHOTS, 'agent-transfer-110.png'), fullPage: true });
    await page.context().close();
  });
});
