import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import type { Actor } from '../tickets/types.js';
import type { UserRole } from '../directory/model.js';
import { USER_ROLES } from '../directory/model.js';
import type { RevocationList } from './revocations.js';

/** Why a token was refused; the console shows `expired` as "session expired, log in again". */
export type TokenRefusal = 'invalid' | 'expired' | 'revoked';

export interface VerifiedToken {
  actor: Actor;
  /** `jti`, or a hash of the token for tokens issued without one: the key of the deny-list. */
  tokenId: string;
  expiresAt: Date;
}

export type Inspection = ({ ok: true } & VerifiedToken) | { ok: false; reason: TokenRefusal };

/**
 * JWT (HS256) carried as a Bearer token by API clients, and in the httpOnly session cookie by
 * the console (session-cookie.ts); the socket.io handshake accepts either. With a
 * RevocationList, logout revokes a token before it expires.
 */
export class TokenService {
  private readonly key: Uint8Array;
  constructor(
    secret: string,
    readonly ttlSeconds: number,
    private readonly revocations: RevocationList | null = null,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  get revocable(): boolean {
    return this.revocations !== null;
  }

  async issue(actor: Actor & { role: UserRole }): Promise<{ token: string; expiresAt: Date; tokenId: string }> {
    const now = Math.floor(Date.now() / 1000);
    const tokenId = randomUUID();
    const token = await new SignJWT({ name: actor.name, role: actor.role, dept: actor.departmentId ?? null })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(actor.id)
      .setJti(tokenId)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSeconds)
      .setIssuer('hotline-12345')
      .sign(this.key);
    return { token, expiresAt: new Date((now + this.ttlSeconds) * 1000), tokenId };
  }

  /** Signature, issuer, claims, expiry and the deny-list; says why a token is refused. */
  async inspect(token: string): Promise<Inspection> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { issuer: 'hotline-12345', algorithms: ['HS256'] }));
    } catch (e) {
      // Only a token that is otherwise valid (signature, issuer) is reported as expired.
      return { ok: false, reason: e instanceof joseErrors.JWTExpired ? 'expired' : 'invalid' };
    }
    const role = payload.role;
    if (typeof payload.sub !== 'string' || typeof payload.name !== 'string') return { ok: false, reason: 'invalid' };
    if (typeof role !== 'string' || !(USER_ROLES as readonly string[]).includes(role)) return { ok: false, reason: 'invalid' };
    if (typeof payload.exp !== 'number') return { ok: false, reason: 'invalid' };
    const tokenId = typeof payload.jti === 'string' && payload.jti.length > 0 ? payload.jti : createHash('sha256').update(token).digest('hex');
    if (this.revocations && (await this.revocations.isRevoked(tokenId))) return { ok: false, reason: 'revoked' };
    const dept = typeof payload.dept === 'string' ? payload.dept : null;
    return { ok: true, actor: { id: payload.sub, name: payload.name, role: role as UserRole, departmentId: dept }, tokenId, expiresAt: new Date(payload.exp * 1000) };
  }

  /** Returns the actor, or null for any invalid, expired, revoked or tampered token. */
  async verify(token: string): Promise<Actor | null> {
    const r = await this.inspect(token);
    return r.ok ? r.actor : null;
  }

  /** Deny this token until it expires; false when there is no deny-list. */
  async revoke(v: Pick<VerifiedToken, 'tokenId' | 'expiresAt'>): Promise<boolean> {
    if (!this.revocations) return false;
    await this.revocations.revoke(v.tokenId, v.expiresAt);
    return true;
  }

  /** Which of these token ids are revoked (empty without a deny-list). */
  revokedAmong(tokenIds: readonly string[]): Promise<Set<string>> {
    return this.revocations ? this.revocations.revokedAmong(tokenIds) : Promise.resolve(new Set());
  }
}
