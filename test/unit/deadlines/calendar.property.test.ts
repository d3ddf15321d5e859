/**
 * Property tests of working-time arithmetic (server/src/deadlines/calendar.ts) on the official
 * Chinese calendar of 2025–2026 (server/src/deadlines/holidays.ts): random starts (biased to the
 * edges of office hours), random units and values up to 20 working days / 500 hours. Values are
 * multiples of a quarter so every amount is an exact number of milliseconds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DURATION_UNITS,
  NATURAL_CALENDAR,
  addWorkingTime,
  durationMs,
  parseOfficeHours,
  workingDayLength,
  workingTimeBetween,
  type Calendar,
  type Duration,
  type DurationUnit,
} from '../../../server/src/deadlines/calendar.js';
import { officialDay } from '../../../server/src/deadlines/holidays.js';

const cal: Calendar = {
  utcOffsetMinutes: 480,
  officeHours: parseOfficeHours('09:00-12:00,13:30-17:30'),
  isWorkingDay: (d) => officialDay(d).working,
};

const NUM_RUNS = 300;
const MIN = 60_000;
const H = 3_600_000;
const DAY = 86_400_000;
const OFFSET = 8 * H;
const FIRST_MIDNIGHT = new Date('2025-01-01T00:00:00+08:00').getTime();
const DAYS = 730; // 2025-01-01 … 2026-12-31

// ---- generators ------------------------------------------------------------------------------

/** Minutes after local midnight where something happens: opening, lunch, closing, midnight. */
const EDGES = [0, 1, 539, 540, 541, 719, 720, 721, 780, 809, 810, 811, 1049, 1050, 1051, 1200, 1439];

/** A start instant in 2025–2026; `minuteAligned` keeps it on a whole local minute. */
const startArb = (minuteAligned = false): fc.Arbitrary<Date> => {
  const ms = minuteAligned
    ? fc.oneof(fc.constantFrom(...EDGES), fc.integer({ min: 0, max: 1439 })).map((m) => m * MIN)
    : fc.oneof(
        fc.constantFrom(...EDGES).map((m) => m * MIN),
        fc.integer({ min: 0, max: 1439 }).map((m) => m * MIN),
        fc.integer({ min: 0, max: DAY - 1 }),
      );
  return fc.tuple(fc.integer({ min: 0, max: DAYS - 1 }), ms).map(([day, t]) => new Date(FIRST_MIDNIGHT + day * DAY + t));
};

const unitArb = fc.constantFrom(...DURATION_UNITS);

/** A value for `unit`: quarters up to 20 working days or 500 hours, small values and 0 likely. */
const valueArb = (unit: DurationUnit): fc.Arbitrary<number> => {
  const maxQuarters = unit === 'workingDays' ? 80 : 2000;
  return fc.oneof(
    fc.integer({ min: 0, max: maxQuarters }).map((q) => q / 4),
    fc.integer({ min: 0, max: maxQuarters / 4 }),
    fc.constantFrom(0, 0.25, 0.5, 1, 2, 3),
  );
};

const durationArb: fc.Arbitrary<Duration> = unitArb.chain((unit) => valueArb(unit).map((value) => ({ value, unit })));

/** Two durations of the same unit. */
const durationPairArb: fc.Arbitrary<[Duration, Duration]> = unitArb.chain((unit) =>
  fc.tuple(valueArb(unit), valueArb(unit)).map(([a, b]): [Duration, Duration] => [{ value: a, unit }, { value: b, unit }]),
);

// ---- an independent, minute-by-minute reference ----------------------------------------------

const localYmd = (t: number): string => new Date(t + OFFSET).toISOString().slice(0, 10);
const localMinute = (t: number): number => Math.floor((((t + OFFSET) % DAY) + DAY) % DAY / MIN);

/** Does the clock of `unit` run during the minute [t, t + 1 min)? (t on a whole minute) */
function runsAt(t: number, unit: DurationUnit): boolean {
  if (unit === 'hours') return true;
  if (!officialDay(localYmd(t)).working) return false;
  if (unit === 'workingDayHours') return true;
  const m = localMinute(t);
  return (m >= 540 && m < 720) || (m >= 810 && m < 1050);
}

/** Reference workingTimeBetween for whole-minute instants. */
function refBetween(a: number, b: number, unit: DurationUnit): number {
  let total = 0;
  for (let t = a; t < b; t += MIN) if (runsAt(t, unit)) total += MIN;
  return total;
}

