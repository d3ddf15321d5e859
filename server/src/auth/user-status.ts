import type { Model } from 'mongoose';
import type { UserDoc } from '../directory/model.js';

/**
 * Whether a token's user is still active, so deactivating someone takes effect before their
 * token expires. Cached briefly per process (a read per request would double the load of
 * simple reads); the instance that deactivates drops its cache entry at once, other instances
 * follow within `ttlMs`.
 */
export class UserStatus {
  private readonly cache = new Map<string, { active: boolean; at: number }>();
  constructor(
    private readonly User: Model<UserDoc>,
    private readonly ttlMs = 10_000,
  ) {}

  async isActive(id: string): Promise<boolean> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.active;
    const user = await this.User.findById(id, { active: 1 }).lean();
    const active = !!user?.active;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { active, at: Date.now() });
    return active;
  }

  invalidate(id: string): void {
    this.cache.delete(id);
  }
}
