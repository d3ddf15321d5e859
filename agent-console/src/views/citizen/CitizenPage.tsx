/**
 * The public online-complaint page (网上诉求, issue #5 item 7) for citizens filing without a
 * login, with a large-text mode for elderly users (适老化): 20 px text, 48 px controls, kept for
 * the next visit. It posts to POST /api/public/complaints (server/src/intake, issue #6); if the
 * server refuses (rate limit, CAPTCHA) the page says so and gives the hotline number instead.
 */
import { Alert, Button, Card, Checkbox, Form, Input, Radio, Result, Typography } from 'antd';
import { useState } from 'react';
import { api, ApiError, newIdempotencyKey } from '../../api/client';
import { CATEGORIES, type Category } from '../../api/types';
import { useI18n, useLabel } from '../../i18n';
import { CitizenShell } from './CitizenShell';
import { useLargeText } from './useLargeText';

interface Values {
  name?: string;
  phone: string;
  anonymous: boolean;
  category: Category;
  address: string;
  content: string;
}

export default function CitizenPage() {
  const { t } = useI18n();
  const label = useLabel();
  const [large, setLarge] = useLargeText();
  const [busy, setBusy] = useState(false);
  const [filed, setFiled] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [key] = useState(newIdempotencyKey);
  const [form] = Form.useForm<Values>();
  const anonymous = Form.useWatch('anonymous', form);

  const submit = async (v: Values) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ number: string }>('/public/complaints', {
        method: 'POST',
        idempotencyKey: key,
        expect401: true,
        body: {
          channel: 'web',
          category: v.category,
          address: v.address,
          content: v.content,
          phone: v.phone.trim(),
          anonymous: !!v.anonymous,
          ...(v.anonymous || !v.name ? {} : { name: v.name }),
        },
      });
      setFiled(r.number);
    } catch (e) {
      // no public route on this server (yet): say so instead of pretending
      if (e instanceof ApiError && (e.status === 404 || e.status === 401 || e.status === 403)) setError('unavailable');
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <CitizenShell title={t('citizen.title')} large={large} onLarge={setLarge}>
          {filed ? (
            <Result status="success" title={t('citizen.filed', { number: filed })} subTitle={t('citizen.filedHint')} />
          ) : (
            <Card>
              <Typography.Paragraph>{t('citizen.intro')}</Typography.Paragraph>
              {error === 'unavailable' && <Alert type="info" showIcon role="alert" message={t('citizen.unavailable')} style={{ marginBottom: 16 }} />}
              {error && error !== 'unavailable' && <Alert type="error" showIcon role="alert" message={error} style={{ marginBottom: 16 }} />}
              <Form form={form} layout="vertical" onFinish={(v: Values) => void submit(v)} initialValues={{ anonymous: false }} aria-label={t('citizen.title')}>
                <Form.Item name="category" label={t('ticket.category')} rules={[{ required: true, message: t('form.required', { field: t('ticket.category') }) }]}>
                  <Radio.Group options={CATEGORIES.filter((c) => c !== 'praise').map((c) => ({ value: c, label: label('category', c) }))} />
                </Form.Item>
                <Form.Item name="phone" label={t('citizen.phone')} rules={[{ required: true, pattern: /^\+?[0-9][0-9 -]{2,19}$/, message: t('intake.phoneInvalid') }]}>
                  <Input inputMode="tel" autoComplete="tel" />
                </Form.Item>
                <Form.Item name="name" label={t('intake.name')} rules={[{ required: !anonymous, message: t('form.required', { field: t('intake.name') }) }]}>
                  <Input autoComplete="name" disabled={!!anonymous} />
                </Form.Item>
                <Form.Item name="anonymous" valuePropName="checked">
                  <Checkbox>{t('intake.anonymous')}</Checkbox>
                </Form.Item>
                <Form.Item name="address" label={t('ticket.address')} rules={[{ required: true, min: 2, message: t('form.required', { field: t('ticket.address') }) }]}>
                  <Input autoComplete="street-address" />
                </Form.Item>
                <Form.Item name="content" label={t('citizen.content')} rules={[{ required: true, min: 5, message: t('form.min', { field: t('citizen.content'), n: 5 }) }]}>
                  <Input.TextArea rows={6} maxLength={5000} showCount />
                </Form.Item>
                <Button type="primary" htmlType="submit" size="large" loading={busy} block>
                  {t('citizen.submit')}
                </Button>
              </Form>
            </Card>
          )}
    </CitizenShell>
  );
}
