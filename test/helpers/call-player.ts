/**
 * Telephony played on a test app's real queues: its own call-event publisher
 * (telephony/src/call-events.ts) and the command queue of telephony instance `tel1` (ring,
 * stop-ring, transfer, end…). Call inside a describe block or at file level after the app's own
 * beforeAll: it opens in beforeAll and closes in afterAll (before the app closes).
 */
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { commandsQueueName } from '../../server/src/calls/telephony-contract.js';
import { createBullmqPublisher, type CallEventPublisher } from '../../telephony/src/call-events.js';
import { serviceUrls, type TestApp } from './app.js';

export interface CallPlayer {
  redis: Redis;
  publisher: CallEventPublisher;
  commands: Queue;
  /** commands of one name sent so far */
  jobs<T>(name: string): Promise<Job<T>[]>;
}

export function callPlayer(app: () => TestApp): CallPlayer {
  const p = {
    async jobs<T>(name: string): Promise<Job<T>[]> {
      const all = (await p.commands.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'])) as Job<T>[];
      return all.filter((j) => j.name === name);
    },
  } as CallPlayer;
  beforeAll(async () => {
    p.redis = new Redis(serviceUrls().redis, { maxRetriesPerRequest: null });
    await p.redis.ping();
    p.publisher = createBullmqPublisher({ redis: p.redis, prefix: app().prefix });
    p.commands = new Queue(commandsQueueName('tel1'), { connection: p.redis, prefix: app().prefix });
  });
  afterAll(async () => {
    await p.publisher?.close();
    await p.commands?.close();
    p.redis?.disconnect();
  });
  return p;
}
