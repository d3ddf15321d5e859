/**
 * Working-time arithmetic (server/src/deadlines/calendar.ts) on the official Chinese calendar
 * (server/src/deadlines/holidays.ts), with hand-computed expectations.
 *
 * Test calendar: UTC+8, office hours 09:00–12:00 and 13:30–17:30 (a working day is 7 h), working
 * days from the `chinese-days` data. Arrangements used below (read from the data package):
 *   春节 2026: 02-15 (Sun) … 02-23 (Mon) off; 02-14 (Sat) and 02-28 (Sat) worked.
 *   国庆 2025: 10-01 (Wed) … 10-08 (Wed) off (10-06 is 中秋); 09-28 (Sun) and 10-11 (Sat) worked.
 *   中秋 + 国庆 2026: 09-25 (Fri) … 09-27 (Sun) and 10-01 (Thu) … 10-07 (Wed) off;
 *                    09-20 (Sun) and 10-10 (Sat) worked.
 *   元旦 2026: 01-01 … 01-03 off; 01-04 (Sun) worked.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  DURATION_UNITS,
  NATURAL_CALENDAR,
  addClockTime,
  addWorkingTime,
  durationMs,
  localDate,
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

const H = 3_600_000;
const MIN = 60_000;
/** A +08:00 local time, written 'YYYY-MM-DDTHH:MM'. */
const at = (local: string): Date => new Date(`${local}:00+08:00`);
const add = (start: string, value: number, unit: DurationUnit): Date => addWorkingTime(at(start), { value, unit }, cal);
const between = (a: string, b: string, unit: DurationUnit): number => workingTimeBetween(at(a), at(b), unit, cal);

describe('officialDay (chinese-days data)', () => {
  it.each([
    '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23',
  ])('Spring Festival 2026: %s is a holiday', (d) => {
    expect(officialDay(d)).toEqual({ date: d, working: false, reason: '春节' });
  });

  it.each(['2026-02-14', '2026-02-28'])('Spring Festival 2026: Saturday %s is an adjusted working day (调休)', (d) => {
    expect(officialDay(d)).toEqual({ date: d, working: true, reason: '调休上班 春节' });
  });

  it('the days around Spring Festival 2026 are ordinary', () => {
    expect(officialDay('2026-02-13')).toEqual({ date: '2026-02-13', working: true, reason: 'weekday' });
    expect(officialDay('2026-02-24')).toEqual({ date: '2026-02-24', working: true, reason: 'weekday' });
    expect(officialDay('2026-03-01')).toEqual({ date: '2026-03-01', working: false, reason: 'weekend' });
  });

  it.each(['2025-10-01', '2025-10-02', '2025-10-03', '2025-10-04', '2025-10-05', '2025-10-07', '2025-10-08'])(
    'National Day 2025: %s is a holiday',
    (d) => {
      expect(officialDay(d)).toEqual({ date: d, working: false, reason: '国庆节' });
    },
  );

  it('National Day 2025: 10-06 is the Mid-autumn holiday inside the break', () => {
    expect(officialDay('2025-10-06')).toEqual({ date: '2025-10-06', working: false, reason: '中秋' });
  });

  it.each(['2025-09-28', '2025-10-11'])('National Day 2025: weekend day %s is an adjusted working day', (d) => {
    expect(officialDay(d)).toEqual({ date: d, working: true, reason: '调休上班 国庆节' });
  });

  it.each(['2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07'])(
    'National Day 2026: %s is a holiday',
    (d) => {
      expect(officialDay(d)).toEqual({ date: d, working: false, reason: '国庆节' });
    },
  );

  it.each(['2026-09-20', '2026-10-10'])('National Day 2026: weekend day %s is an adjusted working day', (d) => {
    expect(officialDay(d)).toEqual({ date: d, working: true, reason: '调休上班 国庆节' });
  });

  it('Mid-autumn 2026 (09-25 … 09-27) is a holiday; the day after National Day 2026 is ordinary', () => {
    for (const d of ['2026-09-25', '2026-09-26', '2026-09-27']) expect(officialDay(d)).toMatchObject({ working: false, reason: '中秋' });
    expect(officialDay('2026-10-08')).toEqual({ date: '2026-10-08', working: true, reason: 'weekday' });
    expect(officialDay('2026-10-11')).toEqual({ date: '2026-10-11', working: false, reason: 'weekend' });
  });

  it('New Year 2026: Sunday 01-04 is worked', () => {
    expect(officialDay('2026-01-01')).toMatchObject({ working: false, reason: '元旦' });
    expect(officialDay('2026-01-04')).toEqual({ date: '2026-01-04', working: true, reason: '调休上班 元旦' });
  });

  it('an ordinary weekend and weekday', () => {
    expect(officialDay('2025-03-15')).toEqual({ date: '2025-03-15', working: false, reason: 'weekend' }); // Saturday
    expect(officialDay('2025-03-16')).toEqual({ date: '2025-03-16', working: false, reason: 'weekend' }); // Sunday
    expect(officialDay('2025-03-12')).toEqual({ date: '2025-03-12', working: true, reason: 'weekday' }); // Wednesday
    expect(officialDay('2025-03-14')).toEqual({ date: '2025-03-14', working: true, reason: 'weekday' }); // Friday
  });
});

