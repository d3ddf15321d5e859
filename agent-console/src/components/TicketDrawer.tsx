import { Descriptions, Drawer, Space, Spin, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api/client';
import type { Ticket, TicketSummary } from '../api/types';
import { useI18n, useLabel } from '../i18n';
import { useDirectory } from '../views/DirectoryContext';
import { DeadlineTag, useNow } from './DeadlineTag';
import { TicketActions } from './TicketActions';
import { StateTag } from './TicketTable';

/** Quick handling of one ticket beside a list: the essentials and the allowed actions. */
export function TicketDrawer({ id, onClose, onChanged, only }: { id: string | null; onClose: () => void; onChanged: (t: TicketSummary) => void; only?: readonly string[] }) {
  const { t } = useI18n();
  const label = useLabel();
  const { deptName } = useDirectory();
  const now = useNow(30_000);
  const [ticket, setTicket] = useState<Ticket | null>(null);
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
    <Drawer open={id !== null} onClose={onClose} width={560} title={ticket ? ticket.number : t('common.loading')} destroyOnHidden>
      {!ticket ? (
        <Spin />
      ) : (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Space wrap>
            <StateTag state={ticket.state} />
            <DeadlineTag ticket={ticket} now={now} />
          </Space>
          <Descriptions size="small" column={1} bordered>
            <Descriptions.Item label={t('ticket.category')}>{label('category', ticket.category)}</Descriptions.Item>
            <Descriptions.Item label={t('ticket.caller')}>{ticket.caller.phone}</Descriptions.Item>
            <Descriptions.Item label={t('ticket.address')}>{ticket.address}</Descriptions.Item>
            <Descriptions.Item label={t('ticket.lead')}>{deptName(ticket.leadDepartmentId)}</Descriptions.Item>
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
          />
          <Link to={`/tickets/${ticket.id}`}>{t('ticket.openDetail')}</Link>
        </Space>
      )}
    </Drawer>
  );
}
