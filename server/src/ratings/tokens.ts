/**
 * Single-use, expiring rating links: a random 32-byte token (base64url, 43 characters) sent to
 * the citizen; stored hashed with the ticket id, the handling round and the expiry (model.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RatingModels, RatingTokenDoc } from './model.js';

export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

const isDuplicateKey = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 11000;

export class RatingTokens {
  constructor(
    private readonly models: RatingModels,
    private readonly ttlMs: number,
  ) {}

  /** A new link for this ticket's round. */
  async issue(ticketId: string, round: number, now: Date): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.models.RatingToken.create({ _id: hashToken(token), ticketId, round, createdAt: now, expiresAt, usedAt: null });
    return { token, expiresAt };
  }

  async find(token: string): Promise<(RatingTokenDoc & { used: boolean }) | null> {
    if (!TOKEN_PATTERN.test(token)) return null;
    const id = hashToken(token);
    const [doc, claim] = await Promise.all([this.models.RatingToken.findById(id).lean<RatingTokenDoc>(), this.models.RatingClaim.findById(id).lean()]);
    return doc ? { ...doc, used: claim !== null } : null;
  }

  /** Exactly one caller wins a token (unique insert); the others get false. */
  async claim(token: string, now: Date): Promise<boolean> {
    try {
      await this.models.RatingClaim.collection.insertOne({ _id: hashToken(token), at: now } as never);
      return true;
    } catch (e) {
      if (isDuplicateKey(e)) return false;
      throw e;
    }
  }

  /** Give a claimed token back when the rating could not be recorded (the citizen may try again). */
  async release(token: string): Promise<void> {
    await this.models.RatingClaim.deleteOne({ _id: hashToken(token) });
  }

  async markUsed(token: string, now: Date): Promise<void> {
    await this.models.RatingToken.updateOne({ _id: hashToken(token) }, { $set: { usedAt: now } });
  }
}
