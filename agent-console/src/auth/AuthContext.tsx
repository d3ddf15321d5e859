import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, setMemoryToken, setUnauthorizedHandler, type SessionEnd } from '../api/client';
import type { LoginResponse, User } from '../api/types';

type Status = 'booting' | 'anonymous' | 'authenticated';

interface Auth {
  status: Status;
  user: User | null;
  /** why the user is on the login page: the session ran out, or they logged out */
  notice: SessionEnd | 'logged_out' | null;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  /** the session is gone (401, refused socket): back to the login page with a notice */
  expire: (why?: SessionEnd) => void;
}

const Ctx = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>('booting');
  const [user, setUser] = useState<User | null>(null);
  const [notice, setNotice] = useState<Auth['notice']>(null);

  const expire = useCallback((why: SessionEnd = 'expired') => {
    setMemoryToken(null);
    setUser(null);
    setStatus((s) => {
      if (s === 'authenticated') setNotice(why);
      return 'anonymous';
    });
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(expire);
    return () => setUnauthorizedHandler(null);
  }, [expire]);

  // Restore the session from the cookie (a memory token never survives a reload).
  useEffect(() => {
    let live = true;
    api<User>('/auth/me', { expect401: true })
      .then((u) => {
        if (!live) return;
        setUser(u);
        setStatus('authenticated');
      })
      .catch(() => live && setStatus('anonymous'));
    return () => {
      live = false;
    };
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    const r = await api<LoginResponse>('/auth/login', { method: 'POST', body: { username, password }, expect401: true });
    // Cookie deployments answer without a token; older servers return one: memory only.
    setMemoryToken(typeof r.token === 'string' ? r.token : null);
    setUser(r.user);
    setNotice(null);
    setStatus('authenticated');
  }, []);

  const logout = useCallback(async () => {
    try {
      await api('/auth/logout', { method: 'POST', expect401: true });
    } catch (e) {
      // 404: a server without the logout route (bearer only); forgetting the token is the logout.
      if (!(e instanceof ApiError)) throw e;
    }
    setMemoryToken(null);
    setUser(null);
    setNotice('logged_out');
    setStatus('anonymous');
  }, []);

  const value = useMemo(() => ({ status, user, notice, login, logout, expire }), [status, user, notice, login, logout, expire]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): Auth {
  const v = useContext(Ctx);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** The logged-in user (inside the authenticated shell). */
export function useUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error('no user');
  return user;
}
