/**
 * Transactional outbox on the ticket document (ARCHITECTURE step 6). A transition writes its
 * side effects into `outbox` in the same single-document update; afterwards they are handed to
 * BullMQ with job ids derived from ticket id + version + index, then cleared — but only if the
 * ticket has not moved on (version in the filter), so a newer write's entries are never lost.
 * If the process dies between the write and the hand-over, `sweep()` (at start-up and
 * periodically) finds `outboxPending` tickets and publishes them. Re-publishing is harmless:
 * BullMQ keeps one job per id and the handlers are idempotent.
 */
import type { Queue } from 'bullmq';
import type { Model, Types } from 'mongoose';
import type { Logger } from 'pino';
import type { OutboxEntry, TicketDoc } from '../tickets/model.js';

export interface TicketEventJob {
  ticketId: string;
  eventId: string;
  type: string;
  version: number;
  at: string;
  data: Record<string, unknown>;
}

export const outboxId = (ticketId: string, version: number, index: number): string => `${ticketId}-${version}-${index}`;

export class OutboxPublisher {
  constructor(
    private readonly Ticket: Model<TicketDoc>,
    private readonly queue: Queue<TicketEventJob>,
    private readonly log: Logger,
  ) {}

  async publish(ticketId: Types.ObjectId | string, version: number, entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length > 0) {
      await this.queue.addBulk(
        entries.map((e) => ({
          name: e.type,
          data: { ticketId: String(ticketId), eventId: e.id, type: e.type, version: e.version, at: e.at.toISOString(), data: e.data },
          opts: { jobId: e.id },
        })),
      );
    }
    await this.Ticket.updateOne({ _id: ticketId, version }, { $set: { outbox: [], outboxPending: false } });
  }

  /** Best effort right after a write; a failure leaves the entries for the sweeper. */
  async publishSoon(ticketId: Types.ObjectId | string, version: number, entries: readonly OutboxEntry[]): Promise<void> {
    try {
      await this.publish(ticketId, version, entries);
    } catch (err) {
      this.log.warn({ err, ticketId: String(ticketId), version }, 'outbox publish failed; the sweeper will retry');
    }
  }

  /** Publish every pending outbox older than `graceMs` (younger ones are still being published inline). */
  async sweep(graceMs: number, now = new Date()): Promise<number> {
    let published = 0;
    for (let round = 0; round < 100; round++) {
      const batch = await this.Ticket.find(
        { outboxPending: true, updatedAt: { $lte: new Date(now.getTime() - graceMs) } },
        { _id: 1, version: 1, outbox: 1 },
      )
        .sort({ updatedAt: 1 })
        .limit(200)
        .lean();
      if (batch.length === 0) return published;
      for (const doc of batch) {
        await this.publish(doc._id, doc.version, doc.outbox ?? []);
        published++;
      }
      if (batch.length < 200) return published;
    }
    return published;
  }
}
