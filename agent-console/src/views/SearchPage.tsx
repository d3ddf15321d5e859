import { Button, Card, Form, Input, Select, Space } from 'antd';
import { useState } from 'react';
import { api } from '../api/client';
import { TICKET_STATES, type TicketList } from '../api/types';
import { useUser } from '../auth/AuthContext';
import { TicketTable } from '../components/TicketTable';
import { useI18n, useLabel } from '../i18n';

interface SearchValues {
  number?: string;
  phone?: string;
  q?: string;
  state?: string[];
}

/** Ticket search by number, phone or text (GET /api/tickets). Departments may not search by phone. */
export function SearchPanel() {
  const user = useUser();
  const { t } = useI18n();
  const label = useLabel();
  const [result, setResult] = useState<TicketList | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const search = async (v: SearchValues) => {
    setLoading(true);
    try {
      setResult(
        await api<TicketList>('/tickets', {
          query: { number: v.number?.trim(), phone: v.phone?.trim(), q: v.q?.trim(), state: v.state?.join(','), pageSize: 50 },
        }),
      );
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setLoading(false);
    }
  };
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      {/* named: its field ids (search_phone…) must not clash with the intake form's beside it */}
      <Form name="search" layout="inline" onFinish={(v: SearchValues) => void search(v)} aria-label={t('search.title')}>
        <Form.Item name="number" label={t('ticket.number')}>
          <Input placeholder="12345-20261126-000001" allowClear />
        </Form.Item>
        {user.role !== 'department' && (
          <Form.Item name="phone" label={t('search.phone')}>
            <Input inputMode="tel" allowClear />
          </Form.Item>
        )}
        <Form.Item name="q" label={t('search.text')}>
          <Input allowClear />
        </Form.Item>
        <Form.Item name="state" label={t('ticket.state')}>
          <Select mode="multiple" allowClear style={{ minWidth: 180 }} options={TICKET_STATES.map((s) => ({ value: s, label: label('state', s) }))} />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={loading}>
          {t('search.submit')}
        </Button>
      </Form>
      {error && <div role="alert">{error}</div>}
      {result && (
        <div data-testid="search-results">
          <TicketTable items={result.items} myDepartmentId={user.departmentId} caption={t('search.results', { n: result.total })} />
        </div>
      )}
      {result && (
        <span aria-live="polite" data-testid="search-total">
          {t('search.results', { n: result.total })}
        </span>
      )}
    </Space>
  );
}

export default function SearchPage() {
  const { t } = useI18n();
  return (
    <Card title={t('search.title')} size="small">
      <SearchPanel />
    </Card>
  );
}
