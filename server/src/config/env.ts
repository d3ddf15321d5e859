/**
 * Configuration from the environment, validated once at start-up. Every problem is listed
 * together and the process stops naming each variable (STYLE.md: Outline's env.ts).
 */
import { z } from 'zod';
import { parseAcdConfig } from '../calls/acd-config.js';
import { parseRegulatorWebhooks } from '../regulator/config.js';
import { parsePartners } from '../intake/partners.js';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
  /** BullMQ key prefix. Braces make it one hash slot so BullMQ works on Redis Cluster. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9_-]+\}$/, 'must be a hash tag such as {hotline}')
    .default('{hotline}'),

  /** HMAC secret for JWTs; at least 32 characters. */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
  JWT_TTL_SECONDS: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(12 * 3600),
  /** Mark the console's session cookie Secure even when the request looks like plain http (TLS ends at a proxy that is not on loopback). */
  COOKIE_SECURE: bool.default(false),
  /** How often each instance checks its sockets' sessions (revoked by logout elsewhere, user deactivated), ms. */
  SESSION_CHECK_MS: z.coerce.number().int().min(200).default(30_000),

  /** Ticket numbers read 12345-YYYYMMDD-NNNNNN in this time zone. */
  TIME_ZONE: z.string().default('Asia/Shanghai'),
  TICKET_NUMBER_PREFIX: z.string().regex(/^[A-Za-z0-9]{1,10}$/).default('12345'),
  /** Largest JSON body accepted. */
  BODY_LIMIT: z.string().regex(/^\d+(kb|mb)$/).default('256kb'),
  /** How often the outbox sweeper looks for unpublished side effects, ms. */
  OUTBOX_SWEEP_MS: z.coerce.number().int().min(100).default(5000),
  /** Office hours of working days, local time (deadlines in working hours/days run only then). */
  OFFICE_HOURS: z
    .string()
    .regex(/^\d{1,2}:\d{2}-\d{1,2}:\d{2}(,\d{1,2}:\d{2}-\d{1,2}:\d{2})*$/, 'must look like 09:00-12:00,13:30-17:30')
    .default('09:00-12:00,13:30-17:30'),
  /** How often deadline timers in Redis are reconciled with open milestones in MongoDB, ms. */
  DEADLINE_RECONCILE_MS: z.coerce.number().int().min(1000).default(5 * 60_000),
  /**
   * BullMQ lock duration, ms: a job held by a worker that died is retried after about this long
   * (the stalled-job check runs at the same interval).
   */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  /**
   * Call events processed at once per process. Each waits on the database and Redis most of its
   * time, so throughput is about this ÷ the handler's latency (bench/sip): 3 events per call.
   */
  CALL_EVENT_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(32),
  /** Deadline timers processed at once per process. */
  TIMER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Run BullMQ workers in this process (turn off for API-only instances). */
  RUN_WORKERS: bool.default(true),
  /** Keep the daily KPI roll-ups (stats/kpi-rollup.ts); off: KPI reports always scan the tickets. */
  KPI_ROLLUPS: bool.default(true),

  /** SIP digest realm of the agents' phones (telephony uses the same); HA1s are per realm. */
  SIP_REALM: z.string().regex(/^[A-Za-z0-9.-]{1,100}$/).default('hotline.local'),
  /** Ring an agent's phone this long before offering the call to the next agent, ms. */
  RING_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(15_000),
  /**
   * The engine's heartbeat (telephony answers new calls 503 without a fresh one) is renewed this
   * often and expires after three missed renewals, ms.
   */
  ENGINE_HEARTBEAT_MS: z.coerce.number().int().min(200).max(60_000).default(5000),
  /** How often the ACD safety sweep runs (lost offers, overflow, agent presence), ms. */
  ACD_TICK_MS: z.coerce.number().int().min(200).default(2000),
  /** A caller waiting longer than this becomes a callback task (0: never), seconds. */
  ACD_MAX_WAIT_SECONDS: z.coerce.number().int().min(0).default(0),
  /** Agent groups per line and overflow policies per group, JSON (server/src/calls/acd-config.ts). */
  ACD_GROUPS: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      try {
        parseAcdConfig(v, 'main', 0);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message.replace(/^ACD_GROUPS: /, '') : String(e) });
      }
    }),
  /** After-call work (话后处理, wrap-up) after each call; false: agents go straight back to available. */
  ACD_WRAP_UP: bool.default(true),
  /** Log agents out whose phone and console are both gone (reconciliation). */
  ACD_PRESENCE_CHECK: bool.default(true),
  /** An agent unreachable (no phone registration, or no console) this long is logged out, ms. */
  ACD_PRESENCE_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /** Call records still open this long after the offer are closed as stale, ms (default 6 h). */
  /** a live call's record reaches MongoDB this long after a change; a finished call's at once (calls/call-store.ts) */
  CDR_FLUSH_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  CALL_STALE_MS: z.coerce.number().int().min(60_000).default(6 * 3600_000),
  /** 老年人优先: comma-separated caller numbers served first. */
  ELDERLY_NUMBERS: z.string().default(''),
  /** One-click transfer targets `key:name,…`; telephony maps each key to its gateway. */
  TRANSFER_TARGETS: z
    .string()
    .regex(/^[0-9A-Za-z_-]{1,32}:[^,]{1,50}(,[0-9A-Za-z_-]{1,32}:[^,]{1,50})*$/, 'must look like 110:公安110,119:消防119')
    .default('110:公安110,119:消防119,120:急救120,122:交警122'),

  /** Local files (notifications of the file sender), relative to the working directory. */
  DATA_DIR: z.string().min(1).default('data'),
  /** SMS gateway (notify/sender.ts): citizen notifications are POSTed here as JSON; unset → appended to DATA_DIR/notifications.jsonl. */
  SMS_GATEWAY_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Bearer token for the SMS gateway (optional). */
  SMS_GATEWAY_TOKEN: z.string().min(1).optional(),
  /** One SMS gateway request may take this long, ms. */
  SMS_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  /** Attempts per notification and the first retry delay (doubling), ms. */
  NOTIFY_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  NOTIFY_BACKOFF_MS: z.coerce.number().int().min(10).default(5000),
  /** The rating link sent to citizens is this base + the token (a citizen page calling /api/rate/{token}). */
  RATING_LINK_BASE: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL prefix').default('http://127.0.0.1:8080/rate/'),
  /**
   * The rating given when the citizen gives none within DEFAULT_RATING_AFTER_HOURS of the rating
   * invitation (HOTLINE-RULES 好差评: provinces differ — 基本满意, 非常满意 or none; default none).
   */
  DEFAULT_RATING: z.enum(['none', 'very_satisfied', 'satisfied', 'basically_satisfied']).default('none'),
  DEFAULT_RATING_AFTER_HOURS: z.coerce.number().positive().max(24 * 90).default(168),
  /** A rating link stays valid this long, hours (7 days: the rating window of HOTLINE-RULES). */
  RATING_LINK_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 90).default(168),
  /** Shared key of the IVR (telephony) for POST /api/tickets/{id}/keypad-rating as the system; unset: only hotline users. */
  IVR_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** 审管 push targets, JSON (server/src/regulator/config.ts); empty: none. */
  REGULATOR_WEBHOOKS: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      try {
        parseRegulatorWebhooks(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
      }
    }),
  /** Attempts per regulator delivery, first retry delay (doubling) and request timeout, ms. */
  REGULATOR_PUSH_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(10),
  REGULATOR_PUSH_BACKOFF_MS: z.coerce.number().int().min(10).default(10_000),
  REGULATOR_PUSH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),

  /** Partner platforms of the signed intake webhook, JSON (server/src/intake/partners.ts); empty: none. */
  WEBHOOK_PARTNERS: z
    .string()
    .default('')
    .superRefine((v, ctx) => {
      try {
        parsePartners(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
      }
    }),
  /** Open311 `api_key`s accepted by POST /open311/v2/requests, comma-separated; empty: no key needed. */
  OPEN311_API_KEYS: z.string().regex(/^([A-Za-z0-9_-]{16,128}(,[A-Za-z0-9_-]{16,128})*)?$/, 'comma-separated keys of 16–128 letters, digits, _ or -').default(''),
  /** Public citizen API limits: filings per source IP per hour, per phone per day, lookups per IP per hour. */
  PUBLIC_FILINGS_PER_IP: z.coerce.number().int().min(1).default(20),
  PUBLIC_FILINGS_PER_PHONE: z.coerce.number().int().min(1).default(10),
  PUBLIC_LOOKUPS_PER_IP: z.coerce.number().int().min(1).default(120),
  /** Largest attachment (bytes) and most attachments per filing. */
  ATTACHMENT_MAX_BYTES: z.coerce.number().int().min(1024).max(15 * 1024 * 1024).default(5 * 1024 * 1024),
  ATTACHMENT_MAX_FILES: z.coerce.number().int().min(0).max(10).default(5),
  /** Where attachments are kept: `disk` (DATA_DIR/attachments; a shared volume with several instances) or `gridfs` (the database). */
  ATTACHMENT_STORE: z.enum(['disk', 'gridfs']).default('disk'),
});

export type Env = z.output<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parse and validate; throws ConfigError listing every bad variable by name. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    const name = i.path.join('.') || '(root)';
    const given = source[name];
    return given === undefined ? `${name}: is required (${i.message})` : `${name}: ${i.message}`;
  });
  throw new ConfigError(problems);
}
