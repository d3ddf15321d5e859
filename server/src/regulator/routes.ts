import { z } from 'zod';
import type { ApiRouter } from '../http/router.js';
import { PUSH_EVENTS } from './config.js';
import { DELIVERY_STATUSES, type DeliveryDoc } from './model.js';
import type { Model } from 'mongoose';

const deliveriesQuery = z.object({
  status: z.enum(DELIVERY_STATUSES).optional(),
  event: z.enum(PUSH_EVENTS).optional(),
  webhookId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  ticketId: z.string().regex(/^[0-9a-f]{24}$/).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(50),
});

const deliveryParams = z.object({ id: z.string().min(1).max(300).regex(/^[A-Za-z0-9_:.-]+$/, 'must be a delivery id') });

/** The 审管 push delivery log, newest first (supervisors and admins), and re-sending a failed delivery. */
export function regulatorRoutes(api: ApiRouter, deps: { Delivery: Model<DeliveryDoc>; resend: (id: string, by: string) => Promise<DeliveryDoc> }): void {
  api.add({
    method: 'post',
    path: '/regulator-push/deliveries/:id/resend',
    tag: 'regulator push',
    summary:
      'Send a failed 审管 delivery again (after the target was fixed): the same payload and id, a fresh set of attempts; the log records who and when (resentBy, resentAt, resends). 404 unknown, 409 DELIVERY_NOT_FAILED, 410 DELIVERY_GONE (failed jobs are kept 30 days)',
    roles: ['admin', 'supervisor'],
    params: deliveryParams,
    async handler({ params, actor }) {
      const { _id, ...d } = await deps.resend(params.id, actor.id);
      return { id: _id, ...d };
    },
  });

  api.add({
    method: 'get',
    path: '/regulator-push/deliveries',
    tag: 'regulator push',
    summary: '审管 push delivery log: target, ticket, event, status (pending/retrying/delivered/failed), attempts, last status code and error, deliveredAt',
    roles: ['admin', 'supervisor'],
    query: deliveriesQuery,
    async handler({ query }) {
      const filter: Record<string, unknown> = {};
      if (query.status) filter.status = query.status;
      if (query.event) filter.event = query.event;
      if (query.webhookId) filter.webhookId = query.webhookId;
      if (query.ticketId) filter.ticketId = query.ticketId;
      const [items, total] = await Promise.all([
        deps.Delivery.find(filter)
          .sort({ createdAt: -1, _id: -1 })
          .skip((query.page - 1) * query.pageSize)
          .limit(query.pageSize)
          .lean(),
        deps.Delivery.countDocuments(filter),
      ]);
      return {
        items: items.map(({ _id, ...d }) => ({ id: _id, ...d })),
        total,
        page: query.page,
        pageSize: query.pageSize,
      };
    },
  });
}
