import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import type { Actor } from '../tickets/types.js';
import type { UserRole } from '../directory/model.js';
import { isConsoleRequest, sessionTokenFrom, UNSAFE_METHODS } from './session-cookie.js';
import type { TokenRefusal, TokenService, VerifiedToken } from './tokens.js';
import type { UserStatus } from './user-status.js';

declare module 'express-serve-static-core' {
  interface Request {
    actor?: Actor;
    /** The verified token of this request and where it came from. */
    session?: VerifiedToken & { via: 'bearer' | 'cookie' };
  }
}

/**
 * `error.details.reason` of a 401 UNAUTHENTICATED, so the console can tell "session expired,
 * log in again" from "not logged in". The code stays UNAUTHENTICATED for every case.
 */
export const AUTH_REASONS = {
  missing: 'TOKEN_MISSING',
  invalid: 'TOKEN_INVALID',
  expired: 'SESSION_EXPIRED',
  revoked: 'SESSION_REVOKED',
  deactivated: 'ACCOUNT_DEACTIVATED',
} as const;

const MESSAGES: Record<TokenRefusal | 'missing' | 'deactivated', string> = {
  missing: 'missing or malformed bearer token',
  invalid: 'invalid or expired token',
  expired: 'session expired; log in again',
  revoked: 'session ended (logged out); log in again',
  deactivated: 'this account is deactivated',
};

export const unauthenticated = (reason: keyof typeof AUTH_REASONS): AppError =>
  new AppError('UNAUTHENTICATED', MESSAGES[reason], { reason: AUTH_REASONS[reason] });

/** The token of a request: `Authorization: Bearer` first (API clients), else the session cookie. */
export function credentialOf(req: Request): { token: string; via: 'bearer' | 'cookie' } | { malformed: true } | null {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer ([A-Za-z0-9._-]+)$/.exec(header);
    return match?.[1] ? { token: match[1], via: 'bearer' } : { malformed: true };
  }
  const cookie = sessionTokenFrom(req.headers.cookie);
  return cookie ? { token: cookie, via: 'cookie' } : null;
}

export function authenticate(tokens: TokenService, status: UserStatus) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const cred = credentialOf(req);
    if (!cred || 'malformed' in cred) throw unauthenticated('missing');
    const r = await tokens.inspect(cred.token);
    if (!r.ok) throw unauthenticated(r.reason);
    if (!(await status.isActive(r.actor.id))) throw unauthenticated('deactivated');
    // CSRF guard: a cookie rides along with any request the browser makes, a custom header does not.
    if (cred.via === 'cookie' && UNSAFE_METHODS.has(req.method) && !isConsoleRequest(req)) {
      throw new AppError('CSRF_REQUIRED', 'cookie-authenticated changes need the header X-Requested-With: hotline-console');
    }
    req.actor = r.actor;
    req.session = { ...r, via: cred.via };
    next();
  };
}

/** Role gate; use after authenticate. */
export function requireRoles(...roles: readonly UserRole[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const role = req.actor?.role;
    if (!role || !(roles as readonly string[]).includes(role)) throw new AppError('FORBIDDEN', 'not allowed for your role');
    next();
  };
}

export function actorOf(req: Request): Actor {
  if (!req.actor) throw new AppError('UNAUTHENTICATED', 'not authenticated');
  return req.actor;
}
