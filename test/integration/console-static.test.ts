/**
 * The server serves the console's production build only: never its sources (Vite's entry page and
 * .tsx files), and without a build `/` says how to make one.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const built = existsSync(resolve(import.meta.dirname, '../../agent-console/dist/index.html'));

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t?.close();
});

describe('console assets', () => {
  it('/ is the built console (or a page saying to build it), and the sources are never served', async () => {
    const root = await t.api.get('/');
    if (built) {
      expect(root.status).toBe(200);
      expect(root.text).toMatch(/<script[^>]+src="[^"]*assets\/[^"]+\.js"/); // hashed bundle, not /src/main.tsx
      expect(root.text).not.toContain('/src/main.tsx');
    } else {
      expect(root.status).toBe(503);
      expect(root.text).toContain('npm run build:console');
    }
    for (const path of ['/src/main.tsx', '/vite.config.ts', '/tsconfig.json']) expect((await t.api.get(path)).status).toBe(404);
  });
});
