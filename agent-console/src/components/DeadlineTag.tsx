import { Tag, Tooltip } from 'antd';
import dayjs from 'dayjs';
import { useEffect, useState, useSyncExternalStore } from 'react';
import type { Calendar } from '../../../server/src/deadlines/calendar.js';
import { api } from '../api/client';
import type { Milestone, MilestoneKey, TicketSummary } from '../api/types';
import { calendarFrom, COLOUR_TAG, formatRemaining, nextOpenMilestone, OFFICE_HOUR_UNITS, remainingWorkingMs, ticketColour, type CalendarDays } from '../lib/deadline';
import { useI18n, useLabel } from '../i18n';

/** Re-render every `ms` (countdowns). */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(id);
  }, [ms]);
  return now;
}

const DAY = 86_400_000;
/** Days asked of GET /api/calendar/days at once (it answers at most 367). */
const BLOCK = 183;

/**
 * The server's working calendar, as far as countdowns on screen need it: office hours and the
 * working days (holidays, 调休 weekends, local overrides) of the blocks of dates between now and
 * each due time, fetched once per block and shared by every tag.
 */
class WorkingCalendarStore {
  private meta: Pick<CalendarDays, 'officeHours' | 'utcOffsetMinutes'> | null = null;
  private readonly days = new Map<string, boolean>();
  private readonly asked = new Set<number>();
  private readonly listeners = new Set<() => void>();
  private cal: Calendar | null = null;
  private version = 0;

  readonly subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
  readonly snapshot = (): number => this.version;

  /** The calendar once its office hours are known (null before the first answer). */
  calendar(): Calendar | null {
    if (!this.meta) return null;
    this.cal ??= calendarFrom(this.meta, this.days);
    return this.cal;
  }

  /** Fetches the blocks of dates between two instants that are not known yet. */
  need(a: number, b: number): void {
    const off = (this.meta?.utcOffsetMinutes ?? 480) * 60_000;
    const first = Math.floor(Math.floor((Math.min(a, b) + off) / DAY) / BLOCK);
    const last = Math.floor(Math.floor((Math.max(a, b) + off) / DAY) / BLOCK);
    for (let k = first; k <= last; k++) {
      if (this.asked.has(k)) continue;
      this.asked.add(k);
      void this.load(k);
    }
  }

  private async load(k: number): Promise<void> {
    const ymd = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);
    try {
      const r = await api<CalendarDays>('/calendar/days', { query: { from: ymd(k * BLOCK), to: ymd(k * BLOCK + BLOCK - 1) } });
      if (!this.meta) this.meta = { officeHours: r.officeHours, utcOffsetMinutes: r.utcOffsetMinutes };
      for (const d of r.days) this.days.set(d.date, d.working);
      this.version++;
      for (const fn of this.listeners) fn();
    } catch {
      this.asked.delete(k); // asked again at the next tick
    }
  }
}

const workingCalendar = new WorkingCalendarStore();

/** The working calendar for countdowns between `now` and `due` (null until it has loaded). */
function useWorkingCalendar(now: number, due: number | null): Calendar | null {
  const version = useSyncExternalStore(workingCalendar.subscribe, workingCalendar.snapshot);
  useEffect(() => {
    if (due !== null) workingCalendar.need(now, due);
  }, [now, due, version]);
  return workingCalendar.calendar();
}

type DeadlineTicket = Pick<TicketSummary, 'deadlines' | 'deadlineState'> & { suspension?: { since: string | null } | null };

/**
 * The ticket's next due milestone with a live countdown in working time, coloured on time /
 * warning / overdue (the warning and due instants are the server's working-time ones). The time
 * left is the clock time of the milestone's unit (office hours for working hours and days), so
 * it stands still outside office hours; a paused ticket's clock stands at the pause.
 */
export function DeadlineTag({ ticket, now }: { ticket: DeadlineTicket; now: number }) {
  const { t } = useI18n();
  const label = useLabel();
  const next = nextOpenMilestone<MilestoneKey, Milestone>(ticket.deadlines);
  const due = next ? Date.parse(String(next.m.dueAt)) : null;
  const cal = useWorkingCalendar(now, due);
  if (!next) return <span aria-label={t('deadline.none')}>—</span>;
  const paused = ticket.deadlineState === 'paused';
  const colour = paused ? 'paused' : (ticketColour(ticket.deadlines, now) ?? 'on_time');
  const unit = next.m.unit;
  const units = { d: t('unit.d'), h: t('unit.h'), m: t('unit.m') };
  let text = '';
  // Paused without the pause's start (list items carry no suspension): no countdown to show.
  if (cal && (!paused || ticket.suspension?.since)) {
    try {
      const left = remainingWorkingMs(next.m, now, cal, paused ? (ticket.suspension?.since ?? null) : null);
      text = left >= 0 ? t('deadline.left', { time: formatRemaining(left, unit, units) }) : t('deadline.overdueBy', { time: formatRemaining(-left, unit, units) });
    } catch {
      text = ''; // more than three years away: no countdown
    }
  }
  const clock = OFFICE_HOUR_UNITS.has(unit) ? ` ${t('deadline.officeHours')}` : '';
  return (
    <Tooltip title={`${label('milestone', next.key)} · ${t('deadline.dueAt')} ${dayjs(next.m.dueAt).format('YYYY-MM-DD HH:mm')} · ${t('deadline.remaining')}${clock}`}>
      <Tag color={COLOUR_TAG[colour]} className="countdown" data-deadline={colour} data-unit={unit}>
        {label('deadlineState', colour)} · {label('milestone', next.key)}
        {text ? ` ${text}` : ''}
      </Tag>
    </Tooltip>
  );
}
