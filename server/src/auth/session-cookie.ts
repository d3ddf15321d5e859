/**
 * The console's session (issue #5 item 1): the JWT lives in an httpOnly cookie, not in
 * localStorage, so script injected into the page cannot read it. SameSite=Strict keeps other
 * sites from sending it; because a cookie is attached by the browser on its own, requests that
 * change something must also carry `X-Requested-With: hotline-console` (a header a cross-site
 * form or image cannot set, and a cross-site script cannot send without a CORS preflight this
 * server never grants). API clients keep using `Authorization: Bearer`.
 */
import type { CookieOptions, Request } from 'express';

export const SESSION_COOKIE = 'hotline_session';
export const CSRF_HEADER = 'x-requested-with';
export const CSRF_HEADER_VALUE = 'hotline-console';

/** Methods that change state and therefore need the CSRF header when authenticated by cookie. */
export const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const TOKEN = /^[A-Za-z0-9._-]+$/;

/** The session token from a Cookie header (express has no cookie parser here; one name is all we need). */
export function sessionTokenFrom(cookieHeader: string | undefined): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const i = part.indexOf('=');
    if (i < 0 || part.slice(0, i).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(i + 1).trim();
    return TOKEN.test(value) ? value : null;
  }
  return null;
}

/** Secure when the request came over https (directly or via a trusted proxy) or when configured so. */
export function cookieOptions(req: Request, forceSecure: boolean, expiresAt?: Date): CookieOptions {
  return {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure: forceSecure || req.secure,
    ...(expiresAt ? { expires: expiresAt } : {}),
  };
}

export const isConsoleRequest = (req: Request): boolean => req.headers[CSRF_HEADER] === CSRF_HEADER_VALUE;
