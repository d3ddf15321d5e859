/**
 * The worker for ticket side effects. Handlers are idempotent: the same job may run twice
 * (at-least-once delivery), so each only sets state or emits a notification that a console
 * de-duplicates by `eventId`. A malformed job fails at once without retries.
 */
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import { Types } from 'mongoose';
import type { Logger } from 'pino';
import type { TicketEventMessage } from '../realtime/contract.js';
import type { TicketDoc } from '../tickets/model.js';
import type { TicketEventJob } from './outbox.js';

export type TicketEventHandler = (job: TicketEventJob, ticket: TicketDoc | null) => Promise<void>;

export const JOB_DEFAULTS = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 24 * 3600, count: 50_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

function isJob(d: unknown): d is TicketEventJob {
  const j = d as TicketEventJob;
  return (
    !!j && typeof j.ticketId === 'string' && Types.ObjectId.isValid(j.ticketId) && typeof j.eventId === 'string' && typeof j.type === 'string' && typeof j.version === 'number'
  );
}

export function toMessage(job: TicketEventJob, ticket: TicketDoc | null): TicketEventMessage {
  return {
    eventId: job.eventId,
    type: job.type,
    ticketId: job.ticketId,
    number: ticket?.number ?? '',
    version: job.version,
    state: typeof job.data.to === 'string' ? job.data.to : (ticket?.state ?? ''),
    leadDepartmentId: ticket?.leadDepartmentId ?? null,
    at: job.at,
    data: { ...job.data, coDepartmentIds: ticket?.coDepartmentIds ?? [], escalatedTo: job.data.escalatedTo ?? ticket?.escalatedTo ?? [] },
  };
}

export function startTicketEventWorker(opts: {
  queue: Queue<TicketEventJob>;
  connection: Redis;
  prefix: string;
  Ticket: Model<TicketDoc>;
  handlers: TicketEventHandler[];
  log: Logger;
  concurrency?: number;
  lockMs?: number;
}): Worker<TicketEventJob> {
  const worker = new Worker<TicketEventJob>(
    opts.queue.name,
    async (job: Job<TicketEventJob>) => {
      if (!isJob(job.data)) throw new UnrecoverableError('malformed ticket event job');
      const ticket = await opts.Ticket.findById(job.data.ticketId, { timeline: 0, outbox: 0 }).lean<TicketDoc>();
      for (const h of opts.handlers) await h(job.data, ticket);
    },
    {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 16,
      ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}),
    },
  );
  worker.on('failed', (job, err) => opts.log.warn({ err, jobId: job?.id, type: job?.name }, 'ticket event job failed'));
  worker.on('error', (err) => opts.log.error({ err }, 'ticket event worker error'));
  return worker;
}
