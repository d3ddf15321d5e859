import type { Redis } from 'ioredis';

/**
 * Revoked tokens (logout): a deny-list in Redis keyed by token id, each entry living exactly as
 * long as the token it denies would have (TTL = remaining life), so the list never grows past
 * the tokens still alive. Shared by every server instance.
 */
export class RevocationList {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(tokenId: string): string {
    return `${this.prefix}:auth:revoked:${tokenId}`;
  }

  /** Deny `tokenId` until `expiresAt` (nothing to do for a token already expired). */
  async revoke(tokenId: string, expiresAt: Date): Promise<void> {
    const ttlMs = expiresAt.getTime() - Date.now();
    if (ttlMs <= 0) return;
    await this.redis.set(this.key(tokenId), '1', 'PX', ttlMs);
  }

  async isRevoked(tokenId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(tokenId))) === 1;
  }

  /** Which of these token ids are revoked (one round trip, for the socket sweep). */
  async revokedAmong(tokenIds: readonly string[]): Promise<Set<string>> {
    if (tokenIds.length === 0) return new Set();
    const values = await this.redis.mget(tokenIds.map((id) => this.key(id)));
    return new Set(tokenIds.filter((_, i) => values[i] !== null));
  }
}
