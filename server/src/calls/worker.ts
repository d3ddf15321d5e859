/**
 * The worker for call events from telephony (queue `call-events`, telephony/src/call-events.ts).
 * Handlers are idempotent (engine.ts); a malformed job fails at once without retries.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CALL_EVENTS_QUEUE, type CallAbandonedEvent, type CallEngine, type CallOfferedEvent } from './engine.js';

const callId = z.string().min(1).max(256);
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date');

const offeredSchema = z.object({
  type: z.literal('call.offered'),
  callId,
  line: z.string().min(1).max(64),
  lineName: z.string().max(200),
  fromNumber: z.string().max(64),
  displayName: z.string().max(200),
  toNumber: z.string().max(64),
  sdp: z.string().max(64 * 1024),
  receivedAt: isoTime,
});

const abandonedSchema = z.object({
  type: z.literal('call.abandoned'),
  callId,
  line: z.string().min(1).max(64),
  reason: z.string().min(1).max(64),
  finalStatus: z.number().int(),
  at: isoTime,
});

const eventSchema = z.discriminatedUnion('type', [offeredSchema, abandonedSchema]);

/** Process one job's data (exported for tests): throws UnrecoverableError when malformed. */
export async function handleCallEvent(engine: CallEngine, name: string, data: unknown): Promise<unknown> {
  const r = eventSchema.safeParse(data);
  if (!r.success || r.data.type !== name) {
    throw new UnrecoverableError(`malformed call event job ${name}: ${r.success ? 'name and type differ' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const ev = r.data;
  if (ev.type === 'call.offered') return engine.offered(ev satisfies CallOfferedEvent);
  return engine.abandoned(ev satisfies CallAbandonedEvent);
}

export function startCallEventWorker(opts: {
  engine: CallEngine;
  connection: Redis;
  prefix: string;
  log: Logger;
  concurrency?: number;
  lockMs?: number;
}): Worker {
  const worker = new Worker(CALL_EVENTS_QUEUE, async (job: Job) => handleCallEvent(opts.engine, job.name, job.data), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? 16,
    ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}),
  });
  worker.on('failed', (job, err) => opts.log.warn({ err, jobId: job?.id, type: job?.name }, 'call event job failed'));
  worker.on('error', (err) => opts.log.error({ err }, 'call event worker error'));
  return worker;
}
