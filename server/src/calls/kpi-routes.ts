/**
 * Call KPIs over HTTP (issue 4 item 8): a thin reader that streams the call records of a time
 * range into the pure calculator of kpis.ts, where every definition lives.
 *
 * Records are selected by a range on `offeredAt` (indexed, model.ts) and read through a lean
 * cursor with a projection of the few fields the KPIs need, so memory grows with the number of
 * buckets, not of calls. Note: FerretDB (the test and demo database) only uses an index for
 * filters that are exactly `{ _id }`, so there this query is a full collection scan — acceptable
 * for a supervisor's report, not for anything on a call's path.
 */
import type { Model } from 'mongoose';
import { z } from 'zod';
import { validation } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { CALL_KPI_PROJECTION, CallKpiAccumulator, EXCLUDED_ABANDON_REASONS, KPI_GROUPS, type CallKpiRow } from './kpis.js';
import type { CallDoc } from './model.js';

const DAY = 86_400_000;
/** Longest range one request may cover. */
export const MAX_KPI_RANGE_DAYS = 366;
/** Range used when `from` is absent: the 24 hours before `to` (the answer-rate target's window). */
const DEFAULT_SPAN_MS = DAY;
const HOUR = 3_600_000;

/**
 * Default `to`: the end of the current hour in city time, so the default range is exactly the 24
 * hourly buckets up to and including the current one, and two requests in the same hour give the
 * same answer for the same data.
 */
function endOfCurrentHour(now: Date, utcOffsetMinutes: number): Date {
  const off = utcOffsetMinutes * 60_000;
  return new Date((Math.floor((now.getTime() + off) / HOUR) + 1) * HOUR - off);
}

/**
 * An instant: ISO date-time with `Z` or an offset, or a bare date meaning midnight in the city's
 * time zone. A `+` left unencoded in a query string arrives as a space; it is accepted as `+`.
 */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+ -]\d{2}:\d{2}))?$/;
const instant = z
  .string()
  .max(40)
  .regex(INSTANT, 'must be an ISO date-time with Z or an offset (2026-11-26T09:00:00+08:00), or a date YYYY-MM-DD (city time)')
  .refine((s) => {
    const m = INSTANT.exec(s);
    if (!m) return false;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const day = new Date(Date.UTC(y, mo - 1, d));
    const realDay = day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
    return realDay && !Number.isNaN(Date.parse(s.replace(' ', '+')));
  }, 'not a real date');

export const callKpiQuery = z.object({
  from: instant.optional(),
  to: instant.optional(),
  groupBy: z.enum(KPI_GROUPS).default('hour'),
  line: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a line id').optional(),
});

/** The instant a validated `from` / `to` names (bare dates at midnight, city time). */
function toInstant(s: string, utcOffsetMinutes: number): Date {
  if (s.length === 10) return new Date(Date.parse(`${s}T00:00:00Z`) - utcOffsetMinutes * 60_000);
  return new Date(Date.parse(s.replace(' ', '+')));
}

export function callKpiRoutes(api: ApiRouter, deps: { Call: Model<CallDoc>; utcOffsetMinutes: number; clock?: () => Date }): void {
  const { Call, utcOffsetMinutes } = deps;
  const clock = deps.clock ?? (() => new Date());

  api.add({
    method: 'get',
    path: '/kpis/calls',
    tag: 'kpis',
    summary:
      'Call KPIs by hour, day, line or agent over [from, to): offered, answered, answer rate, 15-second service level, abandon rate (with and without abandons under 5 s), average wait and talk time, transfers to 110… Defaults: to = the end of the current hour, from = to − 24 h, groupBy = hour. Definitions: server/src/calls/kpis.ts (HOTLINE-RULES "KPI definitions").',
    roles: ['supervisor', 'admin'],
    query: callKpiQuery,
    async handler({ query }) {
      const to = query.to ? toInstant(query.to, utcOffsetMinutes) : endOfCurrentHour(clock(), utcOffsetMinutes);
      const from = query.from ? toInstant(query.from, utcOffsetMinutes) : new Date(to.getTime() - DEFAULT_SPAN_MS);
      if (from.getTime() >= to.getTime()) {
        throw validation('from must be before to', [{ path: 'query.to', message: 'must be after from', code: 'invalid_range' }]);
      }
      if (to.getTime() - from.getTime() > MAX_KPI_RANGE_DAYS * DAY) {
        throw validation(`the range may span at most ${MAX_KPI_RANGE_DAYS} days`, [
          { path: 'query.to', message: `at most ${MAX_KPI_RANGE_DAYS} days after from`, code: 'too_big' },
        ]);
      }
      const acc = new CallKpiAccumulator({ groupBy: query.groupBy, utcOffsetMinutes, range: { from, to } });
      const filter = { offeredAt: { $gte: from, $lt: to }, ...(query.line ? { line: query.line } : {}) };
      const cursor = Call.find(filter, CALL_KPI_PROJECTION).lean<CallKpiRow[]>().cursor({ batchSize: 1000 });
      for await (const row of cursor) acc.add(row as CallKpiRow);
      const report = acc.result();
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        line: query.line ?? null,
        ...report,
        excludedAbandonReasons: EXCLUDED_ABANDON_REASONS,
      };
    },
  });
}
