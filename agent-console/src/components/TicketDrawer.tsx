import { Alert, Descriptions, Drawer, Space, Spin, Typography } from 'antd';
import dayjs from 'dayjs';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/client';
import type { Ticket, TicketSummary, TimelineEntry } from '../api/types';
import { useI18n, useLabel } from '../i18n';
import { useTicketEvents } from '../realtime/RealtimeProvider';
import { useDirectory } from '../views/DirectoryContext';
import { DeadlineTag, useNow } from './DeadlineTag';
import { TicketActions } from './TicketActions';
import { StateTag } from './TicketTable';

/** The newest timeline entry of an action (the latest urge, the latest supervision note). */
const latest = (timeline: readonly TimelineEntry[], action: string): TimelineEntry | null =>
  timeline.reduce<TimelineEntry | null>((best, e) => (e.action === action && e.note && (!best || e.seq > best.seq) ? e : best), null);

/**
 * Quick handling of one ticket beside a list: the essentials, the latest urge (催办) and
 * supervision (督办) notes, and the allowed actions. It follows the ticket live: a newer version
 * announced on the socket (an urge, another user's action) is fetched at once.
 */
export function TicketDrawer({ id, onClose, onChanged, only }: { id: string | null; onClose: () => void; onChanged: (t: TicketSummary) => void; only?: readonly string[] }) {
  const { t } = useI18n();
  const label = useLabel();
  const { deptName } = useDirectory();
  const now = useNow(30_000);
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const shown = useRef<Ticket | null>(null);
  shown.current = ticket;
  const titleRef = useRef<HTMLSpanElement>(null);
  const bodyRef = useRef<HTMLDivElement>(null);
  // Keyboard users start at the ticket's number once it has loaded (antd focuses the drawer
  // panel, from which Tab lands on an invisible focus sentinel first).
  const loadedId = ticket?.id;
  useEffect(() => {
    if (loadedId) titleRef.current?.focus({ preventScroll: true });
  }, [loadedId]);
  /**
   * After a command's dialog: if the button that opened it is gone (a signed ticket has no 签收),
   * the usual next step (a primary command), another command or the title takes the focus, not
   * the top of the page.
   */
  const refocus = useCallback(() => {
    const active = document.activeElement;
    if (active && active !== document.body && document.contains(active)) return;
    const body = bodyRef.current;
    (body?.querySelector<HTMLElement>('.ant-btn-primary[data-command]') ?? body?.querySelector<HTMLElement>('[data-command]') ?? titleRef.current)?.focus({ preventScroll: true });
  }, []);
  const reload = useCallback(async (ticketId: string, version: number) => {
    const tk = await api<Ticket>(`/tickets/${ticketId}`).catch(() => null);
    // keep the newest copy: a slower answer must not replace a fresher one
    if (tk && tk.version >= version && shown.current?.id === ticketId && tk.version > shown.current.version) setTicket(tk);
  }, []);
  useTicketEvents((ev) => {
    const cur = shown.current;
    if (cur && ev.ticketId === cur.id && ev.version > cur.version) void reload(cur.id, ev.version);
  });
  useEffect(() => {
    setTicket(null);
    if (!id) return;
    let live = true;
    api<Ticket>(`/tickets/${id}`)
      .then((tk) => live && setTicket(tk))
      .catch(() => live && onClose());
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);
  return (
    <Drawer
      open={id !== null}
      onClose={onClose}
      width={560}
      title={
        ticket ? (
          <span ref={titleRef} tabIndex={-1}>
            {ticket.number}
          </span>
        ) : (
          t('common.loading')
        )
      }
      destroyOnHidden
    >
      {!ticket ? (
        <Spin />
      ) : (
        <div ref={bodyRef}>
          <Space direction="vertical" style={{ width: '100%' }}>
            <Space wrap>
              <StateTag state={ticket.state} />
              <DeadlineTag ticket={ticket} now={now} />
            </Space>
            <Notes ticket={ticket} />
            <Descriptions size="small" column={1} bordered>
              <Descriptions.Item label={t('ticket.category')}>{label('category', ticket.category)}</Descriptions.Item>
              <Descriptions.Item label={t('ticket.caller')}>{ticket.caller.phone}</Descriptions.Item>
              <Descriptions.Item label={t('ticket.address')}>{ticket.address}</Descriptions.Item>
              <Descriptions.Item label={t('ticket.lead')}>{deptName(ticket.leadDepartmentId)}</Descriptions.Item>
              {ticket.coDepartmentIds.length > 0 && <Descriptions.Item label={t('ticket.co')}>{ticket.coDepartmentIds.map((d) => deptName(d)).join('、')}</Descriptions.Item>}
              {ticket.pendingExtension && (
                <Descriptions.Item label={t('ticket.pendingExtension')}>
                  {t('ticket.extensionPending', { n: ticket.pendingExtension.days })} — {ticket.pendingExtension.reason}
                </Descriptions.Item>
              )}
              {ticket.rating && <Descriptions.Item label={t('rating.title')}>{label('rating', ticket.rating.level)}{ticket.rating.comment ? ` — ${ticket.rating.comment}` : ''}</Descriptions.Item>}
            </Descriptions>
            <Typography.Paragraph style={{ whiteSpace: 'pre-wrap' }}>{ticket.content}</Typography.Paragraph>
            <TicketActions
              ticket={ticket}
              only={only}
              onDone={(tk) => {
                setTicket(tk);
                onChanged(tk);
              }}
              onClosed={refocus}
            />
            <Link to={`/tickets/${ticket.id}`}>{t('ticket.openDetail')}</Link>
          </Space>
        </div>
      )}
    </Drawer>
  );
}

/** The latest urge and supervision note, where the handler cannot miss them. */
function Notes({ ticket }: { ticket: Ticket }) {
  const { t } = useI18n();
  const notes = [
    { entry: latest(ticket.timeline, 'supervise'), kind: 'supervise' as const },
    { entry: latest(ticket.timeline, 'urge'), kind: 'urge' as const },
  ].filter((n): n is { entry: TimelineEntry; kind: 'supervise' | 'urge' } => n.entry !== null);
  if (notes.length === 0) return null;
  return (
    <>
      {notes.map(({ entry, kind }) => (
        <Alert
          key={kind}
          type={kind === 'supervise' ? 'error' : 'warning'}
          showIcon
          data-testid={`drawer-${kind}`}
          message={t(kind === 'supervise' ? 'drawer.supervised' : 'drawer.urged', { who: entry.actor.name, at: dayjs(entry.at).format('MM-DD HH:mm') })}
          description={<span style={{ whiteSpace: 'pre-wrap' }}>{entry.note}</span>}
        />
      ))}
    </>
  );
}
