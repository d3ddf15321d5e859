/**
 * 审管 push (issue #6 item 7): ticket results — the department's reply (答复) and the close
 * (办结) — pushed to the regulators' systems configured in REGULATOR_WEBHOOKS.
 *
 * The ticket-events handler writes a delivery log entry (insert, `_id` = job id) and enqueues
 * one job per matching target in the `regulator-push` queue; job ids
 * `<target>-<ticketId>-<event>-<version>` make a repeated ticket event harmless. The worker
 * signs and POSTs (delivery.ts), records every attempt in the log, and retries with exponential
 * backoff until the attempts run out (status `failed`).
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import { AppError, notFound } from '../errors.js';
import type { TicketEventHandler } from '../queues/ticket-events.js';
import type { TicketDoc } from '../tickets/model.js';
import { wants, type PushEvent, type RegulatorWebhook } from './config.js';
import { deliver } from './delivery.js';
import type { DeliveryDoc } from './model.js';

export const REGULATOR_QUEUE = 'regulator-push';

export interface PushJob {
  webhookId: string;
  event: PushEvent;
  ticketId: string;
  /** the exact body sent (and signed) on every attempt */
  body: string;
}

export const pushJobId = (webhookId: string, ticketId: string, event: PushEvent, version: number): string => `${webhookId}-${ticketId}-${event}-${version}`;

/** Which push a ticket event is (pure). */
export function pushEventOf(type: string): PushEvent | null {
  if (type === 'ticket.replied') return 'replied';
  if (type === 'ticket.closed') return 'closed';
  return null;
}

/** What the regulator receives: the result, no caller details (privacy, seed 三(六)). */
export function pushPayload(event: PushEvent, deliveryId: string, t: TicketDoc, occurredAt: string) {
  return {
    event: `ticket.${event}`,
    deliveryId,
    occurredAt,
    ticket: {
      id: String(t._id),
      number: t.number,
      channel: t.channel,
      category: t.category,
      urgency: t.urgency,
      area: t.area,
      title: t.title,
      state: t.state,
      round: t.round,
      leadDepartmentId: t.leadDepartmentId,
      coDepartmentIds: t.coDepartmentIds,
      createdAt: t.createdAt,
      reply: t.reply ? { text: t.reply.text, at: t.reply.at, departmentId: t.reply.by.departmentId } : null,
      directAnswer: t.directAnswer ? { text: t.directAnswer.text, at: t.directAnswer.at } : null,
      closure: t.closure,
      rating: t.rating ? { level: t.rating.level, round: t.rating.round, at: t.rating.at } : null,
      redoCount: t.redoCount,
      extendedDays: t.extendedDays,
    },
  };
}

const isDuplicateKey = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 11000;

