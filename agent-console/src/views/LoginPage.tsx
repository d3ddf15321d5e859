import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { ApiError } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { useI18n } from '../i18n';
import { LanguageSwitch } from './LanguageSwitch';

export function LoginPage() {
  const { login, notice } = useAuth();
  const { t } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (v: { username: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await login(v.username.trim(), v.password);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'INVALID_CREDENTIALS') setError(t('login.invalid'));
      else if (e instanceof ApiError && e.code === 'RATE_LIMITED') setError(t('login.rateLimited'));
      else setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div style={{ minHeight: '100%', display: 'flex', flexDirection: 'column' }}>
      <header className="app-header" style={{ height: 56 }}>
        <h1 className="app-title">{t('app.title')}</h1>
        <LanguageSwitch />
      </header>
      <main style={{ flex: 1, display: 'flex', alignItems: 'flex-start', justifyContent: 'center', paddingTop: 64 }}>
        <Card title={<h2 style={{ margin: 0, fontSize: 18 }}>{t('login.heading')}</h2>} style={{ width: 400 }}>
          {notice === 'expired' && <Alert type="warning" showIcon message={t('login.expired')} style={{ marginBottom: 16 }} role="alert" />}
          {notice === 'revoked' && <Alert type="warning" showIcon message={t('login.revoked')} style={{ marginBottom: 16 }} role="alert" />}
          {notice === 'deactivated' && <Alert type="error" showIcon message={t('login.deactivated')} style={{ marginBottom: 16 }} role="alert" />}
          {notice === 'logged_out' && <Alert type="info" showIcon message={t('login.loggedOut')} style={{ marginBottom: 16 }} />}
          {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} role="alert" />}
          <Form layout="vertical" onFinish={submit} requiredMark={false} aria-label={t('login.heading')}>
            <Form.Item label={t('login.username')} name="username" htmlFor="login-username" rules={[{ required: true, message: t('login.usernameRequired') }]}>
              <Input autoComplete="username" autoFocus id="login-username" />
            </Form.Item>
            <Form.Item label={t('login.password')} name="password" htmlFor="login-password" rules={[{ required: true, message: t('login.passwordRequired') }]}>
              <Input.Password autoComplete="current-password" id="login-password" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block loading={busy} size="large">
              {t('login.submit')}
            </Button>
          </Form>
          <Typography.Paragraph type="secondary" style={{ marginTop: 16, marginBottom: 0, fontSize: 13 }}>
            {t('login.roles')}
          </Typography.Paragraph>
        </Card>
      </main>
    </div>
  );
}
