import { Tag, Tooltip } from 'antd';
import dayjs from 'dayjs';
import { useEffect, useState } from 'react';
import type { MilestoneKey, TicketSummary } from '../api/types';
import { COLOUR_TAG, formatDuration, nextOpenMilestone, ticketColour } from '../lib/deadline';
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

/**
 * The ticket's next due milestone with a live countdown, coloured on time / warning / overdue
 * (the warning and due instants are the server's working-time ones).
 */
export function DeadlineTag({ ticket, now }: { ticket: Pick<TicketSummary, 'deadlines' | 'deadlineState'>; now: number }) {
  const { t } = useI18n();
  const label = useLabel();
  const next = nextOpenMilestone<MilestoneKey>(ticket.deadlines);
  if (!next) return <span aria-label={t('deadline.none')}>—</span>;
  const colour = ticket.deadlineState === 'paused' ? 'paused' : (ticketColour(ticket.deadlines, now) ?? 'on_time');
  const left = Date.parse(String(next.m.dueAt)) - now;
  const units = { d: t('unit.d'), h: t('unit.h'), m: t('unit.m') };
  const text = left >= 0 ? t('deadline.left', { time: formatDuration(left, units) }) : t('deadline.overdueBy', { time: formatDuration(-left, units) });
  return (
    <Tooltip title={`${label('milestone', next.key)} · ${t('deadline.dueAt')} ${dayjs(next.m.dueAt).format('YYYY-MM-DD HH:mm')}`}>
      <Tag color={COLOUR_TAG[colour]} className="countdown" data-deadline={colour}>
        {label('deadlineState', colour)} · {label('milestone', next.key)} {text}
      </Tag>
    </Tooltip>
  );
}
