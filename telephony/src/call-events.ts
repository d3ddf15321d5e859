// Call events from telephony into the engine: BullMQ jobs on the queue `call-events`
// (ARCHITECTURE "The data flow" steps 1–4). Job ids are derived from the Call-ID, so the same
// event for the same call is stored once however often it is published (a retransmitted INVITE
// after a restart, a second adapter instance seeing the same INVITE).
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { CALL_EVENTS_QUEUE, callEventJobId, type CallEvent } from '../../server/src/calls/telephony-contract.js';

export {
  CALL_EVENTS_QUEUE,
  callEventJobId,
  type AbandonReason,
  type CallAbandoned,
  type CallAnswered,
  type CallEnded,
  type CallEvent,
  type CallHeld,
  type CallResumed,
  type CallRinging,
  type HoldParty,
  type CallOffered,
  type CallRingFailed,
  type CallTransferResult,
  type EndParty,
  type RingFailure,
} from '../../server/src/calls/telephony-contract.js';

export interface CallEventPublisher {
  /** resolves once Redis has the job (or already had one with the same id) */
  publish(event: CallEvent): Promise<void>;
  close(): Promise<void>;
}

export interface BullmqPublisherOptions {
  /** redis:// URL, or an ioredis client the caller owns (not closed by close()) */
  redis: string | Redis;
  redisOptions?: RedisOptions;
  queueName?: string;
  /** BullMQ key prefix */
  prefix?: string;
  onError?: (err: Error) => void;
}

export function createBullmqPublisher(o: BullmqPublisherOptions): CallEventPublisher {
  const own = typeof o.redis === 'string';
  // maxRetriesPerRequest: commands queued while Redis is unreachable fail after one reconnect
  // attempt instead of piling up; the adapter answers 503 on its own timeout before that anyway.
  const client =
    typeof o.redis === 'string'
      ? new Redis(o.redis, { maxRetriesPerRequest: 1, connectTimeout: 2_000, ...o.redisOptions })
      : o.redis;
  const onError = o.onError ?? (() => {});
  if (own) client.on('error', onError); // an unhandled 'error' event would crash the process
  const queue = new Queue<CallEvent>(o.queueName ?? CALL_EVENTS_QUEUE, {
    connection: client,
    ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
    defaultJobOptions: {
      // an event that overtook the one it depends on is retried; under load the queue may hold
      // the earlier one for many seconds, so the budget is minutes (250 ms … 4 min, ~8 min in all)
      attempts: 12,
      backoff: { type: 'exponential', delay: 250 },
      // the id must outlive the INVITE transaction (and its retransmissions) to deduplicate
      removeOnComplete: { age: 24 * 3600, count: 100_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
  });
  queue.on('error', onError);
  return {
    async publish(event) {
      // fail fast while Redis is unreachable: BullMQ would otherwise wait for the connection with
      // no bound, and every call offered during an outage would pile up in memory
      if (client.status !== 'ready') throw new Error(`redis not connected (${client.status})`);
      await queue.add(event.type, event, { jobId: callEventJobId(event) });
    },
    async close() {
      const closing = queue.close().catch(() => {});
      // Queue.close waits for a connection that may never come back: bound it
      await Promise.race([closing, new Promise((r) => setTimeout(r, 1_000).unref())]);
      if (own) client.disconnect();
    },
  };
}