describe('calendar basics', () => {
  it('a working day of 09:00-12:00,13:30-17:30 is 7 h', () => {
    expect(workingDayLength(cal)).toBe(7 * H);
  });

  it('durationMs: hour units are hours, working days are working-day lengths', () => {
    expect(durationMs({ value: 3, unit: 'hours' }, cal)).toBe(3 * H);
    expect(durationMs({ value: 3, unit: 'workingDayHours' }, cal)).toBe(3 * H);
    expect(durationMs({ value: 3, unit: 'workingHours' }, cal)).toBe(3 * H);
    expect(durationMs({ value: 3, unit: 'workingDays' }, cal)).toBe(21 * H);
    expect(durationMs({ value: 0.5, unit: 'workingDays' }, cal)).toBe(3.5 * H);
  });

  it('localDate names the local (UTC+8) day of a local midnight', () => {
    expect(localDate(at('2026-02-14T00:00').getTime(), cal)).toBe('2026-02-14');
    expect(localDate(at('2026-01-01T00:00').getTime(), cal)).toBe('2026-01-01');
    expect(localDate(at('2025-12-31T00:00').getTime(), cal)).toBe('2025-12-31');
  });
});

describe('addWorkingTime across Spring Festival 2026', () => {
  it('3 working days from Friday 02-13 16:00 skip the break: Sat 02-14 (调休), Tue 02-24, Wed 02-25 16:00', () => {
    expect(add('2026-02-13T16:00', 3, 'workingDays')).toEqual(at('2026-02-25T16:00'));
  });

  it('1 working day from Friday 02-13 16:00 lands on the 调休 Saturday 02-14', () => {
    expect(add('2026-02-13T16:00', 1, 'workingDays')).toEqual(at('2026-02-14T16:00'));
  });

  it('2 working days from Friday 02-13 16:00 skip the whole holiday week to Tue 02-24', () => {
    expect(add('2026-02-13T16:00', 2, 'workingDays')).toEqual(at('2026-02-24T16:00'));
  });

  it('5 working days from Tue 02-24 10:00 land on the 调休 Saturday 02-28 … and 6 skip Sunday to Mon 03-02', () => {
    expect(add('2026-02-24T10:00', 4, 'workingDays')).toEqual(at('2026-02-28T10:00'));
    expect(add('2026-02-24T10:00', 5, 'workingDays')).toEqual(at('2026-03-02T10:00'));
  });

  it('24 workingDayHours from the evening before the break (Sat 02-14 20:00): 4 h that night, 20 h on Tue 02-24', () => {
    expect(add('2026-02-14T20:00', 24, 'workingDayHours')).toEqual(at('2026-02-24T20:00'));
  });

  it('24 workingDayHours from Friday 02-13 20:00 run through the 调休 Saturday', () => {
    expect(add('2026-02-13T20:00', 24, 'workingDayHours')).toEqual(at('2026-02-14T20:00'));
  });

  it('24 workingDayHours started during the holiday start at Tue 02-24 00:00', () => {
    expect(add('2026-02-18T15:00', 24, 'workingDayHours')).toEqual(at('2026-02-25T00:00'));
  });

  it('10 workingHours from Sat 02-14 15:00: 2.5 h, then 7 h on Tue 02-24, then 0.5 h on Wed 02-25', () => {
    expect(add('2026-02-14T15:00', 10, 'workingHours')).toEqual(at('2026-02-25T09:30'));
  });

  it('hours ignore holidays: 48 h from Sat 02-14 20:00 is Mon 02-16 20:00', () => {
    expect(add('2026-02-14T20:00', 48, 'hours')).toEqual(at('2026-02-16T20:00'));
    expect(add('2026-02-18T03:17', 1.5, 'hours')).toEqual(at('2026-02-18T04:47'));
  });
});

