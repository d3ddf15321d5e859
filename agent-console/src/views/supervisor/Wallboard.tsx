import { Alert, Button, Card, Col, Row, Space, Spin, Statistic, Table, Tabs, Tag, Tooltip, Typography } from 'antd';
import { Link } from 'react-router';
import dayjs from 'dayjs';
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { api } from '../../api/client';
import { CATEGORIES, type CallKpiReport, type DeadlineStats, type Ratio, type TicketKpiReport, type TicketList, type TicketSummary } from '../../api/types';
import { useNow } from '../../components/DeadlineTag';
import { TicketDrawer } from '../../components/TicketDrawer';
import { StateTag, TicketTable } from '../../components/TicketTable';
import { useI18n, useLabel, type MessageKey } from '../../i18n';
import { useCallEvents, useRealtime, useTicketEvents } from '../../realtime/RealtimeProvider';
import { useLiveTickets } from '../../realtime/useLiveTickets';
import { useDirectory } from '../DirectoryContext';
import { AgentsPanel, QueuePanel, useQueue } from './panels';

const EChart = lazy(() => import('./EChart'));

/** The ticket KPIs of the wallboard (issue #5 item 4) and their fields in GET /api/kpis/tickets. */
const TICKET_KPIS = [
  ['timelyDispatch', 'kpi.timelyDispatchRate'],
  ['onTimeReply', 'kpi.onTimeReplyRate'],
  ['satisfaction', 'kpi.satisfactionRate'],
  ['rectificationOnTime', 'kpi.badRatingRectificationRate'],
  ['onTimeCompletion', 'kpi.onTimeCompletionRate'],
  ['ratingCoverage', 'kpi.ratingCoverageRate'],
  ['returnRate', 'kpi.returnRate'],
  ['repeatComplaints', 'kpi.repeatComplaintRate'],
] as const satisfies readonly (readonly [string, MessageKey])[];

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`);
/** Midnight today, city time (UTC+8), as the API's bare date. */
const todayCity = (): string => dayjs(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);

/** Calls a function at most once per `ms` (bursts of events → one refetch), `ms` after the first call of a burst. */
function useThrottled(fn: () => void, ms: number): () => void {
  const timer = useRef<number | null>(null);
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => () => void (timer.current !== null && window.clearTimeout(timer.current)), []);
  return useCallback(() => {
    if (timer.current !== null) return;
    timer.current = window.setTimeout(() => {
      timer.current = null;
      ref.current();
    }, ms);
  }, [ms]);
}

/**
 * Calls a function once `ms` after the last call (the end of a burst). Beside a throttled
 * refetch it catches what the throttled one was too early for: the KPI roll-ups follow the
 * ticket events a moment later (the worker's drain).
 */
function useDebounced(fn: () => void, ms: number): () => void {
  const timer = useRef<number | null>(null);
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => () => void (timer.current !== null && window.clearTimeout(timer.current)), []);
  return useCallback(() => {
    if (timer.current !== null) window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => {
      timer.current = null;
      ref.current();
    }, ms);
  }, [ms]);
}

/** The supervisor's wallboard (issue #5 item 4). */
export default function Wallboard() {
  const { t } = useI18n();
  const queue = useQueue();
  const now = useNow(1000);
  const longest = (queue ?? []).reduce((m, q) => Math.max(m, Math.round((now - Date.parse(q.enqueuedAt)) / 1000)), 0);
  const { callKpis, ticketKpis, ticketKpisMissing, byCategory } = useKpis();
  const [drawer, setDrawer] = useState<{ id: string; only?: readonly string[] } | null>(null);
  // Supervisors hear every ticket event: each list only fetches the ones that can concern it.
  const extensions = useLiveTickets({
    query: { state: 'dispatched,handling', pageSize: 200 },
    keep: (tk) => tk.pendingExtension !== null,
    accept: (ev, listed) => listed || ev.type === 'ticket.extension_requested',
  });
  const disputed = useLiveTickets({
    query: { state: 'disputed', pageSize: 200 },
    keep: (tk) => tk.state === 'disputed',
    accept: (ev, listed) => listed || ev.state === 'disputed',
  });
  const late = useLateTickets();

  const kpi = (title: MessageKey, value: string, testid?: string) => (
    <Col xs={12} md={8} xl={3}>
      <Card size="small">
        <Statistic className="wallboard-number" title={t(title)} value={value} data-testid={testid} />
      </Card>
    </Col>
  );
  const total = callKpis?.total;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }} data-testid="wallboard">
      <Row gutter={[12, 12]}>
        {kpi('wall.waiting', String(queue?.length ?? '—'), 'kpi-waiting')}
        {kpi('wall.longestWait', queue ? `${longest} s` : '—', 'kpi-longestWait')}
        {kpi('kpi.answerRate', pct(total?.answerRate), 'kpi-answerRate')}
        {kpi('kpi.serviceLevel', pct(total?.serviceLevel), 'kpi-serviceLevel')}
        {kpi('kpi.abandonRate', pct(total?.abandonRate), 'kpi-abandonRate')}
        {kpi('kpi.offered', String(total?.offered ?? '—'), 'kpi-offered')}
        {kpi('kpi.answered', String(total?.answered ?? '—'), 'kpi-answered')}
        {kpi('kpi.transfers', String(total?.transfers.requested ?? '—'), 'kpi-transfers')}
      </Row>
      <Card size="small" title={t('kpi.ticketTitle')}>
        {ticketKpisMissing ? (
          <Typography.Text type="secondary" data-testid="ticket-kpis-missing">
            {t('kpi.ticketMissing')}
          </Typography.Text>
        ) : (
          <Row gutter={12}>
            {TICKET_KPIS.map(([field, title]) => {
              const r = ticketKpis?.total[field] as Ratio | undefined;
              return (
                <Col key={field} xs={12} xl={6}>
                  <Tooltip title={r ? `${r.numerator} / ${r.denominator}` : undefined}>
                    <Statistic
                      className="wallboard-number"
                      title={t(title)}
                      value={pct(r?.rate)}
                      data-testid={`kpi-${field}`}
                      data-ratio={r ? `${r.numerator}/${r.denominator}` : undefined}
                    />
                  </Tooltip>
                </Col>
              );
            })}
          </Row>
        )}
      </Card>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <QueuePanel items={queue} />
        </Col>
        <Col xs={24} xl={12}>
          <AgentsPanel />
        </Col>
      </Row>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={12}>
          <Card size="small" title={t('wall.callsPerHour')}>
            <Suspense fallback={<Spin />}>
              <CallsChart report={callKpis} />
            </Suspense>
          </Card>
        </Col>
        <Col xs={24} xl={12}>
          <Card size="small" title={t('wall.byCategory')}>
            <Suspense fallback={<Spin />}>
              <CategoryChart counts={byCategory} />
            </Suspense>
          </Card>
        </Col>
      </Row>
      <Card size="small">
        <Tabs
          items={[
            {
              key: 'late',
              label: t('wall.lateByDept', { n: late.count }),
              children: <LateTickets late={late} onOpen={(id) => setDrawer({ id, only: ['urge', 'supervise'] })} />,
            },
            {
              key: 'ext',
              label: t('wall.extensions', { n: extensions.items.length }),
              children: (
                <TicketTable
                  items={extensions.items}
                  loading={extensions.loading && extensions.items.length === 0}
                  caption={t('wall.extensions', { n: extensions.items.length })}
                  extra={[actionColumn(t('command.decideExtension'), (id) => setDrawer({ id, only: ['decideExtension'] }))]}
                />
              ),
            },
            {
              key: 'disputed',
              label: t('wall.disputed', { n: disputed.items.length }),
              children: (
                <TicketTable
                  items={disputed.items}
                  loading={disputed.loading && disputed.items.length === 0}
                  caption={t('wall.disputed', { n: disputed.items.length })}
                  extra={[actionColumn(t('command.verifyRating'), (id) => setDrawer({ id, only: ['verifyRating'] }))]}
                />
              ),
            },
          ]}
        />
      </Card>
      <TicketDrawer
        id={drawer?.id ?? null}
        only={drawer?.only}
        onClose={() => setDrawer(null)}
        onChanged={(tk) => {
          extensions.upsert(tk);
          disputed.upsert(tk);
          late.refetch();
        }}
      />
    </Space>
  );
}

function actionColumn(title: string, open: (id: string) => void) {
  return {
    title,
    key: 'act',
    width: 110,
    fixed: 'right' as const,
    render: (_: unknown, r: TicketSummary) => (
      <Button size="small" type="primary" onClick={() => open(r.id)} aria-label={`${title} ${r.number}`}>
        {title}
      </Button>
    ),
  };
}

/** Today's call KPIs (by hour), ticket KPIs when the server offers them, tickets by category. */
function useKpis() {
  const { epoch } = useRealtime();
  const [callKpis, setCallKpis] = useState<CallKpiReport | null>(null);
  const [ticketKpis, setTicketKpis] = useState<TicketKpiReport | null>(null);
  const [ticketKpisMissing, setMissing] = useState(false);
  const [byCategory, setByCategory] = useState<Record<string, number> | null>(null);

  const loadCalls = useCallback(() => {
    api<CallKpiReport>('/kpis/calls', { query: { from: todayCity(), groupBy: 'hour' } })
      .then(setCallKpis)
      .catch(() => undefined);
  }, []);
  const loadTickets = useCallback(() => {
    api<TicketKpiReport>('/kpis/tickets')
      .then((k) => {
        setTicketKpis(k);
        setMissing(false);
      })
      // No endpoint: say so rather than show invented numbers.
      .catch(() => setMissing(true));
    api<{ items: { category: string; count: number }[] }>('/stats/tickets-by-category')
      .then((r) => setByCategory(Object.fromEntries(r.items.map((i) => [i.category, i.count]))))
      .catch(() => {
        // older server: one count per category from the ticket list
        const createdFrom = new Date(Date.parse(`${todayCity()}T00:00:00+08:00`)).toISOString();
        Promise.all(CATEGORIES.map((c) => api<TicketList>('/tickets', { query: { category: c, createdFrom, pageSize: 1 } }).then((r) => [c, r.total] as const)))
          .then((pairs) => setByCategory(Object.fromEntries(pairs)))
          .catch(() => undefined);
      });
  }, []);
  const throttledCalls = useThrottled(loadCalls, 5000);
  const throttledTickets = useThrottled(loadTickets, 5000);
  const settleTickets = useDebounced(loadTickets, 10_000);
  useEffect(() => {
    loadCalls();
    loadTickets();
  }, [loadCalls, loadTickets, epoch]);
  useEffect(() => {
    const id = window.setInterval(() => {
      loadCalls();
      loadTickets();
    }, 60_000);
    return () => window.clearInterval(id);
  }, [loadCalls, loadTickets]);
  // A call leaving the queue (answered, abandoned) is an acd.changed; an agent's state changes
  // when a call is answered or ends; a transfer has its outcome.
  useCallEvents((ev) => {
    if (ev.type === 'acd.changed' || ev.type === 'call.transfer' || ev.type === 'agent.state') throttledCalls();
  });
  // Nearly every ticket event moves some KPI (a sign does not, but a reply, a rating, a
  // verification, a deadline passing do): refetch at most every 5 s, and once more when a burst
  // has settled, by which time the roll-ups have caught up with its last event.
  useTicketEvents(() => {
    throttledTickets();
    settleTickets();
  });
  return { callKpis, ticketKpis, ticketKpisMissing, byCategory };
}

/** Open tickets in warning or overdue per department (GET /api/stats/deadlines), refreshed live. */
function useLateTickets() {
  const { epoch } = useRealtime();
  const [stats, setStats] = useState<DeadlineStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const refetch = useCallback(() => {
    api<DeadlineStats>('/stats/deadlines', { query: { limit: 500 } })
      .then((s) => {
        setStats(s);
        setError(null);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  }, []);
  const throttled = useThrottled(refetch, 3000);
  useEffect(refetch, [refetch, epoch]);
  useTicketEvents(() => throttled());
  // levels change with the clock too, not only with events
  useEffect(() => {
    const id = window.setInterval(refetch, 60_000);
    return () => window.clearInterval(id);
  }, [refetch]);
  return { stats, error, refetch, count: stats ? stats.total.warning + stats.total.overdue : 0 };
}

type LateItem = DeadlineStats['items'][number];

function LateTickets({ late, onOpen }: { late: ReturnType<typeof useLateTickets>; onOpen: (id: string) => void }) {
  const { t } = useI18n();
  const label = useLabel();
  const { deptName } = useDirectory();
  const [dept, setDept] = useState<string | null>(null);
  if (late.error) return <Alert type="error" showIcon message={late.error} />;
  const groups = (late.stats?.byDepartment ?? []).map((g) => ({ ...g, key: g.departmentId ?? '—' }));
  const items = late.stats?.items ?? [];
  const shown = dept ? items.filter((tk) => (tk.leadDepartmentId ?? '—') === dept) : items;
  return (
    <Row gutter={16}>
      <Col xs={24} xl={7}>
        <Table
          size="small"
          rowKey="key"
          data-testid="late-by-department"
          dataSource={groups}
          loading={!late.stats}
          pagination={false}
          locale={{ emptyText: t('wall.noLate') }}
          rowClassName={(r) => (r.key === dept ? 'ant-table-row-selected' : '')}
          columns={[
            {
              title: t('ticket.lead'),
              dataIndex: 'key',
              render: (d: string) => (
                <Button type="link" size="small" style={{ padding: 0 }} onClick={() => setDept(dept === d ? null : d)} aria-pressed={dept === d}>
                  {deptName(d)}
                </Button>
              ),
            },
            { title: t('deadlineState.warning'), dataIndex: 'warning', render: (n: number) => <span style={{ color: '#ad6800', fontWeight: 600 }}>{n}</span> },
            { title: t('deadlineState.overdue'), dataIndex: 'overdue', render: (n: number) => <span style={{ color: '#a8071a', fontWeight: 600 }}>{n}</span> },
          ]}
        />
      </Col>
      <Col xs={24} xl={17}>
        <Table<LateItem>
          size="small"
          rowKey="id"
          data-testid="late-tickets"
          dataSource={shown}
          loading={!late.stats}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          locale={{ emptyText: t('wall.noLate') }}
          columns={[
            { title: t('ticket.number'), dataIndex: 'number', render: (n: string, r) => <Link to={`/tickets/${r.id}`}>{n}</Link> },
            { title: t('ticket.category'), dataIndex: 'category', render: (c: string) => label('category', c) },
            { title: t('ticket.state'), dataIndex: 'state', render: (s: string) => <StateTag state={s} /> },
            { title: t('ticket.lead'), dataIndex: 'leadDepartmentId', render: (d: string | null) => deptName(d) },
            {
              title: t('ticket.deadline'),
              key: 'level',
              render: (_: unknown, r) => (
                <Space size={4} wrap>
                  {r.milestones.map((m) => (
                    <Tag key={m.key} color={m.level === 'overdue' ? 'red' : 'gold'}>
                      {label('milestone', m.key)} {label('deadlineState', m.level)} · {dayjs(m.dueAt).format('MM-DD HH:mm')}
                    </Tag>
                  ))}
                  {r.supervised && <Tag color="red">{t('ticket.supervised')}</Tag>}
                  {r.urgeCount > 0 && <Tag color="volcano">{t('ticket.urged', { n: r.urgeCount })}</Tag>}
                </Space>
              ),
            },
            {
              title: t('wall.urgeSupervise'),
              key: 'act',
              width: 110,
              render: (_: unknown, r) => (
                <Button size="small" type="primary" onClick={() => onOpen(r.id)} aria-label={`${t('wall.urgeSupervise')} ${r.number}`}>
                  {t('wall.urgeSupervise')}
                </Button>
              ),
            },
          ]}
        />
      </Col>
    </Row>
  );
}

function CallsChart({ report }: { report: CallKpiReport | null }) {
  const { t } = useI18n();
  const option = useMemo(() => {
    const buckets = report?.buckets ?? [];
    return {
      tooltip: { trigger: 'axis' },
      legend: { data: [t('kpi.offered'), t('kpi.answered'), t('kpi.abandoned')] },
      grid: { left: 40, right: 16, top: 32, bottom: 28 },
      xAxis: { type: 'category', data: buckets.map((b) => b.key.slice(-2)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        { name: t('kpi.offered'), type: 'bar', data: buckets.map((b) => b.offered), itemStyle: { color: '#1456f0' } },
        { name: t('kpi.answered'), type: 'bar', data: buckets.map((b) => b.answered), itemStyle: { color: '#389e0d' } },
        { name: t('kpi.abandoned'), type: 'line', data: buckets.map((b) => b.abandoned), itemStyle: { color: '#a8071a' } },
      ],
    };
  }, [report, t]);
  if (!report) return <Alert type="info" message={t('common.loading')} />;
  return <EChart option={option} label={t('wall.callsPerHour')} testId="chart-callsPerHour" />;
}

function CategoryChart({ counts }: { counts: Record<string, number> | null }) {
  const { t } = useI18n();
  const label = useLabel();
  const option = useMemo(() => {
    const data = CATEGORIES.map((c) => ({ name: label('category', c), value: counts?.[c] ?? 0 }));
    const none = data.every((d) => d.value === 0);
    return {
      tooltip: { trigger: 'item' },
      legend: { bottom: 0, data: data.map((d) => d.name) },
      series: [
        {
          type: 'pie',
          radius: ['35%', '65%'],
          // no ticket yet today: ECharts' empty ring, not six equal slices of nothing
          data: none ? [] : data,
          showEmptyCircle: true,
          stillShowZeroSum: false,
        },
      ],
    };
  }, [counts, label]);
  if (!counts) return <Alert type="info" message={t('common.loading')} />;
  return <EChart option={option} label={t('wall.byCategory')} testId="chart-byCategory" />;
}
