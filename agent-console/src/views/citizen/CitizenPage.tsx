/**
 * The public online-complaint page (网上诉求, issue #5 item 7) for citizens filing without a
 * login, with a large-text mode for elderly users (适老化): 20 px text, 48 px controls, kept for
 * the next visit. It posts to POST /api/public/complaints (server/src/intake, issue #6); if the
 * server refuses (rate limit, CAPTCHA) the page says so and gives the hotline number instead.
 */
import { Alert, Button, Card, Checkbox, ConfigProvider, Form, Input, Radio, Result, Space, Switch, Typography } from 'antd';
import { useState } from 'react';
import { api, ApiError, newIdempotencyKey } from '../../api/client';
import { CATEGORIES, type Category } from '../../api/types';
import { useI18n, useLabel } from '../../i18n';
import { LanguageSwitch } from '../LanguageSwitch';

const LARGE_KEY = 'hotline.largeText';

function initialLarge(): boolean {
  try {
    return window.localStorage.getItem(LARGE_KEY) === '1';
  } catch {
    return false;
  }
}

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
  const [large, setLarge] = useState(initialLarge);
  const [busy, setBusy] = useState(false);
  const [filed, setFiled] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [key] = useState(newIdempotencyKey);
  const [form] = Form.useForm<Values>();
  const anonymous = Form.useWatch('anonymous', form);

  const toggleLarge = (on: boolean) => {
    setLarge(on);
    try {
      window.localStorage.setItem(LARGE_KEY, on ? '1' : '0');
    } catch {
      /* storage disabled */
    }
  };

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
    <ConfigProvider theme={large ? { token: { fontSize: 20, controlHeight: 48, controlHeightLG: 56 } } : {}}>
      <div className={large ? 'citizen large-text' : 'citizen'} style={{ minHeight: '100%' }}>
        <header className="app-header" style={{ minHeight: 56 }}>
          <h1 className="app-title" style={large ? { fontSize: 22 } : undefined}>
            {t('citizen.title')}
          </h1>
          <Space>
            <Space style={{ color: '#fff' }}>
              <span id="large-text-label">{t('citizen.largeText')}</span>
              <Switch
                checked={large}
                onChange={toggleLarge}
                aria-labelledby="large-text-label"
                data-testid="large-text"
                // visible on the red bar in both positions
                style={{ backgroundColor: large ? '#237804' : 'rgba(0, 0, 0, 0.45)' }}
              />
            </Space>
            <LanguageSwitch />
          </Space>
        </header>
        <main id="main" style={{ maxWidth: 760, margin: '24px auto', padding: '0 16px' }}>
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
        </main>
      </div>
    </ConfigProvider>
  );
}
