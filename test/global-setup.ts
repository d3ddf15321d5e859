/**
 * Vitest globalSetup: starts a private Redis and a private FerretDB (MongoDB
 * wire protocol on SQLite) on free loopback ports for the whole test run.
 *
 * Tests get the URLs through either
 *   - `inject('redisUrl')` / `inject('mongoUrl')` (from 'vitest'), or
 *   - `process.env.TEST_REDIS_URL` / `process.env.TEST_MONGODB_URL`.
 *
 * URL shapes: `redis://127.0.0.1:<port>` and `mongodb://127.0.0.1:<port>`
 * (no database path, no trailing slash). Every test file must use its own
 * database name / key (queue) prefix because files run in parallel.
 *
 * If TEST_REDIS_URL / TEST_MONGODB_URL are already set in the environment,
 * those servers are used and nothing is started for them.
 *
 * The servers are children of the vitest process; each gets a small detached
 * watchdog shell that holds a pipe from this process and kills the server
 * (and removes its temp dir) as soon as that pipe closes — i.e. whenever the
 * vitest process goes away, even on SIGKILL / crash.
 */
import type { TestProject } from 'vitest/node';
import { onProcessExit, startFerretdb, startRedis, stopAll } from './helpers/services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    mongoUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const originalEnv = { redis: process.env.TEST_REDIS_URL, mongo: process.env.TEST_MONGODB_URL };
  const restoreEnv = (): void => {
    // so a re-run of this setup in the same process (watch mode) starts fresh servers
    if (originalEnv.redis === undefined) delete process.env.TEST_REDIS_URL;
    else process.env.TEST_REDIS_URL = originalEnv.redis;
    if (originalEnv.mongo === undefined) delete process.env.TEST_MONGODB_URL;
    else process.env.TEST_MONGODB_URL = originalEnv.mongo;
  };
  process.on('exit', onProcessExit);
  let redisUrl = originalEnv.redis;
  let mongoUrl = originalEnv.mongo;
  // allSettled (not all): if one server fails, wait until the other one has
  // finished starting so that it is registered and gets stopped too.
  const [r, m] = await Promise.allSettled([
    redisUrl ? Promise.resolve(redisUrl) : startRedis().then((s) => s.url),
    mongoUrl ? Promise.resolve(mongoUrl) : startFerretdb().then((s) => s.url),
  ]);
  if (r.status === 'rejected' || m.status === 'rejected') {
    await stopAll();
    process.off('exit', onProcessExit);
    const errors = [r, m].flatMap((x) => (x.status === 'rejected' ? [x.reason as unknown] : []));
    if (errors.length === 1) throw errors[0];
    throw new AggregateError(errors, errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n'));
  }
  redisUrl = r.value;
  mongoUrl = m.value;

  process.env.TEST_REDIS_URL = redisUrl;
  process.env.TEST_MONGODB_URL = mongoUrl;
  project.provide('redisUrl', redisUrl);
  project.provide('mongoUrl', mongoUrl);

  return async () => {
    await stopAll();
    process.off('exit', onProcessExit);
    restoreEnv();
  };
}
