/**
 * The inbox countdown is working time (issue #5 item 3): what is left of a milestone's clock,
 * not dueAt − now. Expected values are worked out by hand with the default office hours
 * 09:00–12:00 and 13:30–17:30 (7 h a working day), Beijing time.
 */
import { describe, expect, it } from 'vitest';
import { calendarFrom, formatDuration, formatRemaining, remainingWorkingMs } from '../../../agent-console/src/lib/deadline.js';

const H = 3_600_000;
const M = 60_000;
const at = (local: string) => Date.parse(`${local}+08:00`);
const units = { d: 'd', h: 'h', m: 'm' };
const meta = { officeHours: [[540, 720], [810, 1050]] as [number, number][], utcOffsetMinutes: 480 };
/** Days as GET /api/calendar/days gives them: the 2026 National Day week and its 调休 Saturday. */
const days = new Map<string, boolean>([
  ['2026-09-30', true],
  ...['01', '02', '03', '04', '05', '06', '07'].map((d): [string, boolean] => [`2026-10-${d}`, false]),
  ['2026-10-08', true],
  ['2026-10-09', true],
  ['2026-10-10', true], // Saturday worked (调休)
  ['2026-10-11', false],
  ['2026-11-27', true], // Friday
  ['2026-11-28', false],
  ['2026-11-29', false],
  ['2026-11-30', true], // Monday
  ['2026-12-01', true],
]);
const cal = calendarFrom(meta, days);
const milestone = (dueLocal: string, unit: string) => ({ dueAt: new Date(at(dueLocal)).toISOString(), warnAt: new Date(at(dueLocal) - H).toISOString(), unit });

describe('working-time countdown', () => {
  it('Friday 17:00 with 2 working hours left shows 2 h, not the 65.5 h to Monday 10:30', () => {
    // 17:00–17:30 Friday (0.5 h) + 09:00–10:30 Monday (1.5 h) = 2 h; due Monday 10:30
    const m = milestone('2026-11-30T10:30:00', 'workingHours');
    const now = at('2026-11-27T17:00:00');
    const left = remainingWorkingMs(m, now, cal);
    expect(left).toBe(2 * H);
    expect(formatRemaining(left, m.unit, units)).toBe('2h 00m');
    // what the inbox showed before: calendar time
    expect(formatDuration(Date.parse(m.dueAt) - now, units)).toBe('2d 17h');
  });

  it('stands still outside office hours: the evening, the weekend, the lunch break', () => {
    const m = milestone('2026-11-30T10:30:00', 'workingHours');
    expect(remainingWorkingMs(m, at('2026-11-27T17:30:00'), cal)).toBe(1.5 * H);
    expect(remainingWorkingMs(m, at('2026-11-27T23:00:00'), cal)).toBe(1.5 * H);
    expect(remainingWorkingMs(m, at('2026-11-28T10:00:00'), cal)).toBe(1.5 * H);
    expect(remainingWorkingMs(m, at('2026-11-30T08:59:00'), cal)).toBe(1.5 * H);
    expect(remainingWorkingMs(m, at('2026-11-30T09:45:00'), cal)).toBe(45 * M);
    // due Monday 14:00: at noon 30 min are left (13:30–14:00), still 30 min at 12:45
    const lunch = milestone('2026-11-30T14:00:00', 'workingHours');
    expect(remainingWorkingMs(lunch, at('2026-11-30T11:30:00'), cal)).toBe(60 * M);
    expect(remainingWorkingMs(lunch, at('2026-11-30T12:00:00'), cal)).toBe(30 * M);
    expect(remainingWorkingMs(lunch, at('2026-11-30T12:45:00'), cal)).toBe(30 * M);
  });

  it('skips official holidays and counts a worked Saturday (调休)', () => {
    // one working day (7 h) from Wednesday 30 Sep 17:00: 0.5 h that day, then 8 Oct 09:00–17:00
    const m = milestone('2026-10-08T17:00:00', 'workingDays');
    expect(remainingWorkingMs(m, at('2026-09-30T17:00:00'), cal)).toBe(7 * H);
    expect(remainingWorkingMs(m, at('2026-10-03T10:00:00'), cal)).toBe(6.5 * H);
    expect(formatRemaining(6.5 * H, 'workingDays', units)).toBe('6h 30m'); // hours, never 24-hour "days"
    // due Monday 12 Oct 10:00, seen on Friday 9 Oct 17:30: Saturday 10 Oct is worked (7 h) + 1 h
    const swap = milestone('2026-10-12T10:00:00', 'workingHours');
    const withMonday = calendarFrom(meta, new Map([...days, ['2026-10-12', true]]));
    expect(remainingWorkingMs(swap, at('2026-10-09T17:30:00'), withMonday)).toBe(8 * H);
  });

  it('counts overdue time in working time too', () => {
    // due Friday 17:00, seen Monday 10:00: 17:00–17:30 Friday + 09:00–10:00 Monday
    const m = milestone('2026-11-27T17:00:00', 'workingHours');
    const left = remainingWorkingMs(m, at('2026-11-30T10:00:00'), cal);
    expect(left).toBe(-1.5 * H);
    expect(formatRemaining(-left, m.unit, units)).toBe('1h 30m');
  });

  it('a 24-hour clock on working days (sign within 24 h) skips the weekend whole', () => {
    // Friday 20:00 → Monday 20:00: 4 h of Friday + 20 h of Monday = 24 h (calendar: 72 h)
    const m = milestone('2026-11-30T20:00:00', 'workingDayHours');
    const left = remainingWorkingMs(m, at('2026-11-27T20:00:00'), cal);
    expect(left).toBe(24 * H);
    expect(formatRemaining(left, m.unit, units)).toBe('1d 0h');
  });

  it('elapsed-hour clocks are calendar time', () => {
    const m = milestone('2026-11-30T10:30:00', 'hours');
    expect(remainingWorkingMs(m, at('2026-11-27T17:00:00'), cal)).toBe(65.5 * H);
  });

  it('a paused clock stands at the pause', () => {
    const m = milestone('2026-11-30T10:30:00', 'workingHours');
    expect(remainingWorkingMs(m, at('2026-12-01T15:00:00'), cal, new Date(at('2026-11-27T17:00:00')).toISOString())).toBe(2 * H);
  });

  it('dates the server has not answered for yet count Monday to Friday', () => {
    const bare = calendarFrom(meta, new Map());
    expect(bare.isWorkingDay('2027-03-05')).toBe(true); // Friday
    expect(bare.isWorkingDay('2027-03-06')).toBe(false); // Saturday
    // Friday 5 Mar 2027 17:00 → Monday 8 Mar 10:30
    expect(remainingWorkingMs(milestone('2027-03-08T10:30:00', 'workingHours'), at('2027-03-05T17:00:00'), bare)).toBe(2 * H);
  });
});