describe('addWorkingTime across National Day 2025', () => {
  it('3 working days from Tue 09-30 10:00 land on the 调休 Saturday 10-11', () => {
    expect(add('2025-09-30T10:00', 3, 'workingDays')).toEqual(at('2025-10-11T10:00'));
  });

  it('4 working days from Tue 09-30 10:00 skip Sunday 10-12 to Mon 10-13', () => {
    expect(add('2025-09-30T10:00', 4, 'workingDays')).toEqual(at('2025-10-13T10:00'));
  });

  it('1 working day from Saturday 09-27 10:00 runs on the 调休 Sunday 09-28 and ends at 17:30 that day', () => {
    expect(add('2025-09-27T10:00', 1, 'workingDays')).toEqual(at('2025-09-28T17:30'));
  });

  it('24 workingDayHours from Tue 09-30 18:00: 6 h that night, 18 h on Thu 10-09', () => {
    expect(add('2025-09-30T18:00', 24, 'workingDayHours')).toEqual(at('2025-10-09T18:00'));
  });

  it('8 workingHours from Tue 09-30 14:00: 3.5 h, then 3 h + 1.5 h on Thu 10-09', () => {
    expect(add('2025-09-30T14:00', 8, 'workingHours')).toEqual(at('2025-10-09T15:00'));
  });

  it('hours: 48 h from Wed 10-01 09:00 is Fri 10-03 09:00', () => {
    expect(add('2025-10-01T09:00', 48, 'hours')).toEqual(at('2025-10-03T09:00'));
  });
});

describe('addWorkingTime across Mid-autumn and National Day 2026', () => {
  it('2 working days from Wed 09-30 14:00 are Fri 10-09 14:00', () => {
    expect(add('2026-09-30T14:00', 2, 'workingDays')).toEqual(at('2026-10-09T14:00'));
  });

  it('3 working days from Wed 09-30 14:00 land on the 调休 Saturday 10-10', () => {
    expect(add('2026-09-30T14:00', 3, 'workingDays')).toEqual(at('2026-10-10T14:00'));
  });

  it('4 working days from Wed 09-30 14:00 skip Sunday 10-11 to Mon 10-12', () => {
    expect(add('2026-09-30T14:00', 4, 'workingDays')).toEqual(at('2026-10-12T14:00'));
  });

  it('5 workingHours from Fri 09-18 16:00 run on the 调休 Sunday 09-20', () => {
    expect(add('2026-09-18T16:00', 5, 'workingHours')).toEqual(at('2026-09-20T14:00'));
  });

  it('24 workingDayHours from Thu 09-24 12:00 skip Mid-autumn to Mon 09-28 12:00', () => {
    expect(add('2026-09-24T12:00', 24, 'workingDayHours')).toEqual(at('2026-09-28T12:00'));
  });

  it('1 working day from the evening of the 调休 Saturday 10-10 is Mon 10-12 17:30', () => {
    expect(add('2026-10-10T19:00', 1, 'workingDays')).toEqual(at('2026-10-12T17:30'));
  });
});

