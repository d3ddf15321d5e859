/**
 * Partner webhook signatures (pure): HMAC-SHA256 over `<timestamp>.<raw body>` with the
 * partner's secret, sent as `X-Hotline-Signature: sha256=<hex>` with `X-Hotline-Timestamp: <unix seconds>` — the scheme of
 * the outbound 审管 push (regulator/delivery.ts), so a partner implements one scheme both ways.
 * The timestamp is inside the signed text, so a captured request cannot be replayed with a
 * fresh timestamp; outside ±5 minutes it is refused. Compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-hotline-signature';
export const TIMESTAMP_HEADER = 'x-hotline-timestamp';
export const REPLAY_WINDOW_SECONDS = 300;

export function sign(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; problem: 'timestamp' | 'signature' };

export function verify(secret: string, headers: { signature?: string | undefined; timestamp?: string | undefined }, body: Buffer, now: Date): SignatureCheck {
  const ts = headers.timestamp;
  if (!ts || !/^\d{1,12}$/.test(ts) || Math.abs(now.getTime() / 1000 - Number(ts)) > REPLAY_WINDOW_SECONDS) return { ok: false, problem: 'timestamp' };
  const given = Buffer.from(headers.signature ?? '', 'utf8');
  const want = Buffer.from(sign(secret, ts, body), 'utf8');
  // timingSafeEqual needs equal lengths; a wrong length is wrong anyway (and says nothing of the secret)
  if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, problem: 'signature' };
  return { ok: true };
}
