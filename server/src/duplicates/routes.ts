import { HOTLINE_ROLES } from '../auth/policies.js';
import type { ApiRouter } from '../http/router.js';
import { ticketIdParams } from '../tickets/schema.js';
import type { TicketService } from '../tickets/service.js';
import type { DuplicateIndex } from './index.js';

export function duplicateRoutes(api: ApiRouter, deps: { tickets: TicketService; index: DuplicateIndex }): void {
  api.add({
    method: 'get',
    path: '/tickets/:id/duplicate-candidates',
    tag: 'tickets',
    summary:
      'Tickets that look like the same matter (重复件): same address (normalised), similar content (character-bigram Dice ≥ 0.5), created within 30 days; best first. Merge one with POST /tickets/{id}/merge {masterId}.',
    roles: HOTLINE_ROLES,
    params: ticketIdParams,
    async handler({ params, actor }) {
      const doc = await deps.tickets.get(params.id, actor);
      return { items: await deps.index.candidates(doc) };
    },
  });
}
