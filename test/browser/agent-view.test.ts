/**
 * The agent's workbench beyond the call journey (issue #5 item 2) and the ticket detail page
 * (item 5), in chromium against the production build. Telephony is played by its own event
 * publisher (telephony/src/call-events.ts) on the real queues, as in agent-call.test.ts.
 *
 * - 未接回拨: a call that waits with no agent available and is abandoned appears in the callback
 *   list (and the tab's count) without a reload; a call-back nobody answered counts an attempt,
 *   a reached one closes the task, and a second agent's list follows live.
 * - 老年人优先: a call from a number on the elderly list (ELDERLY_NUMBERS) pops with the elderly tag.
 * - The agent overrides the routing suggestion; the ticket goes to the department chosen.
 * - Ticket search by number, by the caller's phone and by text; a query matching nothing lists none.
 * - Ticket detail: timeline (actor and action), per-milestone deadlines, the linked call, the
 *   rating and the duplicate/merge links for a supervisor; the caller's phone masked everywhere
 *   on the page for the department.
 * Screenshots: test-artifacts/screenshots/agent-view-*.png and ticket-detail-full.png.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Job } from 'bullmq';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RingCommand } from '../../server/src/calls/telephony-contract.js';
import { DEMO, intake, ticketToVisiting } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { hasBrowser, login, newPage, SHOTS, textOf, visible } from './browser.js';
import { callPlayer } from '../helpers/call-player.js';
import { browserSuite } from './suite.js';

const SDP = 'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const ELDERLY = '13800138000';

describe.skipIf(!hasBrowser)('agent view and ticket detail in chromium', () => {
  const suite = browserSuite({ env: { ELDERLY_NUMBERS: `${ELDERLY},13900000001` } });
  const player = callPlayer(() => suite.t);

  const as = suite.as;
  const now = () => new Date().toISOString();

  const ringFor = async (callId: string): Promise<Job<RingCommand>> =>
    until('ring command', async () => {
      const jobs = (await player.commands.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])) as Job<RingCommand>[];
      return jobs.find((j) => j.name === 'ring' && j.data.callId === callId) ?? null;
    });

  const offer = async (fromNumber: string): Promise<string> => {
    const callId = `${randomUUID()}@127.0.0.1`;
    await player.publisher.publish({ type: 'call.offered', callId, instance: 'tel1', line: 'main', lineName: '12345政务服务便民热线', fromNumber, displayName: '', toNumber: '12345', sdp: SDP, receivedAt: now() });
    return callId;
  };

  /** A call from `fromNumber` rung on agent1's phone and answered there. */
  const answeredCall = async (fromNumber: string): Promise<string> => {
    const callId = await offer(fromNumber);
    const ring = await ringFor(callId);
    expect(ring.data.agentId).toBe('agent1');
    await player.publisher.publish({ type: 'call.answered', callId, agentId: ring.data.agentId, offerAt: ring.data.offerAt, at: now() });
    return callId;
  };

  const hangUp = (callId: string) => player.publisher.publish({ type: 'call.ended', callId, by: 'caller', reason: 'bye', at: now() });

  /** agent1's ACD state, set through the API (the suite.browser test of presence is agent-call.test.ts). */
  const agentState = async (state: 'available' | 'logged_out' | 'break' | 'wrap_up') => {
    const r = await suite.t.api.post('/api/agents/me/state').set(await as('agent1')).send({ state });
    expect(r.status).toBe(200);
  };

  /** A flag in the page's global scope: still there later means no reload happened in between. */
  const markDocument = (page: Page) => page.evaluate(() => ((globalThis as Record<string, unknown>).__sameDocument = true));
  const sameDocument = (page: Page) => page.evaluate(() => (globalThis as Record<string, unknown>).__sameDocument === true);

  it('未接回拨: a call abandoned while no agent is free appears in the callback list live', async () => {
    // nobody is available: every demo agent starts logged out
    const page = await newPage(suite.browser);
    await login(page, suite.base, 'agent1');
    await textOf(page.getByTestId('agent-state')).not.toBe('示闲');
    await page.getByRole('tab', { name: /未接回拨/ }).click();
    const list = page.getByTestId('callback-list');
    await visible(list.getByText('暂无回拨任务'));
    await markDocument(page);

    // a citizen calls, waits in the queue, and hangs up
    const callId = await offer('13700007777');
    await until('call queued', async () => {
      const r = await suite.t.api.get(`/api/calls/${encodeURIComponent(callId)}`).set(await as('agent1'));
      return r.status === 200 && r.body.outcome === 'queued' ? r.body : null;
    });
    await player.publisher.publish({ type: 'call.abandoned', callId, line: 'main', reason: 'caller-cancel', finalStatus: 487, at: now() });

    // the row arrives without a reload, with the reason; the tab counts it
    const row = list.locator('tr.ant-table-row', { hasText: '13700007777' });
    await visible(row);
    await visible(row.getByText('放弃呼叫'));
    await textOf(page.getByTestId('callback-count')).toBe('1');
    expect(await sameDocument(page)).toBe(true);

    // the server holds the task and the call record points at it
    const tasks = (await suite.t.api.get('/api/callbacks').set(await as('agent1'))).body.items as { id: string; callId: string; reason: string; callerNumber: string }[];
    expect(tasks).toEqual([expect.objectContaining({ callId, reason: 'abandoned', callerNumber: '13700007777' })]);
    const rec = await suite.t.api.get(`/api/calls/${encodeURIComponent(callId)}`).set(await as('agent1'));
    expect(rec.body).toMatchObject({ outcome: 'abandoned', callbackTaskId: tasks[0]!.id });
    await page.screenshot({ path: resolve(SHOTS, 'agent-view-callbacks.png'), fullPage: true });

    // agent1 calls back: nobody answers; the task stays with one attempt. agent2 sees it live.
    const other = await newPage(suite.browser);
    await login(other, suite.base, 'agent2');
    await other.getByRole('tab', { name: /未接回拨/ }).click();
    const otherRow = other.getByTestId('callback-list').locator('tr.ant-table-row', { hasText: '13700007777' });
    await visible(otherRow);
    await page.bringToFront();
    await row.locator('[data-callback-result="no_answer"]').click();
    await textOf(row.getByTestId('callback-attempts')).toBe('1');
    await textOf(otherRow.getByTestId('callback-attempts')).toBe('1');
    // the second call-back reaches the citizen: the task leaves both lists
    await row.locator('[data-callback-result="reached"]').click();
    await list.locator('tr.ant-table-row', { hasText: '13700007777' }).waitFor({ state: 'detached', timeout: 15_000 });
    await other.getByTestId('callback-list').locator('tr.ant-table-row', { hasText: '13700007777' }).waitFor({ state: 'detached', timeout: 15_000 });
    await textOf(page.getByTestId('callback-count')).toBe(''); // antd shows no badge at 0
    expect(await sameDocument(page)).toBe(true);
    const history = await suite.t.api.get(`/api/callbacks/${encodeURIComponent(tasks[0]!.id)}/results`).set(await as('agent1'));
    expect(history.body.items.map((r: { result: string; by: { id: string } }) => [r.result, r.by.id])).toEqual([
      ['no_answer', 'agent1'],
      ['reached', 'agent1'],
    ]);
    expect((await suite.t.api.get('/api/callbacks').set(await as('agent1'))).body.items).toEqual([]);
    await other.context().close();
    await page.context().close();
  }, 120_000);

  it('老年人优先: a call from a number on the elderly list pops with the elderly tag; others do not', async () => {
    const page = await newPage(suite.browser);
    await login(page, suite.base, 'agent1');
    await agentState('available');
    await textOf(page.getByTestId('agent-state')).toBe('示闲');

    const callId = await answeredCall(ELDERLY);
    await textOf(page.getByTestId('caller-number')).toBe(ELDERLY);
    await textOf(page.getByTestId('caller-elderly')).toBe('老年人');
    // the intake form takes the flag over
    expect(await page.getByRole('checkbox', { name: '老年人' }).isChecked()).toBe(true);
    const rec = await suite.t.api.get(`/api/calls/${encodeURIComponent(callId)}`).set(await as('agent1'));
    expect(rec.body.priority).toBe(10); // PRIORITY.elderly: ahead of everyone in the queue
    await page.getByTestId('call-card').screenshot({ path: resolve(SHOTS, 'agent-view-elderly.png') });
    await hangUp(callId);
    await visible(page.getByTestId('call-card').getByText('已挂断'));

    // a caller not on the list: no tag
    await agentState('available');
    const other = await answeredCall('13911112222');
    await textOf(page.getByTestId('caller-number')).toBe('13911112222');
    expect(await page.getByTestId('caller-elderly').count()).toBe(0);
    expect(await page.getByRole('checkbox', { name: '老年人' }).isChecked()).toBe(false);
    await hangUp(other);
    await visible(page.getByTestId('call-card').getByText('已挂断'));
    await page.context().close();
  });

  it('the agent overrides the suggested department; the ticket goes to the one chosen', async () => {
    const page = await newPage(suite.browser);
    await login(page, suite.base, 'agent1');
    await page.locator('#phone').fill('13622223333');
    await page.locator('label.ant-radio-button-wrapper', { hasText: '投诉' }).click();
    await page.locator('#callerName').fill('周先生');
    await page.locator('#districtId').click();
    await page.locator('.ant-select-item-option', { hasText: '文峰区人民政府' }).click();
    await page.locator('#address').fill('文峰区光华路12号');
    await page.locator('#content').fill('小区楼顶违章搭建彩钢房，存在安全隐患，物业不予处理。');

    // routing suggests 文峰区城市管理局 and fills it in
    const suggestion = page.getByTestId('routing-suggestion');
    await textOf(suggestion).toContain('建议：文峰区城市管理局');
    const suggested = await suggestion.getAttribute('data-department');
    expect(suggested).toBe('wenfeng-urban');
    const lead = page.locator('.ant-form-item', { has: page.locator('#leadDepartmentId') });
    await visible(lead.locator('.ant-select-selection-item', { hasText: '文峰区城市管理局' }));
    expect(await page.getByTestId('lead-overridden').count()).toBe(0);

    // the agent picks 市住房和城乡建设局 instead (typing to search the list)
    const pickHousing = async () => {
      await lead.locator('.ant-select-selector').click();
      await page.keyboard.type('住房');
      await page.locator('.ant-select-dropdown:visible .ant-select-item-option', { hasText: '市住房和城乡建设局' }).click();
      await visible(lead.locator('.ant-select-selection-item', { hasText: '市住房和城乡建设局' }));
      await visible(page.getByTestId('lead-overridden'));
      await expect.poll(() => page.locator('.ant-select-dropdown:visible').count()).toBe(0); // closed again
    };
    await pickHousing();
    // 恢复建议 puts the suggestion back; the agent then overrides again
    await lead.getByRole('button', { name: '恢复建议' }).click();
    await visible(lead.locator('.ant-select-selection-item', { hasText: '文峰区城市管理局' }));
    await page.getByTestId('lead-overridden').waitFor({ state: 'detached' });
    await pickHousing();
    await page.screenshot({ path: resolve(SHOTS, 'agent-view-override.png'), fullPage: true });
    await page.getByTestId('dispatch').click();
    await visible(page.getByText(/已派单/));

    // the server: the ticket's lead department is the one chosen, not the suggestion
    const list = await suite.t.api.get('/api/tickets').query({ phone: '13622223333' }).set(await as('agent1'));
    expect(list.body.items).toHaveLength(1);
    const ticket = list.body.items[0] as { id: string; leadDepartmentId: string; state: string };
    expect(ticket).toMatchObject({ leadDepartmentId: 'city-housing', state: 'dispatched' });
    expect(ticket.leadDepartmentId).not.toBe(suggested);
    // and the suggestion for the same matter is still the district bureau
    const again = await suite.t.api.get('/api/routing/suggest').query({ category: 'complaint', districtId: 'wenfeng' }).set(await as('agent1'));
    expect(again.body.suggestion.departmentId).toBe(suggested);
    await page.context().close();
  });

  it('ticket search by number, by phone and by text; a query matching nothing lists none', async () => {
    const create = async (over: Record<string, unknown>) => {
      const r = await suite.t.api.post('/api/tickets').set(await as('agent1')).send(intake(over));
      expect(r.status).toBe(201);
      return { id: r.body.id as string, number: r.body.number as string };
    };
    const a = await create({ caller: { name: '钱女士', phone: '13544446666', anonymous: false }, content: '梧桐路口信号灯故障，早高峰车辆拥堵严重。' });
    const b = await create({ caller: { name: '孙先生', phone: '13577778888', anonymous: false }, address: '北关区红旗路5号', content: '小区供暖温度不达标，室内只有十五度。' });

    const page = await newPage(suite.browser);
    await login(page, suite.base, 'agent1');
    await page.getByRole('tab', { name: '工单查询' }).click();
    const form = page.getByRole('form', { name: '工单查询' });
    const results = page.getByTestId('search-results');
    const rows = results.locator('tr.ant-table-row');
    const search = async (fields: { number?: string; phone?: string; q?: string }, expected: string[]) => {
      await page.locator('#search_number').fill(fields.number ?? '');
      await page.locator('#search_phone').fill(fields.phone ?? '');
      await page.locator('#search_q').fill(fields.q ?? '');
      await form.getByRole('button', { name: /查\s*询/ }).click();
      await textOf(page.getByTestId('search-total')).toBe(`共 ${expected.length} 条`);
      await expect.poll(() => rows.count()).toBe(expected.length);
      for (const n of expected) await visible(rows.filter({ hasText: n }));
    };

    await search({ number: a.number }, [a.number]);
    await search({ phone: '13577778888' }, [b.number]);
    await search({ q: '梧桐路口' }, [a.number]);
    await search({ q: '供暖温度' }, [b.number]);
    await page.screenshot({ path: resolve(SHOTS, 'agent-view-search.png'), fullPage: true });
    // nothing matches: none listed, the table says so
    await search({ q: '这段文字不在任何工单里' }, []);
    await visible(results.getByText('暂无数据').or(results.locator('.ant-empty')).first());
    await search({ phone: '13500000000' }, []);
    await search({ number: '12345-19990101-999999' }, []);
    // the result links to the ticket
    await search({ number: b.number }, [b.number]);
    await rows.getByRole('link', { name: b.number }).click();
    await textOf(page.getByTestId('ticket-number')).toBe(b.number);
    await page.context().close();
  });

  it('ticket detail: timeline, deadlines, linked call, rating and merge links; masked for the department', async () => {
    const PHONE = '13866665678';
    // a call answered by agent1, and the ticket filed from it, through the loop to the return visit
    await agentState('available');
    const callId = await answeredCall(PHONE);
    await hangUp(callId);
    const master = await ticketToVisiting(suite.t, {
      intake: { callId, caller: { name: '孙女士', phone: PHONE, anonymous: false }, content: `道路井盖破损，夜间行人易绊倒，来电人电话${PHONE}。` },
      reply: '已更换井盖并设置警示标志。',
    });
    // the citizen rates by the phone keypad: 2 满意
    const rated = await suite.t.api.post(`/api/tickets/${master.id}/keypad-rating`).set(await as('agent1')).send({ digit: 2 });
    expect(rated.status).toBe(200);
    // a second call about the same matter is merged into it as a duplicate
    const dup = await suite.t.api
      .post('/api/tickets')
      .set(await as('agent1'))
      .send(intake({ caller: { name: '李先生', phone: '13911113333', anonymous: false }, content: '道路井盖破损，晚上有人摔倒。' }));
    expect(dup.status).toBe(201);
    const merged = await suite.t.api.post(`/api/tickets/${dup.body.id}/merge`).set(await as('agent1')).send({ masterId: master.id });
    expect(merged.status).toBe(200);
    // the call record is linked to the ticket by the ticket-events worker
    await until('call linked', async () => {
      const r = await suite.t.api.get(`/api/tickets/${master.id}/calls`).set(await as('super1'));
      return r.body.items?.[0]?.outcome === 'ended' ? r.body.items : null;
    });
    const deadlines = (await suite.t.api.get(`/api/tickets/${master.id}/deadlines`).set(await as('super1'))).body as { milestones: { milestone: string }[] };
    expect(deadlines.milestones.length).toBeGreaterThan(0);

    // the supervisor's view
    const page = await newPage(suite.browser);
    await login(page, suite.base, 'super1');
    await page.goto(`${suite.base}/#/tickets/${master.id}`);
    await textOf(page.getByTestId('ticket-number')).toBe(master.number);
    await textOf(page.getByTestId('caller-phone')).toBe(PHONE);

    // timeline: who did what
    const timeline = page.getByTestId('timeline');
    const dispatch = timeline.locator('[data-testid="timeline-entry"][data-action="dispatch"]');
    await textOf(dispatch.first()).toContain('派单');
    await textOf(dispatch.first()).toContain(`${DEMO.agent1!.name} (话务员)`);
    const reply = timeline.locator('[data-testid="timeline-entry"][data-action="reply"]');
    await textOf(reply.first()).toContain(`答复 · ${DEMO.urban1!.name} (承办单位)`);
    await textOf(reply.first()).toContain('已更换井盖并设置警示标志。');
    expect(await timeline.getByTestId('timeline-entry').count()).toBeGreaterThanOrEqual(5);

    // one deadline row per milestone, with its name
    const dl = page.getByTestId('deadlines');
    await expect.poll(() => dl.locator('tr.ant-table-row').count()).toBe(deadlines.milestones.length);
    for (const m of deadlines.milestones) {
      await visible(dl.locator(`tr[data-row-key="${m.milestone}"]`));
    }
    await textOf(dl.locator('tr[data-row-key="sign"] td').first()).toBe('签收');
    await textOf(dl.locator('tr[data-row-key="reply"] td').first()).toBe('答复');

    // the linked call
    const callRow = page.getByTestId('call-records').locator('tr.ant-table-row');
    await expect.poll(() => callRow.count()).toBe(1);
    await textOf(callRow.locator('td').first()).toBe(PHONE);
    await textOf(callRow).toContain('已结束');

    // the rating
    const rating = page.getByTestId('ratings').getByTestId('rating-entry');
    await textOf(rating).toContain('第 1 轮');
    await textOf(rating).toContain('满意');
    await textOf(rating).toContain('电话按键');
    expect(await rating.getAttribute('data-level')).toBe('satisfied');

    // the duplicate merged into it, and back
    const dups = page.getByTestId('duplicates');
    await visible(dups.getByRole('link', { name: dup.body.number }));
    await page.screenshot({ path: resolve(SHOTS, 'ticket-detail-full.png'), fullPage: true });
    await dups.getByRole('link', { name: dup.body.number }).click();
    await textOf(page.getByTestId('ticket-number')).toBe(dup.body.number);
    await visible(page.getByText('已并单').first());
    await textOf(page.getByTestId('merged-into')).toBe(master.number);
    await visible(page.getByTestId('timeline').locator('[data-testid="timeline-entry"][data-action="merge"]'));
    await page.getByTestId('merged-into').click();
    await textOf(page.getByTestId('ticket-number')).toBe(master.number);
    await page.context().close();

    // the department's view: the phone masked, the full number nowhere on the page
    const dept = await newPage(suite.browser);
    await login(dept, suite.base, 'urban1');
    await dept.goto(`${suite.base}/#/tickets/${master.id}`);
    await textOf(dept.getByTestId('ticket-number')).toBe(master.number);
    await textOf(dept.getByTestId('caller-phone')).toBe('138****5678');
    await visible(dept.getByTestId('timeline').locator('[data-testid="timeline-entry"][data-action="reply"]'));
    await visible(dept.getByTestId('ratings').getByTestId('rating-entry'));
    // the content mentions the number too: masked there as well
    await visible(dept.getByText('来电人电话138****5678', { exact: false }));
    expect(await dept.getByTestId('call-records').count()).toBe(0); // call records are the hotline's
    const html = await dept.content();
    expect(html).not.toContain(PHONE);
    expect(html).not.toContain('13911113333'); // nor the duplicate's caller
    expect(await dept.locator('body').innerText()).not.toContain(PHONE);
    await dept.context().close();
  });
});
