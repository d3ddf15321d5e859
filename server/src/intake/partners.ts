/**
 * Partner platforms allowed to file through the signed webhook (WEBHOOK_PARTNERS, JSON):
 * `{"<partner>": {"secret": "<≥ 32 chars>", "channel": "media"}}` — or `{"<partner>": "<secret>"}`,
 * which files under the channel `webhook`. Secrets never reach logs or responses.
 */
import { z } from 'zod';
import { CHANNELS, type Channel } from '../tickets/vocabulary.js';

export interface Partner {
  name: string;
  secret: string;
  channel: Channel;
}

export const PARTNER_NAME = /^[a-z0-9][a-z0-9_-]{1,39}$/;

const entry = z.union([
  z.string().min(32, 'secret must be at least 32 characters'),
  z.object({ secret: z.string().min(32, 'secret must be at least 32 characters'), channel: z.enum(CHANNELS).default('webhook') }).strict(),
]);

export function parsePartners(raw: string): Map<string, Partner> {
  const out = new Map<string, Partner>();
  if (raw.trim() === '') return out;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('must be JSON: {"partner": {"secret": "…", "channel": "media"}}');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('must be a JSON object keyed by partner name');
  for (const [name, v] of Object.entries(json)) {
    if (!PARTNER_NAME.test(name)) throw new Error(`partner name "${name.slice(0, 40)}" must match ${PARTNER_NAME}`);
    const r = entry.safeParse(v);
    if (!r.success) throw new Error(`partner ${name}: ${r.error.issues.map((i) => i.message).join('; ')}`);
    out.set(name, typeof r.data === 'string' ? { name, secret: r.data, channel: 'webhook' } : { name, secret: r.data.secret, channel: r.data.channel });
  }
  return out;
}
