import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import type { Actor } from '../tickets/types.js';
import type { UserRole } from '../directory/model.js';
import type { TokenService } from './tokens.js';
import type { UserStatus } from './user-status.js';

declare module 'express-serve-static-core' {
  interface Request {
    actor?: Actor;
  }
}

export function authenticate(tokens: TokenService, status: UserStatus) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._-]+)$/.exec(header) : null;
    if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'missing or malformed bearer token');
    const actor = await tokens.verify(match[1]);
    if (!actor) throw new AppError('UNAUTHENTICATED', 'invalid or expired token');
    if (!(await status.isActive(actor.id))) throw new AppError('UNAUTHENTICATED', 'this account is deactivated');
    req.actor = actor;
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
