import { Space, Table, Tag, Tooltip } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import dayjs from 'dayjs';
import { Link } from 'react-router';
import type { TicketSummary } from '../api/types';
import { useI18n, useLabel } from '../i18n';
import { useDirectory } from '../views/DirectoryContext';
import { DeadlineTag, useNow } from './DeadlineTag';

const URGENCY_COLOUR: Record<string, string> = { normal: 'default', urgent: 'orange', critical: 'red' };

export function StateTag({ state }: { state: string }) {
  const label = useLabel();
  return <Tag>{label('state', state)}</Tag>;
}

/** A dense ticket list; `myDepartmentId` marks co-handled tickets (协办). */
export function TicketTable({
  items,
  loading,
  myDepartmentId,
  extra,
  highlight,
  pageSize = 20,
  caption,
}: {
  items: TicketSummary[];
  loading?: boolean;
  myDepartmentId?: string | null;
  extra?: ColumnsType<TicketSummary>;
  highlight?: ReadonlySet<string>;
  pageSize?: number;
  caption: string;
}) {
  const { t } = useI18n();
  const label = useLabel();
  const { deptName } = useDirectory();
  const now = useNow(30_000);
  const columns: ColumnsType<TicketSummary> = [
    {
      title: t('ticket.number'),
      dataIndex: 'number',
      width: 200,
      render: (n: string, r) => <Link to={`/tickets/${r.id}`}>{n}</Link>,
    },
    {
      title: t('ticket.category'),
      dataIndex: 'category',
      width: 80,
      render: (c: string) => label('category', c),
    },
    {
      title: t('ticket.urgency'),
      dataIndex: 'urgency',
      width: 80,
      render: (u: string) => <Tag color={URGENCY_COLOUR[u]}>{label('urgency', u)}</Tag>,
    },
    {
      title: t('ticket.state'),
      dataIndex: 'state',
      width: 90,
      render: (s: string) => <StateTag state={s} />,
    },
    {
      title: t('ticket.subject'),
      key: 'subject',
      ellipsis: true,
      render: (_: unknown, r) => (
        <Space size={4} wrap>
          {myDepartmentId && r.leadDepartmentId !== myDepartmentId && r.coDepartmentIds.includes(myDepartmentId) && <Tag color="purple">{t('ticket.coHandling')}</Tag>}
          {r.supervised && <Tag color="red">{t('ticket.supervised')}</Tag>}
          {r.urgeCount > 0 && <Tag color="volcano">{t('ticket.urged', { n: r.urgeCount })}</Tag>}
          {r.pendingExtension && <Tag color="gold">{t('ticket.extensionPending', { n: r.pendingExtension.days })}</Tag>}
          {r.elderly && <Tag color="cyan">{t('call.elderly')}</Tag>}
          <Tooltip title={r.address}>
            <span>{r.title ?? r.address}</span>
          </Tooltip>
        </Space>
      ),
    },
    {
      title: t('ticket.caller'),
      key: 'caller',
      width: 130,
      render: (_: unknown, r) => <span className="countdown">{r.caller.phone}</span>,
    },
    {
      title: t('ticket.lead'),
      dataIndex: 'leadDepartmentId',
      width: 150,
      ellipsis: true,
      render: (d: string | null) => deptName(d),
    },
    {
      title: t('ticket.deadline'),
      key: 'deadline',
      width: 230,
      render: (_: unknown, r) => <DeadlineTag ticket={r} now={now} />,
    },
    {
      title: t('ticket.created'),
      dataIndex: 'createdAt',
      width: 130,
      render: (d: string) => dayjs(d).format('MM-DD HH:mm'),
    },
    ...(extra ?? []),
  ];
  return (
    <Table<TicketSummary>
      size="small"
      rowKey="id"
      columns={columns}
      dataSource={items}
      loading={loading}
      pagination={{ pageSize, showSizeChanger: false, hideOnSinglePage: true }}
      rowClassName={(r) => (highlight?.has(r.id) ? 'arrival-flash' : '')}
      scroll={{ x: 1100 }}
      aria-label={caption}
      locale={{ emptyText: t('common.empty') }}
    />
  );
}
