/**
 * Staff read a ticket's attachments: whoever may read the ticket (TicketService.get applies
 * the department rule: others get the same 404 as an absent ticket). Served as a download with
 * the type detected at upload and `nosniff`, so a browser never renders it as a page.
 */
import { z } from 'zod';
import { ALL_ROLES } from '../auth/policies.js';
import { notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import type { TicketService } from '../tickets/service.js';
import type { AttachmentStore } from './attachments.js';

const params = z.object({
  id: z.string().regex(/^[0-9a-f]{24}$/, 'must be a ticket id'),
  attachmentId: z.string().regex(/^[0-9a-f]{24}$/, 'must be an attachment id'),
});

export function attachmentRoutes(api: ApiRouter, tickets: TicketService, store: AttachmentStore): void {
  api.add({
    method: 'get',
    path: '/tickets/:id/attachments/:attachmentId',
    tag: 'tickets',
    summary: 'Download a file the citizen attached (online intake); the ticket’s readers only',
    roles: ALL_ROLES,
    params,
    async handler({ params: p, actor, res }) {
      const ticket = await tickets.get(p.id, actor);
      const meta = (ticket.attachments ?? []).find((a) => a.id === p.attachmentId);
      const data = meta ? await store.get(meta.storageKey) : null;
      if (!meta || !data) throw notFound('attachment');
      res.setHeader('Content-Type', meta.mimeType);
      res.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${encodeURIComponent(meta.name)}`);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
      res.setHeader('Cache-Control', 'private, no-store');
      res.status(200).end(data);
    },
  });
}
