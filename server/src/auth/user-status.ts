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

  /**
   * Which of these users are inactive or gone, in one query per 500 (the socket session check
   * asks about every connected user at once; one read each would be thousands per check).
   */
  async inactiveAmong(ids: readonly string[]): Promise<Set<string>> {
    const inactive = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.User.find({ _id: { $in: chunk } }, { active: 1 }).lean();
      const active = new Set(rows.filter((r) => r.active).map((r) => String(r._id)));
      const at = Date.now();
      if (this.cache.size > 10_000) this.cache.clear();
      for (const id of chunk) {
        this.cache.set(id, { active: active.has(id), at });
        if (!active.has(id)) inactive.add(id);
      }
    }
    return inactive;
  }

  invalidate(id: string): void {
    this.cache.delete(id);
  }
}
