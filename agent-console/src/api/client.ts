/**
 * The one HTTP client of the console.
 *
 * Session: the server sets an httpOnly, SameSite=Strict cookie at login (issue #5 item 1), so
 * no script can read the session. Every request is same-origin with credentials and carries
 * `X-Requested-With: hotline-console`, which the server requires of cookie-authenticated writes
 * (CSRF guard). Until the cookie is deployed, a login response that still carries a bearer
 * token keeps it in this module's memory only — never localStorage or sessionStorage — so a
 * reload asks for a new login and no token survives the tab.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let memoryToken: string | null = null;
/** Why a session ended (server: 401 details.reason, socket `session.ended`). */
export type SessionEnd = 'expired' | 'revoked' | 'deactivated';
let onUnauthorized: ((why: SessionEnd) => void) | null = null;

const REASONS: Record<string, SessionEnd> = { SESSION_EXPIRED: 'expired', SESSION_REVOKED: 'revoked', ACCOUNT_DEACTIVATED: 'deactivated' };
/** The server's 401 reason code (SESSION_EXPIRED…) as a session end; unknown ones count as expired. */
export const sessionEndOf = (reason: unknown): SessionEnd => (typeof reason === 'string' && REASONS[reason]) || 'expired';

export const setMemoryToken = (t: string | null): void => {
  memoryToken = t;
};
export const getMemoryToken = (): string | null => memoryToken;
/** Called once per 401 on an authenticated request (the session expired or was revoked). */
export const setUnauthorizedHandler = (fn: ((why: SessionEnd) => void) | null): void => {
  onUnauthorized = fn;
};

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Record<string, string | number | boolean | null | undefined>;
  /** ticket version to act on (If-Match: "v3") */
  ifMatch?: number;
  idempotencyKey?: string;
  /** a 401 here is an answer, not an expired session (login, boot-time /auth/me) */
  expect401?: boolean;
  signal?: AbortSignal;
}

export function buildUrl(path: string, query?: RequestOptions['query']): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
  const s = qs.toString();
  return `/api${path}${s ? `?${s}` : ''}`;
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', 'X-Requested-With': 'hotline-console' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (memoryToken) headers.Authorization = `Bearer ${memoryToken}`;
  if (opts.ifMatch !== undefined) headers['If-Match'] = `"v${opts.ifMatch}"`;
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  const res = await fetch(buildUrl(path, opts.query), {
    method: opts.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: opts.signal,
  });
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
    if (res.status === 401 && !opts.expect401) onUnauthorized?.(sessionEndOf((err?.details as { reason?: unknown } | undefined)?.reason));
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText, err?.details);
  }
  return data as T;
}

/** A key that makes a retried create return the first ticket (server: Idempotency-Key). */
export function newIdempotencyKey(): string {
  const rnd = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return `console-${rnd}`;
}
