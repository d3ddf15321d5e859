/**
 * Shared pieces of the browser tests: Debian's chromium through playwright-core (never a
 * downloaded browser), the console's production build, login, and waits (playwright-core has no
 * `expect`: wait for a locator, or poll its text with vitest's expect.poll).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { DEMO_PASSWORD } from '../../server/src/directory/seed-data.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = resolve(ROOT, 'test-artifacts/screenshots');
/** Without chromium the browser tests skip on a developer machine; in CI (which installs it) they run and fail loudly. */
export const hasBrowser = existsSync(CHROMIUM) || Boolean(process.env.CI);

/** Newest modification time under a path (files only). */
function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/**
 * Builds the console when agent-console/dist is missing or older than its sources, so the
 * browser tests always drive the code under test (the server serves the build at `/`).
 */
export function ensureConsoleBuild(): void {
  const built = resolve(ROOT, 'agent-console/dist/index.html');
  const sources = ['src', 'index.html', 'vite.config.ts'].map((p) => resolve(ROOT, 'agent-console', p));
  const stale = (): boolean => !existsSync(built) || Math.max(...sources.map(newest)) > statSync(built).mtimeMs;
  // Test files run in parallel: one builds (mkdir is the atomic lock), the others wait for it.
  const lock = resolve(ROOT, 'test-artifacts/.console-build.lock');
  mkdirSync(resolve(ROOT, 'test-artifacts'), { recursive: true });
  const deadline = Date.now() + 180_000;
  while (stale()) {
    try {
      mkdirSync(lock);
    } catch {
      if (Date.now() > deadline) throw new Error(`console build lock ${lock} held for 3 minutes; remove it if no build runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      continue;
    }
    try {
      if (stale()) execFileSync('npm', ['run', 'build:console'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  mkdirSync(SHOTS, { recursive: true });
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export const visible = (l: Locator, timeout = 15_000): Promise<void> => l.waitFor({ state: 'visible', timeout });
export const textOf = (l: Locator, timeout = 15_000) => expect.poll(async () => (await l.textContent())?.trim(), { timeout });

/**
 * The dialog once its opening animation has ended, as a person would see it: a click during
 * antd's zoom-in can be lost on a loaded machine (it was, in CI, twice).
 */
export async function settledDialog(dialog: Locator): Promise<Locator> {
  await dialog.waitFor({ state: 'visible', timeout: 15_000 });
  await expect.poll(async () => (await dialog.getAttribute('class')) ?? '', { timeout: 15_000 }).not.toMatch(/ant-zoom/);
  return dialog;
}

export async function newPage(browser: Browser): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
  const page = await ctx.newPage();
  // the page's own errors belong in the test output
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && console.error(`[console] ${m.text()}`));
  return page;
}

export async function login(page: Page, base: string, username: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator('#login-username').fill(username);
  await page.locator('#login-password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: /登\s*录|Sign in/ }).click();
  await page.getByTestId('current-user').waitFor();
}
