/**
 * Signing and sending one 审管 push. The receiver checks
 *
 *   X-Hotline-Signature: sha256=<hex HMAC-SHA256(secret, "<X-Hotline-Timestamp>.<raw body>")>
 *
 * with a constant-time compare, and refuses timestamps far from its clock (replays). Each
 * attempt is signed afresh with its own timestamp; `X-Hotline-Delivery` stays the same on every
 * attempt, so the receiver can de-duplicate.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-hotline-signature';
export const TIMESTAMP_HEADER = 'x-hotline-timestamp';
export const DELIVERY_HEADER = 'x-hotline-delivery';
export const EVENT_HEADER = 'x-hotline-event';

export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** For receivers (and tests): is this signature right and the timestamp within `toleranceSec`? */
export function verifySignature(secret: string, timestamp: string, body: string, signature: string, nowSec: number, toleranceSec = 300): boolean {
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSec - Number(timestamp)) > toleranceSec) return false;
  const want = Buffer.from(sign(secret, timestamp, body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

/** POST the body once. 2xx → ok; anything else, a timeout or a network error → not ok. */
export async function deliver(opts: {
  url: string;
  secret: string;
  body: string;
  deliveryId: string;
  event: string;
  timeoutMs: number;
  now: Date;
}): Promise<AttemptResult> {
  const timestamp = String(Math.floor(opts.now.getTime() / 1000));
  try {
    const res = await fetch(opts.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: sign(opts.secret, timestamp, opts.body),
        [DELIVERY_HEADER]: opts.deliveryId,
        [EVENT_HEADER]: opts.event,
      },
      body: opts.body,
      signal: AbortSignal.timeout(opts.timeoutMs),
      redirect: 'error',
    });
    const text = await res.text().catch(() => '');
    return res.ok ? { ok: true, statusCode: res.status, error: null } : { ok: false, statusCode: res.status, error: `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}` };
  } catch (err) {
    return { ok: false, statusCode: null, error: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err) };
  }
}
