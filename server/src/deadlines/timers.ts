/**
 * Deadline timers: one BullMQ delayed job per open milestone, for the next moment supervision
 * has something to do (warning, due, reminder, escalation).
 *
 * Job ids are `ticketId-milestone-v<deadline version>-<due ms>`: scheduling the same step twice
 * is a no-op (BullMQ keeps one job per id), and a moved deadline (new version) gets new ids —
 * the old jobs fire, find the version changed, and do nothing. The handler re-reads the ticket
 * and acts through the state machine (`tick`), whose journal insert makes the step happen once.
 *
 * Nothing is lost if Redis loses data or a worker dies: `reconcile()` (at start-up and
 * periodically) recomputes every open milestone's next job from MongoDB and adds the missing ones.
 */
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import type { UserDoc } from '../directory/model.js';
import type { TicketDoc } from '../tickets/model.js';
import type { TicketService } from '../tickets/service.js';
import { OPEN_STATES } from '../tickets/vocabulary.js';
import { escalationChain } from '../tickets/machine.js';
import { isOpen, nextCheckAt } from './milestones.js';
import { MILESTONES, type MilestoneKey } from './policy.js';
import type { DeadlineStore } from './store.js';

export const TIMER_QUEUE = 'deadline-timers';

export interface TimerJob {
  ticketId: string;
  milestone: MilestoneKey;
  version: number;
  at: number;
}

export const timerJobId = (j: TimerJob): string => `${j.ticketId}-${j.milestone}-v${j.version}-${j.at}`;

/** The jobs a ticket should have pending now (pure apart from the store's calendar). */
export function plannedTimers(t: Pick<TicketDoc, '_id' | 'state' | 'deadlines' | 'policy' | 'suspension' | 'leadDepartmentId'>, store: DeadlineStore): TimerJob[] {
  if (!OPEN_STATES.includes(t.state) || t.suspension?.since) return [];
  const out: TimerJob[] = [];
  for (const key of MILESTONES) {
    const m = t.deadlines?.[key];
    if (!isOpen(m)) continue;
    const at = nextCheckAt(m, t.policy, store.calendar, escalationChain(t, key, store).length);
    if (at) out.push({ ticketId: String(t._id), milestone: key, version: m.version, at: at.getTime() });
  }
  return out;
}

const TIMER_OPTS = { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 }, attempts: 10, backoff: { type: 'exponential', delay: 1000 } } as const;

export class DeadlineTimers {
  readonly queue: Queue<TimerJob>;
  private worker: Worker<TimerJob> | null = null;
  private reconciler: NodeJS.Timeout | null = null;
  private supervisors: { ids: string[]; at: number } = { ids: [], at: 0 };

  constructor(
    private readonly deps: {
      redis: Redis;
      workerConnection: Redis;
      prefix: string;
      Ticket: Model<TicketDoc>;
      User: Model<UserDoc>;
      tickets: TicketService;
      store: DeadlineStore;
      log: Logger;
      clock: () => Date;
    },
  ) {
    this.queue = new Queue<TimerJob>(TIMER_QUEUE, { connection: deps.redis, prefix: deps.prefix, defaultJobOptions: TIMER_OPTS });
  }

  /** Make sure the ticket's planned timers exist (idempotent). */
  async sync(t: Parameters<typeof plannedTimers>[0]): Promise<number> {
    return this.schedule(plannedTimers(t, this.deps.store));
  }

  private async schedule(jobs: TimerJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    const now = this.deps.clock().getTime();
    await this.queue.addBulk(jobs.map((j) => ({ name: j.milestone, data: j, opts: { jobId: timerJobId(j), delay: Math.max(0, j.at - now) } })));
    return jobs.length;
  }

