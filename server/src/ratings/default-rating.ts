/**
 * The default rating (HOTLINE-RULES 好差评: "If no rating arrives within 7 days, provinces differ
 * on the default (基本满意 or 非常满意, or none): make it configurable, default none").
 *
 * With DEFAULT_RATING set, a ticket that enters the return visit (回访, `visiting`: the rating
 * invitation goes out then) gets one BullMQ delayed job per handling round, id
 * `<ticketId>-r<round>`, due DEFAULT_RATING_AFTER_HOURS later. When it fires, the ticket's `rate`
 * command records the default level as the system (source `default`, never real-name) — unless
 * the round was rated meanwhile (by link, keypad or the agent's return visit) or the ticket moved
 * on (a new round): the state machine refuses, and that is the end of the job. Rating stays
 * voluntary: nothing is asked of the citizen.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import type { TicketEventHandler } from '../queues/ticket-events.js';
import type { TicketDoc } from '../tickets/model.js';
import type { TicketService } from '../tickets/service.js';
import type { Actor } from '../tickets/types.js';
import type { RatingLevel } from '../tickets/vocabulary.js';

/** Who records a default rating (on the timeline). */
export const DEFAULT_RATING_ACTOR: Actor = { id: 'default-rating', name: '系统（逾期未评价默认）', role: 'system', departmentId: null };

export const DEFAULT_RATING_QUEUE = 'default-ratings';

interface DefaultRatingJob {
  ticketId: string;
  round: number;
}

export const defaultRatingJobId = (ticketId: string, round: number): string => `${ticketId}-r${round}`;

export interface DefaultRatingOptions {
  connection: Redis;
  /** tickets as stored (the reconcile after a Redis data loss reads them) */
  Ticket: Model<TicketDoc>;
  workerConnection: Redis;
  prefix: string;
  tickets: TicketService;
  level: RatingLevel;
  afterMs: number;
  log: Logger;
}

export class DefaultRatings {
  readonly queue: Queue<DefaultRatingJob>;
  private worker: Worker<DefaultRatingJob> | null = null;

  constructor(private readonly o: DefaultRatingOptions) {
    this.queue = new Queue<DefaultRatingJob>(DEFAULT_RATING_QUEUE, {
      connection: o.connection,
      prefix: o.prefix,
      defaultJobOptions: { attempts: 8, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } },
    });
  }

  /** Ticket events: the return visit begins → the round's default is scheduled (idempotent by job id). */
  readonly handler: TicketEventHandler = async (event, ticket) => {
    if (event.data.to !== 'visiting' || !ticket || ticket.state !== 'visiting') return;
    const round = ticket.round;
    if (ticket.ratings.some((r) => r.round === round)) return;
    await this.queue.add('default', { ticketId: event.ticketId, round }, { jobId: defaultRatingJobId(event.ticketId, round), delay: this.o.afterMs });
  };

  private get keptKey(): string {
    return `${this.o.prefix}:${DEFAULT_RATING_QUEUE}:kept`;
  }

  /**
   * The jobs live in Redis only. When Redis has lost its data (the marker key beside the queue is
   * gone: a restart without persistence, a flush), every ticket in the return visit whose round is
   * unrated gets its job back, due DEFAULT_RATING_AFTER_HOURS after the visit began (at once if that
   * is past). Idempotent (job ids); does nothing while the marker is there. Returns how many.
   */
  async reconcile(now = Date.now()): Promise<number> {
    if ((await this.o.connection.exists(this.keptKey)) === 1) return 0;
    let scheduled = 0;
    const open = this.o.Ticket.find({ state: 'visiting' }, { round: 1, ratings: 1, timeline: 1 }).lean<Pick<TicketDoc, '_id' | 'round' | 'ratings' | 'timeline'>[]>().cursor();
    for await (const tk of open) {
      if (tk.ratings.some((r) => r.round === tk.round)) continue;
      const began = [...tk.timeline].reverse().find((e) => e.to === 'visiting')?.at;
      const due = (began ? new Date(began).getTime() : now) + this.o.afterMs;
      const id = String(tk._id);
      await this.queue.add('default', { ticketId: id, round: tk.round }, { jobId: defaultRatingJobId(id, tk.round), delay: Math.max(0, due - now) });
      scheduled++;
    }
    await this.o.connection.set(this.keptKey, String(now));
    return scheduled;
  }

  start(opts: { lockMs?: number } = {}): void {
    this.worker = new Worker<DefaultRatingJob>(
      DEFAULT_RATING_QUEUE,
      async (job: Job<DefaultRatingJob>) => {
        const { ticketId, round } = job.data ?? {};
        if (typeof ticketId !== 'string' || typeof round !== 'number') throw new UnrecoverableError('malformed default rating job');
        const current = await this.o.tickets.get(ticketId, DEFAULT_RATING_ACTOR).catch(() => null);
        // a later round has its own job; a rated round needs no default
        if (!current || current.round !== round || current.ratings.some((r) => r.round === round)) return 'not needed';
        try {
          // on the version just read: a change in between is a conflict, and the job is tried again
          await this.o.tickets.execute(ticketId, { type: 'rate', level: this.o.level, via: 'default' }, DEFAULT_RATING_ACTOR, current.version);
          return 'rated';
        } catch (e) {
          // rated or moved on between the read and the command: nothing to do
          if (e instanceof AppError && (e.code === 'RATING_EXISTS' || e.code === 'INVALID_TRANSITION')) return 'not needed';
          throw e;
        }
      },
      { connection: this.o.workerConnection, prefix: this.o.prefix, concurrency: 4, ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}) },
    );
    this.worker.on('failed', (job, err) => this.o.log.warn({ jobId: job?.id, err: err.message }, 'default rating failed'));
    this.worker.on('error', (err) => this.o.log.error({ err }, 'default rating worker error'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
