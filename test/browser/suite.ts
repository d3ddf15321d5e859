/**
 * The set-up the browser test files share: one test app (real Redis and FerretDB, the console's
 * production build) and one chromium per describe block, and — for the call journeys — telephony
 * played by its own event publisher on the app's real queues. Call these inside `describe`: they
 * register the block's beforeAll/afterAll, and the returned object is filled in by beforeAll.
 */
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { commandsQueueName } from '../../server/src/calls/telephony-contract.js';
import { createBullmqPublisher, type CallEventPublisher } from '../../telephony/src/call-events.js';
import { serviceUrls, startTestApp, type TestApp } from '../helpers/app.js';
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

export interface CallPlayer {
  redis: Redis;
  /** telephony's own publisher of call events (telephony/src/call-events.ts) */
  publisher: CallEventPublisher;
  /** the commands the engine sends telephony instance `tel1` (ring, transfer, end…) */
  commands: Queue;
  /** commands of one name sent so far */
  jobs<T>(name: string): Promise<Job<T>[]>;
}

/** Telephony played on the suite app's queues (after the suite's own set-up, closed before it). */
export function callPlayer(suite: BrowserSuite): CallPlayer {
  const p = {
    async jobs<T>(name: string): Promise<Job<T>[]> {
      const all = (await p.commands.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])) as Job<T>[];
      return all.filter((j) => j.name === name);
    },
  } as CallPlayer;
  beforeAll(async () => {
    p.redis = new Redis(serviceUrls().redis, { maxRetriesPerRequest: null });
    await p.redis.ping();
    p.publisher = createBullmqPublisher({ redis: p.redis, prefix: suite.t.prefix });
    p.commands = new Queue(commandsQueueName('tel1'), { connection: p.redis, prefix: suite.t.prefix });
  });
  afterAll(async () => {
    await p.publisher?.close();
    await p.commands?.close();
    p.redis?.disconnect();
  });
  return p;
}
