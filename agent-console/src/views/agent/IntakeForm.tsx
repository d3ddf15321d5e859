import { App, Button, Card, Checkbox, Col, Form, Input, Radio, Row, Select, Space, Tag, Typography } from 'antd';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router';
import { api, newIdempotencyKey } from '../../api/client';
import { CATEGORIES, URGENCIES, type Category, type KnowledgeArticle, type RoutingSuggestion, type Ticket, type Urgency } from '../../api/types';
import { useI18n, useLabel } from '../../i18n';
import { useDirectory } from '../DirectoryContext';
import type { LiveCall } from './CallCard';

interface IntakeValues {
  callerName?: string;
  phone: string;
  anonymous: boolean;
  confidential: boolean;
  elderly: boolean;
  category: Category;
  urgency: Urgency;
  districtId?: string;
  streetId?: string;
  address: string;
  content: string;
  leadDepartmentId?: string;
  coDepartmentIds?: string[];
  answer?: string;
}

/**
 * The intake form (受理), pre-filled from the answered call; routing suggests the lead department
 * (overridable). "Answer on the spot" files the ticket and closes it with the answer (直接办结);
 * "Dispatch" files it and sends it to the department (派单). One Idempotency-Key per form, so a
 * retry after a network error never files the matter twice.
 */
