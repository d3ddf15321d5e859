import { App as AntApp, ConfigProvider, Spin } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import dayjs from 'dayjs';
import 'dayjs/locale/zh-cn';
import { lazy, Suspense, useEffect } from 'react';
import { HashRouter, Navigate, Route, Routes } from 'react-router';
import type { Role } from './api/types';
import { AuthProvider, useAuth } from './auth/AuthContext';
import { I18nProvider, useI18n } from './i18n';
import { RealtimeProvider } from './realtime/RealtimeProvider';
import { DirectoryProvider } from './views/DirectoryContext';
import { LoginPage } from './views/LoginPage';
import { Shell } from './views/Shell';

// One chunk per workspace: an agent never downloads the wallboard (and its ECharts).
const AgentView = lazy(() => import('./views/agent/AgentView'));
const DepartmentView = lazy(() => import('./views/department/DepartmentView'));
const Wallboard = lazy(() => import('./views/supervisor/Wallboard'));
const TicketPage = lazy(() => import('./views/ticket/TicketPage'));
const SearchPage = lazy(() => import('./views/SearchPage'));
const AdminPage = lazy(() => import('./views/AdminPage'));
const CitizenPage = lazy(() => import('./views/citizen/CitizenPage'));
const RatePage = lazy(() => import('./views/citizen/RatePage'));

/** The home of each role. */
export const HOME: Record<Role, string> = {
  agent: '/agent',
  window: '/agent',
  department: '/department',
  supervisor: '/wallboard',
  admin: '/admin',
};

function Loading() {
  const { t } = useI18n();
  return <Spin style={{ display: 'block', margin: '64px auto' }} tip={t('common.loading')} size="large"><div style={{ height: 64 }} /></Spin>;
}

function Authenticated() {
  const { user, status, expire } = useAuth();
  if (status === 'booting') return <Loading />;
  if (status !== 'authenticated' || !user) return <LoginPage />;
  const role = user.role;
  const allowed = (roles: Role[]) => roles.includes(role);
  return (
    <RealtimeProvider onAuthFailure={expire}>
      <DirectoryProvider>
        <Shell>
          <Suspense fallback={<Loading />}>
            <Routes>
              {allowed(['agent', 'window']) && <Route path="/agent" element={<AgentView />} />}
              {allowed(['department']) && <Route path="/department" element={<DepartmentView />} />}
              {allowed(['supervisor']) && <Route path="/wallboard" element={<Wallboard />} />}
              {allowed(['admin']) && <Route path="/admin" element={<AdminPage />} />}
              <Route path="/search" element={<SearchPage />} />
              <Route path="/tickets/:id" element={<TicketPage />} />
              <Route path="*" element={<Navigate to={HOME[role]} replace />} />
            </Routes>
          </Suspense>
        </Shell>
      </DirectoryProvider>
    </RealtimeProvider>
  );
}

function Localised() {
  const { lang } = useI18n();
  useEffect(() => {
    dayjs.locale(lang === 'zh-CN' ? 'zh-cn' : 'en');
  }, [lang]);
  return (
    <ConfigProvider
      locale={lang === 'zh-CN' ? zhCN : enUS}
      button={{ autoInsertSpace: false }}
      theme={{
        token: {
          // Government red as the brand; body text at 4.5:1 or better on white (WCAG AA).
          colorPrimary: '#c8161d',
          colorLink: '#1456f0',
          colorTextSecondary: 'rgba(0, 0, 0, 0.65)',
          // antd's grey for descriptions (statistic titles, form help, empty states, counters,
          // Typography secondary) is rgba(0,0,0,0.45): 3.4:1 on white; 0.65 gives 5.7:1
          colorTextDescription: 'rgba(0, 0, 0, 0.65)',
          colorTextTertiary: 'rgba(0, 0, 0, 0.65)',
          // danger buttons and error text: antd's #ff4d4f is 3.3:1 on white; red-7 is 5.6:1
          colorError: '#cf1322',
          // Tag text of the preset colours on their pale backgrounds (palette step 7 on step 1)
          // fails 4.5:1 for gold (2.8), green (3.4), cyan, orange, lime, yellow and volcano: one
          // step darker keeps each hue — the deadline tags stay green / amber / red.
          gold7: '#995c00', // amber 5.2:1 on #fffbe6 (the warning tag)
          green7: '#237804', // 5.4:1 on #f6ffed (on time)
          cyan7: '#006d75',
          orange7: '#ad4e00',
          lime7: '#3f6600',
          yellow7: '#876800',
          volcano7: '#ad2102',
          fontSize: 14,
          borderRadius: 4,
        },
        components: {
          // the header menu on the red bar: white text (≥ 4.5:1), selected item darker red
          Menu: { darkItemColor: '#ffffff', darkItemHoverColor: '#ffffff', darkItemBg: 'transparent', darkItemSelectedBg: '#820014', darkItemSelectedColor: '#ffffff' },
          // a table's empty-state text is drawn in the disabled grey (1.8:1); it is content
          Table: { colorTextDisabled: 'rgba(0, 0, 0, 0.65)' },
        },
      }}
    >
      <AntApp>
        <HashRouter>
          <Routes>
            {/* the public page: no login, no session check */}
            <Route
              path="/complaint"
              element={
                <Suspense fallback={<Loading />}>
                  <CitizenPage />
                </Suspense>
              }
            />
            {/* the SMS rating link (server: GET /rate/:token → /#/rate/:token), public too */}
            <Route
              path="/rate/:token"
              element={
                <Suspense fallback={<Loading />}>
                  <RatePage />
                </Suspense>
              }
            />
            <Route
              path="*"
              element={
                <AuthProvider>
                  <Authenticated />
                </AuthProvider>
              }
            />
          </Routes>
        </HashRouter>
      </AntApp>
    </ConfigProvider>
  );
}

export function App() {
  return (
    <I18nProvider>
      <Localised />
    </I18nProvider>
  );
}
