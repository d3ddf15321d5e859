/**
 * A session running out in the console (issue #5 item 1), in chromium: the test app issues
 * sessions of the shortest lifetime the server accepts (JWT_TTL_SECONDS=60), two users log in
 * through the login form at the same moment and nobody touches either page again.
 *
 * - An idle page with its socket: the server ends the socket at the token's expiry
 *   (`session.ended` expired) and the console shows the login page with "登录已过期，请重新登录"
 *   by itself — without any API call failing first.
 * - A page whose socket never got through (blocked here, as a proxy that drops WebSockets
 *   would): nothing tells it the session ended until its next API call; that call is answered
 *   401 and the console shows the same login page and banner.
 */
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ensureConsoleBuild, hasBrowser, launch, login, newPage, SHOTS, textOf, visible } from './browser.js';

/** The shortest session the server accepts (server/src/config/env.ts: JWT_TTL_SECONDS ≥ 60). */
const TTL_SECONDS = 60;
const EXPIRED = '登录已过期，请重新登录';

describe.skipIf(!hasBrowser)('an expired session in the console', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  /** the department inbox, socket connected */
  let idle: Page;
  /** the agent workbench, its socket blocked */
  let quiet: Page;
  let loggedInAt: number;
  /** 401 answers each page got once logged in (the idle page must get none: its socket told it) */
  const unauthorized = new Map<Page, string[]>();

  beforeAll(async () => {
    ensureConsoleBuild();
    t = await startTestApp({ env: { JWT_TTL_SECONDS: String(TTL_SECONDS) } });
    base = `http://127.0.0.1:${t.port}`;
    browser = await launch();
    idle = await newPage(browser);
    quiet = await newPage(browser);
    // socket.io starts with HTTP long-polling, then upgrades to a WebSocket: block both
    await quiet.route('**/socket.io/**', (route) => route.abort());
    await quiet.routeWebSocket(/\/socket\.io\//, (ws) => ws.close());
    for (const p of [idle, quiet]) {
      unauthorized.set(p, []);
      p.on('response', (r) => {
        if (r.status() === 401 && r.url().includes('/api/')) unauthorized.get(p)!.push(new URL(r.url()).pathname);
      });
    }
    // both sessions start now, so both end about a minute into this file
    loggedInAt = Date.now();
    await Promise.all([login(idle, base, 'urban1'), login(quiet, base, 'agent1')]);
    for (const p of [idle, quiet]) unauthorized.get(p)!.length = 0; // the boot-time /auth/me before the login answers 401
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('an idle page: the socket ends at expiry and the console shows the login page with the expiry banner', async () => {
    await idle.getByTestId('department-inbox').waitFor();
    await textOf(idle.getByTestId('rt-status')).toBe('实时');
    // nobody does anything; the page goes back to the login form by itself
    await visible(idle.locator('#login-username'), (TTL_SECONDS + 30) * 1000);
    expect(Date.now() - loggedInAt).toBeGreaterThanOrEqual((TTL_SECONDS - 1) * 1000); // not before the session's end
    await textOf(idle.getByRole('alert')).toBe(EXPIRED);
    expect(unauthorized.get(idle)).toEqual([]); // the socket's session.ended, not a failed request
    await idle.screenshot({ path: resolve(SHOTS, 'session-expired.png'), fullPage: true });
    // signing in again returns to the inbox, banner gone
    await login(idle, base, 'urban1');
    await idle.getByTestId('department-inbox').waitFor();
    await idle.context().close();
  }, (TTL_SECONDS + 60) * 1000);

  it('a page without its socket: the next API call after the expiry gets 401 and the console shows the login page with the expiry banner', async () => {
    await quiet.getByTestId('agent-state').waitFor();
    await textOf(quiet.getByTestId('rt-status')).toBe('离线');
    const left = loggedInAt + (TTL_SECONDS + 3) * 1000 - Date.now();
    if (left > 0) await quiet.waitForTimeout(left);
    // past the expiry, nothing has told this page: it still shows the workbench
    expect(await quiet.getByTestId('current-user').isVisible()).toBe(true);
    expect(await quiet.locator('#login-username').count()).toBe(0);
    expect(unauthorized.get(quiet)).toEqual([]);

    // the agent looks something up in the knowledge base
    const answered = quiet.waitForResponse((r) => r.url().includes('/api/') && r.status() === 401);
    await quiet.getByRole('searchbox').fill('社保卡');
    await quiet.getByRole('searchbox').press('Enter');
    const res = await answered;
    const body = (await res.json()) as { error: { code: string; details?: { reason?: string } } };
    expect(body.error.code).toBe('UNAUTHENTICATED');
    // the browser dropped the cookie at its Expires (the token's expiry), or it still sent it and
    // the server found the token expired: either way the session is over
    expect(['TOKEN_MISSING', 'SESSION_EXPIRED']).toContain(body.error.details?.reason);
    await visible(quiet.locator('#login-username'));
    await textOf(quiet.getByRole('alert')).toBe(EXPIRED);
    await quiet.screenshot({ path: resolve(SHOTS, 'session-expired-api.png'), fullPage: true });
    await quiet.context().close();
  }, (TTL_SECONDS + 60) * 1000);
});
