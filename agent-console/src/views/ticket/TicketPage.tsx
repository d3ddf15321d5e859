import { Alert, Card, Col, Descriptions, Empty, Row, Space, Spin, Table, Tag, Timeline, Typography } from 'antd';
import dayjs from 'dayjs';
import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, ApiError } from '../../api/client';
import type { CallRecord, DeadlinesView, MilestoneView, Ticket } from '../../api/types';
import { useUser } from '../../auth/AuthContext';
import { StateTag } from '../../components/TicketTable';
import { TicketActions } from '../../components/TicketActions';
import { useI18n, useLabel } from '../../i18n';
import { COLOUR_TAG, formatDuration, OFFICE_HOUR_UNITS } from '../../lib/deadline';
import { useRealtime, useTicketEvents } from '../../realtime/RealtimeProvider';
import { useDirectory } from '../DirectoryContext';

const fmt = (d: string | null | undefined): string => (d ? dayjs(d).format('YYYY-MM-DD HH:mm') : '—');

/** Ticket detail (issue #5 item 5): fields, actions, deadlines, timeline, calls, ratings, duplicates. */
export default function TicketPage() {
  const { id = '' } = useParams();
  const user = useUser();
  const { t } = useI18n();
  const { epoch } = useRealtime();
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [deadlines, setDeadlines] = useState<DeadlinesView | null>(null);
  const [calls, setCalls] = useState<CallRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hotline = user.role !== 'department';

  const load = useCallback(async () => {
    try {
      const [tk, dl] = await Promise.all([api<Ticket>(`/tickets/${id}`), api<DeadlinesView>(`/tickets/${id}/deadlines`).catch(() => null)]);
      // keep the newer copy (an event-triggered reload may race a command's answer)
      setTicket((cur) => (cur && cur.id === tk.id && cur.version > tk.version ? cur : tk));
      setDeadlines(dl);
      setError(null);
      if (hotline) setCalls((await api<{ items: CallRecord[] }>(`/tickets/${id}/calls`).catch(() => ({ items: [] }))).items);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 404 ? t('ticket.notFound') : e instanceof Error ? e.message : String(e));
    }
  }, [id, hotline, t]);

  useEffect(() => {
    void load();
  }, [load, epoch]);

  useTicketEvents((ev) => {
    if (ev.ticketId === id && (!ticket || ev.version > ticket.version)) void load();
  });

  if (error) return <Alert type="error" showIcon message={error} />;
  if (!ticket) return <Spin size="large" style={{ display: 'block', margin: 64 }} />;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <TicketHeader ticket={ticket} onChange={(tk) => (setTicket(tk), void load())} />
      <Row gutter={16}>
        <Col xs={24} xl={14}>
          <Space direction="vertical" size="middle" style={{ width: '100%' }}>
            <DeadlineCard view={deadlines} />
            {hotline && <CallsCard calls={calls} />}
            <RatingsCard ticket={ticket} />
          </Space>
        </Col>
        <Col xs={24} xl={10}>
          <TimelineCard ticket={ticket} />
        </Col>
      </Row>
    </Space>
  );
}

/** The number of the ticket a duplicate was merged into (its id until known, or if not visible). */
function useTicketNumber(id: string | null): string | null {
  const [found, setFound] = useState<{ id: string; number: string } | null>(null);
  useEffect(() => {
    if (!id) return;
    let live = true;
    api<Ticket>(`/tickets/${id}`)
      .then((tk) => live && setFound({ id, number: tk.number }))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id]);
  return found && found.id === id ? found.number : null;
}

