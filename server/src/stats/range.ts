/**
 * `from` / `to` of the statistics routes: an ISO date-time with `Z` or an offset, or a bare date
 * meaning midnight in the city's time zone (Asia/Shanghai: the wallboard's "today").
 */
import { z } from 'zod';
import { validation } from '../errors.js';

const DAY = 86_400_000;
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+ -]\d{2}:\d{2}))?$/;

export const instantParam = z
  .string()
  .max(40)
  .regex(INSTANT, 'must be an ISO date-time with Z or an offset (2026-11-26T09:00:00+08:00), or a date YYYY-MM-DD (city time)')
  .refine((s) => !Number.isNaN(Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s.replace(' ', '+'))), 'not a real date');

/** Longest range one request may cover. */
export const MAX_RANGE_DAYS = 366;

export function toInstant(s: string, utcOffsetMinutes: number): Date {
  if (s.length === 10) return new Date(Date.parse(`${s}T00:00:00Z`) - utcOffsetMinutes * 60_000);
  return new Date(Date.parse(s.replace(' ', '+'))); // an unencoded '+' arrives as a space
}

/** Midnight of the city day containing `now`. */
export function startOfCityDay(now: Date, utcOffsetMinutes: number): Date {
  const off = utcOffsetMinutes * 60_000;
  return new Date(Math.floor((now.getTime() + off) / DAY) * DAY - off);
}

/** The range asked for; by default the city's current day [00:00, 24:00). */
export function rangeOf(q: { from?: string; to?: string }, now: Date, utcOffsetMinutes: number): { from: Date; to: Date } {
  const from = q.from ? toInstant(q.from, utcOffsetMinutes) : q.to ? new Date(toInstant(q.to, utcOffsetMinutes).getTime() - DAY) : startOfCityDay(now, utcOffsetMinutes);
  const to = q.to ? toInstant(q.to, utcOffsetMinutes) : new Date(from.getTime() + DAY);
  if (from.getTime() >= to.getTime()) throw validation('from must be before to', [{ path: 'query.to', message: 'must be after from', code: 'invalid_range' }]);
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY) {
    throw validation(`the range may span at most ${MAX_RANGE_DAYS} days`, [{ path: 'query.to', message: `at most ${MAX_RANGE_DAYS} days after from`, code: 'too_big' }]);
  }
  return { from, to };
}
