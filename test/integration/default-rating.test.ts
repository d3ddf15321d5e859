/**
 * The default rating (HOTLINE-RULES 好差评: none within the rating window → the configured level;
 * default none) over HTTP on FerretDB: a round left unrated gets DEFAULT_RATING as the system
 * (source `default`, not real-name, on the timeline) and the ticket closes; a round rated in time
 * keeps its rating only; without DEFAULT_RATING nothing is scheduled.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RATING_QUEUE, defaultRatingJobId } from '../../server/src/ratings/default-rating.js';
import { startTestApp, ticketToVisiting, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

let t: TestApp;
const WINDOW_MS = 0.001 * 3600_000; // DEFAULT_RATING_AFTER_HOURS=0.001: 3.6 s
const auth = async (app: TestApp, u: string) => ({ authorization: `Bearer ${await app.token(u)}` });
const act = async (app: TestApp, user: string, id: string, action: string, body: Record<string, unknown> = {}) =>
  app.api.post(`/api/tickets/${id}/${action}`).set(await auth(app, user)).send(body);

const toVisiting = async (app: TestApp): Promise<string> => (await ticketToVisiting(app)).id;

beforeAll(async () => {
  t = await startTestApp({ env: { DEFAULT_RATING: 'basically_satisfied', DEFAULT_RATING_AFTER_HOURS: '0.001' } });
});
afterAll(async () => {
  await t?.close();
});

describe('default rating after the rating window', () => {
  it('no rating within the window: 基本满意 recorded by the system, not real-name, and the ticket closes', async () => {
    const started = Date.now();
    const id = await toVisiting(t);
    const rated = await until(
      'the default rating',
      async () => {
        const r = await t.api.get(`/api/tickets/${id}`).set(await auth(t, 'super1'));
        return r.body.ratings?.length ? r.body : null;
      },
      30_000,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(WINDOW_MS);
    expect(rated.ratings).toHaveLength(1);
    expect(rated.ratings[0]).toMatchObject({ level: 'basically_satisfied', round: 1, realName: false, source: 'default' });
    expect(rated.state).toBe('closed');
    const entry = rated.timeline.find((e: { action: string }) => e.action === 'rate');
    expect(entry.actor.name).toBe('系统（逾期未评价默认）');
    expect(entry.data).toMatchObject({ level: 'basically_satisfied', source: 'default', realName: false });
  });

  it('rated in time (the agent’s return visit): the window passes and that rating stays the only one', async () => {
    const id = await toVisiting(t);
    expect((await act(t, 'agent1', id, 'return-visit', { contacted: true, rating: 'very_satisfied' })).status).toBe(200);
    // the job was scheduled at the start of the visit; it fires and finds the round rated
    const q = new Queue(DEFAULT_RATING_QUEUE, { connection: t.app.redis, prefix: t.prefix });
    try {
      const job = await until('the default job done', async () => {
        const j = await q.getJob(defaultRatingJobId(id, 1));
        return j && (await j.getState()) === 'completed' ? q.getJob(defaultRatingJobId(id, 1)) : null;
      }, 30_000);
      expect(job?.returnvalue).toBe('not needed');
    } finally {
      await q.close();
    }
    const r = await t.api.get(`/api/tickets/${id}`).set(await auth(t, 'super1'));
    expect(r.body.ratings).toEqual([expect.objectContaining({ level: 'very_satisfied', source: 'return_visit' })]);
  });

  it('DEFAULT_RATING=none (the default): nothing is scheduled', async () => {
    const plain = await startTestApp();
    try {
      const id = await toVisiting(plain);
      const q = new Queue(DEFAULT_RATING_QUEUE, { connection: plain.app.redis, prefix: plain.prefix });
      try {
        await new Promise((r) => setTimeout(r, 1000)); // the visit's ticket event has been handled
        expect(await q.getJob(defaultRatingJobId(id, 1))).toBeUndefined();
      } finally {
        await q.close();
      }
    } finally {
      await plain.close();
    }
  });

  it('Redis loses the jobs: the next start schedules them again from the tickets in the return visit, due from when the visit began', async () => {
    const env = { DEFAULT_RATING: 'satisfied', DEFAULT_RATING_AFTER_HOURS: '0.002' }; // 7.2 s
    const first = await startTestApp({ env });
    let again: TestApp | undefined;
    try {
      const visitAt = Date.now();
      const id = await toVisiting(first);
      const q = new Queue(DEFAULT_RATING_QUEUE, { connection: first.app.redis, prefix: first.prefix });
      await until('the job scheduled', async () => (await q.getJob(defaultRatingJobId(id, 1))) ?? null);
      await q.close();
      const { dbName, prefix } = first;
      await first.app.close();
      // every key of the default-rating queue, and its marker, gone
      const r = new Redis(process.env.TEST_REDIS_URL!);
      for (const k of await r.keys(`${prefix}:${DEFAULT_RATING_QUEUE}*`)) await r.del(k);
      r.disconnect();

      again = await startTestApp({ env, reuseDatabase: { dbName, prefix } });
      const q2 = new Queue(DEFAULT_RATING_QUEUE, { connection: again.app.redis, prefix: again.prefix });
      try {
        const job = await q2.getJob(defaultRatingJobId(id, 1));
        expect(job).toBeDefined();
        // due 7.2 s after the visit began, not 7.2 s after the restart
        expect(job!.timestamp + job!.opts.delay!).toBeGreaterThanOrEqual(visitAt + 7_200 - 1_000);
        expect(job!.timestamp + job!.opts.delay!).toBeLessThanOrEqual(Date.now() + 7_200);
      } finally {
        await q2.close();
      }
      const rated = await until('the default rating', async () => {
        const res = await again!.api.get(`/api/tickets/${id}`).set(await auth(again!, 'super1'));
        return res.body.ratings?.length ? res.body : null;
      }, 30_000);
      expect(rated.ratings).toEqual([expect.objectContaining({ level: 'satisfied', source: 'default', round: 1 })]);
    } finally {
      if (again) await again.close();
      else await first.close();
    }
  }, 90_000);
});
