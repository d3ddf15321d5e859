/**
 * Milestone clocks of a ticket and what supervision does when they run out. Pure.
 *
 * A milestone opens with a due time from the ticket's policy and the working calendar, a yellow
 * warning at `warnRatio` of the allowed time, red at due, then a reminder every `remindEvery`
 * until it is met, and one escalation level up the hierarchy per further `escalateAfter`.
 * `version` changes whenever the due time moves (extension, suspension), so timers scheduled
 * for an old due time recognise themselves as stale.
 */
import { addClockTime, addWorkingTime, durationMs, workingTimeBetween, type Calendar, type Duration, type DurationUnit } from './calendar.js';
import type { MilestoneKey, TicketPolicy } from './policy.js';

export const DEADLINE_LEVELS = ['on_time', 'warning', 'overdue'] as const;
export type DeadlineLevel = (typeof DEADLINE_LEVELS)[number];

export interface Milestone {
  unit: DurationUnit;
  startedAt: Date;
  dueAt: Date;
  warnAt: Date;
  doneAt: Date | null;
  cancelledAt: Date | null;
  /** Deadline version: bumped when dueAt moves. */
  version: number;
  /** The level supervision has acted on (notifications sent). */
  level: DeadlineLevel;
  reminders: number;
  escalations: number;
}

export type Deadlines = Partial<Record<MilestoneKey, Milestone>>;

export const isOpen = (m: Milestone | undefined | null): m is Milestone => !!m && m.doneAt === null && m.cancelledAt === null;

function warnAtFor(startedAt: Date, dueAt: Date, unit: DurationUnit, ratio: number, cal: Calendar): Date {
  return addClockTime(startedAt, Math.floor(workingTimeBetween(startedAt, dueAt, unit, cal) * ratio), unit, cal);
}

/** Open (or re-open) a milestone at `now`; no-op when the policy gives it no deadline. */
export function openMilestone(d: Deadlines, key: MilestoneKey, policy: TicketPolicy, now: Date, cal: Calendar, duration?: Duration | null): void {
  const dur = duration === undefined ? policy.durations[key] : duration;
  if (!dur) {
    // No deadline this time; an older clock of this milestone stops (its version is kept, so a
    // later clock never reuses a version a stale timer still carries).
    cancelMilestone(d, key, now);
    return;
  }
  const dueAt = addWorkingTime(now, dur, cal);
  d[key] = {
    unit: dur.unit,
    startedAt: now,
    dueAt,
    warnAt: warnAtFor(now, dueAt, dur.unit, policy.warnRatio, cal),
    doneAt: null,
    cancelledAt: null,
    version: (d[key]?.version ?? 0) + 1,
    level: 'on_time',
    reminders: 0,
    escalations: 0,
  };
}

export function completeMilestone(d: Deadlines, key: MilestoneKey, now: Date): void {
  const m = d[key];
  if (isOpen(m)) m.doneAt = now;
}

export function cancelMilestone(d: Deadlines, key: MilestoneKey, now: Date): void {
  const m = d[key];
  if (isOpen(m)) m.cancelledAt = now;
}

/** Level a milestone is at by the clock alone. */
export function levelAt(m: Milestone, now: Date): DeadlineLevel {
  if (now.getTime() >= m.dueAt.getTime()) return 'overdue';
  if (now.getTime() >= m.warnAt.getTime()) return 'warning';
  return 'on_time';
}

function relevel(m: Milestone, policy: TicketPolicy, now: Date, cal: Calendar): void {
  m.warnAt = warnAtFor(m.startedAt, m.dueAt, m.unit, policy.warnRatio, cal);
  m.version += 1;
  // A moved deadline starts supervision afresh from where the clock now stands.
  m.level = levelAt(m, now) === 'overdue' ? m.level : levelAt(m, now);
  if (m.level !== 'overdue') {
    m.reminders = 0;
    m.escalations = 0;
  }
}

