/**
 * Where duplicate candidates come from: a Redis index of recent tickets per normalised address
 * (a sorted set by creation time, kept for the window), filled when a ticket is created
 * (ticket-events). A lookup reads the tickets at that address by `_id` only — the one filter
 * FerretDB indexes — and ranks them with the pure similarity.ts.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { TicketDoc } from '../tickets/model.js';
import { DUPLICATE_DEFAULTS, normalizeAddress, suggestDuplicates, type DuplicateOther, type DuplicateSuggestion } from './similarity.js';

type Indexed = Pick<TicketDoc, '_id' | 'address' | 'content' | 'createdAt' | 'number' | 'state' | 'category' | 'mergedInto'>;
const PROJECTION = { address: 1, content: 1, createdAt: 1, number: 1, state: 1, category: 1, mergedInto: 1 } as const;

export class DuplicateIndex {
  private readonly windowMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly Ticket: Model<TicketDoc>,
    private readonly opts: { windowDays?: number; minScore?: number; perAddress?: number } = {},
  ) {
    this.windowMs = (opts.windowDays ?? DUPLICATE_DEFAULTS.windowDays) * 86_400_000;
  }

  private key(address: string): string | null {
    const place = normalizeAddress(address);
    return place ? `${this.prefix}:dup:${createHash('sha1').update(place).digest('hex')}` : null;
  }

  /** Index a new ticket (idempotent); entries older than the window are dropped. */
  async add(t: Pick<TicketDoc, '_id' | 'address' | 'createdAt'>): Promise<void> {
    const key = this.key(t.address ?? '');
    if (!key) return;
    const at = new Date(t.createdAt).getTime();
    await this.redis
      .multi()
      .zadd(key, at, String(t._id))
      .zremrangebyscore(key, '-inf', String(Date.now() - this.windowMs))
      .pexpire(key, this.windowMs + 86_400_000)
      .exec();
  }

  /** Tickets that look like duplicates of this one, best first. */
  async candidates(t: Indexed): Promise<DuplicateSuggestion[]> {
    const key = this.key(t.address ?? '');
    if (!key) return [];
    const at = new Date(t.createdAt).getTime();
    // the newest ones at this address around the ticket's time (bounded: a busy address keeps the last 50)
    const ids = (await this.redis.zrevrangebyscore(key, String(at + this.windowMs), String(at - this.windowMs), 'LIMIT', 0, this.opts.perAddress ?? 50)).filter((id) => id !== String(t._id));
    const docs = (await Promise.all(ids.map((id) => this.Ticket.findById(id, PROJECTION).lean<Indexed>()))).filter((d): d is Indexed => d !== null);
    const others: DuplicateOther[] = docs.map((d) => ({ id: String(d._id), address: d.address, content: d.content, createdAt: d.createdAt, number: d.number, state: d.state, category: d.category, mergedInto: d.mergedInto ?? null }));
    return suggestDuplicates({ id: String(t._id), address: t.address, content: t.content, createdAt: t.createdAt }, others, { windowDays: this.opts.windowDays, minScore: this.opts.minScore });
  }
}
