import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { DirectoryModels } from '../directory/model.js';
import { loginSchema } from '../directory/schema.js';
import { presentUser } from '../directory/service.js';
import { AppError, notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { dummyHash, verifyPassword } from './password.js';
import { credentialOf } from './middleware.js';
import { ALL_ROLES } from './policies.js';
import { cookieOptions, CSRF_HEADER_VALUE, isConsoleRequest, SESSION_COOKIE } from './session-cookie.js';
import type { TokenService } from './tokens.js';

/** Failed logins allowed per username and per source IP within 15 minutes. */
export const LOGIN_FAILURES_ALLOWED = 10;

export interface AuthRouteOptions {
  redis?: { client: Redis; prefix: string };
  /** Mark the session cookie Secure even on plain http (TLS ended by a non-loopback proxy). */
  cookieSecure?: boolean;
  /** Called after a logout revoked a token: end that session's sockets on every instance. */
  onRevoked?: (tokenId: string) => void;
}

export function authRoutes(api: ApiRouter, m: DirectoryModels, tokens: TokenService, opts: AuthRouteOptions = {}): void {
  const { redis } = opts;
  // Password guessing is slowed per account and per source (shared by every server instance
  // through Redis): after LOGIN_FAILURES_ALLOWED failures, 429 with Retry-After until the window
  // ends. Successful logins do not count.
  const failures = redis
    ? {
        byUser: new RateLimiterRedis({ storeClient: redis.client, keyPrefix: `${redis.prefix}:login-fail:user`, points: LOGIN_FAILURES_ALLOWED, duration: 15 * 60 }),
        byIp: new RateLimiterRedis({ storeClient: redis.client, keyPrefix: `${redis.prefix}:login-fail:ip`, points: LOGIN_FAILURES_ALLOWED * 5, duration: 15 * 60 }),
      }
    : null;

  api.add({
    method: 'post',
    path: '/auth/login',
    tag: 'auth',
    summary:
      'Log in with username and password. Sets the httpOnly session cookie `hotline_session` (SameSite=Strict) for the console and returns `{ token, expiresAt, user }`; ' +
      `requests sent with \`X-Requested-With: ${CSRF_HEADER_VALUE}\` (the console) get \`{ expiresAt, user }\` without the token, which then never reaches page script`,
    body: loginSchema,
    async handler({ body, req, res }) {
      const ip = req.ip ?? 'unknown';
      if (failures) {
        const [u, i] = await Promise.all([failures.byUser.get(body.username), failures.byIp.get(ip)]);
        const blocked = [u, i].filter((r) => r !== null && r.remainingPoints <= 0);
        if (blocked.length > 0) {
          const retry = Math.ceil(Math.max(...blocked.map((r) => r!.msBeforeNext)) / 1000);
          res.setHeader('Retry-After', String(retry));
          throw new AppError('RATE_LIMITED', `too many failed logins; try again in ${retry} s`);
        }
      }
      const user = await m.User.findOne({ username: body.username }).lean();
      // Verify against a dummy hash for unknown users so timing does not reveal who exists.
      const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash()), body.password);
      if (!user || !ok || !user.active) {
        if (failures) await Promise.all([failures.byUser.penalty(body.username, 1), failures.byIp.penalty(ip, 1)]).catch(() => undefined);
        throw new AppError('INVALID_CREDENTIALS', 'wrong username or password');
      }
      const { token, expiresAt } = await tokens.issue({ id: user._id, name: user.name, role: user.role, departmentId: user.departmentId });
      res.cookie(SESSION_COOKIE, token, cookieOptions(req, opts.cookieSecure ?? false, expiresAt));
      // The console authenticates with the cookie alone: keep the token out of its page script.
      if (isConsoleRequest(req)) return { expiresAt, user: presentUser(user) };
      return { token, expiresAt, user: presentUser(user) };
    },
  });

  api.add({
    method: 'post',
    path: '/auth/logout',
    tag: 'auth',
    summary:
      'Log out: clears the session cookie and revokes the token (cookie or Bearer) until it would have expired; the sockets of that session are disconnected. ' +
      'Public so that an expired session can still clear its cookie; with the cookie it needs `X-Requested-With: hotline-console` like every change.',
    async handler({ req, res }) {
      const cred = credentialOf(req);
      if (cred && !('malformed' in cred) && cred.via === 'cookie' && !isConsoleRequest(req)) {
        throw new AppError('CSRF_REQUIRED', `logging out with the session cookie needs the header X-Requested-With: ${CSRF_HEADER_VALUE}`);
      }
      const { expires: _expires, ...clear } = cookieOptions(req, opts.cookieSecure ?? false);
      res.clearCookie(SESSION_COOKIE, clear);
      let revoked = false;
      if (cred && !('malformed' in cred)) {
        const r = await tokens.inspect(cred.token);
        if (r.ok) {
          revoked = await tokens.revoke(r);
          if (revoked) opts.onRevoked?.(r.tokenId);
        }
      }
      return { loggedOut: true, revoked };
    },
  });

  api.add({
    method: 'get',
    path: '/auth/me',
    tag: 'auth',
    summary: 'The logged-in user, with `sessionExpiresAt` (when the token or cookie in use expires); the console calls it on load to know whether it is logged in',
    roles: ALL_ROLES,
    async handler({ actor, req }) {
      const user = await m.User.findById(actor.id).lean();
      if (!user || !user.active) throw notFound('user');
      return { ...presentUser(user), sessionExpiresAt: req.session?.expiresAt ?? null };
    },
  });
}
