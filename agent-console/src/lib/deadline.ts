/**
 * Deadline colours and countdowns (issue #5 item 3). The server computes every due and warning
 * instant with the working calendar (server/src/deadlines): `warnAt` is 75 % of the allowed
 * working time, `dueAt` the end. Comparing the wall clock with those instants therefore gives
 * the working-time state. The countdown is working time too: the clock time of the milestone's
 * unit between now and `dueAt`, computed with the server's own calendar arithmetic
 * (server/src/deadlines/calendar.ts, a pure module) on the working days and office hours the
 * server publishes (GET /api/calendar/days) — the same formula as `remainingMs` of
 * GET /api/tickets/:id/deadlines, so the inbox and the ticket page agree, and the countdown
 * stands still at night, at weekends and on holidays. Pure.
 */
import { workingTimeBetween, type Calendar, type DurationUnit } from '../../../server/src/deadlines/calendar.js';

export type DeadlineColour = 'on_time' | 'warning' | 'overdue' | 'met' | 'cancelled' | 'paused';

export interface MilestoneLike {
  dueAt: string | Date;
  warnAt: string | Date;
  doneAt?: string | Date | null;
  cancelledAt?: string | Date | null;
}

const ms = (d: string | Date): number => (typeof d === 'string' ? Date.parse(d) : d.getTime());

export function milestoneColour(m: MilestoneLike, now: number, pausedSince: string | Date | null = null): DeadlineColour {
  if (m.doneAt) return 'met';
  if (m.cancelledAt) return 'cancelled';
  if (pausedSince) return 'paused';
  if (now >= ms(m.dueAt)) return 'overdue';
  if (now >= ms(m.warnAt)) return 'warning';
  return 'on_time';
}

/** The open milestone that falls due first (the one a handler must watch), or null. */
export function nextOpenMilestone<K extends string, M extends MilestoneLike = MilestoneLike>(deadlines: Partial<Record<K, M>> | null | undefined): { key: K; m: M } | null {
  let best: { key: K; m: M } | null = null;
  for (const [key, m] of Object.entries(deadlines ?? {}) as [K, M | undefined][]) {
    if (!m || m.doneAt || m.cancelledAt) continue;
    if (!best || ms(m.dueAt) < ms(best.m.dueAt)) best = { key, m };
  }
  return best;
}

/** Worst colour of a ticket's open milestones (the ticket's colour in a list). */
export function ticketColour(deadlines: Partial<Record<string, MilestoneLike>> | null | undefined, now: number, pausedSince: string | Date | null = null): DeadlineColour | null {
  const order: DeadlineColour[] = ['on_time', 'warning', 'overdue'];
  let worst: DeadlineColour | null = null;
  for (const m of Object.values(deadlines ?? {})) {
    if (!m || m.doneAt || m.cancelledAt) continue;
    if (pausedSince) return 'paused';
    const c = milestoneColour(m, now);
    if (worst === null || order.indexOf(c) > order.indexOf(worst)) worst = c;
  }
  return worst;
}

/** Units measured in office hours only (server deadlines/calendar.ts). */
export const OFFICE_HOUR_UNITS: ReadonlySet<string> = new Set(['workingHours', 'workingDays']);

/** antd Tag colour of a deadline state: green / gold / red; grey for the rest. */
export const COLOUR_TAG: Record<DeadlineColour, string> = {
  on_time: 'green',
  warning: 'gold',
  overdue: 'red',
  met: 'default',
  cancelled: 'default',
  paused: 'blue',
};

/**
 * A signed duration in short form: "2d 3h", "3h 05m", "12m"; negative values are how long ago
 * (overdue). Units come from the caller's language.
 */
export function formatDuration(msLeft: number, units: { d: string; h: string; m: string }, opts: { days?: boolean } = {}): string {
  const abs = Math.abs(msLeft);
  const totalMin = Math.floor(abs / 60_000);
  // Office-hour units (workingHours, workingDays) count 7-hour days: whole days of 24 h would
  // mislead, so those are shown in hours.
  const d = opts.days === false ? 0 : Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin - d * 1440) / 60);
  const m = totalMin % 60;
  let s: string;
  if (d > 0) s = `${d}${units.d} ${h}${units.h}`;
  else if (h > 0) s = `${h}${units.h} ${String(m).padStart(2, '0')}${units.m}`;
  else s = `${m}${units.m}`;
  return msLeft < 0 ? `-${s}` : s;
}

/** What GET /api/calendar/days answers (one range of it). */
export interface CalendarDays {
  officeHours: readonly (readonly [number, number])[];
  utcOffsetMinutes: number;
  days: readonly { date: string; working: boolean }[];
}

/**
 * A working calendar from the days the server published. A date outside them (the client asks
 * for more as countdowns need them) counts as a working day from Monday to Friday until its
 * answer arrives.
 */
export function calendarFrom(meta: Pick<CalendarDays, 'officeHours' | 'utcOffsetMinutes'>, days: ReadonlyMap<string, boolean>): Calendar {
  return {
    officeHours: meta.officeHours,
    utcOffsetMinutes: meta.utcOffsetMinutes,
    isWorkingDay: (ymd) => days.get(ymd) ?? ![0, 6].includes(new Date(`${ymd}T12:00:00Z`).getUTCDay()),
  };
}

const UNITS: ReadonlySet<string> = new Set<DurationUnit>(['hours', 'workingDayHours', 'workingHours', 'workingDays']);

/**
 * Working time left until the milestone is due (negative: how long overdue), in the clock of its
 * unit: `hours` elapsed time, `workingDayHours` whole working days, `workingHours`/`workingDays`
 * office hours. A paused ticket's clock stands at the pause (`pausedSince`). The server's
 * formula (deadlines/routes.ts `remainingMs`).
 */
export function remainingWorkingMs(m: MilestoneLike & { unit: string }, now: number, cal: Calendar, pausedSince: string | Date | null = null): number {
  const unit = (UNITS.has(m.unit) ? m.unit : 'hours') as DurationUnit;
  const at = new Date(pausedSince ? ms(pausedSince) : now);
  const due = new Date(ms(m.dueAt));
  return workingTimeBetween(at, due, unit, cal) - workingTimeBetween(due, at, unit, cal);
}

/** The countdown's text: office-hour clocks in hours (a working day is not 24 h), others with days. */
export function formatRemaining(msLeft: number, unit: string, units: { d: string; h: string; m: string }): string {
  return formatDuration(msLeft, units, { days: !OFFICE_HOUR_UNITS.has(unit) });
}