describe('addWorkingTime at the edges of office hours (Wed 2025-03-12)', () => {
  it('the documented example: 3 working days from Monday 10:00 is Thursday 10:00', () => {
    expect(add('2025-03-10T10:00', 3, 'workingDays')).toEqual(at('2025-03-13T10:00'));
  });

  it('starting before office hours starts the clock at 09:00', () => {
    expect(add('2025-03-12T07:00', 2, 'workingHours')).toEqual(at('2025-03-12T11:00'));
    expect(add('2025-03-12T00:00', 1, 'workingDays')).toEqual(at('2025-03-12T17:30'));
  });

  it('starting during lunch starts the clock at 13:30', () => {
    expect(add('2025-03-12T12:45', 2, 'workingHours')).toEqual(at('2025-03-12T15:30'));
  });

  it('starting exactly at 12:00 starts the clock at 13:30', () => {
    expect(add('2025-03-12T12:00', 1, 'workingHours')).toEqual(at('2025-03-12T14:30'));
  });

  it('starting exactly at 17:30 starts the clock the next working day', () => {
    expect(add('2025-03-12T17:30', 1, 'workingHours')).toEqual(at('2025-03-13T10:00'));
    expect(add('2025-03-14T17:30', 1, 'workingHours')).toEqual(at('2025-03-17T10:00')); // Friday → Monday
  });

  it('starting after hours starts the clock the next working day', () => {
    expect(add('2025-03-12T20:00', 1, 'workingHours')).toEqual(at('2025-03-13T10:00'));
    expect(add('2025-03-12T23:59', 1, 'workingDays')).toEqual(at('2025-03-13T17:30'));
  });

  it('a due time exactly at the end of an office interval stays there (12:00 / 17:30), not the next opening', () => {
    expect(add('2025-03-12T09:00', 3, 'workingHours')).toEqual(at('2025-03-12T12:00'));
    expect(add('2025-03-12T11:00', 1, 'workingHours')).toEqual(at('2025-03-12T12:00'));
    expect(add('2025-03-12T13:30', 4, 'workingHours')).toEqual(at('2025-03-12T17:30'));
    expect(add('2025-03-12T10:00', 6, 'workingHours')).toEqual(at('2025-03-12T17:30'));
    expect(add('2025-03-12T09:00', 1, 'workingDays')).toEqual(at('2025-03-12T17:30'));
    expect(add('2025-03-14T15:30', 2, 'workingHours')).toEqual(at('2025-03-14T17:30')); // Friday, not Monday
    expect(add('2026-02-13T09:00', 2, 'workingDays')).toEqual(at('2026-02-14T17:30')); // on the 调休 Saturday
  });

  it('a due time exactly at the end of a working day stays at 24:00 for workingDayHours', () => {
    expect(add('2026-02-14T20:00', 4, 'workingDayHours')).toEqual(at('2026-02-15T00:00'));
  });

  it('fractions of working days count office time', () => {
    expect(add('2025-03-12T09:00', 0.5, 'workingDays')).toEqual(at('2025-03-12T14:00')); // 3.5 h: 3 h + 0.5 h
  });

  it('hours ignore office hours and weekends', () => {
    expect(add('2025-03-14T20:00', 30, 'hours')).toEqual(at('2025-03-16T02:00'));
  });
});

describe('zero duration', () => {
  it.each(DURATION_UNITS)('%s: 0 from a time inside office hours on a working day is the start itself', (unit) => {
    expect(add('2025-03-12T10:17', 0, unit)).toEqual(at('2025-03-12T10:17'));
  });

  it('hours: 0 is always the start itself, even on a holiday night', () => {
    expect(add('2026-02-18T23:00', 0, 'hours')).toEqual(at('2026-02-18T23:00'));
  });

  it.each(DURATION_UNITS)('%s: 0 from outside the clock is still the start itself (nothing has to run)', (unit) => {
    // The due time is the first instant by which `d` of clock time has run: for 0 that is the start.
    // Otherwise add(add(s, d1), 0) ≠ add(s, d1) when d1 ends at 17:30 (see the additivity test).
    expect(add('2025-03-12T17:30', 0, unit)).toEqual(at('2025-03-12T17:30'));
    expect(add('2025-03-12T12:30', 0, unit)).toEqual(at('2025-03-12T12:30'));
    expect(add('2026-02-18T15:00', 0, unit)).toEqual(at('2026-02-18T15:00'));
  });

  it('adding 0 after a due time that ended at 17:30 leaves it at 17:30', () => {
    const due = add('2025-03-12T10:00', 6, 'workingHours');
    expect(due).toEqual(at('2025-03-12T17:30'));
    expect(addWorkingTime(due, { value: 0, unit: 'workingHours' }, cal)).toEqual(due);
  });
});

