/**
 * 好差评 by link in the browser: a real ticket reaches its return visit through the API, the
 * rating invitation SMS (file sender: DATA_DIR/notifications.jsonl) carries the link, and the
 * citizen opens it as the SMS has it (`/rate/<token>` → 302 → `/#/rate/<token>`), rates 不满意
 * with a comment using the keyboard only, and is told the hotline will verify (核实); the ticket
 * is then `disputed` with the citizen's rating. The same link again says "already rated".
 * Plus the redirect itself over plain HTTP, and that it accepts exactly the token shape the
 * API accepts (ratings/routes.ts ↔ ratings/link-page.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationJobId } from '../../server/src/notify/notifications.js';
import { startTestApp, ticketToVisiting, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';
import { ensureConsoleBuild, hasBrowser, launch, newPage, SHOTS, textOf, visible } from './browser.js';

let t: TestApp;
let base: string;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });

beforeAll(async () => {
  // before the app: it serves agent-console/dist only if the build exists when it starts
  if (hasBrowser) ensureConsoleBuild();
  t = await startTestApp();
  base = `http://127.0.0.1:${t.port}`;
}, 180_000);
afterAll(async () => {
  await t?.close();
});

const toVisiting = (content: string) => ticketToVisiting(t, { intake: { content }, reply: '已责令施工单位停止夜间施工，并安排执法人员夜间巡查。' });

/** The rating invitation's link, as the file sender wrote the SMS. */
async function ratingLinkOf(ticketId: string): Promise<string> {
  const file = resolve(t.app.env.DATA_DIR, 'notifications.jsonl');
  const msg = await until('the rating invitation SMS', async () => {
    const lines = await readFile(file, 'utf8').catch(() => '');
    return lines
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; text: string })
      .find((m) => m.id === notificationJobId(ticketId, 'rating_invite', 1));
  });
  const link = /(https?:\/\/\S+\/rate\/[A-Za-z0-9_-]+)/.exec(msg.text)?.[1];
  expect(link, msg.text).toBeTruthy();
  return link!;
}

describe('the rating link redirect (GET /rate/:token)', () => {
  it('answers 302 to the console page for a token-shaped path, /#/rate/invalid otherwise — the API shape, no login', async () => {
    const good = await t.api.get('/rate/Abc_def-123').redirects(0);
    expect(good.status).toBe(302);
    expect(good.headers.location).toBe('/#/rate/Abc_def-123');
    expect(good.headers['cache-control']).toBe('no-store');
    expect(good.headers['set-cookie']).toBeUndefined();

    for (const bad of ['abc.def', 'a'.repeat(101), '%E6%BB%A1%E6%84%8F', 'abc%20def']) {
      const r = await t.api.get(`/rate/${bad}`).redirects(0);
      expect(r.status, bad).toBe(302);
      expect(r.headers.location, bad).toBe('/#/rate/invalid');
    }
    // the same shape as the API: what the redirect calls malformed, the API refuses (400), the rest is looked up (404)
    for (const s of ['abc.def', 'a'.repeat(101), '%E6%BB%A1%E6%84%8F']) expect((await t.api.get(`/api/rate/${s}`)).status, s).toBe(400);
    for (const s of ['Abc_def-123', 'a'.repeat(100), 'invalid']) expect((await t.api.get(`/api/rate/${s}`)).status, s).toBe(404);
    // no token at all is not a rating link
    expect((await t.api.get('/rate/').redirects(0)).status).toBe(404);
  });
});

