/**
 * Citizen notifications (issue #6 item 3): at dispatch (派单), at the department's reply (答复),
 * at rectification (整改) and the rating invitation (评价邀请, with a single-use link).
 *
 * The ticket-events handler only decides and enqueues — it never waits on the SMS gateway, so
 * the ticket flow is never blocked by it. Job ids are `<ticketId>-<kind>-<round>`: the handler
 * may run twice (at-least-once) and a re-dispatch in the same round is not told twice. The
 * worker sends through the configured Sender with exponential backoff; a notification that
 * keeps failing ends as a failed job (logged) and the ticket is untouched.
 */
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import type { DepartmentDoc } from '../directory/model.js';
import type { TicketEventHandler } from '../queues/ticket-events.js';
import type { RatingTokens } from '../ratings/tokens.js';
import type { TicketEventJob } from '../queues/outbox.js';
import type { TicketDoc } from '../tickets/model.js';
import type { Sender } from './sender.js';
import { NOTIFICATION_KINDS, renderNotification, type NotificationKind } from './templates.js';

export const NOTIFICATIONS_QUEUE = 'notifications';

export interface NotificationJob {
  kind: NotificationKind;
  ticketId: string;
  ticketNumber: string;
  round: number;
  /** the citizen's phone number */
  to: string;
  text: string;
}

export interface NotificationOptions {
  connection: Redis;
  workerConnection: Redis;
  prefix: string;
  sender: Sender;
  tokens: RatingTokens;
  Department: Model<DepartmentDoc>;
  log: Logger;
  clock: () => Date;
  attempts: number;
  backoffMs: number;
  /** rating link = base + token */
  linkBase: string;
  linkTtlHours: number;
  /** tickets merged into this one (重复件): their callers are answered with it */
  duplicatesOf?: (masterId: string) => Promise<{ id: string; number: string; phone: string | null }[]>;
}

export const notificationJobId = (ticketId: string, kind: NotificationKind, round: number): string => `${ticketId}-${kind}-${round}`;

/** Which notification a ticket event calls for, if any (pure). */
export function notificationKindOf(event: Pick<TicketEventJob, 'type' | 'data'>): NotificationKind | null {
  switch (event.type) {
    case 'ticket.dispatched':
      return 'dispatched';
    case 'ticket.replied':
      return 'replied';
    case 'ticket.rating_verified':
      // valid bad rating sent back to the department for 整改
      return event.data.to === 'dispatched' ? 'rectifying' : null;
    case 'ticket.reply_reviewed':
    case 'ticket.answered_directly':
      // the matter is answered: the citizen is invited to rate this round
      return event.data.to === 'visiting' ? 'rating_invite' : null;
    default:
      return null;
  }
}

function isJob(d: unknown): d is NotificationJob {
  const j = d as NotificationJob;
  return !!j && NOTIFICATION_KINDS.includes(j.kind) && typeof j.to === 'string' && j.to.length > 0 && typeof j.text === 'string';
}

export class Notifications {
  readonly queue: Queue<NotificationJob>;
  private worker: Worker<NotificationJob> | null = null;

  constructor(private readonly o: NotificationOptions) {
    this.queue = new Queue<NotificationJob>(NOTIFICATIONS_QUEUE, {
      connection: o.connection,
      prefix: o.prefix,
      defaultJobOptions: {
        attempts: o.attempts,
        backoff: { type: 'exponential', delay: o.backoffMs },
        // kept a little longer than a rating link lives, so the job id still de-duplicates
        removeOnComplete: { age: (o.linkTtlHours + 24) * 3600 },
        removeOnFail: { age: 14 * 24 * 3600 },
      },
    });
  }

