/**
 * Agents' SIP phone credentials (issue 4 item 1: "credentials per agent from the directory").
 * The directory keeps only the digest HA1 = MD5(username:realm:password) on the user, never the
 * password; the engine mirrors the HA1s of active users into one Redis hash that every telephony
 * instance reads when a phone registers. The mirror is rebuilt at start-up and updated on change,
 * so losing Redis loses nothing that the next start (or change) does not restore.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { UserDoc } from '../directory/model.js';
import { SIP_CREDENTIALS_KEY } from './telephony-contract.js';

export const sipHa1 = (username: string, realm: string, password: string): string =>
  createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest('hex');

type SipUser = Pick<UserDoc, '_id' | 'active' | 'sip'>;

export class SipCredentials {
  constructor(
    private readonly User: Model<UserDoc>,
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly realm: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:${SIP_CREDENTIALS_KEY}`;
  }

  /** Rebuild the mirror from the directory (start-up). Returns how many users can register. */
  async sync(): Promise<number> {
    const users = await this.User.find({}, { active: 1, sip: 1 }).lean<SipUser[]>();
    const valid = users.filter((u) => u.active && u.sip?.ha1 && u.sip.realm === this.realm);
    const tx = this.redis.multi().del(this.key);
    if (valid.length > 0) tx.hset(this.key, Object.fromEntries(valid.map((u) => [u._id, u.sip!.ha1])));
    await tx.exec();
    return valid.length;
  }

  /** Set (or replace) a user's SIP password: HA1 in the directory and in the mirror. */
  async setPassword(userId: string, password: string): Promise<boolean> {
    const sip = { ha1: sipHa1(userId, this.realm, password), realm: this.realm };
    const r = await this.User.updateOne({ _id: userId }, { $set: { sip } });
    if (r.matchedCount === 0) return false;
    await this.redis.hset(this.key, userId, sip.ha1);
    return true;
  }

  /** A user deactivated or removed from the phones: the phone can no longer register. */
  async revoke(userId: string): Promise<void> {
    await this.redis.hdel(this.key, userId);
  }
}
