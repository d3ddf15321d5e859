/**
 * Cross-role journeys in the browser (issue #5 item 8): the department replies in one browser
 * context and, live in two others, the agent's hotline list shows it and the supervisor's
 * wallboard counts it; a supervisor approves an extension from the wallboard; the login works
 * with the keyboard alone.
 */
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../../server/src/directory/seed-data.js';
import { intake, kpiRollupsCaughtUp } from '../helpers/app.js';
import { hasBrowser, login, newPage, settledDialog, SHOTS, textOf, visible } from './browser.js';
import { browserSuite } from './suite.js';

interface Ratio {
  numerator: number;
  denominator: number;
  rate: number | null;
}

/**
 * The wallboard also refreshes its KPIs once a minute: switched off in this page (intervals of a
 * minute or more never start), so what it shows after an action came from the socket event.
 */
async function noMinutePolls(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = globalThis as unknown as { setInterval: (fn: () => void, ms?: number, ...rest: unknown[]) => number };
    const real = w.setInterval.bind(globalThis);
    w.setInterval = (fn, ms, ...rest) => (ms !== undefined && ms >= 60_000 ? 0 : real(fn, ms, ...rest));
  });
}

describe.skipIf(!hasBrowser)('console journeys across roles', () => {
  const suite = browserSuite();


  const as = suite.as;
  async function dispatched(content: string): Promise<{ id: string; number: string; version: number }> {
    const c = await suite.t.api.post('/api/tickets').set(await as('agent1')).send(intake({ content, area: { districtId: null, streetId: null } }));
    expect(c.status).toBe(201);
    const d = await suite.t.api.post(`/api/tickets/${c.body.id}/dispatch`).set(await as('agent1')).send({ leadDepartmentId: 'city-urban' });
    expect(d.status).toBe(200);
    return { id: d.body.id, number: d.body.number, version: d.body.version };
  }
  /** Run a command in the drawer's dialog: open it, fill the textarea if asked, confirm. */
  async function command(page: Page, name: string, text?: string): Promise<void> {
    await page.locator(`[data-command="${name}"]`).click();
    const dialog = await settledDialog(page.getByRole('dialog').last());
    if (text) await dialog.locator('textarea').first().fill(text);
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
  }

  it('the department signs and replies; the agent sees the reply arrive live, and so does the supervisor\'s wallboard', async () => {
    const tk = await dispatched('小区路面塌陷，存在安全隐患，请尽快处理。');
    // the supervisor's wallboard is open before the department acts: its on-time reply rate
    // (today's roll-ups) shows the replies counted so far
    const sup = `Bearer ${await suite.t.token('super1')}`;
    const before = (await kpiRollupsCaughtUp<{ total: Record<string, Ratio> }>(suite.t, sup)).rollup.total.onTimeReply!;
    const supervisor = await newPage(suite.browser);
    await noMinutePolls(supervisor);
    await login(supervisor, suite.base, 'super1');
    const onTimeReply = supervisor.getByTestId('kpi-onTimeReply');
    await expect.poll(() => onTimeReply.getAttribute('data-ratio'), { timeout: 15_000 }).toBe(`${before.numerator}/${before.denominator}`);
    await textOf(supervisor.getByTestId('rt-status')).toBe('实时');

    const agent = await newPage(suite.browser);
    await login(agent, suite.base, 'agent1');
    const work = agent.getByRole('tabpanel').first();
    await visible(agent.getByText('待热线处理（退单审核、答复审核、回访）'));
    expect(await work.getByText(tk.number).count()).toBe(0);

    const dept = await newPage(suite.browser);
    await login(dept, suite.base, 'urban1');
    const inbox = dept.getByTestId('department-inbox');
    await inbox.getByRole('button', { name: `办理工单 ${tk.number}` }).click();
    await command(dept, 'sign');
    await visible(dept.locator('.ant-drawer').getByText('办理中'));
    await command(dept, 'reply', '已安排施工队修复塌陷路面，并设置警示标志。');
    await visible(dept.locator('.ant-drawer').getByText('已答复'));
    await dept.screenshot({ path: resolve(SHOTS, 'department-reply.png') });

    // the agent's list (another suite.browser context, another socket) gets it without a reload
    await agent.bringToFront();
    await visible(work.getByText(tk.number));
    await visible(work.locator('tr', { hasText: tk.number }).getByText('已答复'));
    await agent.screenshot({ path: resolve(SHOTS, 'agent-live-reply.png'), fullPage: true });

    // the wallboard (a third context, never reloaded) counts the reply once the roll-ups have it:
    // one more reply due today, answered on time
    const after = (await kpiRollupsCaughtUp<{ total: Record<string, Ratio> }>(suite.t, sup)).rollup.total.onTimeReply!;
    expect(after).toMatchObject({ numerator: before.numerator + 1, denominator: before.denominator + 1 });
    await supervisor.bringToFront();
    await expect.poll(() => onTimeReply.getAttribute('data-ratio'), { timeout: 30_000 }).toBe(`${after.numerator}/${after.denominator}`);
    await textOf(onTimeReply.locator('.ant-statistic-content')).toBe(`${((after.rate ?? 0) * 100).toFixed(1)}%`);
    await supervisor.screenshot({ path: resolve(SHOTS, 'wallboard-live-reply.png'), fullPage: true });
    await supervisor.context().close();
    await agent.context().close();
    await dept.context().close();
  });

  it('an agent answers on the spot with a knowledge-suite.base article', async () => {
    const page = await newPage(suite.browser);
    await login(page, suite.base, 'agent2');
    await page.locator('#phone').fill('13600002222');
    await page.locator('#callerName').fill('赵女士');
    await page.locator('label.ant-radio-button-wrapper', { hasText: '咨询' }).click();
    await page.locator('#address').fill('殷都区梅园庄街道');
    await page.locator('#content').fill('社保卡丢了怎么补办？需要带什么材料？');
    await page.getByRole('searchbox').fill('社保卡');
    await page.getByRole('searchbox').press('Enter');
    await page.getByRole('button', { name: '引用“社保卡丢失如何补办”作为答复' }).click();
    expect(await page.locator('#answer').inputValue()).toContain('补办');
    await page.getByTestId('answer-directly').click();
    await visible(page.getByText(/已直接办结/));
    const list = await suite.t.api.get('/api/tickets').query({ phone: '13600002222' }).set(await as('agent2'));
    expect(list.body.items).toEqual([expect.objectContaining({ state: 'visiting', category: 'consultation' })]);
    const full = await suite.t.api.get(`/api/tickets/${list.body.items[0].id}`).set(await as('agent2'));
    expect(full.body.directAnswer).toMatchObject({ knowledgeArticleId: expect.stringMatching(/^[0-9a-f]{24}$/) });
    await page.context().close();
  });

  it('a supervisor approves an extension from the wallboard', async () => {
    const tk = await dispatched('老旧小区二次供水改造进度缓慢。');
    const signed = await suite.t.api.post(`/api/tickets/${tk.id}/sign`).set(await as('urban1')).send({});
    expect(signed.status).toBe(200);
    const asked = await suite.t.api.post(`/api/tickets/${tk.id}/request-extension`).set(await as('urban1')).send({ days: 3, reason: '需协调施工单位和居民' });
    expect(asked.status).toBe(200);

    const page = await newPage(suite.browser);
    await login(page, suite.base, 'super1');
    await page.getByRole('tab', { name: /延期审批/ }).click();
    const row = page.locator('tr', { hasText: tk.number });
    await visible(row);
    await row.getByRole('button', { name: /延期审批/ }).click();
    await page.locator('[data-command="decideExtension"]').click();
    const dialog = await settledDialog(page.getByRole('dialog').last());
    await dialog.getByRole('switch', { name: '同意' }).waitFor();
    expect(await dialog.getByRole('switch', { name: '同意' }).getAttribute('aria-checked')).toBe('true');
    await page.screenshot({ path: resolve(SHOTS, 'wallboard-extension.png') });
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    await visible(page.getByText('已延期审批'));
    const after = await suite.t.api.get(`/api/tickets/${tk.id}`).set(await as('super1'));
    expect(after.body.pendingExtension).toBeNull();
    expect(after.body.extendedDays).toBe(3);
    await page.context().close();
  });

  it('the public complaint page works without a login and has a large-text mode', async () => {
    const page = await newPage(suite.browser);
    await page.goto(`${suite.base}/#/complaint`);
    await page.getByTestId('large-text').waitFor();
    const size = () => page.locator('label[for="content"]').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el).fontSize);
    expect(await size()).toBe('14px');
    await page.getByTestId('large-text').click();
    await expect.poll(size).toBe('20px');
    await page.locator('label.ant-radio-wrapper', { hasText: '求助' }).click();
    await page.locator('#phone').fill('13700001111');
    await page.locator('#name').fill('李阿姨');
    await page.locator('#address').fill('北关区红旗路街道幸福小区3号楼');
    await page.locator('#content').fill('楼道灯坏了一个多月，晚上上下楼看不清。');
    await page.getByRole('button', { name: '提交诉求' }).click();
    // filed through POST /api/public/complaints: the number shown is a real ticket of channel web
    const filed = page.getByText(/已受理，工单编号/);
    await visible(filed);
    const number = /(\d+-\d{8}-\d+)/.exec((await filed.textContent()) ?? '')?.[1];
    expect(number).toBeTruthy();
    const found = await suite.t.api.get(`/api/tickets?number=${number}`).set({ authorization: `Bearer ${await suite.t.token('agent1')}` });
    expect(found.body.items).toEqual([expect.objectContaining({ number, channel: 'web', category: 'help' })]);
    await page.screenshot({ path: resolve(SHOTS, 'citizen-large-text.png'), fullPage: true });
    await page.reload(); // the mode is remembered
    await expect.poll(size).toBe('20px');
    await page.context().close();
  });

  it('keyboard only: focus starts in the login form, Tab and Enter sign in', async () => {
    const page = await newPage(suite.browser);
    await page.goto(`${suite.base}/`);
    await page.locator('#login-username').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id)).toBe('login-username');
    await page.keyboard.type('market1');
    await page.keyboard.press('Tab');
    await page.keyboard.type(DEMO_PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByTestId('department-inbox').waitFor();
    // the focus ring is visible (3 px amber outline) on a keyboard-focused control
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { activeElement: unknown }; getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string } });
      const s = d.getComputedStyle(d.document.activeElement);
      return `${s.outlineStyle} ${s.outlineWidth}`;
    });
    expect(outline).toBe('solid 3px');
    await page.context().close();
  });
});
