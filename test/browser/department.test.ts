/**
 * The department's actions in a real browser (issue #5 item 3): from the inbox drawer urban1
 * returns a ticket (the reason is required), asks for an extension, signs and replies; a
 * co-handled ticket carries 协办 in the co-handling department's inbox; an urge and a
 * supervision note appear in the open drawer without a reload; the deadline tag counts working
 * time, as the API's remaining working time does. Screenshots: department-*.png.
 */
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { formatRemaining } from '../../agent-console/src/lib/deadline.js';
import { intake } from '../helpers/app.js';
import { hasBrowser, login, newPage, settledDialog, SHOTS, visible } from './browser.js';
import { browserSuite } from './suite.js';

interface TimelineEntry {
  action: string;
  note: string | null;
  actor: { id: string; role: string; departmentId: string | null };
}

describe.skipIf(!hasBrowser)('department actions in chromium', () => {
  const suite = browserSuite();
  const as = suite.as;


  /** A ticket dispatched to city-urban (and co-handlers), optionally signed by urban1. */
  async function dispatched(content: string, opts: { co?: string[]; sign?: boolean } = {}): Promise<{ id: string; number: string }> {
    const c = await suite.t.api.post('/api/tickets').set(await as('agent1')).send(intake({ content, area: { districtId: null, streetId: null } }));
    expect(c.status).toBe(201);
    const d = await suite.t.api.post(`/api/tickets/${c.body.id}/dispatch`).set(await as('agent1')).send({ leadDepartmentId: 'city-urban', coDepartmentIds: opts.co ?? [] });
    expect(d.status).toBe(200);
    if (opts.sign) expect((await suite.t.api.post(`/api/tickets/${c.body.id}/sign`).set(await as('urban1')).send({})).status).toBe(200);
    return { id: c.body.id, number: c.body.number };
  }

  const ticket = async (id: string, user = 'urban1') => (await suite.t.api.get(`/api/tickets/${id}`).set(await as(user))).body;

  /** urban1's inbox with the drawer of one ticket open. */
  async function openDrawer(number: string, user = 'urban1'): Promise<Page> {
    const page = await newPage(suite.browser);
    await login(page, suite.base, user);
    await page.getByTestId('department-inbox').getByRole('button', { name: `办理工单 ${number}` }).click();
    await visible(page.locator('.ant-drawer-title', { hasText: number }));
    return page;
  }

  /** Opens a command's dialog from the drawer; the dialog once settled. */
  async function dialogOf(page: Page, command: string) {
    await page.locator(`.ant-drawer [data-command="${command}"]`).click();
    return settledDialog(page.getByRole('dialog').last());
  }

  it('returns a ticket: the reason is required, and the server keeps it in the ticket and its timeline', async () => {
    const tk = await dispatched('这条道路归交通运输局管理，不属于城管职责。');
    const page = await openDrawer(tk.number);
    const dialog = await dialogOf(page, 'return');
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    // antd's validation: the message under the field, the field marked invalid, nothing sent
    await visible(dialog.getByText('请填写理由'));
    expect(await dialog.locator('textarea').getAttribute('aria-invalid')).toBe('true');
    expect((await ticket(tk.id)).state).toBe('dispatched');

    const reason = '该路段属交通运输局养护范围，请改派市交通运输局。';
    await dialog.locator('textarea').fill(reason);
    await page.screenshot({ path: resolve(SHOTS, 'department-return.png') });
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    await visible(page.locator('.ant-drawer').getByText('退单待审'));

    const after = await ticket(tk.id);
    expect(after).toMatchObject({ state: 'returned', returnReason: reason });
    const last = (after.timeline as TimelineEntry[]).at(-1)!;
    expect(last).toMatchObject({ action: 'return', note: reason, actor: { role: 'department', departmentId: 'city-urban' } });
    // it has left the inbox (it is the hotline's to review now)
    await page.getByTestId('department-inbox').getByRole('button', { name: `办理工单 ${tk.number}` }).waitFor({ state: 'detached' });
    await page.context().close();
  });

  it('requests an extension through the dialog: days and reason reach the server', async () => {
    const tk = await dispatched('背街小巷路面整修需要协调多家单位。', { sign: true });
    const page = await openDrawer(tk.number);
    const dialog = await dialogOf(page, 'requestExtension');
    const days = dialog.getByRole('spinbutton');
    expect(await days.inputValue()).toBe('3'); // the default
    await days.fill('5');
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    await visible(dialog.getByText('请填写理由')); // the reason is required here too
    const reason = '需协调燃气、电力管线迁改，施工周期较长。';
    await dialog.locator('textarea').fill(reason);
    await dialog.getByRole('button', { name: /确\s*定/ }).click();
    await visible(page.locator('.ant-drawer').getByText(`申请延期 5 个工作日 — ${reason}`));
    await page.screenshot({ path: resolve(SHOTS, 'department-extension.png') });

    const after = await ticket(tk.id);
    expect(after.state).toBe('handling');
    expect(after.pendingExtension).toMatchObject({ days: 5, reason, by: { role: 'department', departmentId: 'city-urban' } });
    expect((after.timeline as TimelineEntry[]).at(-1)).toMatchObject({ action: 'requestExtension', note: reason });
    // the inbox row says so too, live
    await visible(page.getByTestId('department-inbox').locator('tr', { hasText: tk.number }).getByText('申请延期 5 个工作日'));
    await page.context().close();
  });

  it('signs and replies with the result text', async () => {
    const tk = await dispatched('小区门口垃圾堆放多日无人清运。');
    const page = await openDrawer(tk.number);
    await (await dialogOf(page, 'sign')).getByRole('button', { name: /确\s*定/ }).click();
    await visible(page.locator('.ant-drawer').getByText('办理中'));
    const reply = await dialogOf(page, 'reply');
    const text = '已安排环卫车辆清运，并督促物业设置分类垃圾桶。';
    await reply.locator('textarea').fill(text);
    await reply.getByRole('button', { name: /确\s*定/ }).click();
    await visible(page.locator('.ant-drawer').getByText('已答复'));
    expect(await ticket(tk.id)).toMatchObject({ state: 'replied', reply: { text } });
    await page.context().close();
  });

  it('a co-handled ticket carries 协办 in the co-handling department’s inbox, not in the lead’s', async () => {
    const tk = await dispatched('老旧小区加装电梯涉及道路占用审批。', { co: ['city-housing'] });
    const housing = await newPage(suite.browser);
    await login(housing, suite.base, 'housing1');
    const row = housing.getByTestId('department-inbox').locator('tr', { hasText: tk.number });
    await visible(row.getByText('协办', { exact: true }));
    await row.getByRole('button', { name: `办理工单 ${tk.number}` }).click();
    await visible(housing.locator('.ant-drawer .ant-descriptions').getByText('市住房和城乡建设局'));
    await housing.screenshot({ path: resolve(SHOTS, 'department-co-handling.png') });
    await housing.context().close();

    const lead = await newPage(suite.browser);
    await login(lead, suite.base, 'urban1');
    const leadRow = lead.getByTestId('department-inbox').locator('tr', { hasText: tk.number });
    await visible(leadRow);
    expect(await leadRow.getByText('协办', { exact: true }).count()).toBe(0);
    await lead.context().close();
  });

  it('an urge and a supervision note show in the open drawer live, without a reload', async () => {
    const tk = await dispatched('夜市油烟扰民，多次反映未解决。', { sign: true });
    const page = await openDrawer(tk.number);
    await page.evaluate(() => ((globalThis as unknown as { __noReload: boolean }).__noReload = true));
    expect(await page.getByTestId('drawer-urge').count()).toBe(0);

    const urge = '市民第三次来电反映，请于今日内联系市民并反馈。';
    expect((await suite.t.api.post(`/api/tickets/${tk.id}/urge`).set(await as('super1')).send({ message: urge })).status).toBe(200);
    await visible(page.getByTestId('drawer-urge').getByText(urge));
    expect(await page.getByTestId('drawer-urge').textContent()).toContain('王芳（班长）');

    const note = '列入督办件，请主要负责同志牵头处理，三日内书面反馈。';
    expect((await suite.t.api.post(`/api/tickets/${tk.id}/supervise`).set(await as('super1')).send({ note })).status).toBe(200);
    await visible(page.getByTestId('drawer-supervise').getByText(note));
    // the inbox row shows the counts the drawer explains
    const row = page.getByTestId('department-inbox').locator('tr', { hasText: tk.number });
    await visible(row.getByText('督办', { exact: true }));
    await visible(row.getByText('催办 1 次'));
    expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    await page.screenshot({ path: resolve(SHOTS, 'department-urge-supervise.png') });

    // a later urge replaces the one shown: the latest counts
    const again = '请立即处理，今晚将再次回访。';
    expect((await suite.t.api.post(`/api/tickets/${tk.id}/urge`).set(await as('agent1')).send({ message: again })).status).toBe(200);
    await visible(page.getByTestId('drawer-urge').getByText(again));
    expect(await page.getByTestId('drawer-urge').textContent()).not.toContain(urge);
    await page.context().close();
  });

  it('the deadline tag counts working time: the remaining time the API computes, not dueAt − now', async () => {
    const signed = await dispatched('人行道地砖松动，行人易摔倒。', { sign: true }); // reply: 10 working days
    const fresh = await dispatched('路边违规停车占用盲道。'); // sign: 24 h of working days
    const page = await newPage(suite.browser);
    await login(page, suite.base, 'urban1');
    const tagOf = (n: string) => page.getByTestId('department-inbox').locator('tr', { hasText: n }).locator('[data-deadline]');
    const units = { d: '天', h: '时', m: '分' };
    for (const [tk, milestone, label] of [
      [signed, 'reply', '答复'],
      [fresh, 'sign', '签收'],
    ] as const) {
      await expect.poll(async () => (await tagOf(tk.number).textContent()) ?? '', { timeout: 15_000 }).toMatch(/[剩超] /);
      const shown = ((await tagOf(tk.number).textContent()) ?? '').trim();
      const api = (await suite.t.api.get(`/api/tickets/${tk.id}/deadlines`).set(await as('urban1'))).body as {
        milestones: { milestone: string; unit: string; dueAt: string; remainingMs: number }[];
      };
      const m = api.milestones.find((x) => x.milestone === milestone)!;
      expect(await tagOf(tk.number).getAttribute('data-unit')).toBe(m.unit);
      // the tag ticks every 30 s, so it may be up to a minute of working time behind the API
      const expected = [0, 60_000, -60_000].map((d) => `正常 · ${label} 剩 ${formatRemaining(m.remainingMs + d, m.unit, units)}`);
      expect(expected).toContain(shown);
      if (m.unit === 'workingDays') {
        // ten working days are 70 office hours: shown in hours, never as the 14 calendar days to dueAt
        expect(m.remainingMs).toBeLessThanOrEqual(70 * 3_600_000);
        expect(Date.parse(m.dueAt) - Date.now()).toBeGreaterThan(13 * 86_400_000);
        expect(shown).not.toContain('天');
      }
    }
    await page.screenshot({ path: resolve(SHOTS, 'department-working-time.png') });
    await page.context().close();
  });
});
