import { App, Radio, Space, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useCallback, useEffect, useState } from 'react';
import { api } from '../../api/client';
import type { AgentStatus } from '../../api/types';
import { useUser } from '../../auth/AuthContext';
import { useI18n, useLabel } from '../../i18n';
import { useCallEvents, useRealtime } from '../../realtime/RealtimeProvider';

const STATE_COLOUR: Record<string, string> = { available: 'green', on_call: 'red', ringing: 'orange', wrap_up: 'gold', break: 'blue', logged_out: 'default' };
const SELECTABLE = ['available', 'break', 'wrap_up', 'logged_out'] as const;

/** The agent's ACD state (示闲 / 示忙 / 话后 / 签出): POST /api/agents/me/state drives the ACD. */
export function PresenceControl({ onStatus }: { onStatus?: (s: AgentStatus) => void }) {
  const user = useUser();
  const { t } = useI18n();
  const label = useLabel();
  const { message } = App.useApp();
  const { epoch } = useRealtime();
  const [status, setStatus] = useState<AgentStatus | null>(null);
  const [busy, setBusy] = useState(false);

  const apply = useCallback(
    (s: AgentStatus) => {
      setStatus(s);
      onStatus?.(s);
    },
    [onStatus],
  );

  useEffect(() => {
    api<AgentStatus>('/agents/me')
      .then(apply)
      .catch(() => undefined);
  }, [apply, epoch]);

  useCallEvents((ev) => {
    if (ev.type === 'agent.state' && ev.data.agentId === user.id && typeof ev.data.state === 'string') {
      const state = ev.data.state;
      setStatus((s) => (s ? { ...s, state, since: ev.at } : s));
    }
    // The caller card of an answer carries the call id (agent.state on_call comes with it).
    if (ev.type === 'call.answered' && typeof ev.data.callId === 'string') {
      const callId = ev.data.callId;
      setStatus((s) => (s ? { ...s, state: 'on_call', since: ev.at, callId } : s));
    }
  });

  const change = async (state: string) => {
    setBusy(true);
    try {
      apply(await api<AgentStatus>('/agents/me/state', { method: 'POST', body: { state } }));
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const current = status?.state ?? 'logged_out';
  return (
    <Space wrap align="center">
      <Typography.Text strong id="presence-label">
        {t('presence.title')}
      </Typography.Text>
      <Tag color={STATE_COLOUR[current] ?? 'default'} data-testid="agent-state" style={{ fontSize: 14, padding: '2px 8px' }}>
        {label('agentState', current)}
      </Tag>
      {status && <Typography.Text type="secondary">{t('presence.since', { time: dayjs(status.since).format('HH:mm:ss') })}</Typography.Text>}
      <Radio.Group
        aria-labelledby="presence-label"
        value={SELECTABLE.includes(current as (typeof SELECTABLE)[number]) ? current : null}
        onChange={(e) => void change(e.target.value as string)}
        disabled={busy || current === 'on_call' || current === 'ringing'}
        optionType="button"
        buttonStyle="solid"
        options={SELECTABLE.map((s) => ({ value: s, label: label('agentState', s) }))}
      />
    </Space>
  );
}