function TicketHeader({ ticket, onChange }: { ticket: Ticket; onChange: (t: Ticket) => void }) {
  const { t } = useI18n();
  const label = useLabel();
  const { deptName, areaName } = useDirectory();
  const masterNumber = useTicketNumber(ticket.mergedInto);
  return (
    <Card
      title={
        <Space wrap>
          <h2 style={{ margin: 0, fontSize: 18 }} data-testid="ticket-number">
            {ticket.number}
          </h2>
          <StateTag state={ticket.state} />
          <Tag>{label('category', ticket.category)}</Tag>
          <Tag color={ticket.urgency === 'normal' ? 'default' : 'red'}>{label('urgency', ticket.urgency)}</Tag>
          {ticket.supervised && <Tag color="red">{t('ticket.supervised')}</Tag>}
          {ticket.urgeCount > 0 && <Tag color="volcano">{t('ticket.urged', { n: ticket.urgeCount })}</Tag>}
          {ticket.confidential && <Tag color="purple">{t('ticket.confidential')}</Tag>}
          {ticket.flaggedRepeatedFailure && <Tag color="magenta">{t('ticket.repeatedFailure')}</Tag>}
        </Space>
      }
      extra={<span className="countdown">v{ticket.version}</span>}
    >
      <Descriptions size="small" bordered column={{ xs: 1, md: 2, xl: 3 }}>
        <Descriptions.Item label={t('ticket.caller')}>
          {ticket.caller.anonymous ? t('ticket.anonymous') : (ticket.caller.name ?? '—')} ·{' '}
          <span className="countdown" data-testid="caller-phone">
            {ticket.caller.phone}
          </span>
        </Descriptions.Item>
        <Descriptions.Item label={t('ticket.channel')}>{label('channel', ticket.channel)}</Descriptions.Item>
        <Descriptions.Item label={t('ticket.area')}>{areaName(ticket.area)}</Descriptions.Item>
        <Descriptions.Item label={t('ticket.address')} span={2}>
          {ticket.address}
        </Descriptions.Item>
        <Descriptions.Item label={t('ticket.lead')}>{deptName(ticket.leadDepartmentId)}</Descriptions.Item>
        <Descriptions.Item label={t('ticket.co')}>{ticket.coDepartmentIds.length ? ticket.coDepartmentIds.map(deptName).join('、') : '—'}</Descriptions.Item>
        <Descriptions.Item label={t('ticket.created')}>{fmt(ticket.createdAt)}</Descriptions.Item>
        <Descriptions.Item label={t('ticket.externalRef')}>{ticket.externalRef ?? '—'}</Descriptions.Item>
        <Descriptions.Item label={t('ticket.content')} span={3}>
          <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{ticket.content}</Typography.Paragraph>
        </Descriptions.Item>
        {ticket.pendingExtension && (
          <Descriptions.Item label={t('ticket.pendingExtension')} span={3}>
            {t('ticket.extensionPending', { n: ticket.pendingExtension.days })} — {ticket.pendingExtension.reason} ({ticket.pendingExtension.by.name})
          </Descriptions.Item>
        )}
        {ticket.returnReason && (
          <Descriptions.Item label={t('ticket.returnReason')} span={3}>
            {ticket.returnReason}
          </Descriptions.Item>
        )}
        {ticket.reply && (
          <Descriptions.Item label={t('ticket.reply')} span={3}>
            <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{ticket.reply.text}</Typography.Paragraph>
            <Typography.Text type="secondary">
              {ticket.reply.by.name} · {fmt(ticket.reply.at)}
            </Typography.Text>
          </Descriptions.Item>
        )}
        {ticket.directAnswer && (
          <Descriptions.Item label={t('ticket.directAnswer')} span={3}>
            {ticket.directAnswer.text}
          </Descriptions.Item>
        )}
        {ticket.mergedInto && (
          <Descriptions.Item label={t('ticket.mergedInto')} span={3}>
            <Link to={`/tickets/${ticket.mergedInto}`} data-testid="merged-into">
              {masterNumber ?? ticket.mergedInto}
            </Link>
          </Descriptions.Item>
        )}
        {!!ticket.duplicates?.length && (
          <Descriptions.Item label={t('ticket.duplicates')} span={3}>
            <Space wrap data-testid="duplicates">
              {ticket.duplicates.map((d) => (
                <Link key={d.id} to={`/tickets/${d.id}`}>
                  {d.number}
                </Link>
              ))}
            </Space>
          </Descriptions.Item>
        )}
      </Descriptions>
      <div style={{ marginTop: 16 }}>
        <TicketActions ticket={ticket} onDone={onChange} />
      </div>
    </Card>
  );
}