/** Move the due time later by whole working days (延期). */
export function extendMilestone(m: Milestone, days: number, policy: TicketPolicy, now: Date, cal: Calendar): void {
  m.dueAt = addWorkingTime(m.dueAt, { value: days, unit: 'workingDays' }, cal);
  relevel(m, policy, now, cal);
}

/** After a suspension (挂起) from `pausedAt` to `now`: the paused clock time does not count. */
export function shiftMilestone(m: Milestone, pausedAt: Date, policy: TicketPolicy, now: Date, cal: Calendar): void {
  const lost = workingTimeBetween(pausedAt, now, m.unit, cal);
  if (lost === 0) return;
  m.dueAt = addClockTime(m.dueAt, lost, m.unit, cal);
  m.startedAt = addClockTime(m.startedAt, lost, m.unit, cal);
  relevel(m, policy, now, cal);
}

/** The k-th instant (k ≥ 1) of a repeating `every` after `dueAt`. */
const nth = (dueAt: Date, every: Duration, k: number, cal: Calendar): Date =>
  addClockTime(dueAt, k * durationMs(every, cal), every.unit, cal);

export interface SupervisionStep {
  level: DeadlineLevel;
  /** Levels newly reached now. */
  warned: boolean;
  overdue: boolean;
  /** Reminders due by now (total), escalation levels due by now (total, capped by `ancestors`). */
  reminders: number;
  escalations: number;
}

/**
 * What supervision owes this milestone at `now`, given what it has already done. Returns null
 * when nothing new is due (a stale or early timer).
 */
export function superviseStep(m: Milestone, policy: TicketPolicy, now: Date, cal: Calendar, ancestors: number): SupervisionStep | null {
  if (!isOpen(m)) return null;
  const level = levelAt(m, now);
  let reminders = m.reminders;
  let escalations = m.escalations;
  if (level === 'overdue') {
    while (nth(m.dueAt, policy.remindEvery, reminders + 1, cal).getTime() <= now.getTime()) reminders++;
    while (escalations < ancestors && nth(m.dueAt, policy.escalateAfter, escalations + 1, cal).getTime() <= now.getTime()) escalations++;
  }
  const rank = (l: DeadlineLevel): number => DEADLINE_LEVELS.indexOf(l);
  const warned = rank(level) >= 1 && rank(m.level) < 1 && level === 'warning';
  const overdue = level === 'overdue' && m.level !== 'overdue';
  if (!warned && !overdue && reminders === m.reminders && escalations === m.escalations) return null;
  return { level: rank(level) > rank(m.level) ? level : m.level, warned, overdue, reminders, escalations };
}

/** When supervision next has something to do for this milestone (null: never). */
export function nextCheckAt(m: Milestone, policy: TicketPolicy, cal: Calendar, ancestors: number): Date | null {
  if (!isOpen(m)) return null;
  if (m.level === 'on_time') return m.warnAt.getTime() < m.dueAt.getTime() ? m.warnAt : m.dueAt;
  if (m.level === 'warning') return m.dueAt;
  const remind = nth(m.dueAt, policy.remindEvery, m.reminders + 1, cal);
  if (m.escalations >= ancestors) return remind;
  const escalate = nth(m.dueAt, policy.escalateAfter, m.escalations + 1, cal);
  return remind.getTime() <= escalate.getTime() ? remind : escalate;
}

/** Worst level among open milestones, by the clock. */
export function ticketLevel(d: Deadlines, now: Date): DeadlineLevel {
  let worst: DeadlineLevel = 'on_time';
  for (const m of Object.values(d)) {
    if (!isOpen(m)) continue;
    const l = levelAt(m, now);
    if (DEADLINE_LEVELS.indexOf(l) > DEADLINE_LEVELS.indexOf(worst)) worst = l;
  }
  return worst;
}

/** Earliest due / warn time among open milestones (for list queries by deadline state). */
export function earliest(d: Deadlines, field: 'dueAt' | 'warnAt'): Date | null {
  let best: Date | null = null;
  for (const m of Object.values(d)) if (isOpen(m) && (!best || m[field].getTime() < best.getTime())) best = m[field];
  return best;
}
