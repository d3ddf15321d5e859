/**
 * Deadline colours and countdowns (issue #5 item 3). The server computes every due and warning
 * instant with the working calendar (server/src/deadlines): `warnAt` is 75 % of the allowed
 * working time, `dueAt` the end. Comparing the wall clock with those instants therefore gives
 * the working-time state; the remaining working time itself comes from
 * GET /api/tickets/:id/deadlines (`remainingMs`). Pure.
 */
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
export function nextOpenMilestone<K extends string>(deadlines: Partial<Record<K, MilestoneLike>> | null | undefined): { key: K; m: MilestoneLike } | null {
  let best: { key: K; m: MilestoneLike } | null = null;
  for (const [key, m] of Object.entries(deadlines ?? {}) as [K, MilestoneLike | undefined][]) {
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
