import { z } from 'zod';
import { ALL_ROLES } from '../auth/policies.js';
import { AppError, notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { ticketIdParams } from '../tickets/schema.js';
import type { TicketService } from '../tickets/service.js';
import { workingTimeBetween } from './calendar.js';
import { isOpen, levelAt } from './milestones.js';
import { MILESTONES, policyTableSchema } from './policy.js';
import type { DeadlineStore } from './store.js';

const ymd = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'not a real date');
const DAY = 86_400_000;

export function deadlineRoutes(api: ApiRouter, deps: { store: DeadlineStore; tickets: TicketService; clock: () => Date }): void {
  const { store } = deps;

  api.add({
    method: 'get',
    path: '/calendar/days',
    tag: 'deadlines',
    summary: 'Working days in a date range: official holidays, 调休 working weekends and local overrides',
    roles: ALL_ROLES,
    query: z.object({ from: ymd, to: ymd }),
    async handler({ query }) {
      const from = Date.parse(`${query.from}T00:00:00Z`);
      const to = Date.parse(`${query.to}T00:00:00Z`);
      if (to < from || (to - from) / DAY > 366) throw new AppError('VALIDATION_FAILED', 'the range must run forward and span at most 366 days');
      const days = [];
      for (let t = from; t <= to; t += DAY) days.push(store.day(new Date(t).toISOString().slice(0, 10)));
      return { officeHours: store.calendar.officeHours, utcOffsetMinutes: store.calendar.utcOffsetMinutes, days };
    },
  });

  api.add({
    method: 'get',
    path: '/calendar/overrides',
    tag: 'deadlines',
    summary: 'Local calendar overrides (a city’s own holidays or working days)',
    roles: ALL_ROLES,
    async handler() {
      return { items: store.listOverrides().map((o) => ({ date: o._id, working: o.working, name: o.name, updatedBy: o.updatedBy, updatedAt: o.updatedAt })) };
    },
  });

  api.add({
    method: 'post',
    path: '/calendar/overrides',
    tag: 'deadlines',
    summary: 'Set (or replace) the local override of one date',
    roles: ['admin'],
    body: z.object({ date: ymd, working: z.boolean(), name: z.string().trim().min(1).max(50) }),
    async handler({ body, actor }) {
      const o = await store.setOverride(body.date, body.working, body.name, actor.id);
      return { date: o._id, working: o.working, name: o.name };
    },
  });

  api.add({
    method: 'delete',
    path: '/calendar/overrides/:date',
    tag: 'deadlines',
    summary: 'Remove a local override',
    roles: ['admin'],
    params: z.object({ date: ymd }),
    async handler({ params }) {
      if (!(await store.deleteOverride(params.date))) throw notFound('override');
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/sla-policies/current',
    tag: 'deadlines',
    summary: 'The SLA policy table new tickets get (deadlines per category × urgency)',
    roles: ALL_ROLES,
    async handler() {
      const p = store.currentPolicy();
      return { version: p.version, ...p.table };
    },
  });

  api.add({
    method: 'get',
    path: '/sla-policies',
    tag: 'deadlines',
    summary: 'Policy versions, newest first',
    roles: ['admin', 'supervisor'],
    async handler() {
      return { items: (await store.policyHistory()).map((p) => ({ version: p._id, note: p.note, createdBy: p.createdBy, createdAt: p.createdAt, ...p.table })) };
    },
  });

  api.add({
    method: 'post',
    path: '/sla-policies',
    tag: 'deadlines',
    summary: 'Publish a new policy version; tickets already in the loop keep theirs',
    roles: ['admin'],
    body: z.object({ table: policyTableSchema, note: z.string().trim().max(500).nullable().default(null) }),
    status: 201,
    async handler({ body, actor }) {
      const p = await store.publishPolicy(body.table, body.note, actor.id);
      return { version: p._id, note: p.note, ...p.table };
    },
  });

  api.add({
    method: 'get',
    path: '/tickets/:id/deadlines',
    tag: 'deadlines',
    summary: 'A ticket’s milestones: due time, remaining working time, state',
    roles: ALL_ROLES,
    params: ticketIdParams,
    async handler({ params, actor }) {
      const t = await deps.tickets.get(params.id, actor);
      const now = deps.clock();
      const paused = t.suspension?.since ?? null;
      const milestones = MILESTONES.flatMap((key) => {
        const m = t.deadlines[key];
        if (!m) return [];
        const open = isOpen(m);
        const at = paused ?? now;
        const state = m.doneAt ? 'met' : m.cancelledAt ? 'cancelled' : paused ? 'paused' : levelAt(m, now);
        const remainingMs = open ? workingTimeBetween(at, m.dueAt, m.unit, store.calendar) - workingTimeBetween(m.dueAt, at, m.unit, store.calendar) : null;
        return [{ milestone: key, unit: m.unit, startedAt: m.startedAt, warnAt: m.warnAt, dueAt: m.dueAt, doneAt: m.doneAt, state, remainingMs, metLate: m.doneAt ? m.doneAt.getTime() > m.dueAt.getTime() : null, reminders: m.reminders, escalations: m.escalations, version: m.version }];
      });
      return { ticketId: String(t._id), number: t.number, policyVersion: t.policy.version, suspendedSince: paused, escalatedTo: t.escalatedTo, milestones };
    },
  });
}
