/**
 * Builds a whole app for one test file on the private Redis + FerretDB of the run, with its own
 * database and its own BullMQ prefix, seeded with the demo city. `close()` drops the database.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import { createApp, type App, type AppOptions } from '../../server/src/app.js';
import { loadEnv } from '../../server/src/config/env.js';
import { routingRuleModel } from '../../server/src/dispatch/model.js';
import { DEMO_PASSWORD, DEMO_USERS } from '../../server/src/directory/seed-data.js';
import { seedDemo } from '../../server/src/directory/seed.js';
import { articleModel } from '../../server/src/knowledge/model.js';
import { createLogger } from '../../server/src/shared/logger.js';

export function serviceUrls(): { mongo: string; redis: string } {
  const mongo = process.env.TEST_MONGODB_URL;
  const redis = process.env.TEST_REDIS_URL;
  if (!mongo || !redis) throw new Error('TEST_MONGODB_URL / TEST_REDIS_URL not set: run through vitest (test/global-setup.ts)');
  return { mongo, redis };
}

export interface TestApp {
  app: App;
  /** supertest agent on the live server */
  api: supertest.Agent;
  port: number;
  dbName: string;
  prefix: string;
  /** Captured log lines (JSON strings) */
  logs: string[];
  token(username: string): Promise<string>;
  close(): Promise<void>;
}

export const JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

export async function startTestApp(
  opts: AppOptions & { env?: Record<string, string>; reuseDatabase?: { dbName: string; prefix: string } } = {},
): Promise<TestApp> {
  const urls = serviceUrls();
  const id = randomBytes(4).toString('hex');
  const dbName = opts.reuseDatabase?.dbName ?? `t_${id}`;
  const prefix = opts.reuseDatabase?.prefix ?? `{t${id}}`;
  const dataDir = join(tmpdir(), `hotline-test-${id}`);
  const env = loadEnv({
    NODE_ENV: 'test',
    MONGODB_URL: `${urls.mongo}/${dbName}`,
    REDIS_URL: urls.redis,
    QUEUE_PREFIX: prefix,
    JWT_SECRET,
    LOG_LEVEL: 'info',
    OUTBOX_SWEEP_MS: '500',
    // local files (the file notification sender…) go to a private directory, not the repo's data/
    DATA_DIR: dataDir,
    ...opts.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const app = await createApp(env, { ...opts, logger: opts.logger ?? createLogger('info', sink) });
  await seedDemo({ ...app.models, Rule: routingRuleModel(app.mongo), Article: articleModel(app.mongo) });
  await app.store.refresh(); // the hierarchy the deadline engine escalates along
  const port = await app.listen(0, '127.0.0.1');
  const api = supertest.agent(`http://127.0.0.1:${port}`);
  const tokens = new Map<string, string>();
  return {
    app,
    api,
    port,
    dbName,
    prefix,
    logs,
    async token(username) {
      const cached = tokens.get(username);
      if (cached) return cached;
      const res = await supertest(`http://127.0.0.1:${port}`).post('/api/auth/login').send({ username, password: DEMO_PASSWORD });
      if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
      tokens.set(username, res.body.token);
      return res.body.token as string;
    },
    async close() {
      await app.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
      const { MongoClient } = await import('mongodb');
      const c = await MongoClient.connect(urls.mongo);
      await c.db(dbName).dropDatabase().catch(() => undefined);
      await c.close();
    },
  };
}

export const DEMO = Object.fromEntries(DEMO_USERS.map((u) => [u.username, u]));

/** A valid intake body; override what the test is about. */
export function intake(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    channel: 'phone',
    caller: { name: '张三', phone: '13812345678', anonymous: false },
    category: 'complaint',
    urgency: 'normal',
    area: { districtId: 'wenfeng', streetId: 'nanguan' },
    address: '文峰区南关街道中华路1号',
    content: '小区旁工地夜间施工噪音扰民，持续一周，影响休息。',
    confidential: false,
    ...over,
  };
}

/**
 * Wait until a KPI read from the daily roll-ups (kept a moment behind the tickets by the worker's
 * drain) equals what a scan of the tickets counts, and return both answers. `path` is a KPI route
 * with its query (default: today's /api/kpis/tickets).
 */
export async function kpiRollupsCaughtUp<T = Record<string, unknown>>(
  t: TestApp,
  authorization: string,
  path = '/api/kpis/tickets',
  timeoutMs = 30_000,
): Promise<{ rollup: T & { source: string }; scan: T & { source: string } }> {
  const sep = path.includes('?') ? '&' : '?';
  const end = Date.now() + timeoutMs;
  for (;;) {
    const [r, s] = await Promise.all([
      t.api.get(`${path}${sep}source=rollup`).set('authorization', authorization),
      t.api.get(`${path}${sep}source=scan`).set('authorization', authorization),
    ]);
    const strip = (b: { source?: unknown }) => JSON.stringify({ ...b, source: null });
    if (r.status === 200 && s.status === 200 && strip(r.body) === strip(s.body)) return { rollup: r.body, scan: s.body };
    if (Date.now() > end) throw new Error(`KPI roll-ups did not catch up with the scan at ${path}: ${JSON.stringify(r.body).slice(0, 400)} vs ${JSON.stringify(s.body).slice(0, 400)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/**
 * A ticket through dispatch (to city-urban) → sign → reply → accepted review: its return visit
 * (回访) and the rating window have begun, the rating invitation is on its way.
 */
export async function ticketToVisiting(
  t: TestApp,
  opts: { intake?: Record<string, unknown>; reply?: string } = {},
): Promise<{ id: string; number: string }> {
  const as = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
  const created = await t.api.post('/api/tickets').set(await as('agent1')).send(intake(opts.intake));
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const steps: [string, string, Record<string, unknown>][] = [
    ['agent1', 'dispatch', { leadDepartmentId: 'city-urban' }],
    ['urban1', 'sign', {}],
    ['urban1', 'reply', { text: opts.reply ?? '已责令施工单位停止夜间施工。' }],
    ['agent1', 'review-reply', { accept: true }],
  ];
  let last: { status: number; body: { state?: string } } | null = null;
  for (const [user, action, body] of steps) {
    last = await t.api.post(`/api/tickets/${id}/${action}`).set(await as(user)).send(body);
    if (last.status !== 200) throw new Error(`${action}: ${last.status} ${JSON.stringify(last.body)}`);
  }
  if (last?.body.state !== 'visiting') throw new Error(`not visiting after the review: ${last?.body.state}`);
  return { id, number: created.body.number as string };
}
