/**
 * Rate limits of the public citizen API, shared by every instance through Redis (the pattern of
 * auth/routes.ts): filings per source IP (hour) and per phone (day), lookups per IP (hour) and
 * failed lookups per IP (so ticket numbers cannot be enumerated against phone numbers); the
 * rating link's endpoints per IP, unknown tokens counted apart.
 * Over the limit: 429 RATE_LIMITED with Retry-After (seconds) and `details.limit` naming which.
 */
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../errors.js';

export interface PublicLimitConfig {
  filingsPerIpPerHour: number;
  filingsPerPhonePerDay: number;
  lookupsPerIpPerHour: number;
}

export type LimitName =
  | 'filings_per_ip'
  | 'filings_per_phone'
  | 'lookups_per_ip'
  | 'failed_lookups_per_ip'
  | 'failed_lookups_per_number'
  | 'rating_links_per_ip'
  | 'failed_rating_links_per_ip';

export class PublicLimits {
  private readonly limiters: Record<LimitName, RateLimiterRedis>;

  constructor(redis: Redis, prefix: string, cfg: PublicLimitConfig) {
    const mk = (name: string, points: number, duration: number): RateLimiterRedis =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:public:${name}`, points, duration });
    this.limiters = {
      filings_per_ip: mk('file-ip', cfg.filingsPerIpPerHour, 3600),
      filings_per_phone: mk('file-phone', cfg.filingsPerPhonePerDay, 24 * 3600),
      lookups_per_ip: mk('lookup-ip', cfg.lookupsPerIpPerHour, 3600),
      failed_lookups_per_ip: mk('lookup-miss-ip', Math.max(5, Math.ceil(cfg.lookupsPerIpPerHour / 6)), 3600),
      // guessing the phone of one known number from many addresses
      failed_lookups_per_number: mk('lookup-miss-number', 20, 3600),
      // the rating link's page (GET and POST /api/rate/{token}): as many as lookups, and few unknown tokens
      rating_links_per_ip: mk('rate-ip', cfg.lookupsPerIpPerHour, 3600),
      failed_rating_links_per_ip: mk('rate-miss-ip', Math.max(5, Math.ceil(cfg.lookupsPerIpPerHour / 6)), 3600),
    };
  }

  /** Refuse (429) if any of these keys is already spent, without consuming. */
  async check(res: Response, checks: [LimitName, string][]): Promise<void> {
    const states = await Promise.all(checks.map(([n, k]) => this.limiters[n].get(k)));
    const spent = checks.map(([n], i) => ({ n, r: states[i] })).filter((x) => x.r !== null && x.r !== undefined && x.r.remainingPoints <= 0);
    if (spent.length) tooMany(res, spent[0]!.n, Math.max(...spent.map((x) => x.r!.msBeforeNext)));
  }

  /** Consume one point of each; 429 if any was already spent. */
  async consume(res: Response, checks: [LimitName, string][]): Promise<void> {
    const results = await Promise.allSettled(checks.map(([n, k]) => this.limiters[n].consume(k, 1)));
    const refused = results.flatMap((r, i) => (r.status === 'rejected' ? [{ n: checks[i]![0], err: r.reason as unknown }] : []));
    if (refused.length === 0) return;
    const real = refused.find((x) => !(x.err instanceof RateLimiterRes));
    if (real) throw real.err; // Redis down: an error (5xx), never a silent pass
    tooMany(res, refused[0]!.n, Math.max(...refused.map((x) => (x.err as RateLimiterRes).msBeforeNext)));
  }

  /** Count one more (e.g. a failed lookup), never refusing. */
  async penalty(name: LimitName, key: string): Promise<void> {
    await this.limiters[name].penalty(key, 1).catch(() => undefined);
  }
}

function tooMany(res: Response, limit: LimitName, ms: number): never {
  const retry = Math.max(1, Math.ceil(ms / 1000));
  res.setHeader('Retry-After', String(retry));
  throw new AppError('RATE_LIMITED', `too many requests; try again in ${retry} s`, { limit, retryAfterSeconds: retry });
}
