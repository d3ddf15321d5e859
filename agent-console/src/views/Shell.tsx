import { LogoutOutlined } from '@ant-design/icons';
import { Badge, Button, Layout, Menu, Space, Tooltip } from 'antd';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'react-router';
import type { Role } from '../api/types';
import { useAuth, useUser } from '../auth/AuthContext';
import { useI18n, useLabel, type MessageKey } from '../i18n';
import { useRealtime } from '../realtime/RealtimeProvider';
import { LanguageSwitch } from './LanguageSwitch';

const NAV: Record<Role, { path: string; label: MessageKey }[]> = {
  agent: [
    { path: '/agent', label: 'nav.agent' },
    { path: '/search', label: 'nav.search' },
  ],
  window: [
    { path: '/agent', label: 'nav.agent' },
    { path: '/search', label: 'nav.search' },
  ],
  department: [
    { path: '/department', label: 'nav.department' },
    { path: '/search', label: 'nav.search' },
  ],
  supervisor: [
    { path: '/wallboard', label: 'nav.wallboard' },
    { path: '/search', label: 'nav.search' },
  ],
  admin: [{ path: '/admin', label: 'nav.admin' }],
};

export function Shell({ children }: { children: ReactNode }) {
  const user = useUser();
  const { logout } = useAuth();
  const { t } = useI18n();
  const label = useLabel();
  const { connected } = useRealtime();
  const loc = useLocation();
  const items = NAV[user.role].map((n) => ({ key: n.path, label: <Link to={n.path}>{t(n.label)}</Link> }));
  const selected = NAV[user.role].find((n) => loc.pathname.startsWith(n.path))?.path;
  return (
    <Layout style={{ minHeight: '100%' }}>
      <a className="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <Layout.Header className="app-header" style={{ height: 56, lineHeight: '56px' }}>
        <div style={{ display: 'flex', alignItems: 'center', gap: 24, flex: 1, minWidth: 0 }}>
          <span className="app-title">{t('app.title')}</span>
          <Menu
            mode="horizontal"
            theme="dark"
            selectedKeys={selected ? [selected] : []}
            items={items}
            style={{ background: 'transparent', flex: 1, minWidth: 0, borderBottom: 'none' }}
            aria-label={t('nav.aria')}
          />
        </div>
        <Space>
          <Tooltip title={connected ? t('rt.connected') : t('rt.disconnected')}>
            <span role="status" aria-live="polite" data-testid="rt-status">
              <Badge status={connected ? 'success' : 'error'} text={<span style={{ color: '#fff' }}>{connected ? t('rt.live') : t('rt.offline')}</span>} />
            </span>
          </Tooltip>
          <span data-testid="current-user">
            {user.name} · {label('role', user.role)}
          </span>
          <LanguageSwitch />
          <Button ghost size="small" icon={<LogoutOutlined />} onClick={() => void logout()} aria-label={t('nav.logout')}>
            {t('nav.logout')}
          </Button>
        </Space>
      </Layout.Header>
      <Layout.Content id="main" tabIndex={-1} style={{ padding: 16 }}>
        {children}
      </Layout.Content>
    </Layout>
  );
}
