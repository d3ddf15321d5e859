import { App, Button, Card, Col, Row, Segmented, Space, Statistic } from 'antd';
import { useMemo, useState } from 'react';
import type { TicketSummary } from '../../api/types';
import { useUser } from '../../auth/AuthContext';
import { TicketDrawer } from '../../components/TicketDrawer';
import { TicketTable } from '../../components/TicketTable';
import { useNow } from '../../components/DeadlineTag';
import { useI18n } from '../../i18n';
import { ticketColour } from '../../lib/deadline';
import { useLiveTickets } from '../../realtime/useLiveTickets';

const INBOX_STATES = ['dispatched', 'handling', 'replied'] as const;

/**
 * The department's inbox (issue #5 item 3): tickets dispatched or co-dispatched to it (the
 * server only lists those), arriving live, with deadline countdowns; sign, return, extension,
 * reply from the side drawer.
 */
export default function DepartmentView() {
  const user = useUser();
  const { t } = useI18n();
  const { notification } = App.useApp();
  const now = useNow(30_000);
  const [open, setOpen] = useState<string | null>(null);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const [filter, setFilter] = useState<'all' | 'dispatched' | 'handling' | 'late'>('all');
  const live = useLiveTickets({
    query: { state: INBOX_STATES.join(','), pageSize: 200 },
    keep: (tk) => (INBOX_STATES as readonly string[]).includes(tk.state),
    onArrival: (tk, ev) => {
      if (ev.type === 'ticket.dispatched' || ev.type === 'ticket.urged' || ev.type === 'ticket.supervised' || ev.type === 'ticket.deadline_overdue') {
        setFresh((s) => new Set(s).add(tk.id));
        notification.info({ message: t(`dept.event.${ev.type.replace('ticket.', '')}` as 'dept.event.dispatched'), description: `${tk.number} · ${tk.address}`, placement: 'bottomRight' });
      }
    },
  });
  const counts = useMemo(() => {
    const c = { dispatched: 0, handling: 0, warning: 0, overdue: 0 };
    for (const tk of live.items) {
      if (tk.state === 'dispatched') c.dispatched++;
      if (tk.state === 'handling') c.handling++;
      const colour = ticketColour(tk.deadlines, now);
      if (colour === 'warning') c.warning++;
      if (colour === 'overdue') c.overdue++;
    }
    return c;
  }, [live.items, now]);
  const shown = live.items.filter((tk: TicketSummary) => {
    if (filter === 'all') return true;
    if (filter === 'late') return ['warning', 'overdue'].includes(ticketColour(tk.deadlines, now) ?? '');
    return tk.state === filter;
  });
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Row gutter={16}>
        <Col span={6}>
          <Card size="small">
            <Statistic title={t('dept.toSign')} value={counts.dispatched} />
          </Card>
        </Col>
        <Col span={6}>
          <Card size="small">
            <Statistic title={t('dept.handling')} value={counts.handling} />
          </Card>
        </Col>
        <Col span={6}>
          <Card size="small">
            <Statistic title={t('dept.warning')} value={counts.warning} valueStyle={{ color: '#995c00' }} />
          </Card>
        </Col>
        <Col span={6}>
          <Card size="small">
            <Statistic title={t('dept.overdue')} value={counts.overdue} valueStyle={{ color: '#a8071a' }} />
          </Card>
        </Col>
      </Row>
      <Card
        size="small"
        title={<h2 style={{ margin: 0, fontSize: 16 }}>{t('dept.inbox')}</h2>}
        extra={
          <Space>
            <Segmented
              value={filter}
              onChange={(v) => setFilter(v as typeof filter)}
              options={[
                { value: 'all', label: t('dept.filter.all') },
                { value: 'dispatched', label: t('dept.toSign') },
                { value: 'handling', label: t('dept.handling') },
                { value: 'late', label: t('dept.filter.late') },
              ]}
              aria-label={t('dept.filter.aria')}
            />
            <Button onClick={() => void live.refetch()}>{t('common.refresh')}</Button>
          </Space>
        }
        data-testid="department-inbox"
      >
        <TicketTable
          items={shown}
          loading={live.loading && live.items.length === 0}
          myDepartmentId={user.departmentId}
          highlight={fresh}
          caption={t('dept.inbox')}
          extra={[
            {
              title: t('common.actions'),
              key: 'act',
              width: 90,
              fixed: 'right',
              render: (_: unknown, r: TicketSummary) => (
                <Button size="small" type="primary" onClick={() => setOpen(r.id)} aria-label={t('dept.handleAria', { number: r.number })}>
                  {t('dept.handle')}
                </Button>
              ),
            },
          ]}
        />
      </Card>
      <TicketDrawer id={open} onClose={() => setOpen(null)} onChanged={live.upsert} />
    </Space>
  );
}
