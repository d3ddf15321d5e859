/**
 * The worker for call events from telephony (queue `call-events`, telephony/src/call-events.ts).
 * Handlers are idempotent (engine.ts); a malformed job fails at once without retries.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CallEngine } from './engine.js';
import { CALL_EVENTS_QUEUE, callEventSchema } from './telephony-contract.js';

/** Process one job's data (exported for tests): throws UnrecoverableError when malformed. */
export async function handleCallEvent(engine: CallEngine, name: string, data: unknown): Promise<unknown> {
  const r = callEventSchema.safeParse(data);
  if (!r.success || r.data.type !== name) {
    throw new UnrecoverableError(`malformed call event job ${name}: ${r.success ? 'name and type differ' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const ev = r.data;
  switch (ev.type) {
    case 'call.offered':
      return engine.offered(ev);
    case 'call.abandoned':
      return engine.abandoned(ev);
    case 'call.ring-failed':
      return engine.ringFailed(ev);
    case 'call.ringing':
      return engine.ringing(ev);
    case 'call.held':
      return engine.held(ev);
    case 'call.resumed':
      return engine.resumed(ev);
    case 'call.answered':
      return engine.answered(ev);
    case 'call.ended':
      return engine.ended(ev);
    case 'call.transfer-result':
      return engine.transferResult(ev);
  }
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
