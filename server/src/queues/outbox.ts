/**
 * The outbox (ARCHITECTURE step 6): side effects are written in the journal entry of the
 * version that caused them, in the same insert that claims the version. After the ticket
 * document is written they are handed to BullMQ with job ids derived from ticket id + version +
 * index, and the journal entry is marked published. If the process dies in between, `sweep()`
 * (at start-up and periodically) repairs the ticket document if needed and publishes.
 * Re-publishing is harmless: BullMQ keeps one job per id and the handlers are idempotent.
 */
import type { Queue } from 'bullmq';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import type { JournalDoc } from '../tickets/model.js';

export interface TicketEventJob {
  ticketId: string;
  eventId: string;
  type: string;
  version: number;
  at: string;
  data: Record<string, unknown>;
}

/** BullMQ job ids may not contain ':'. */
export const outboxId = (ticketId: string, version: number, index: number): string => `${ticketId}-${version}-${index}`;

export type Repairer = (j: JournalDoc) => Promise<'applied' | 'already' | 'behind'>;

export class OutboxPublisher {
  private repairer: Repairer | null = null;
  constructor(
    private readonly Journal: Model<JournalDoc>,
    private readonly queue: Queue<TicketEventJob>,
    private readonly log: Logger,
  ) {}

  /** The ticket service repairs projections; set once at wiring time (avoids a cycle). */
  setRepairer(r: Repairer): void {
    this.repairer = r;
  }

  async publish(j: Pick<JournalDoc, '_id' | 'ticketId' | 'events'>): Promise<void> {
    if (j.events.length > 0) {
      await this.queue.addBulk(
        j.events.map((e) => ({
          name: e.type,
          data: { ticketId: String(j.ticketId), eventId: e.id, type: e.type, version: e.version, at: new Date(e.at).toISOString(), data: e.data },
          opts: { jobId: e.id },
        })),
      );
    }
    await this.Journal.updateOne({ _id: j._id }, { $set: { published: true } });
  }

  /** Best effort right after a write; a failure leaves the entry for the sweeper. */
  async publishSoon(j: Pick<JournalDoc, '_id' | 'ticketId' | 'events'>): Promise<void> {
    try {
      await this.publish(j);
    } catch (err) {
      this.log.warn({ err, journalId: j._id }, 'outbox publish failed; the sweeper will retry');
    }
  }

  /**
   * Publish every unpublished journal entry older than `graceMs` (younger ones are still in
   * the hands of the request that wrote them), oldest first, repairing the ticket document
   * first where the writer died before updating it.
   */
  async sweep(graceMs: number, now = new Date()): Promise<number> {
    let published = 0;
    const seen = new Set<string>();
    for (let round = 0; round < 100; round++) {
      const batch = await this.Journal.find({ published: false, at: { $lte: new Date(now.getTime() - graceMs) } })
        .sort({ at: 1, version: 1 })
        .limit(500)
        .lean<JournalDoc[]>();
      const fresh = batch.filter((j) => !seen.has(j._id));
      if (fresh.length === 0) return published;
      for (const j of fresh) {
        seen.add(j._id);
        const state = this.repairer ? await this.repairer(j) : 'already';
        if (state === 'behind') continue; // an earlier version is missing; retried next sweep
        await this.publish(j);
        published++;
      }
    }
    return published;
  }
}
