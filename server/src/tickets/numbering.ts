import type { Model } from 'mongoose';
import type { CounterDoc } from './model.js';

/** YYYYMMDD of `at` in the given IANA time zone (ticket numbers follow the city's calendar day). */
export function dayKey(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}${get('month')}${get('day')}`;
}

export const formatTicketNumber = (prefix: string, day: string, seq: number): string =>
  `${prefix}-${day}-${String(seq).padStart(6, '0')}`;

const isDuplicateKey = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 11000;

/**
 * Next number of the day, unique under concurrency: one atomic `$inc` on the day's counter.
 * Two first-of-the-day upserts can race on the insert; the loser gets E11000 and retries,
 * by then the document exists and `$inc` is atomic.
 */
export async function nextTicketNumber(Counter: Model<CounterDoc>, prefix: string, at: Date, timeZone: string): Promise<string> {
  const day = dayKey(at, timeZone);
  for (let attempt = 0; ; attempt++) {
    try {
      const doc = await Counter.findOneAndUpdate({ _id: `ticket:${day}` }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
      if (!doc) throw new Error('counter upsert returned nothing');
      return formatTicketNumber(prefix, day, doc.seq);
    } catch (e) {
      if (!isDuplicateKey(e) || attempt >= 5) throw e;
    }
  }
}