  /** The supervisor who follows an overdue ticket (督办): spread over active supervisors by ticket. */
  private async supervisorFor(ticketId: string): Promise<string | null> {
    if (Date.now() - this.supervisors.at > 60_000) {
      const users = await this.deps.User.find({ role: 'supervisor', active: true }, { _id: 1 }).sort({ _id: 1 }).lean();
      this.supervisors = { ids: users.map((u) => u._id), at: Date.now() };
    }
    const ids = this.supervisors.ids;
    if (ids.length === 0) return null;
    const h = [...ticketId].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);
    return ids[h % ids.length]!;
  }

  /** Process one timer: act, then make sure the next step is scheduled. Exposed for tests. */
  async fire(j: TimerJob): Promise<'acted' | 'stale' | 'nothing'> {
    const outcome = await this.deps.tickets.tick(j.ticketId, j.milestone, j.version, await this.supervisorFor(j.ticketId));
    if (outcome !== 'stale') {
      const t = await this.deps.Ticket.findById(j.ticketId, { timeline: 0 }).lean<TicketDoc>();
      if (t) {
        // An early timer (clock skew) would plan the same id as itself: give the retry its own id.
        const planned = plannedTimers(t, this.deps.store).map((p) => (timerJobId(p) === timerJobId(j) ? { ...p, at: p.at + 1 } : p));
        await this.schedule(planned);
      }
    }
    return outcome;
  }

  start(opts: { reconcileMs: number; lockMs: number; concurrency?: number }): void {
    this.worker = new Worker<TimerJob>(
      TIMER_QUEUE,
      async (job: Job<TimerJob>, token?: string) => {
        const j = job.data;
        // Never act before the planned time (a job added with a stale clock, or clock skew).
        const wait = j.at - this.deps.clock().getTime();
        if (wait > 1000 && token) {
          await job.moveToDelayed(Date.now() + wait, token);
          throw new DelayedError();
        }
        await this.fire(j);
      },
      {
        connection: this.deps.workerConnection,
        prefix: this.deps.prefix,
        concurrency: opts.concurrency ?? 32,
        lockDuration: opts.lockMs,
        stalledInterval: opts.lockMs,
      },
    );
    this.worker.on('failed', (job, err) => this.deps.log.warn({ err, jobId: job?.id }, 'deadline timer failed'));
    this.worker.on('error', (err) => this.deps.log.error({ err }, 'deadline timer worker error'));
    this.reconciler = setInterval(() => {
      this.reconcile().catch((err) => this.deps.log.warn({ err }, 'deadline reconciliation failed'));
    }, opts.reconcileMs);
    this.reconciler.unref();
  }

  /**
   * Compare open milestones in MongoDB with the jobs in Redis and add what is missing.
   * Streams tickets in `_id` order; existence is checked with pipelined EXISTS on the job keys.
   */
  async reconcile(batchSize = 2000): Promise<{ milestones: number; repaired: number }> {
    let milestones = 0;
    let repaired = 0;
    const keyPrefix = `${this.deps.prefix}:${TIMER_QUEUE}:`;
    let last: unknown = null;
    for (;;) {
      const filter: Record<string, unknown> = { state: { $in: OPEN_STATES }, nextDueAt: { $ne: null } };
      if (last) filter._id = { $gt: last };
      const batch = await this.deps.Ticket.find(filter, { state: 1, deadlines: 1, policy: 1, suspension: 1, leadDepartmentId: 1 })
        .sort({ _id: 1 })
        .limit(batchSize)
        .lean<TicketDoc[]>();
      if (batch.length === 0) break;
      last = batch[batch.length - 1]!._id;
      const jobs = batch.flatMap((t) => plannedTimers(t, this.deps.store));
      milestones += jobs.length;
      const pipe = this.deps.redis.pipeline();
      for (const j of jobs) pipe.exists(keyPrefix + timerJobId(j));
      const found = (await pipe.exec()) ?? [];
      const missing = jobs.filter((_, i) => found[i]?.[1] !== 1);
      repaired += await this.schedule(missing);
      if (batch.length < batchSize) break;
    }
    if (repaired > 0) this.deps.log.info({ milestones, repaired }, 'deadline timers repaired');
    return { milestones, repaired };
  }

  async close(): Promise<void> {
    if (this.reconciler) clearInterval(this.reconciler);
    await this.worker?.close();
    await this.queue.close();
  }
}