describe('workingTimeBetween', () => {
  it('a span over the whole Spring Festival 2026 week (Fri 02-13 09:00 → Wed 02-25 09:00)', () => {
    const [a, b] = ['2026-02-13T09:00', '2026-02-25T09:00'];
    expect(between(a, b, 'hours')).toBe(288 * H);
    expect(between(a, b, 'workingDayHours')).toBe((15 + 24 + 24 + 9) * H); // Fri from 09:00, Sat, Tue, Wed to 09:00
    expect(between(a, b, 'workingHours')).toBe(21 * H); // Fri, Sat, Tue
    expect(between(a, b, 'workingDays')).toBe(3 * workingDayLength(cal));
  });

  it('a span over the whole National Day 2025 break (Tue 09-30 17:30 → Thu 10-09 09:00)', () => {
    const [a, b] = ['2025-09-30T17:30', '2025-10-09T09:00'];
    expect(between(a, b, 'hours')).toBe((8 * 24 + 15.5) * H);
    expect(between(a, b, 'workingDayHours')).toBe((6.5 + 9) * H);
    expect(between(a, b, 'workingHours')).toBe(0);
    expect(between(a, b, 'workingDays')).toBe(0);
  });

  it('a span over National Day 2026 including the 调休 Saturday (Wed 09-30 14:00 → Mon 10-12 14:00)', () => {
    const [a, b] = ['2026-09-30T14:00', '2026-10-12T14:00'];
    expect(between(a, b, 'workingHours')).toBe(28 * H); // 3.5 + Thu 7 + Fri 7 + Sat 7 + 3.5
    expect(between(a, b, 'workingDayHours')).toBe((10 + 24 * 3 + 14) * H);
    expect(between(a, b, 'hours')).toBe(12 * 24 * H);
  });

  it('the 调休 Sunday 2025-09-28 counts', () => {
    expect(between('2025-09-27T00:00', '2025-09-29T00:00', 'workingHours')).toBe(7 * H);
    expect(between('2025-09-27T00:00', '2025-09-29T00:00', 'workingDayHours')).toBe(24 * H);
  });

  it('a span within lunch is 0 of office time but not of elapsed time', () => {
    const [a, b] = ['2025-03-12T12:10', '2025-03-12T13:20'];
    expect(between(a, b, 'workingHours')).toBe(0);
    expect(between(a, b, 'workingDays')).toBe(0);
    expect(between(a, b, 'workingDayHours')).toBe(70 * MIN);
    expect(between(a, b, 'hours')).toBe(70 * MIN);
  });

  it('partial intervals: 11:00 → 14:00 is 1.5 h of office time', () => {
    expect(between('2025-03-12T11:00', '2025-03-12T14:00', 'workingHours')).toBe(1.5 * H);
    expect(between('2025-03-12T08:00', '2025-03-12T19:00', 'workingHours')).toBe(7 * H);
  });

  it.each(DURATION_UNITS)('%s: 0 when b ≤ a', (unit) => {
    expect(between('2025-03-12T10:00', '2025-03-12T10:00', unit)).toBe(0);
    expect(between('2025-03-12T15:00', '2025-03-12T10:00', unit)).toBe(0);
    expect(between('2026-02-25T09:00', '2026-02-13T09:00', unit)).toBe(0);
  });

  it('round trips the hand-computed due times', () => {
    const cases: [string, Duration][] = [
      ['2026-02-13T16:00', { value: 3, unit: 'workingDays' }],
      ['2026-02-14T20:00', { value: 24, unit: 'workingDayHours' }],
      ['2025-09-30T14:00', { value: 8, unit: 'workingHours' }],
      ['2025-03-12T10:00', { value: 6, unit: 'workingHours' }],
      ['2025-03-12T17:30', { value: 1, unit: 'workingHours' }],
      ['2026-09-30T14:00', { value: 3, unit: 'workingDays' }],
    ];
    for (const [s, d] of cases) {
      expect(workingTimeBetween(at(s), addWorkingTime(at(s), d, cal), d.unit, cal)).toBe(durationMs(d, cal));
    }
  });
});

