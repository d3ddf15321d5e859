import { Redis, type RedisOptions } from 'ioredis';

/**
 * BullMQ workers need `maxRetriesPerRequest: null` (blocking commands must not time out);
 * producers fail fast instead so an API request never hangs on a dead Redis.
 */
export function redisConnection(url: string, kind: 'worker' | 'client'): Redis {
  const options: RedisOptions =
    kind === 'worker' ? { maxRetriesPerRequest: null, enableReadyCheck: true } : { maxRetriesPerRequest: 2, enableOfflineQueue: true };
  return new Redis(url, options);
}
