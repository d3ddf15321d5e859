import { App, Badge, Button, Card, Col, Row, Space, Table, Tabs, Tag, Tooltip } from 'antd';
import dayjs from 'dayjs';
import { useCallback, useEffect, useState } from 'react';
import { PRIORITY } from '../../../../server/src/calls/acd';
import { api, ApiError } from '../../api/client';
import type { AgentStatus, CallbackTask, CallerCard, CallRecord, TransferOutcome } from '../../api/types';
import { TicketTable } from '../../components/TicketTable';
import { useI18n, useLabel } from '../../i18n';
import { useCallEvents, useRealtime } from '../../realtime/RealtimeProvider';
import { useLiveTickets } from '../../realtime/useLiveTickets';
import { SearchPanel } from '../SearchPage';
import { CallCard, type LiveCall } from './CallCard';
import { IntakeForm, KnowledgePanel } from './IntakeForm';
import { PresenceControl } from './PresenceControl';

/** the queue priority the ACD gives a caller on the elderly list (a pure module, shared) */
const ELDERLY_PRIORITY = PRIORITY.elderly;

/** The agent's workbench (issue #5 item 2). */
export default function AgentView() {
  const { t } = useI18n();
  const callbacks = useCallbacks();
  const [call, setCall] = useState<LiveCall | null>(null);
  const [answerDraft, setAnswerDraft] = useState('');
  const [knowledgeId, setKnowledgeId] = useState<string | null>(null);

  // The screen pop arrives on answer; the call's end and the transfer outcome follow.
  useCallEvents((ev) => {
    if (ev.type === 'call.answered') {
      setCall({ card: ev.data as unknown as CallerCard, ended: false, transfer: null });
      setAnswerDraft('');
      setKnowledgeId(null);
    } else if (ev.type === 'call.ended') {
      setCall((c) => (c && c.card.callId === ev.data.callId ? { ...c, ended: true } : c));
    } else if (ev.type === 'call.transfer') {
      const tr = ev.data as unknown as TransferOutcome;
      setCall((c) => (c && c.card.callId === tr.callId ? { ...c, transfer: tr, ended: c.ended || tr.outcome === 'connected' } : c));
    }
  });

  // After a reload mid-call: rebuild a minimal card from the agent's state and the call record.
  const onStatus = useCallback((s: AgentStatus) => {
    if (s.state !== 'on_call' || !s.callId) return;
    const callId = s.callId;
    setCall((c) => {
      if (c?.card.callId === callId) return c;
      void api<CallRecord>(`/calls/${encodeURIComponent(callId)}`)
        .then((r) =>
          setCall((cur) =>
            cur?.card.callId === callId
              ? cur
              : {
                  card: {
                    callId,
                    fromNumber: String(r.fromNumber ?? ''),
                    displayName: String(r.displayName ?? ''),
                    line: String(r.line ?? ''),
                    lineName: String(r.lineName ?? r.line ?? ''),
                    // the ACD gave the call the elderly priority (老年人优先) from the elderly list
                    elderly: r.priority === ELDERLY_PRIORITY,
                    repeatCaller: false,
                    fromGateway: null,
                    gatewayReference: null,
                    earlierTickets: [],
                    answeredAt: String(r.answeredAt ?? new Date().toISOString()),
                  },
                  ended: false,
                  transfer: r.transfer ?? null,
                },
          ),
        )
        .catch(() => undefined);
      return c;
    });
  }, []);

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Card size="small">
        <PresenceControl onStatus={onStatus} />
      </Card>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={7}>
          <CallCard call={call} onTransfer={(tr, before) => setCall((c) => (c && c.card.callId === tr.callId && c.transfer === before ? { ...c, transfer: tr } : c))} />
        </Col>
        <Col xs={24} xl={11}>
          <IntakeForm call={call} answerDraft={answerDraft} knowledgeId={knowledgeId} onFiled={() => setCall((c) => (c?.ended ? null : c))} />
        </Col>
        <Col xs={24} xl={6}>
          <KnowledgePanel
            onUse={(a) => {
              setAnswerDraft(a.body);
              setKnowledgeId(a.id);
            }}
          />
        </Col>
      </Row>
      <Card size="small">
        <Tabs
          items={[
            { key: 'work', label: t('agent.hotlineQueue'), children: <HotlineWork /> },
            {
              key: 'callbacks',
              label: (
                <Space size={6}>
                  {t('callbacks.title')}
                  <Badge count={callbacks.items?.length ?? 0} overflowCount={999} data-testid="callback-count" />
                </Space>
              ),
              children: <Callbacks items={callbacks.items} reload={callbacks.reload} />,
            },
            { key: 'search', label: t('nav.search'), children: <SearchPanel /> },
          ]}
        />
      </Card>
    </Space>
  );
}