describe('errors', () => {
  it.each(DURATION_UNITS)('%s: negative or non-finite durations throw RangeError', (unit) => {
    const start = at('2025-03-12T10:00');
    for (const value of [-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => addWorkingTime(start, { value, unit }, cal)).toThrow(RangeError);
    }
    expect(() => addClockTime(start, -1, unit, cal)).toThrow(RangeError);
    expect(() => addClockTime(start, Number.NaN, unit, cal)).toThrow(RangeError);
    expect(() => addClockTime(start, Number.POSITIVE_INFINITY, unit, cal)).toThrow(RangeError);
  });

  it('a calendar without working days refuses rather than searching forever', () => {
    const never: Calendar = { ...cal, isWorkingDay: () => false };
    expect(() => addWorkingTime(at('2025-03-12T10:00'), { value: 1, unit: 'workingHours' }, never)).toThrow(RangeError);
    expect(() => addWorkingTime(at('2025-03-12T10:00'), { value: 1, unit: 'workingDayHours' }, never)).toThrow(RangeError);
    expect(() => addWorkingTime(at('2025-03-12T10:00'), { value: 5000, unit: 'workingDays' }, cal)).toThrow(RangeError);
  });

  describe('parseOfficeHours', () => {
    it('parses, sorts and tolerates spaces', () => {
      expect(parseOfficeHours('09:00-12:00,13:30-17:30')).toEqual([[540, 720], [810, 1050]]);
      expect(parseOfficeHours('13:30-17:30, 9:00 - 12:00')).toEqual([[540, 720], [810, 1050]]);
      expect(parseOfficeHours('00:00-24:00')).toEqual([[0, 1440]]);
      expect(parseOfficeHours('09:00-12:00,12:00-13:00')).toEqual([[540, 720], [720, 780]]); // touching is fine
    });

    it.each(['', '9-12', '09:00', '09:00-', '0900-1200', '09:00-12:00;13:30-17:30', '09:00-12:00,', 'ab:cd-ef:gh', '09:0-12:00', '-09:00-12:00', '109:00-120:00'])(
      'rejects malformed %j',
      (spec) => {
        expect(() => parseOfficeHours(spec)).toThrow();
      },
    );

    it.each(['09:75-12:00', '09:00-11:60', '08:99-10:30'])('rejects minutes of 60 or more (%j)', (spec) => {
      expect(() => parseOfficeHours(spec)).toThrow();
    });

    it.each(['12:00-09:00', '09:00-09:00', '17:30-13:30', '23:00-24:30', '25:00-26:00'])('rejects reversed, empty or past-midnight %j', (spec) => {
      expect(() => parseOfficeHours(spec)).toThrow();
    });

    it.each(['09:00-12:00,11:00-13:00', '13:00-15:00,09:00-13:30', '09:00-12:00,09:00-12:00', '08:00-18:00,12:00-13:00'])(
      'rejects overlapping %j',
      (spec) => {
        expect(() => parseOfficeHours(spec)).toThrow(/overlap/);
      },
    );
  });
});

describe('NATURAL_CALENDAR', () => {
  const start = at('2026-02-14T20:00'); // a Saturday evening before the Spring Festival break

  it('a working day is 24 h', () => {
    expect(workingDayLength(NATURAL_CALENDAR)).toBe(24 * H);
    expect(durationMs({ value: 2, unit: 'workingDays' }, NATURAL_CALENDAR)).toBe(48 * H);
  });

  it.each(DURATION_UNITS)('%s: every unit is elapsed time', (unit) => {
    const perValue = unit === 'workingDays' ? 24 * H : H;
    for (const value of [0, 1, 2.5, 48]) {
      expect(addWorkingTime(start, { value, unit }, NATURAL_CALENDAR).getTime()).toBe(start.getTime() + value * perValue);
    }
    expect(workingTimeBetween(start, at('2026-02-24T08:30'), unit, NATURAL_CALENDAR)).toBe(at('2026-02-24T08:30').getTime() - start.getTime());
  });
});

