/**
 * The frame of the public citizen pages (complaint, rating): the red bar with the title, the
 * large-text switch (适老化) and the language switch, and the page body below. The page keeps
 * the large-text state (useLargeText) because its own layout may depend on it.
 */
import { ConfigProvider, Space, Switch } from 'antd';
import type { ReactNode } from 'react';
import { useI18n } from '../../i18n';
import { LanguageSwitch } from '../LanguageSwitch';
import { LARGE_TEXT_THEME } from './useLargeText';

export function CitizenShell({ title, className, large, onLarge, children }: { title: string; className?: string; large: boolean; onLarge: (on: boolean) => void; children: ReactNode }) {
  const { t } = useI18n();
  const classes = ['citizen', className, large ? 'large-text' : null].filter(Boolean).join(' ');
  return (
    <ConfigProvider theme={large ? LARGE_TEXT_THEME : {}}>
      <div className={classes} style={{ minHeight: '100%' }}>
        <header className="app-header" style={{ minHeight: 56 }}>
          <h1 className="app-title" style={large ? { fontSize: 22 } : undefined}>
            {title}
          </h1>
          <Space>
            <Space style={{ color: '#fff' }}>
              <span id="large-text-label">{t('citizen.largeText')}</span>
              <Switch
                checked={large}
                onChange={onLarge}
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
          {children}
        </main>
      </div>
    </ConfigProvider>
  );
}