  /** The ticket-events handler: decide and enqueue, nothing else. */
  readonly handler: TicketEventHandler = async (event, ticket) => {
    const kind = notificationKindOf(event);
    if (!kind || !ticket) return;
    // merged duplicates share this handling: when it is answered, all their callers are too
    if (event.type === 'ticket.replied' || event.type === 'ticket.answered_directly') await this.answerDuplicates(ticket);
    if (!ticket.caller?.phone) return;
    const round = kind === 'rectifying' && typeof event.data.round === 'number' ? event.data.round : ticket.round;
    const ticketId = String(ticket._id);
    const jobId = notificationJobId(ticketId, kind, round);
    if (await this.queue.getJob(jobId)) return; // a repeated event: already queued or sent
    let link: string | null = null;
    if (kind === 'rating_invite') {
      // Not when the round is over or already rated (e.g. the agent's return visit came first).
      if (ticket.state !== 'visiting' || ticket.round !== round || ticket.ratings.some((r) => r.round === round)) return;
      const { token } = await this.o.tokens.issue(ticketId, round, this.o.clock());
      link = `${this.o.linkBase}${token}`;
    }
    const text = renderNotification(kind, {
      number: ticket.number,
      departmentName: ticket.leadDepartmentId ? await this.departmentName(ticket.leadDepartmentId) : null,
      replySummary: ticket.reply?.text ?? ticket.directAnswer?.text ?? null,
      link,
      linkValidDays: Math.round(this.o.linkTtlHours / 24),
    });
    const data: NotificationJob = { kind, ticketId, ticketNumber: ticket.number, round, to: ticket.caller.phone, text };
    await this.queue.add(kind, data, { jobId });
  };

  private async answerDuplicates(master: TicketDoc): Promise<void> {
    if (!this.o.duplicatesOf) return;
    const dups = await this.o.duplicatesOf(String(master._id));
    if (dups.length === 0) return;
    const departmentName = master.leadDepartmentId ? await this.departmentName(master.leadDepartmentId) : null;
    for (const d of dups) {
      if (!d.phone) continue;
      const jobId = notificationJobId(d.id, 'replied', master.round);
      const text = renderNotification('replied', { number: d.number, departmentName });
      await this.queue.add('replied', { kind: 'replied', ticketId: d.id, ticketNumber: d.number, round: master.round, to: d.phone, text }, { jobId });
    }
  }

  /** Department names change rarely: a minute's cache spares FerretDB a read per notification. */
  private readonly names = new Map<string, { name: string | null; until: number }>();
  private async departmentName(id: string): Promise<string | null> {
    const hit = this.names.get(id);
    if (hit && hit.until > Date.now()) return hit.name;
    const doc = await this.o.Department.findById(id, { name: 1 }).lean();
    const name = doc?.name ?? null;
    if (this.names.size > 10_000) this.names.clear();
    this.names.set(id, { name, until: Date.now() + 60_000 });
    return name;
  }

  start(opts: { lockMs?: number; concurrency?: number } = {}): void {
    const { sender, log } = this.o;
    this.worker = new Worker<NotificationJob>(
      NOTIFICATIONS_QUEUE,
      async (job: Job<NotificationJob>) => {
        if (!isJob(job.data)) throw new UnrecoverableError('malformed notification job');
        const d = job.data;
        await sender.send({ id: job.id ?? notificationJobId(d.ticketId, d.kind, d.round), to: d.to, text: d.text, kind: d.kind, ticketId: d.ticketId, ticketNumber: d.ticketNumber });
      },
      {
        connection: this.o.workerConnection,
        prefix: this.o.prefix,
        concurrency: opts.concurrency ?? 8,
        ...(opts.lockMs ? { lockDuration: opts.lockMs, stalledInterval: opts.lockMs } : {}),
      },
    );
    // never the phone number or the text (it carries the rating link) in logs
    this.worker.on('failed', (job, err) => {
      const final = job ? job.attemptsMade >= (job.opts.attempts ?? 1) : true;
      log.warn({ jobId: job?.id, attempt: job?.attemptsMade, final, err: err.message }, final ? 'citizen notification failed for good' : 'citizen notification failed; retrying');
    });
    this.worker.on('error', (err) => log.error({ err }, 'notification worker error'));
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}
