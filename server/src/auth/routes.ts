import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { DirectoryModels } from '../directory/model.js';
import { loginSchema } from '../directory/schema.js';
import { presentUser } from '../directory/service.js';
import { AppError, notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { dummyHash, verifyPassword } from './password.js';
import { ALL_ROLES } from './policies.js';
import type { TokenService } from './tokens.js';

/** Failed logins allowed per username and per source IP within 15 minutes. */
export const LOGIN_FAILURES_ALLOWED = 10;

export function authRoutes(api: ApiRouter, m: DirectoryModels, tokens: TokenService, redis?: { client: Redis; prefix: string }): void {
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
    summary: 'Log in with username and password; returns a JWT for the API and the socket',
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
      return { token, expiresAt, user: presentUser(user) };
    },
  });

  api.add({
    method: 'get',
    path: '/auth/me',
    tag: 'auth',
    summary: 'The logged-in user',
    roles: ALL_ROLES,
    async handler({ actor }) {
      const user = await m.User.findById(actor.id).lean();
      if (!user || !user.active) throw notFound('user');
      return presentUser(user);
    },
  });
}