function DeadlineCard({ view }: { view: DeadlinesView | null }) {
  const { t } = useI18n();
  const label = useLabel();
  const units = { d: t('unit.d'), h: t('unit.h'), m: t('unit.m') };
  return (
    <Card size="small" title={t('deadline.title')} data-testid="deadlines">
      {view?.suspendedSince && <Alert type="info" showIcon message={t('deadline.suspended', { since: fmt(view.suspendedSince) })} style={{ marginBottom: 8 }} />}
      <Table<MilestoneView>
        size="small"
        rowKey="milestone"
        pagination={false}
        dataSource={view?.milestones ?? []}
        locale={{ emptyText: t('deadline.none') }}
        columns={[
          { title: t('deadline.milestone'), dataIndex: 'milestone', render: (m: string) => label('milestone', m) },
          { title: t('deadline.state'), dataIndex: 'state', render: (s: keyof typeof COLOUR_TAG) => <Tag color={COLOUR_TAG[s]}>{label('deadlineState', s)}</Tag> },
          { title: t('deadline.dueAt'), dataIndex: 'dueAt', render: fmt },
          {
            title: t('deadline.remaining'),
            dataIndex: 'remainingMs',
            render: (r: number | null, m) =>
              r === null ? (
                m.metLate ? t('deadline.metLate') : '—'
              ) : (
                <span className="countdown">
                  {formatDuration(r, units, { days: !OFFICE_HOUR_UNITS.has(m.unit) })}
                  {OFFICE_HOUR_UNITS.has(m.unit) ? ` ${t('deadline.officeHours')}` : ''}
                </span>
              ),
          },
          { title: t('deadline.doneAt'), dataIndex: 'doneAt', render: fmt },
          { title: t('deadline.reminders'), key: 'rem', render: (_: unknown, m) => `${m.reminders} / ${m.escalations}` },
        ]}
      />
    </Card>
  );
}

function CallsCard({ calls }: { calls: CallRecord[] | null }) {
  const { t } = useI18n();
  const label = useLabel();
  return (
    <Card size="small" title={t('calls.title')} data-testid="call-records">
      <Table<CallRecord>
        size="small"
        rowKey="id"
        pagination={false}
        loading={calls === null}
        dataSource={calls ?? []}
        locale={{ emptyText: t('calls.none') }}
        columns={[
          { title: t('calls.from'), dataIndex: 'fromNumber' },
          { title: t('calls.line'), dataIndex: 'line' },
          { title: t('calls.outcome'), dataIndex: 'outcome', render: (o: string) => label('callOutcome', o) },
          { title: t('calls.answeredAt'), dataIndex: 'answeredAt', render: (d: string | null) => fmt(d) },
          { title: t('calls.endedAt'), dataIndex: 'endedAt', render: (d: string | null) => fmt(d) },
          {
            title: t('calls.transfer'),
            dataIndex: 'transfer',
            render: (tr: CallRecord['transfer']) => (tr ? `${tr.targetName} · ${label('transferOutcome', tr.outcome)}${tr.reason ? ` (${tr.reason})` : ''}` : '—'),
          },
        ]}
      />
    </Card>
  );
}

function RatingsCard({ ticket }: { ticket: Ticket }) {
  const { t } = useI18n();
  const label = useLabel();
  return (
    <Card size="small" title={t('rating.title')} data-testid="ratings">
      {ticket.ratings.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('rating.none')} />
      ) : (
        <Timeline
          items={ticket.ratings.map((r) => ({
            color: r.level === 'dissatisfied' || r.level === 'very_dissatisfied' ? 'red' : 'green',
            children: (
              <span data-testid="rating-entry" data-level={r.level}>
                {t('rating.round', { n: r.round })} · <strong>{label('rating', r.level)}</strong> · {label('ratingSource', r.source)} ·{' '}
                {r.realName ? t('rating.realName') : t('rating.anonymous')} · {fmt(r.at)}
                {r.comment ? ` — ${r.comment}` : ''}
              </span>
            ),
          }))}
        />
      )}
    </Card>
  );
}

function TimelineCard({ ticket }: { ticket: Ticket }) {
  const { t } = useI18n();
  const label = useLabel();
  const entries = [...ticket.timeline].sort((a, b) => b.seq - a.seq);
  return (
    <Card size="small" title={t('timeline.title')} data-testid="timeline">
      <Timeline
        items={entries.map((e) => ({
          color: e.action === 'supervise' || e.action === 'urge' || e.action === 'tick' ? 'red' : 'blue',
          children: (
            <div data-testid="timeline-entry" data-action={e.action}>
              <div>
                <strong>{label('command', e.action)}</strong> · {e.actor.name} ({label('role', e.actor.role)}) · {fmt(e.at)}
              </div>
              <div style={{ color: 'rgba(0,0,0,0.65)' }}>
                {e.from ? `${label('state', e.from)} → ` : ''}
                {label('state', e.to)}
              </div>
              {e.note && <div style={{ whiteSpace: 'pre-wrap' }}>{e.note}</div>}
            </div>
          ),
        }))}
      />
    </Card>
  );
}