describe('time-zone independence', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const calendarUrl = pathToFileURL(join(root, 'server/src/deadlines/calendar.ts')).href;
  const holidaysUrl = pathToFileURL(join(root, 'server/src/deadlines/holidays.ts')).href;

  const cases: [string, Duration][] = [
    ['2026-02-13T16:00:00+08:00', { value: 3, unit: 'workingDays' }],
    ['2026-02-14T20:00:00+08:00', { value: 24, unit: 'workingDayHours' }],
    ['2025-09-30T10:00:00+08:00', { value: 3, unit: 'workingDays' }],
    ['2026-09-18T16:00:00+08:00', { value: 5, unit: 'workingHours' }],
    ['2025-03-12T23:30:00+08:00', { value: 1, unit: 'workingHours' }], // late evening: a different UTC / New York date
    ['2026-10-10T07:00:00+08:00', { value: 1, unit: 'workingDays' }],
    ['2026-02-14T20:00:00+08:00', { value: 48, unit: 'hours' }],
  ];
  const days = ['2026-02-14', '2026-02-15', '2025-10-11', '2025-10-12', '2026-09-20', '2026-10-10', '2025-03-15'];

  /** The script run both here (as a function) and in a child with another TZ. */
  const compute = (
    add: typeof addWorkingTime,
    between: typeof workingTimeBetween,
    parse: typeof parseOfficeHours,
    official: typeof officialDay,
  ): unknown => {
    const c: Calendar = { utcOffsetMinutes: 480, officeHours: parse('09:00-12:00,13:30-17:30'), isWorkingDay: (d) => official(d).working };
    return {
      due: cases.map(([s, d]) => add(new Date(s), d, c).toISOString()),
      between: cases.map(([s, d]) => between(new Date(s), add(new Date(s), d, c), d.unit, c)),
      days: days.map((d) => official(d).working),
    };
  };

  it.each([
    ['America/New_York', 300],
    ['Asia/Kolkata', -330],
    ['Pacific/Kiritimati', -840],
    ['UTC', 0],
  ] as const)('results under TZ=%s equal those of this process', (tz, offset) => {
    const expected = compute(addWorkingTime, workingTimeBetween, parseOfficeHours, officialDay);
    const dir = mkdtempSync(join(tmpdir(), 'calendar-tz-'));
    try {
      const script = join(dir, 'tz.mts');
      writeFileSync(
        script,
        [
          `import { addWorkingTime, workingTimeBetween, parseOfficeHours } from ${JSON.stringify(calendarUrl)};`,
          `import { officialDay } from ${JSON.stringify(holidaysUrl)};`,
          `const cases = ${JSON.stringify(cases)};`,
          `const days = ${JSON.stringify(days)};`,
          `const compute = ${compute.toString()};`,
          `process.stdout.write(JSON.stringify({ offset: new Date('2026-02-14T12:00:00Z').getTimezoneOffset(), result: compute(addWorkingTime, workingTimeBetween, parseOfficeHours, officialDay) }));`,
        ].join('\n'),
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
        cwd: root,
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = JSON.parse(r.stdout) as { offset: number; result: unknown };
      expect(out.offset).toBe(offset); // the child really ran in that zone (on 2026-02-14)
      expect(out.result).toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the expected values are the hand-computed ones', () => {
    const r = compute(addWorkingTime, workingTimeBetween, parseOfficeHours, officialDay) as { due: string[]; days: boolean[] };
    expect(r.due.map((s) => new Date(s))).toEqual([
      at('2026-02-25T16:00'),
      at('2026-02-24T20:00'),
      at('2025-10-11T10:00'),
      at('2026-09-20T14:00'),
      at('2025-03-13T10:00'),
      at('2026-10-10T17:30'),
      at('2026-02-16T20:00'),
    ]);
    expect(r.days).toEqual([true, false, true, false, true, true, false]);
  });
});