export function IntakeForm({ call, answerDraft, knowledgeId, onFiled }: { call: LiveCall | null; answerDraft: string; knowledgeId: string | null; onFiled: (t: Ticket) => void }) {
  const { t } = useI18n();
  const label = useLabel();
  const { message } = App.useApp();
  const { districts, streets, departments, deptName } = useDirectory();
  const [form] = Form.useForm<IntakeValues>();
  const [suggestion, setSuggestion] = useState<RoutingSuggestion | null>(null);
  const [busy, setBusy] = useState<'answer' | 'dispatch' | null>(null);
  const idemKey = useRef(newIdempotencyKey());
  /** the agent chose the lead department: routing suggestions no longer overwrite it */
  const leadOverridden = useRef(false);
  const category = Form.useWatch('category', form);
  const districtId = Form.useWatch('districtId', form);
  const streetId = Form.useWatch('streetId', form);
  const leadDepartmentId = Form.useWatch('leadDepartmentId', form);
  const callId = call?.card.callId ?? null;

  // A new call: a new form pre-filled from the caller card (and the caller's latest ticket).
  useEffect(() => {
    idemKey.current = newIdempotencyKey();
    leadOverridden.current = false;
    form.resetFields();
    if (!call) return;
    form.setFieldsValue({ phone: call.card.fromNumber, elderly: call.card.elderly, callerName: call.card.displayName || undefined });
    const last = call.card.earlierTickets[0];
    if (last) {
      api<Ticket>(`/tickets/${last.id}`)
        .then((tk) => {
          if (form.getFieldValue('address')) return;
          form.setFieldsValue({
            callerName: form.getFieldValue('callerName') || tk.caller.name || undefined,
            districtId: tk.area.districtId ?? undefined,
            streetId: tk.area.streetId ?? undefined,
            address: tk.address,
          });
        })
        .catch(() => undefined);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [callId]);

  useEffect(() => {
    if (answerDraft) form.setFieldsValue({ answer: answerDraft });
  }, [answerDraft, form]);

  // Routing suggestion (归口): the most specific rule, else the area's government.
  useEffect(() => {
    if (!category) return;
    let live = true;
    api<RoutingSuggestion>('/routing/suggest', { query: { category, districtId, streetId } })
      .then((s) => {
        if (!live) return;
        setSuggestion(s);
        if (s.suggestion && !leadOverridden.current) form.setFieldsValue({ leadDepartmentId: s.suggestion.departmentId });
      })
      .catch(() => live && setSuggestion(null));
    return () => {
      live = false;
    };
  }, [category, districtId, streetId, form]);

  const streetOptions = useMemo(() => streets.filter((s) => !districtId || s.districtId === districtId).map((s) => ({ value: s.id, label: s.name })), [streets, districtId]);
  const deptOptions = useMemo(() => departments.filter((d) => d.active).map((d) => ({ value: d.id, label: deptName(d.id) })), [departments, deptName]);

  const file = async (mode: 'answer' | 'dispatch') => {
    const fields: (keyof IntakeValues)[] = ['phone', 'category', 'urgency', 'address', 'content', 'callerName', 'anonymous'];
    const v = await form.validateFields(mode === 'answer' ? [...fields, 'answer'] : [...fields, 'leadDepartmentId']);
    const all = { ...form.getFieldsValue(true), ...v } as IntakeValues;
    setBusy(mode);
    try {
      let tk = await api<Ticket>('/tickets', {
        method: 'POST',
        idempotencyKey: idemKey.current,
        body: {
          channel: 'phone',
          caller: { name: all.anonymous ? null : (all.callerName ?? null), phone: all.phone.trim(), anonymous: !!all.anonymous },
          category: all.category,
          urgency: all.urgency,
          area: { districtId: all.districtId ?? null, streetId: all.streetId ?? null },
          address: all.address,
          content: all.content,
          confidential: !!all.confidential,
          elderly: !!all.elderly,
          callId,
          externalRef: call?.card.gatewayReference ?? null,
        },
      });
      if (mode === 'answer') {
        tk = await api<Ticket>(`/tickets/${tk.id}/answer-directly`, {
          method: 'POST',
          ifMatch: tk.version,
          body: { answer: all.answer, ...(knowledgeId ? { knowledgeArticleId: knowledgeId } : {}) },
        });
      } else {
        tk = await api<Ticket>(`/tickets/${tk.id}/dispatch`, {
          method: 'POST',
          ifMatch: tk.version,
          body: { leadDepartmentId: all.leadDepartmentId, coDepartmentIds: all.coDepartmentIds ?? [] },
        });
      }
      message.success(t(mode === 'answer' ? 'intake.answered' : 'intake.dispatched', { number: tk.number }));
      idemKey.current = newIdempotencyKey();
      leadOverridden.current = false;
      form.resetFields();
      // still on the call (a second matter from the same caller): keep the caller's number
      if (call && !call.ended) form.setFieldsValue({ phone: call.card.fromNumber, elderly: call.card.elderly });
      setSuggestion(null);
      onFiled(tk);
    } catch (e) {
      message.error(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  };

  const anonymous = Form.useWatch('anonymous', form);
  return (
    <Card size="small" title={t('intake.title')} extra={callId ? <Tag color="red">{t('intake.fromCall')}</Tag> : null}>
      <Form form={form} layout="vertical" size="middle" initialValues={{ urgency: 'normal', anonymous: false, confidential: false, elderly: false }} aria-label={t('intake.title')}>
        <Row gutter={12}>
          <Col span={8}>
            <Form.Item name="phone" label={t('intake.phone')} rules={[{ required: true, pattern: /^\+?[0-9][0-9 -]{2,19}$/, message: t('intake.phoneInvalid') }]}>
              <Input inputMode="tel" />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="callerName" label={t('intake.name')} rules={[{ required: !anonymous, message: t('form.required', { field: t('intake.name') }) }]}>
              <Input disabled={!!anonymous} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item label={t('intake.flags')}>
              <Space wrap size={4}>
                <Form.Item name="anonymous" valuePropName="checked" noStyle>
                  <Checkbox>{t('intake.anonymous')}</Checkbox>
                </Form.Item>
                <Form.Item name="confidential" valuePropName="checked" noStyle>
                  <Checkbox>{t('intake.confidential')}</Checkbox>
                </Form.Item>
                <Form.Item name="elderly" valuePropName="checked" noStyle>
                  <Checkbox>{t('call.elderly')}</Checkbox>
                </Form.Item>
              </Space>
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={12}>
          <Col span={14}>
            <Form.Item name="category" label={t('ticket.category')} rules={[{ required: true, message: t('form.required', { field: t('ticket.category') }) }]}>
              <Radio.Group optionType="button" options={CATEGORIES.map((c) => ({ value: c, label: label('category', c) }))} />
            </Form.Item>
          </Col>
          <Col span={10}>
            <Form.Item name="urgency" label={t('ticket.urgency')} rules={[{ required: true }]}>
              <Radio.Group optionType="button" options={URGENCIES.map((u) => ({ value: u, label: label('urgency', u) }))} />
            </Form.Item>
          </Col>
        </Row>
        <Row gutter={12}>
          <Col span={8}>
            <Form.Item name="districtId" label={t('intake.district')}>
              <Select allowClear options={districts.map((d) => ({ value: d.id, label: d.name }))} onChange={() => form.setFieldsValue({ streetId: undefined })} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="streetId" label={t('intake.street')}>
              <Select allowClear options={streetOptions} />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="address" label={t('ticket.address')} rules={[{ required: true, min: 2, message: t('form.required', { field: t('ticket.address') }) }]}>
              <Input />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="content" label={t('ticket.content')} rules={[{ required: true, min: 5, message: t('form.min', { field: t('ticket.content'), n: 5 }) }]}>
          <Input.TextArea rows={4} maxLength={20000} showCount />
        </Form.Item>
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item
              name="leadDepartmentId"
              label={t('intake.lead')}
              extra={
                suggestion?.suggestion ? (
                  <Space size={4} wrap>
                    <span data-testid="routing-suggestion" data-department={suggestion.suggestion.departmentId}>
                      {t('intake.suggested', { dept: deptName(suggestion.suggestion.departmentId), reason: label('routeReason', suggestion.suggestion.reason) })}
                    </span>
                    {leadDepartmentId && leadDepartmentId !== suggestion.suggestion.departmentId && (
                      <>
                        <Tag color="orange" data-testid="lead-overridden">
                          {t('intake.overridden')}
                        </Tag>
                        <Button
                          type="link"
                          size="small"
                          style={{ padding: 0, height: 'auto' }}
                          onClick={() => {
                            leadOverridden.current = false;
                            form.setFieldsValue({ leadDepartmentId: suggestion.suggestion!.departmentId });
                          }}
                        >
                          {t('intake.useSuggestion')}
                        </Button>
                      </>
                    )}
                  </Space>
                ) : undefined
              }
              rules={[{ required: true, message: t('form.required', { field: t('intake.lead') }) }]}
            >
              <Select showSearch optionFilterProp="label" options={deptOptions} onChange={() => (leadOverridden.current = true)} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item name="coDepartmentIds" label={t('ticket.co')}>
              <Select mode="multiple" showSearch optionFilterProp="label" options={deptOptions} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="answer" label={t('intake.answer')} rules={[{ required: true, min: 2, message: t('form.required', { field: t('intake.answer') }) }]} extra={t('intake.answerHint')}>
          <Input.TextArea rows={3} />
        </Form.Item>
        <Space wrap>
          <Button onClick={() => void file('answer')} loading={busy === 'answer'} disabled={busy !== null} data-testid="answer-directly">
            {t('intake.answerDirectly')}
          </Button>
          <Button type="primary" onClick={() => void file('dispatch')} loading={busy === 'dispatch'} disabled={busy !== null} data-testid="dispatch">
            {t('intake.dispatch')}
          </Button>
          <Typography.Text type="secondary">
            <Link to="/search">{t('nav.search')}</Link>
          </Typography.Text>
        </Space>
      </Form>
    </Card>
  );
}

/** Knowledge-base search beside the form (知识库); "use" copies the article into the answer. */
export function KnowledgePanel({ category, onUse }: { category?: Category; onUse: (a: KnowledgeArticle) => void }) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [items, setItems] = useState<KnowledgeArticle[]>([]);
  const [loading, setLoading] = useState(false);
  const search = async (text: string) => {
    setLoading(true);
    try {
      setItems((await api<{ items: KnowledgeArticle[] }>('/knowledge', { query: { q: text.trim() || undefined, category, limit: 8 } })).items);
    } catch {
      setItems([]);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void search(q);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [category]);
  return (
    <Card size="small" title={t('kb.title')}>
      <Input.Search value={q} onChange={(e) => setQ(e.target.value)} onSearch={(v) => void search(v)} placeholder={t('kb.placeholder')} enterButton={t('kb.search')} loading={loading} aria-label={t('kb.title')} />
      <div style={{ maxHeight: 520, overflow: 'auto', marginTop: 8 }} role="list" aria-label={t('kb.results')}>
        {items.length === 0 && <Typography.Text type="secondary">{t('kb.none')}</Typography.Text>}
        {items.map((a) => (
          <div key={a.id} role="listitem" style={{ borderBottom: '1px solid #f0f0f0', padding: '8px 0' }}>
            <Space style={{ justifyContent: 'space-between', width: '100%' }}>
              <strong>{a.title}</strong>
              <Button size="small" onClick={() => onUse(a)} aria-label={t('kb.useAria', { title: a.title })}>
                {t('kb.use')}
              </Button>
            </Space>
            <Typography.Paragraph ellipsis={{ rows: 3, expandable: true, symbol: t('kb.more') }} style={{ margin: '4px 0 0' }}>
              {a.body}
            </Typography.Paragraph>
            <Space size={4} wrap>
              {a.tags.map((tag) => (
                <Tag key={tag}>{tag}</Tag>
              ))}
            </Space>
          </div>
        ))}
      </div>
    </Card>
  );
}