export interface RegulatorPushOptions {
  connection: Redis;
  workerConnection: Redis;
  prefix: string;
  webhooks: RegulatorWebhook[];
  Delivery: Model<DeliveryDoc>;
  log: Logger;
  clock: () => Date;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export class RegulatorPush {
  readonly queue: Queue<PushJob>;
  private worker: Worker<PushJob> | null = null;

  constructor(private readonly o: RegulatorPushOptions) {
    this.queue = new Queue<PushJob>(REGULATOR_QUEUE, {
      connection: o.connection,
      prefix: o.prefix,
      defaultJobOptions: {
        attempts: o.attempts,
        backoff: { type: 'exponential', delay: o.backoffMs },
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    });
  }

  readonly handler: TicketEventHandler = async (event, ticket) => {
    const kind = pushEventOf(event.type);
    if (!kind || !ticket || this.o.webhooks.length === 0) return;
    for (const w of this.o.webhooks) {
      if (!wants(w, kind, ticket)) continue;
      const id = pushJobId(w.id, event.ticketId, kind, event.version);
      try {
        await this.o.Delivery.collection.insertOne({
          _id: id,
          webhookId: w.id,
          url: w.url,
          ticketId: event.ticketId,
          ticketNumber: ticket.number,
          event: kind,
          version: event.version,
          status: 'pending',
          attempts: 0,
          statusCode: null,
          lastError: null,
          createdAt: this.o.clock(),
          lastAttemptAt: null,
          deliveredAt: null,
        } as never);
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        // a repeated ticket event: enqueue again only if not finished (BullMQ de-duplicates by id)
        const seen = await this.o.Delivery.findById(id, { status: 1 }).lean();
        if (seen && (seen.status === 'delivered' || seen.status === 'failed')) continue;
      }
      const body = JSON.stringify(pushPayload(kind, id, ticket, event.at));
      await this.queue.add(kind, { webhookId: w.id, event: kind, ticketId: event.ticketId, body }, { jobId: id });
    }
  };

  /**
   * Send a failed delivery again (a supervisor or admin, after the target was fixed): its job goes
   * back to the queue with a fresh set of attempts and the same payload, id and signature scheme.
   * 404 unknown, 409 not failed, 410 the job is gone (failed jobs are kept 30 days).
   */
  async resend(deliveryId: string, by: string): Promise<DeliveryDoc> {
    const d = await this.o.Delivery.findById(deliveryId).lean<DeliveryDoc>();
    if (!d) throw notFound('delivery');
    if (d.status !== 'failed') throw new AppError('DELIVERY_NOT_FAILED', `the delivery is ${d.status}; only failed deliveries are sent again`);
    const job = await this.queue.getJob(deliveryId);
    if (!job || (await job.getState()) !== 'failed') throw new AppError('DELIVERY_GONE', 'the failed job and its payload are no longer kept; the next event of the ticket is pushed as usual');
    const now = this.o.clock();
    const claimed = await this.o.Delivery.findOneAndUpdate(
      { _id: deliveryId, status: 'failed' },
      { $set: { status: 'retrying', resentAt: now, resentBy: by }, $inc: { resends: 1 } },
      { new: true },
    ).lean<DeliveryDoc>();
    if (!claimed) throw new AppError('DELIVERY_NOT_FAILED', 'the delivery is being sent again already');
    try {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    } catch (e) {
      await this.o.Delivery.updateOne({ _id: deliveryId, status: 'retrying' }, { $set: { status: 'failed' } }).catch(() => undefined);
      throw e;
    }
    return claimed;
  }

  start(opts: { lockMs?: number; concurrency?: number } = {}): void {
    const { log } = this.o;
    this.worker = new Worker<PushJob>(
      REGULATOR_QUEUE,
      async (job: Job<PushJob>) => {
        const target = this.o.webhooks.find((w) => w.id === job.data?.webhookId);
        if (!job.id || !target || typeof job.data.body !== 'string') throw new UnrecoverableError('malformed push job or unknown target');
        const now = this.o.clock();
        const r = await deliver({ url: target.url, secret: target.secret, body: job.data.body, deliveryId: job.id, event: job.data.event, timeoutMs: this.o.timeoutMs, now });
        const attempt = job.attemptsMade + 1;
        const last = attempt >= (job.opts.attempts ?? 1);
        await this.o.Delivery.updateOne(
          { _id: job.id },
          {
            $set: {
              attempts: attempt,
              lastAttemptAt: now,
              statusCode: r.statusCode,
              // a success keeps the error of the attempt before it, for the log's reader
              ...(r.ok ? {} : { lastError: r.error }),
              status: r.ok ? 'delivered' : last ? 'failed' : 'retrying',
              ...(r.ok ? { deliveredAt: now } : {}),
            },
          },
        );
        if (!r.ok) throw new Error(r.error ?? 'delivery failed');
      },
      {
        connection: this.o.workerConnection,
        prefix: this.o.prefix,
        concurrency: opts.concurrency ?? 8,
        ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}),
      },
    );
    this.worker.on('failed', (job, err) => log.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'regulator push attempt failed'));
    this.worker.on('error', (err) => log.error({ err }, 'regulator push worker error'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
