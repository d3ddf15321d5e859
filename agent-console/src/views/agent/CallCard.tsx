import { PhoneOutlined } from '@ant-design/icons';
import { Alert, App, Button, Card, Descriptions, Empty, List, Modal, Space, Tag, Typography } from 'antd';
import dayjs from 'dayjs';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import type { CallerCard, TransferOutcome } from '../../api/types';
import { useI18n, useLabel } from '../../i18n';

export interface LiveCall {
  card: CallerCard;
  ended: boolean;
  transfer: TransferOutcome | null;
}

/** The caller card (screen pop) with the one-click 转110 button. */
export function CallCard({ call, onTransfer }: { call: LiveCall | null; onTransfer: (t: TransferOutcome, before: TransferOutcome | null) => void }) {
  const { t } = useI18n();
  const label = useLabel();
  const { message } = App.useApp();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);

  if (!call) {
    return (
      <Card size="small" title={t('call.title')}>
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('call.waiting')} />
      </Card>
    );
  }
  const { card, ended, transfer } = call;
  const transferLive = transfer?.outcome === 'pending';
  const canTransfer = !ended && !transferLive && transfer?.outcome !== 'connected';

  const transfer110 = async () => {
    setBusy(true);
    // the outcome shown when the agent confirmed: the result may come over the socket before
    // the 202 does, and then the 202 (pending) must not replace it
    const before = transfer;
    try {
      const r = await api<TransferOutcome>(`/calls/${encodeURIComponent(card.callId)}/transfer`, { method: 'POST', body: { target: '110' } });
      onTransfer({ ...r, callId: card.callId, reason: null, at: null }, before);
      setConfirming(false);
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card
      size="small"
      title={
        <Space>
          <PhoneOutlined aria-hidden />
          {t('call.title')}
          {ended ? <Tag>{t('call.ended')}</Tag> : <Tag color="red">{t('call.live')}</Tag>}
        </Space>
      }
      data-testid="call-card"
    >
      <div role="region" aria-live="assertive" aria-label={t('call.title')}>
        <Space wrap align="center" style={{ marginBottom: 8 }}>
          <span className="caller-number" data-testid="caller-number">
            {card.fromNumber}
          </span>
          {card.elderly && (
            <Tag color="cyan" data-testid="caller-elderly">
              {t('call.elderly')}
            </Tag>
          )}
          {card.repeatCaller && (
            <Tag color="orange" data-testid="caller-repeat">
              {t('call.repeat')}
            </Tag>
          )}
          {card.fromGateway && (
            <Tag color="blue" data-testid="caller-from-gateway">
              {t('call.from110', { ref: card.gatewayReference ?? '' })}
            </Tag>
          )}
        </Space>
        <Descriptions size="small" column={2}>
          <Descriptions.Item label={t('call.line')}>{card.lineName || card.line}</Descriptions.Item>
          <Descriptions.Item label={t('call.answeredAt')}>{dayjs(card.answeredAt).format('HH:mm:ss')}</Descriptions.Item>
        </Descriptions>
      </div>
      <Button
        type="primary"
        danger
        block
        className="transfer-110"
        disabled={!canTransfer}
        loading={busy || transferLive}
        onClick={() => setConfirming(true)}
        aria-label={t('transfer.aria')}
        data-testid="transfer-110"
      >
        {t('transfer.button')}
      </Button>
      {transfer && (
        <Alert
          style={{ marginTop: 8 }}
          role="status"
          showIcon
          type={transfer.outcome === 'connected' ? 'success' : transfer.outcome === 'pending' ? 'info' : 'error'}
          message={t('transfer.outcome', { target: transfer.targetName, outcome: label('transferOutcome', transfer.outcome) })}
          description={transfer.reason ?? undefined}
          data-testid="transfer-outcome"
        />
      )}
      <Modal
        open={confirming}
        title={t('transfer.confirmTitle')}
        okText={t('transfer.confirmOk')}
        okButtonProps={{ danger: true, size: 'large' }}
        cancelText={t('common.cancel')}
        onOk={() => void transfer110()}
        onCancel={() => setConfirming(false)}
        confirmLoading={busy}
      >
        <Typography.Paragraph>{t('transfer.confirmBody', { number: card.fromNumber })}</Typography.Paragraph>
      </Modal>
      <Typography.Title level={5} style={{ marginTop: 12 }}>
        {t('call.earlier', { n: card.earlierTickets.length })}
      </Typography.Title>
      <List
        size="small"
        dataSource={card.earlierTickets}
        locale={{ emptyText: t('call.noEarlier') }}
        renderItem={(e) => (
          <List.Item>
            <Space wrap size={4}>
              <Link to={`/tickets/${e.id}`}>{e.number}</Link>
              <Tag>{label('state', e.state)}</Tag>
              <Tag>{label('category', e.category)}</Tag>
              <Typography.Text type="secondary">{dayjs(e.createdAt).format('YYYY-MM-DD')}</Typography.Text>
              <span>{e.summary}</span>
            </Space>
          </List.Item>
        )}
      />
    </Card>
  );
}