/** Tickets waiting on the hotline: returns to review, replies to review, return visits. */
function HotlineWork() {
  const { t } = useI18n();
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  const live = useLiveTickets({
    query: { state: 'returned,replied,visiting', pageSize: 100 },
    keep: (tk) => ['returned', 'replied', 'visiting'].includes(tk.state),
    accept: (ev, listed) => listed || ['returned', 'replied', 'visiting'].includes(ev.state),
    onArrival: (tk) => setFresh((s) => new Set(s).add(tk.id)),
  });
  return <TicketTable items={live.items} loading={live.loading && live.items.length === 0} highlight={fresh} caption={t('agent.hotlineQueue')} />;
}

/**
 * 未接回拨: abandoned calls and calls past the maximum wait, refreshed when the ACD changes.
 * Kept by the workbench (not the tab), so the tab's count is live while another tab is open.
 */
function useCallbacks(): { items: CallbackTask[] | null; reload: () => void } {
  const { epoch } = useRealtime();
  const [items, setItems] = useState<CallbackTask[] | null>(null);
  const load = useCallback(() => {
    api<{ items: CallbackTask[] }>('/callbacks')
      .then((r) => setItems(r.items))
      .catch(() => setItems((cur) => cur ?? []));
  }, []);
  useEffect(load, [load, epoch]);
  useCallEvents((ev) => {
    // acd.changed is coalesced by the engine (at most one per 250 ms) and lists its reasons
    const reasons = ev.type === 'acd.changed' && Array.isArray(ev.data.reasons) ? (ev.data.reasons as unknown[]) : [];
    if (reasons.includes('abandoned') || reasons.includes('sweep') || reasons.includes('callback')) load();
  });
  return { items, reload: load };
}

type CallbackResult = 'reached' | 'no_answer' | 'invalid_number';

function Callbacks({ items, reload }: { items: CallbackTask[] | null; reload: () => void }) {
  const { t } = useI18n();
  const label = useLabel();
  const { message } = App.useApp();
  const [busy, setBusy] = useState<string | null>(null);
  const record = async (task: CallbackTask, result: CallbackResult): Promise<void> => {
    setBusy(task.id);
    try {
      await api(`/callbacks/${encodeURIComponent(task.id)}/results`, { method: 'POST', body: { result } });
      message.success(t(`callbacks.recorded.${result}`));
    } catch (e) {
      // someone else closed it meanwhile: the list is refreshed below
      message.warning(e instanceof ApiError && e.code === 'CALLBACK_CLOSED' ? t('callbacks.alreadyClosed') : e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
      reload();
    }
  };
  return (
    <Table<CallbackTask>
      size="small"
      rowKey="id"
      data-testid="callback-list"
      loading={items === null}
      dataSource={items ?? []}
      pagination={{ pageSize: 10, hideOnSinglePage: true }}
      locale={{ emptyText: t('callbacks.none') }}
      columns={[
        { title: t('calls.from'), dataIndex: 'callerNumber', render: (n: string) => <span className="countdown" data-testid="callback-number">{n}</span> },
        { title: t('calls.line'), dataIndex: 'line' },
        { title: t('callbacks.reason'), dataIndex: 'reason', render: (r: string) => <Tag>{label('callbackReason', r)}</Tag> },
        { title: t('callbacks.waited'), dataIndex: 'waitedSeconds', render: (s: number) => `${s} s` },
        { title: t('callbacks.leftAt'), dataIndex: 'leftAt', render: (d: string) => dayjs(d).format('MM-DD HH:mm:ss') },
        {
          title: t('callbacks.attempts'),
          dataIndex: 'attempts',
          render: (n: number | undefined, task) => {
            const last = task.lastAttempt as { at: string; by: string } | undefined;
            const count = <span data-testid="callback-attempts">{n ?? 0}</span>;
            return last ? <Tooltip title={t('callbacks.lastAttempt', { who: last.by, at: dayjs(last.at).format('MM-DD HH:mm') })}>{count}</Tooltip> : count;
          },
        },
        {
          title: t('callbacks.actions'),
          key: 'actions',
          render: (_: unknown, task) => {
            const noNumber = task.status === 'no_number';
            const results: CallbackResult[] = noNumber ? ['invalid_number'] : ['reached', 'no_answer', 'invalid_number'];
            return (
              <Space size={4} wrap>
                {results.map((r) => (
                  <Button
                    key={r}
                    size="small"
                    type={r === 'reached' ? 'primary' : 'default'}
                    loading={busy === task.id}
                    data-callback-result={r}
                    aria-label={t('callbacks.resultAria', { result: t(`callbacks.result.${r}`), number: task.callerNumber || '—' })}
                    onClick={() => void record(task, r)}
                  >
                    {t(`callbacks.result.${r}`)}
                  </Button>
                ))}
              </Space>
            );
          },
        },
      ]}
    />
  );
}
