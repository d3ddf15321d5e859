import type { DirectoryModels } from '../directory/model.js';
import { loginSchema } from '../directory/schema.js';
import { presentUser } from '../directory/service.js';
import { AppError, notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { dummyHash, verifyPassword } from './password.js';
import { ALL_ROLES } from './policies.js';
import type { TokenService } from './tokens.js';

export function authRoutes(api: ApiRouter, m: DirectoryModels, tokens: TokenService): void {
  api.add({
    method: 'post',
    path: '/auth/login',
    tag: 'auth',
    summary: 'Log in with username and password; returns a JWT for the API and the socket',
    body: loginSchema,
    async handler({ body }) {
      const user = await m.User.findOne({ username: body.username }).lean();
      // Verify against a dummy hash for unknown users so timing does not reveal who exists.
      const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash()), body.password);
      if (!user || !ok || !user.active) throw new AppError('INVALID_CREDENTIALS', 'wrong username or password');
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