describe.skipIf(!hasBrowser)('the citizen rates through the SMS link', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('不满意 with a comment by keyboard → thank-you with 核实; the ticket is disputed; the link is then used', async () => {
    const tk = await toVisiting('小区旁工地夜间施工噪音扰民，张三电话13812345678。');
    const link = await ratingLinkOf(tk.id);
    const sms = new URL(link);
    expect(sms.pathname).toMatch(/^\/rate\/[A-Za-z0-9_-]{43}$/);
    const token = sms.pathname.slice('/rate/'.length);
    // the SMS's host is RATING_LINK_BASE (a deployment setting); this run's server is on its own port
    const url = `${base}${sms.pathname}`;

    const page = await newPage(browser);
    await page.goto(url);
    expect(page.url()).toBe(`${base}/#/rate/${token}`);
    await textOf(page.getByTestId('rate-ticket-number')).toBe(tk.number);
    await visible(page.getByText('投诉', { exact: true }));
    // masked as the API gives it
    await visible(page.getByText(/138\*\*\*\*5678/));
    await visible(page.getByTestId('rate-answer'));
    for (const l of ['非常满意', '满意', '基本满意', '不满意', '非常不满意']) expect(await page.getByRole('radio', { name: l, exact: true }).count(), l).toBe(1);

    // submitting without a choice asks for one
    await page.getByTestId('rate-submit').click();
    await visible(page.getByRole('alert').filter({ hasText: '请选择一项评价' }));

    // keyboard only: the first choice, arrows to 不满意, Tab to the comment, Tab + Enter submits
    await page.getByRole('radio', { name: '非常满意', exact: true }).focus();
    await page.keyboard.press('Space');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    expect(await page.getByRole('radio', { name: '不满意', exact: true }).isChecked()).toBe(true);
    // the focus ring is drawn on the whole choice
    const ring = await page
      .locator('.rate-level', { has: page.getByRole('radio', { name: '不满意', exact: true }) })
      .evaluate((el) => {
        const s = (globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string } }).getComputedStyle(el);
        return `${s.outlineStyle} ${s.outlineWidth}`;
      });
    expect(ring).toBe('solid 3px');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id)).toBe('rate-comment');
    await page.keyboard.type('晚上十点后仍在施工');
    await page.screenshot({ path: resolve(SHOTS, 'rate-link.png'), fullPage: true });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');

    await textOf(page.getByTestId('rate-result')).toBe('感谢您的评价！');
    await visible(page.getByTestId('rate-verify'));
    expect(await page.getByTestId('rate-verify').textContent()).toContain('核实');
    await page.screenshot({ path: resolve(SHOTS, 'rate-done.png'), fullPage: true });

    // recorded as the citizen's own rating through the link; a real-name bad rating opens 核实
    const after = await t.api.get(`/api/tickets/${tk.id}`).set(await auth('super1'));
    expect(after.body.state).toBe('disputed');
    expect(after.body.rating).toMatchObject({ level: 'dissatisfied', round: 1, realName: true, source: 'citizen', comment: '晚上十点后仍在施工' });
    expect(after.body.deadlines.verify.dueAt).not.toBeNull();
    const rate = after.body.timeline.at(-1);
    expect(rate).toMatchObject({ action: 'rate', from: 'visiting', to: 'disputed', actor: { name: '市民（评价链接）' }, data: { source: 'citizen', level: 'dissatisfied' } });

    // the same link again: already rated, in both languages
    await page.goto(url);
    await textOf(page.getByTestId('rate-result')).toBe('您已评价过，感谢您的支持！');
    expect(await page.getByTestId('rate-submit').count()).toBe(0);
    await page.getByRole('button', { name: /Switch language/ }).click();
    await textOf(page.getByTestId('rate-result')).toBe('Already rated, thank you!');
    await page.getByRole('button', { name: /Switch language/ }).click();
    await textOf(page.getByTestId('rate-result')).toBe('您已评价过，感谢您的支持！');
    await page.context().close();
  }, 90_000);

  it('a mangled link and an unknown token say "link not valid"; large text is shared with the complaint page', async () => {
    const page = await newPage(browser);
    await page.goto(`${base}/rate/abc.def`);
    expect(page.url()).toBe(`${base}/#/rate/invalid`);
    await textOf(page.getByTestId('rate-result')).toBe('评价链接无效');
    await visible(page.getByText(/拨打 12345 热线/));

    await page.goto(`${base}/rate/${'x'.repeat(43)}`);
    await textOf(page.getByTestId('rate-result')).toBe('评价链接无效');
    const size = () => page.getByTestId('rate-result').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el).fontSize);
    const small = await size();
    await page.getByTestId('large-text').click();
    await expect.poll(size).not.toBe(small);
    // the complaint page finds the mode on (one localStorage key)
    await page.goto(`${base}/#/complaint`);
    await page.getByTestId('large-text').waitFor();
    expect(await page.getByTestId('large-text').getAttribute('aria-checked')).toBe('true');
    await page.context().close();
  });
});