/** Reference due time: the first instant by which `d` of clock time has run (whole minutes). */
function refAdd(start: number, d: Duration): number {
  let left = durationMs(d, cal) / MIN;
  let t = start;
  while (left > 0) {
    if (runsAt(t, d.unit)) left--;
    t += MIN;
  }
  return t;
}

/** The n-th working day after the local date of `t` (n ≥ 1), as YYYY-MM-DD. */
function nthWorkingDayAfter(t: number, n: number): string {
  let day = t;
  while (n > 0) {
    day += DAY;
    if (officialDay(localYmd(day)).working) n--;
  }
  return localYmd(day);
}

// ---- properties ------------------------------------------------------------------------------

describe('working-time properties (official calendar 2025–2026)', () => {
  it('round trip: workingTimeBetween(start, addWorkingTime(start, d)) = durationMs(d)', () => {
    fc.assert(
      fc.property(startArb(), durationArb, (start, d) => {
        const due = addWorkingTime(start, d, cal);
        expect(workingTimeBetween(start, due, d.unit, cal)).toBe(durationMs(d, cal));
      }),
      { numRuns: 1000 },
    );
  });

  it('the due time is never before the start and is the earliest instant with d on the clock', () => {
    fc.assert(
      fc.property(startArb(), durationArb, (start, d) => {
        const due = addWorkingTime(start, d, cal);
        expect(due.getTime()).toBeGreaterThanOrEqual(start.getTime());
        if (d.value > 0) {
          // one millisecond earlier, not all of d has run yet
          expect(workingTimeBetween(start, new Date(due.getTime() - 1), d.unit, cal)).toBeLessThan(durationMs(d, cal));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('matches a minute-by-minute reference (addWorkingTime and workingTimeBetween)', () => {
    // Positive durations only: zero has its own tests, so a zero-duration problem hides nothing here.
    fc.assert(
      fc.property(startArb(true), durationArb.filter((d) => d.value > 0), fc.integer({ min: 0, max: 20 * DAY / MIN }), (start, d, spanMin) => {
        const s = start.getTime();
        expect(addWorkingTime(start, d, cal).getTime()).toBe(refAdd(s, d));
        expect(workingTimeBetween(start, new Date(s + spanMin * MIN), d.unit, cal)).toBe(refBetween(s, s + spanMin * MIN, d.unit));
      }),
      { numRuns: 150 },
    );
  });

  it('monotone in the duration: a larger duration never gives an earlier due time', () => {
    fc.assert(
      fc.property(startArb(), durationPairArb, (start, [d1, d2]) => {
        const [small, large] = d1.value <= d2.value ? [d1, d2] : [d2, d1];
        expect(addWorkingTime(start, large, cal).getTime()).toBeGreaterThanOrEqual(
          addWorkingTime(start, small, cal).getTime(),
        );
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('monotone in the start: a later start never gives an earlier due time', () => {
    fc.assert(
      fc.property(startArb(), startArb(), durationArb, (a, b, d) => {
        const [early, late] = a <= b ? [a, b] : [b, a];
        expect(addWorkingTime(late, d, cal).getTime()).toBeGreaterThanOrEqual(addWorkingTime(early, d, cal).getTime());
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('additive: adding d1 then d2 equals adding d1 + d2 (same unit)', () => {
    // The example: 6 workingHours from Wed 2025-03-12 10:00 end at 17:30; then adding 0 must stay there.
    const example: [Date, [Duration, Duration]] = [
      new Date('2025-03-12T10:00:00+08:00'),
      [{ value: 6, unit: 'workingHours' }, { value: 0, unit: 'workingHours' }],
    ];
    fc.assert(
      fc.property(startArb(), durationPairArb, (start, [d1, d2]) => {
        const stepwise = addWorkingTime(addWorkingTime(start, d1, cal), d2, cal);
        const atOnce = addWorkingTime(start, { value: d1.value + d2.value, unit: d1.unit }, cal);
        expect(stepwise).toEqual(atOnce);
      }),
      { numRuns: NUM_RUNS, examples: [example] },
    );
  });

  it('additive for positive durations (so a zero-duration problem does not hide others)', () => {
    fc.assert(
      fc.property(
        startArb(),
        durationPairArb.filter(([d1, d2]) => d1.value > 0 && d2.value > 0),
        (start, [d1, d2]) => {
          const stepwise = addWorkingTime(addWorkingTime(start, d1, cal), d2, cal);
          const atOnce = addWorkingTime(start, { value: d1.value + d2.value, unit: d1.unit }, cal);
          expect(stepwise).toEqual(atOnce);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('workingTimeBetween is additive over a split point and bounded by elapsed time', () => {
    fc.assert(
      fc.property(startArb(), startArb(), startArb(), unitArb, (x, y, z, unit) => {
        const [a, b, c] = [x, y, z].sort((p, q) => p.getTime() - q.getTime()) as [Date, Date, Date];
        const ac = workingTimeBetween(a, c, unit, cal);
        expect(workingTimeBetween(a, b, unit, cal) + workingTimeBetween(b, c, unit, cal)).toBe(ac);
        expect(ac).toBeLessThanOrEqual(c.getTime() - a.getTime());
        expect(workingTimeBetween(c, a, unit, cal)).toBe(0);
        expect(workingTimeBetween(a, c, 'workingHours', cal)).toBeLessThanOrEqual(workingTimeBetween(a, c, 'workingDayHours', cal));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('hours ignore the calendar: the due time is start + value hours', () => {
    fc.assert(
      fc.property(startArb(), valueArb('hours'), (start, value) => {
        expect(addWorkingTime(start, { value, unit: 'hours' }, cal).getTime()).toBe(start.getTime() + value * H);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('n working days are n × 7 working hours', () => {
    fc.assert(
      fc.property(startArb(), valueArb('workingDays'), (start, n) => {
        expect(addWorkingTime(start, { value: n, unit: 'workingDays' }, cal)).toEqual(
          addWorkingTime(start, { value: 7 * n, unit: 'workingHours' }, cal),
        );
        expect(workingTimeBetween(start, addWorkingTime(start, { value: n, unit: 'workingDays' }, cal), 'workingDays', cal)).toBe(
          n * workingDayLength(cal),
        );
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('n whole working days from inside office hours: the same local time on the n-th next working day', () => {
    // Local times in (09:00, 12:00] or (13:30, 17:30] on a working day.
    const inside = fc.oneof(fc.integer({ min: 541, max: 720 }), fc.integer({ min: 811, max: 1050 }), fc.constantFrom(541, 720, 811, 1050));
    const startInside = fc
      .tuple(fc.integer({ min: 0, max: DAYS - 30 }), inside)
      .map(([day, m]) => FIRST_MIDNIGHT + day * DAY + m * MIN)
      .filter((t) => officialDay(localYmd(t)).working);
    fc.assert(
      fc.property(startInside, fc.integer({ min: 1, max: 20 }), (s, n) => {
        const due = addWorkingTime(new Date(s), { value: n, unit: 'workingDays' }, cal).getTime();
        expect(localYmd(due)).toBe(nthWorkingDayAfter(s, n));
        expect(localMinute(due)).toBe(localMinute(s));
        expect((due - s) % MIN).toBe(0);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('24 workingDayHours from any time after midnight on a working day: the same time on the next working day', () => {
    // (From exactly 00:00 the 24 h end at 24:00 of that same day.)
    const startWorking = startArb().filter((t) => officialDay(localYmd(t.getTime())).working && (t.getTime() + OFFSET) % DAY !== 0);
    fc.assert(
      fc.property(startWorking, (start) => {
        const s = start.getTime();
        const due = addWorkingTime(start, { value: 24, unit: 'workingDayHours' }, cal).getTime();
        expect(localYmd(due)).toBe(nthWorkingDayAfter(s, 1));
        expect((due + OFFSET) % DAY).toBe((s + OFFSET) % DAY);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('NATURAL_CALENDAR properties', () => {
  it('every unit is elapsed time (workingDays = value × 24 h)', () => {
    fc.assert(
      fc.property(startArb(), durationArb, startArb(), (start, d, other) => {
        const per = d.unit === 'workingDays' ? 24 * H : H;
        expect(durationMs(d, NATURAL_CALENDAR)).toBe(d.value * per);
        expect(addWorkingTime(start, d, NATURAL_CALENDAR).getTime()).toBe(start.getTime() + d.value * per);
        expect(workingTimeBetween(start, other, d.unit, NATURAL_CALENDAR)).toBe(Math.max(0, other.getTime() - start.getTime()));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
