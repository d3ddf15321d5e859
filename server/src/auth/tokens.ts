import { SignJWT, jwtVerify } from 'jose';
import type { Actor } from '../tickets/types.js';
import type { UserRole } from '../directory/model.js';
import { USER_ROLES } from '../directory/model.js';

/** JWT (HS256) carried as a Bearer token by the API and in the socket.io handshake. */
export class TokenService {
  private readonly key: Uint8Array;
  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(actor: Actor & { role: UserRole }): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ name: actor.name, role: actor.role, dept: actor.departmentId ?? null })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(actor.id)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSeconds)
      .setIssuer('hotline-12345')
      .sign(this.key);
    return { token, expiresAt: new Date((now + this.ttlSeconds) * 1000) };
  }

  /** Returns the actor, or null for any invalid, expired or tampered token. */
  async verify(token: string): Promise<Actor | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: 'hotline-12345', algorithms: ['HS256'] });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || typeof payload.name !== 'string') return null;
      if (typeof role !== 'string' || !(USER_ROLES as readonly string[]).includes(role)) return null;
      const dept = typeof payload.dept === 'string' ? payload.dept : null;
      return { id: payload.sub, name: payload.name, role: role as UserRole, departmentId: dept };
    } catch {
      return null;
    }
  }
}
