/**
 * Working-time arithmetic for deadlines (HOTLINE-RULES "Default deadlines"). Pure.
 *
 * A deadline clock runs only in certain intervals of each local day:
 *   - `hours`            always (elapsed time, e.g. "verify a bad rating within 48 h");
 *   - `workingDayHours`  all 24 h of working days ("签收 within 24 h, rolled over non-working days");
 *   - `workingHours`     office hours of working days;
 *   - `workingDays`      office hours of working days, `value` × the length of a working day
 *                        (3 working days from Monday 10:00 is Thursday 10:00).
 * Working days follow China's official holidays and adjusted working weekends (调休), plus a
 * local override table; see calendar-service.ts. Local time is a fixed UTC offset: China has
 * no daylight saving time, so Asia/Shanghai is UTC+8 all year, whatever the server's zone.
 */

export const DURATION_UNITS = ['hours', 'workingDayHours', 'workingHours', 'workingDays'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];

export interface Duration {
  value: number;
  unit: DurationUnit;
}

export interface Calendar {
  /** Minutes east of UTC of the local time (Asia/Shanghai: 480). */
  utcOffsetMinutes: number;
  /** Office hours as [start, end) minutes after local midnight, sorted, non-overlapping. */
  officeHours: readonly (readonly [number, number])[];
  /** Is this local date (YYYY-MM-DD) a working day? */
  isWorkingDay(ymd: string): boolean;
}

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
/** Deadlines further than this are refused rather than searched for forever. */
const MAX_DAYS = 3 * 366;

/** A calendar where every day is a working day and the office never closes: elapsed time. */
export const NATURAL_CALENDAR: Calendar = {
  utcOffsetMinutes: 480,
  officeHours: [[0, 1440]],
  isWorkingDay: () => true,
};

/** Local midnight (as a UTC instant) of the local day containing `t`. */
function localMidnight(t: number, cal: Calendar): number {
  const off = cal.utcOffsetMinutes * MINUTE;
  return Math.floor((t + off) / DAY) * DAY - off;
}

/** The local date YYYY-MM-DD of the local day starting at `midnight`. */
export function localDate(midnight: number, cal: Calendar): string {
  return new Date(midnight + cal.utcOffsetMinutes * MINUTE + 1).toISOString().slice(0, 10);
}

/** Length of one working day in ms (the office hours' total). */
export function workingDayLength(cal: Calendar): number {
  return cal.officeHours.reduce((sum, [a, b]) => sum + (b - a), 0) * MINUTE;
}

/** The intervals (absolute ms) in which the clock of `unit` runs on the local day at `midnight`. */
function runningIntervals(midnight: number, unit: DurationUnit, cal: Calendar): [number, number][] {
  if (unit === 'hours') return [[midnight, midnight + DAY]];
  if (!cal.isWorkingDay(localDate(midnight, cal))) return [];
  if (unit === 'workingDayHours') return [[midnight, midnight + DAY]];
  return cal.officeHours.map(([a, b]) => [midnight + a * MINUTE, midnight + b * MINUTE]);
}

/** The amount of clock time `d` stands for, in ms. */
export function durationMs(d: Duration, cal: Calendar): number {
  // Whole milliseconds: 1.1 h is not exact in binary floating point.
  if (d.unit === 'workingDays') return Math.round(d.value * workingDayLength(cal));
  return Math.round(d.value * 3_600_000);
}

/** The clock `workingDays` runs on is the office-hours clock. */
const clockOf = (unit: DurationUnit): DurationUnit => (unit === 'workingDays' ? 'workingHours' : unit);

/**
 * The instant when `amountMs` of clock time (of `unit`) has run from `start`. A deadline that
 * falls exactly at the end of an interval is placed there (17:30), not at the next opening.
 */
export function addClockTime(start: Date, amountMs: number, unit: DurationUnit, cal: Calendar): Date {
  if (!(amountMs >= 0) || !Number.isFinite(amountMs)) throw new RangeError('duration must be a finite, non-negative amount');
  const clock = clockOf(unit);
  // Nothing to run: due at the start itself, even outside the running clock.
  if (clock === 'hours' || amountMs === 0) return new Date(start.getTime() + amountMs);
  let left = amountMs;
  let t = start.getTime();
  let midnight = localMidnight(t, cal);
  for (let day = 0; day <= MAX_DAYS; day++, midnight += DAY) {
    for (const [a, b] of runningIntervals(midnight, clock, cal)) {
      const from = Math.max(a, t);
      if (from >= b) continue;
      if (from + left <= b) return new Date(from + left);
      left -= b - from;
      t = b;
    }
  }
  throw new RangeError(`deadline more than ${MAX_DAYS} days away`);
}

/** `start` plus the duration `d` on the calendar: the due time of a milestone. */
export function addWorkingTime(start: Date, d: Duration, cal: Calendar): Date {
  return addClockTime(start, durationMs(d, cal), d.unit, cal);
}

/** Clock time (ms) of `unit` that runs between `a` and `b` (0 if b ≤ a). */
export function workingTimeBetween(a: Date, b: Date, unit: DurationUnit, cal: Calendar): number {
  const clock = clockOf(unit);
  const from = a.getTime();
  const to = b.getTime();
  if (to <= from) return 0;
  if (clock === 'hours') return to - from;
  let total = 0;
  for (let midnight = localMidnight(from, cal); midnight < to; midnight += DAY) {
    for (const [x, y] of runningIntervals(midnight, clock, cal)) {
      const lo = Math.max(x, from);
      const hi = Math.min(y, to);
      if (hi > lo) total += hi - lo;
    }
    if (midnight - from > MAX_DAYS * DAY) throw new RangeError(`interval longer than ${MAX_DAYS} days`);
  }
  return total;
}

/** Parse office hours such as "09:00-12:00,13:30-17:30". */
export function parseOfficeHours(spec: string): [number, number][] {
  const out = spec.split(',').map((part) => {
    const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(part);
    if (!m) throw new Error(`office hours "${part}" must look like 09:00-12:00`);
    if (Number(m[2]) > 59 || Number(m[4]) > 59) throw new Error(`office hours "${part}" have minutes past 59`);
    const a = Number(m[1]) * 60 + Number(m[2]);
    const b = Number(m[3]) * 60 + Number(m[4]);
    if (!(a < b && b <= 1440)) throw new Error(`office hours "${part}" must end after they start, by 24:00`);
    return [a, b] as [number, number];
  });
  out.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < out.length; i++) if (out[i]![0] < out[i - 1]![1]) throw new Error('office hours must not overlap');
  return out;
}
