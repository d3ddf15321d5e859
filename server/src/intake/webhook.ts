/**
 * Signed intake webhook for partner platforms (media clients, portals…):
 * `POST /api/intake/webhook/{partner}`. Mounted before the app's JSON parser because the
 * signature is over the raw bytes. Checks, in order: path and header shapes (400), JSON (400
 * BAD_JSON), the message (400 VALIDATION_FAILED), the partner (404), the timestamp window and
 * the signature (401) — only the last two need the secret, and nothing is written before them.
 * Idempotent by the partner's `messageId`: the key `partner:<partner>:<messageId>` is claimed
 * by a unique `_id` insert (TicketService.create), so a redelivery — even one racing the first —
 * answers 200 with the same ticket; the same id with another body is 409 IDEMPOTENCY_MISMATCH.
 */
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { Router } from 'express';
import { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import { parse } from '../http/router.js';
import type { TicketService } from '../tickets/service.js';
import { fileMatter, partnerActor } from './file.js';
import { PARTNER_NAME, type Partner } from './partners.js';
import { webhookMessageSchema } from './schema.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from './signature.js';

export const WEBHOOK_MOUNT = '/api/intake/webhook';

const params = z.object({ partner: z.string().regex(PARTNER_NAME, 'must be a partner name') });
const headers = z.object({
  [SIGNATURE_HEADER]: z.string().regex(/^sha256=[0-9a-f]{64}$/, 'must be sha256=<64 hex digits>').optional(),
  [TIMESTAMP_HEADER]: z.string().regex(/^\d{1,12}$/, 'must be unix seconds').optional(),
});

export interface WebhookDeps {
  tickets: TicketService;
  partners: Map<string, Partner>;
  clock: () => Date;
  bodyLimit: string;
}

/** Top-level JSON must be an object or array, as express.json's strict mode requires. */
function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {}; // like express.json: no body is an empty object (then 400 naming the fields)
  const text = raw.toString('utf8');
  if (!/^[\s]*[{[]/.test(text)) throw new AppError('BAD_JSON', 'request body is not valid JSON');
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('BAD_JSON', 'request body is not valid JSON');
  }
}

export function webhookRouter(d: WebhookDeps): Router {
  const router = Router();
  router.post('/:partner', express.raw({ type: () => true, limit: d.bodyLimit }), async (req, res) => {
    const p = parse(params, req.params, 'params');
    const h = parse(headers, { [SIGNATURE_HEADER]: req.headers[SIGNATURE_HEADER], [TIMESTAMP_HEADER]: req.headers[TIMESTAMP_HEADER] }, 'headers');
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const msg = parse(webhookMessageSchema, parseJson(raw), 'body');
    const partner = d.partners.get(p.partner);
    if (!partner) throw notFound('partner');
    const check = verify(partner.secret, { signature: h[SIGNATURE_HEADER], timestamp: h[TIMESTAMP_HEADER] }, raw, d.clock());
    if (!check.ok) {
      if (check.problem === 'timestamp') throw new AppError('TIMESTAMP_OUT_OF_WINDOW', `${TIMESTAMP_HEADER} missing or more than 5 minutes from server time`);
      throw new AppError('SIGNATURE_INVALID', `${SIGNATURE_HEADER} missing or wrong: expected sha256=HMAC-SHA256(secret, "<${TIMESTAMP_HEADER}>.<raw body>") in hex`);
    }
    const { ticket, created } = await fileMatter(d.tickets, { ...msg, channel: partner.channel }, partnerActor(partner.name), {
      idempotencyKey: msg.messageId,
    });
    res.status(created ? 201 : 200).json({ number: ticket.number, messageId: msg.messageId, duplicate: !created, createdAt: ticket.createdAt });
  });
  return router;
}

/** The OpenAPI entry (the route bypasses ApiRouter to read the raw body). */
export function registerWebhookDoc(registry: OpenAPIRegistry): void {
  registry.registerPath({
    method: 'post',
    path: `${WEBHOOK_MOUNT}/{partner}`,
    summary:
      'Partner platforms file a matter (no login; signed): X-Hotline-Timestamp = unix seconds, X-Hotline-Signature = sha256=hex(HMAC-SHA256(partner secret, "<X-Hotline-Timestamp>.<raw body>")), ' +
      'within ±5 minutes. Idempotent by messageId: a redelivery answers 200 with the same ticket number. 401 SIGNATURE_INVALID / TIMESTAMP_OUT_OF_WINDOW; 404 for an unknown partner.',
    tags: ['intake'],
    request: { params, headers, body: { content: { 'application/json': { schema: webhookMessageSchema } } } },
    responses: {
      201: { description: 'Ticket created' },
      200: { description: 'Redelivery: the ticket the first delivery created' },
      400: { description: 'Invalid input' },
      401: { description: 'Bad signature or timestamp' },
      404: { description: 'Unknown partner' },
    },
  });
}
