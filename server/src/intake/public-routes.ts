/**
 * The public citizen API (no login; issue #6 item 1): file a matter with attachments, look up
 * its progress by ticket number + phone. Every request passes the CAPTCHA hook and the rate
 * limits (per IP, per phone); a lookup with a wrong phone is the same 404 as an unknown number.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Model } from 'mongoose';
import type { DepartmentDoc } from '../directory/model.js';
import { AppError, notFound } from '../errors.js';
import { parse, type ApiRouter } from '../http/router.js';
import type { TicketDoc } from '../tickets/model.js';
import { idempotencyHeader } from '../tickets/schema.js';
import type { TicketService } from '../tickets/service.js';
import { FILE_FIELD, filesOf, multipartIntake, storeAttachments, type AttachmentLimits, type AttachmentStore } from './attachments.js';
import { channelActor, fileMatter, scopedKey } from './file.js';
import type { VerifyHuman } from './human.js';
import type { PublicLimits } from './limits.js';
import { presentPublicTicket } from './presenter.js';
import { lookupSchema, publicComplaintSchema } from './schema.js';

export interface PublicRouteDeps {
  tickets: TicketService;
  Ticket: Model<TicketDoc>;
  Department: Model<DepartmentDoc>;
  limits: PublicLimits;
  verifyHuman: VerifyHuman;
  store: AttachmentStore;
  attachmentLimits: AttachmentLimits;
  clock: () => Date;
}

const sameSecret = (a: string, b: string): boolean => {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
};

export async function requireHuman(verify: VerifyHuman, req: Parameters<VerifyHuman>[0]): Promise<void> {
  const v = await verify(req);
  if (!v.ok) throw new AppError('CAPTCHA_REQUIRED', 'please complete the human check (CAPTCHA) and try again', v.reason ? { reason: v.reason } : undefined);
}

/**
 * ApiRouter documents JSON bodies; the filing also takes multipart/form-data (the same fields as
 * text plus files), added here to the same OpenAPI operation.
 */
function documentMultipart(api: ApiRouter): void {
  for (const def of api.registry.definitions) {
    if (def.type !== 'route' || def.route.path !== '/api/public/complaints' || def.route.method !== 'post' || !def.route.request?.body) continue;
    def.route.request.body.content['multipart/form-data'] = {
      schema: z.object({
        ...publicComplaintSchema.shape,
        anonymous: z.enum(['true', 'false']).optional(),
        confidential: z.enum(['true', 'false']).optional(),
        enterprise: z.enum(['true', 'false']).optional(),
        [FILE_FIELD]: z.array(z.string().describe('a file (binary): jpeg, png, gif, webp, pdf, mp3, wav or mp4')).optional(),
      }),
    };
  }
}

export function publicRoutes(api: ApiRouter, d: PublicRouteDeps): void {
  // Multipart bodies are parsed here (bounded, in memory) before the route validates the fields.
  // An address already over its filing limit is refused before its upload is read.
  api.router.use('/public/complaints', async (req, res, next) => {
    if (req.method !== 'POST' || !req.is('multipart/form-data')) return next();
    try {
      await d.limits.check(res, [['filings_per_ip', req.ip ?? 'unknown']]);
    } catch (e) {
      return next(e);
    }
    next();
  });
  api.router.use('/public/complaints', multipartIntake(d.attachmentLimits, ['anonymous', 'confidential', 'enterprise']));

  api.add({
    method: 'post',
    path: '/public/complaints',
    tag: 'public',
    summary:
      'File a matter online (no login): JSON, or multipart/form-data with the same fields as text and files in `' +
      FILE_FIELD +
      '` (jpeg/png/gif/webp/pdf/mp3/wav/mp4 by content; size and count limited). Send Idempotency-Key to retry safely. 201 only once the ticket is stored; ' +
      'answers the ticket number to look it up with. 429 RATE_LIMITED (Retry-After) per IP and per phone; 403 CAPTCHA_REQUIRED when the human check refuses.',
    body: publicComplaintSchema,
    headers: idempotencyHeader,
    status: 201,
    async handler({ req, res, body }) {
      const { 'idempotency-key': key } = parse(idempotencyHeader, { 'idempotency-key': req.headers['idempotency-key'] }, 'headers');
      await requireHuman(d.verifyHuman, req);
      await d.limits.consume(res, [
        ['filings_per_ip', req.ip ?? 'unknown'],
        ['filings_per_phone', body.phone],
      ]);
      const attachments = await storeAttachments(filesOf(req), d.store, d.clock());
      const { ticket, created } = await fileMatter(d.tickets, body, channelActor(body.channel, 'citizen'), {
        idempotencyKey: key ? scopedKey(body.phone, key) : undefined,
        attachments,
      });
      res.status(created ? 201 : 200).json({
        number: ticket.number,
        status: 'received',
        channel: ticket.channel,
        createdAt: ticket.createdAt,
        attachments: (ticket.attachments ?? []).map((a) => ({ name: a.name, mimeType: a.mimeType, size: a.size })),
      });
    },
  });

  documentMultipart(api);

  api.add({
    method: 'post',
    path: '/public/tickets/lookup',
    tag: 'public',
    summary:
      'Progress of a ticket by its number and the phone it was filed with (no login). Unknown number and wrong phone answer the same 404; ' +
      'phone and name masked; failed lookups are rate-limited per IP.',
    body: lookupSchema,
    async handler({ req, res, body }) {
      const ip = req.ip ?? 'unknown';
      await requireHuman(d.verifyHuman, req);
      await d.limits.check(res, [
        ['failed_lookups_per_ip', ip],
        ['failed_lookups_per_number', body.number],
      ]);
      await d.limits.consume(res, [['lookups_per_ip', ip]]);
      const doc = await d.Ticket.findOne({ number: body.number }).lean<TicketDoc>();
      // compare even when absent, so timing does not tell "unknown number" from "wrong phone"
      const phoneOk = sameSecret((doc?.caller.phone ?? '').replace(/[ -]/g, ''), body.phone);
      if (!doc || !phoneOk) {
        await Promise.all([d.limits.penalty('failed_lookups_per_ip', ip), d.limits.penalty('failed_lookups_per_number', body.number)]);
        throw notFound('ticket');
      }
      const dept = doc.leadDepartmentId ? await d.Department.findById(doc.leadDepartmentId, { name: 1 }).lean() : null;
      return presentPublicTicket(doc, dept?.name ?? null);
    },
  });
}

