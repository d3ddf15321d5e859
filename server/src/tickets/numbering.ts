import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { TicketDoc } from './model.js';

/** YYYYMMDD of `at` in the given IANA time zone (ticket numbers follow the city's calendar day). */
export function dayKey(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}${get('month')}${get('day')}`;
}

export const formatTicketNumber = (prefix: string, day: string, seq: number): string =>
  `${prefix}-${day}-${String(seq).padStart(6, '0')}`;

const TTL_SECONDS = 3 * 24 * 3600;

/*
 * KEYS[1] the day's counter; ARGV[1] the highest sequence stored in MongoDB; ARGV[2] TTL.
 * Raises the counter to ARGV[1] if it is lower (never lowers it).
 */
const RAISE = `local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 1`;

/**
 * Human-readable numbers 12345-YYYYMMDD-NNNNNN, unique under concurrency: the sequence is a
 * Redis INCR (atomic), and the unique index on `tickets.number` is the guard. If Redis lost
 * its counter (restart without persistence), the insert collides, `resync` raises the counter
 * past the highest stored number, and the insert is retried. (A MongoDB `$inc` counter is not
 * used because FerretDB v1 loses concurrent updates; see JournalDoc.)
 */
export class TicketNumberer {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly Ticket: Model<TicketDoc>,
    private readonly prefix: string,
    private readonly timeZone: string,
  ) {}

  private key(day: string): string {
    return `${this.keyPrefix}:ticket-seq:${day}`;
  }

  async next(at: Date): Promise<string> {
    const day = dayKey(at, this.timeZone);
    const seq = await this.redis.incr(this.key(day));
    if (seq === 1) await this.redis.expire(this.key(day), TTL_SECONDS);
    return formatTicketNumber(this.prefix, day, seq);
  }

  async resync(at: Date): Promise<void> {
    const day = dayKey(at, this.timeZone);
    const last = await this.Ticket.findOne({ number: { $regex: `^${this.prefix}-${day}-` } }, { number: 1 })
      .sort({ number: -1 })
      .lean();
    const max = last ? Number(last.number.split('-')[2]) : 0;
    await this.redis.eval(RAISE, 1, this.key(day), String(max), String(TTL_SECONDS));
  }
}
