import { App, Card, Empty, Select, Table, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from '../../api/client';
import type { AgentStatus, QueueEntry, User } from '../../api/types';
import { useNow } from '../../components/DeadlineTag';
import { useI18n, useLabel } from '../../i18n';
import { useCallEvents, useRealtime } from '../../realtime/RealtimeProvider';

/** Live ACD queue (GET /api/acd/queue, refreshed on `acd.changed`); waits tick locally. */
export function useQueue(): QueueEntry[] | null {
  const { epoch } = useRealtime();
  const [items, setItems] = useState<QueueEntry[] | null>(null);
  const load = useCallback(() => {
    api<{ items: QueueEntry[] }>('/acd/queue')
      .then((r) => setItems(r.items))
      .catch(() => setItems([]));
  }, []);
  useEffect(load, [load, epoch]);
  useCallEvents((ev) => {
    if (ev.type === 'acd.changed') load();
  });
  return items;
}

export function QueuePanel({ items }: { items: QueueEntry[] | null }) {
  const { t } = useI18n();
  const now = useNow(1000);
  const waited = (q: QueueEntry) => Math.max(0, Math.round((now - Date.parse(q.enqueuedAt)) / 1000));
  return (
    <Card size="small" title={t('wall.queue')}>
      <Table<QueueEntry>
        size="small"
        rowKey="callId"
        data-testid="queue-table"
        loading={items === null}
        dataSource={items ?? []}
        pagination={false}
        scroll={{ y: 240 }}
        locale={{ emptyText: t('wall.queueEmpty') }}
        columns={[
          { title: '#', dataIndex: 'position', width: 48 },
          { title: t('calls.from'), dataIndex: 'callerNumber', render: (n: string) => <span className="countdown">{n}</span> },
          { title: t('calls.line'), dataIndex: 'line' },
          { title: t('wall.group'), dataIndex: 'group' },
          { title: t('wall.priority'), dataIndex: 'priority', render: (p: number) => (p > 0 ? <Tag color="cyan">{p}</Tag> : p) },
          { title: t('wall.waited'), key: 'w', render: (_: unknown, q) => <span className="countdown">{waited(q)} s</span> },
        ]}
      />
    </Card>
  );
}

const STATE_COLOUR: Record<string, string> = { available: 'green', on_call: 'red', ringing: 'orange', wrap_up: 'gold', break: 'blue', logged_out: 'default' };

const FORCEABLE = ['available', 'break', 'wrap_up', 'logged_out'] as const;

interface AgentRow {
  id: string;
  name: string;
  state: string | null;
  since: string | null;
}

/**
 * Agents and their ACD states: GET /api/agents on every (re)connection, then `agent.state`
 * events. Against a server without that read, the roster comes from GET /api/users and each
 * state from the events seen since the wallboard opened — "unknown" before that, never guessed.
 */
export function AgentsPanel() {
  const { t } = useI18n();
  const label = useLabel();
  const { epoch } = useRealtime();
  const [rows, setRows] = useState<Record<string, AgentRow>>({});
  const [partial, setPartial] = useState(false);
  const { message } = App.useApp();
  const now = useNow(1000);

  // Reloaded on every (re)connection: the live `agent.state` events only say what changed.
  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const r = await api<{ items: (AgentStatus & { name?: string; since: string | null })[] }>('/agents');
        if (!live) return;
        setPartial(false);
        setRows(Object.fromEntries(r.items.map((a) => [a.agentId, { id: a.agentId, name: a.name ?? a.agentId, state: a.state, since: a.since }])));
      } catch (e) {
        // A server without GET /api/agents: the roster from the users, states from events.
        if (!(e instanceof ApiError)) return;
        const users = await api<{ items: User[] }>('/users').catch(() => ({ items: [] as User[] }));
        if (!live) return;
        setPartial(true);
        setRows((cur) => {
          const next: Record<string, AgentRow> = {};
          for (const u of users.items.filter((x) => x.role === 'agent' || x.role === 'window')) next[u.id] = cur[u.id] ?? { id: u.id, name: u.name, state: null, since: null };
          return next;
        });
      }
    })();
    return () => {
      live = false;
    };
  }, [epoch]);

  useCallEvents((ev) => {
    const id = ev.data.agentId;
    if (typeof id !== 'string') return;
    // the engine sends agent.state (on_call on answer) to the agent and the supervisors
    const state = ev.type === 'agent.state' ? ev.data.state : null;
    if (typeof state !== 'string') return;
    setRows((cur) => ({ ...cur, [id]: { id, name: cur[id]?.name ?? id, state, since: ev.at } }));
  });

  const force = async (id: string, state: string) => {
    try {
      const a = await api<AgentStatus>(`/agents/${encodeURIComponent(id)}/state`, { method: 'POST', body: { state } });
      setRows((cur) => ({ ...cur, [id]: { id, name: cur[id]?.name ?? id, state: a.state, since: a.since } }));
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    }
  };
  const list = Object.values(rows).sort((a, b) => a.name.localeCompare(b.name));
  const count = (s: string) => list.filter((r) => r.state === s).length;
  return (
    <Card
      size="small"
      title={t('wall.agents')}
      extra={
        <span>
          {t('wall.agentCounts', { available: count('available'), onCall: count('on_call'), wrapUp: count('wrap_up'), pause: count('break') })}
        </span>
      }
    >
      {partial && (
        <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>
          {t('wall.agentsPartial')}
        </Typography.Paragraph>
      )}
      <Table<AgentRow>
        size="small"
        rowKey="id"
        data-testid="agents-table"
        dataSource={list}
        pagination={false}
        scroll={{ y: 240 }}
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('common.empty')} /> }}
        columns={[
          { title: t('wall.agent'), dataIndex: 'name' },
          {
            title: t('wall.state'),
            dataIndex: 'state',
            render: (s: string | null, r) => (
              <Tag color={s ? (STATE_COLOUR[s] ?? 'default') : undefined} data-testid={`agent-state-${r.id}`} data-state={s ?? 'unknown'}>
                {s ? label('agentState', s) : t('wall.unknown')}
              </Tag>
            ),
          },
          {
            title: t('wall.inState'),
            dataIndex: 'since',
            render: (s: string | null) => (s ? <span className="countdown">{dayjs(now).diff(dayjs(s), 'minute')} min</span> : '—'),
          },
          {
            title: t('wall.forceState'),
            key: 'force',
            width: 130,
            render: (_: unknown, r) => (
              <Select
                size="small"
                style={{ width: 120 }}
                placeholder={t('wall.forceState')}
                aria-label={t('wall.forceAria', { name: r.name })}
                value={null}
                options={FORCEABLE.map((s) => ({ value: s, label: label('agentState', s) }))}
                onChange={(state: string) => void force(r.id, state)}
              />
            ),
          },
        ]}
      />
    </Card>
  );
}
