/**
 * The set-up the browser test files share: one test app (real Redis and FerretDB, the console's
 * production build) and one chromium per describe block (the call journeys add
 * test/helpers/call-player.ts). Call it inside `describe`: it registers the block's
 * beforeAll/afterAll, and the returned object is filled in by beforeAll.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { ensureConsoleBuild, launch } from './browser.js';

export interface BrowserSuite {
  t: TestApp;
  browser: Browser;
  /** the app's address, e.g. http://127.0.0.1:39123 */
  base: string;
  /** the Authorization header of a demo user */
  as(user: string): Promise<{ authorization: string }>;
}

export function browserSuite(opts: Parameters<typeof startTestApp>[0] = {}): BrowserSuite {
  const s = {
    as: async (user: string) => ({ authorization: `Bearer ${await s.t.token(user)}` }),
  } as BrowserSuite;
  beforeAll(async () => {
    ensureConsoleBuild();
    s.t = await startTestApp(opts);
    s.base = `http://127.0.0.1:${s.t.port}`;
    s.browser = await launch();
  }, 180_000);
  afterAll(async () => {
    await s.browser?.close();
    await s.t?.close();
  });
  return s;
}
