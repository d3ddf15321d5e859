/**
 * What the console refetches on (re)connect to resynchronise its lists (issue #5 item 6), and
 * the ticket KPIs of the wallboard (item 4): agents with their ACD state, tickets in warning or
 * overdue by department, tickets by category, ticket KPIs. Reads only; plain finds with
 * projections (FerretDB v1: no aggregation needed), role-scoped like the ticket list.
 */
import type { Model } from 'mongoose';
import { z } from 'zod';
import { HOTLINE_ROLES, ticketVisibilityFilter } from '../auth/policies.js';
import type { AgentStatus } from '../calls/acd.js';
import { presentAgent } from '../calls/engine.js';
import { isOpen, levelAt, type Milestone } from '../deadlines/milestones.js';
import type { MilestoneKey } from '../deadlines/policy.js';
import type { UserDoc } from '../directory/model.js';
import { AppError, validation } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import type { TicketDoc } from '../tickets/model.js';
import type { Actor } from '../tickets/types.js';
import { CATEGORIES, OPEN_STATES, type Category } from '../tickets/vocabulary.js';
import type { KpiRollup } from './kpi-rollup.js';
import { instantParam, rangeOf } from './range.js';
import {
  BUCKETS,
  departmentReport,
  GROUP_DIMENSIONS,
  TICKET_KPI_PROJECTION,
  TicketKpiAccumulator,
  type GroupDimension,
  type KpiBreakdown,
  type KpiOptions,
  type KpiRange,
  type KpiTicket,
  type TicketKpiReport,
} from './ticket-kpis.js';

/**
 * The candidates of the ticket KPIs over [from, to): anything that changed in the range (every
 * counted event writes the ticket), clocks that fell due in it without anyone touching the ticket,
 * and tickets taken in during the repeat-complaint window before `from` (重复投诉 looks back).
 * A plain filter (FerretDB v1 runs it like MongoDB; no index serves it there — there is none but
 * `_id` — so it only trims what crosses the wire; bench/kpis measures the scan).
 */
export function ticketKpiFilter(range: { from: Date; to: Date }): Record<string, unknown> {
  const { from, to } = range;
  const due = { $gte: from, $lt: to };
  return {
    createdAt: { $lt: to },
    $or: [
      { updatedAt: { $gte: from } },
      { createdAt: { $gte: TicketKpiAccumulator.lookbackFrom(range) } },
      { 'deadlines.reply.dueAt': due },
      { 'deadlines.rectify.dueAt': due },
    ],
  };
}

/** Cursor batch: big enough to keep the wire busy, small enough to keep memory flat. */
const KPI_BATCH = 2000;

/**
 * Streams the candidates through one accumulator (pure, ticket-kpis.ts): one find with a
 * projection on the native collection, one pass, documents never held in an array. Used by
 * GET /api/kpis/tickets(/breakdown), the ledger export and bench/kpis.
 */
export async function streamTicketKpis(Ticket: Model<TicketDoc>, range: KpiRange, opts: KpiOptions): Promise<KpiBreakdown> {
  const acc = new TicketKpiAccumulator(range, opts);
  const cursor = Ticket.collection.find(ticketKpiFilter(range), { projection: TICKET_KPI_PROJECTION, batchSize: KPI_BATCH });
  try {
    for await (const doc of cursor) acc.add(doc as unknown as KpiTicket);
  } finally {
    await cursor.close().catch(() => undefined);
  }
  return acc.result();
}

/** Where a KPI report comes from: the daily roll-ups (whole city days) or a scan of the tickets. */
export const KPI_SOURCES = ['auto', 'rollup', 'scan'] as const;
export type KpiSource = (typeof KPI_SOURCES)[number];

export interface KpiReadDeps {
  Ticket: Model<TicketDoc>;
  /** the roll-ups (null: always scan) */
  rollup: KpiRollup | null;
}

/**
 * The KPIs over the range: from the daily roll-ups when the range is whole city days and they
 * are complete (`auto`, `rollup`), else by streaming the tickets (`scan`, or `auto` otherwise).
 * Both give the same numbers (kpi-facts.ts); the roll-ups read a few hundred documents for a
 * year, the scan every ticket that changed in it.
 */
export async function readTicketKpis(deps: KpiReadDeps, range: KpiRange, opts: KpiOptions, source: KpiSource = 'auto'): Promise<KpiBreakdown & { source: 'rollup' | 'scan' }> {
  if (source !== 'scan' && deps.rollup) {
    const b = await deps.rollup.read(range, opts);
    if (b) return { ...b, source: 'rollup' };
  }
  if (source === 'rollup') {
    throw validation('the roll-ups answer whole city days only, once built', [
      { path: 'query.source', message: 'from and to must be city midnights (YYYY-MM-DD), and the roll-ups complete; use source=scan or auto', code: 'rollup_unavailable' },
    ]);
  }
  return { ...(await streamTicketKpis(deps.Ticket, range, opts)), source: 'scan' };
}

/**
 * The ticket KPI report over [from, to): total and per lead department. Scope is applied per
 * event (a dispatch belongs to the department it named). Used by GET /api/kpis/tickets and the
 * ledger export.
 */
export async function ticketKpiReport(deps: KpiReadDeps, range: KpiRange, departmentId: string | null, source: KpiSource = 'auto'): Promise<TicketKpiReport & { source: 'rollup' | 'scan' }> {
  const b = await readTicketKpis(deps, range, { departmentId, groupBy: ['department'] }, source);
  return { ...departmentReport(b), source: b.source };
}

export interface StatsRouteDeps {
  Ticket: Model<TicketDoc>;
  rollup: KpiRollup | null;
  User: Model<UserDoc>;
  /** every agent record of the ACD (Redis) */
  listAgents: () => Promise<AgentStatus[]>;
  utcOffsetMinutes: number;
  clock: () => Date;
}

const rangeQuery = z.object({ from: instantParam.optional(), to: instantParam.optional() });
export const kpiQuery = rangeQuery.extend({
  departmentId: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a department id').optional(),
  source: z.enum(KPI_SOURCES).default('auto'),
});
const DIMENSION = GROUP_DIMENSIONS.join('|');
export const kpiBreakdownQuery = kpiQuery.extend({
  groupBy: z
    .string()
    .max(64)
    .regex(new RegExp(`^(${DIMENSION})(,(${DIMENSION})){0,3}$`), `a comma-separated list of ${GROUP_DIMENSIONS.join(', ')}`)
    .default('department'),
  bucket: z.enum(BUCKETS).default('day'),
});
/** Most groups one breakdown answers with (a year by day × department × channel would not fit a screen or a response). */
export const MAX_KPI_GROUPS = 5000;
const deadlineQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) });

/** A department user's numbers are their department's; asking for another one is refused. */
export function departmentScope(actor: Actor, asked: string | undefined): string | null {
  if (actor.role !== 'department') return asked ?? null;
  const own = actor.departmentId ?? '__none__';
  if (asked !== undefined && asked !== own) throw new AppError('FORBIDDEN', 'department users see only their own department');
  return own;
}

type DeadlineRow = Pick<TicketDoc, '_id' | 'number' | 'state' | 'category' | 'urgency' | 'leadDepartmentId' | 'deadlines' | 'nextDueAt' | 'suspension' | 'supervised' | 'urgeCount' | 'pendingExtension' | 'createdAt'>;

export function statsRoutes(api: ApiRouter, deps: StatsRouteDeps): void {
  const { Ticket, User, utcOffsetMinutes, clock } = deps;

  api.add({
    method: 'get',
    path: '/agents',
    tag: 'stats',
    summary:
      'Every agent and window clerk with their ACD state (available, on_call, wrap_up, break, logged_out), group, skills and since when — the wallboard reloads it on reconnect; live changes arrive as `call.event` `agent.state`',
    roles: ['supervisor'],
    async handler() {
      const [users, states] = await Promise.all([
        User.find({ role: { $in: ['agent', 'window'] } }, { name: 1, role: 1, active: 1 }).lean<Pick<UserDoc, '_id' | 'name' | 'role' | 'active'>[]>(),
        deps.listAgents(),
      ]);
      const byId = new Map(states.map((a) => [a.agentId, a]));
      const items = users
        .filter((u) => u.active)
        .sort((a, b) => a._id.localeCompare(b._id))
        .map((u) => {
          const a = byId.get(u._id);
          // never used the console or a phone yet: logged out, in no group
          const acd = a ? presentAgent(a) : { agentId: u._id, state: 'logged_out', since: null, group: null, skills: [], offer: null, callId: null };
          return { ...acd, name: u.name, role: u.role };
        });
      return { items, at: clock().toISOString() };
    },
  });

  api.add({
    method: 'get',
    path: '/stats/deadlines',
    tag: 'stats',
    summary:
      'Open tickets with a milestone in warning (yellow, 75% of the allowed time) or overdue (red), counted per lead department, plus the list (most urgent first, up to `limit`). Paused (挂起) tickets are left out. Department users see their own tickets only.',
    roles: [...HOTLINE_ROLES, 'department'],
    query: deadlineQuery,
    async handler({ actor, query }) {
      const now = clock();
      // nextWarnAt is the earliest warning time of the open clocks (null while paused)
      const docs = await Ticket.find(
        { $and: [ticketVisibilityFilter(actor), { state: { $in: OPEN_STATES }, nextWarnAt: { $lte: now } }] },
        { number: 1, state: 1, category: 1, urgency: 1, leadDepartmentId: 1, deadlines: 1, nextDueAt: 1, suspension: 1, supervised: 1, urgeCount: 1, pendingExtension: 1, createdAt: 1 },
      ).lean<DeadlineRow[]>();
      const counts = new Map<string, { departmentId: string | null; warning: number; overdue: number }>();
      const items = [];
      for (const d of docs) {
        if (d.suspension?.since) continue;
        const milestones = (Object.entries(d.deadlines ?? {}) as [MilestoneKey, Milestone][])
          .filter(([, m]) => isOpen(m))
          .map(([key, m]) => ({ key, level: levelAt(m, now), dueAt: m.dueAt }))
          .filter((m) => m.level !== 'on_time');
        if (milestones.length === 0) continue;
        const level = milestones.some((m) => m.level === 'overdue') ? 'overdue' : 'warning';
        const key = d.leadDepartmentId ?? '';
        const c = counts.get(key) ?? { departmentId: d.leadDepartmentId, warning: 0, overdue: 0 };
        c[level] += 1;
        counts.set(key, c);
        items.push({
          id: String(d._id),
          number: d.number,
          state: d.state,
          category: d.category,
          urgency: d.urgency,
          leadDepartmentId: d.leadDepartmentId,
          deadlineState: level,
          nextDueAt: d.nextDueAt,
          milestones,
          supervised: d.supervised,
          urgeCount: d.urgeCount,
          pendingExtension: d.pendingExtension !== null && d.pendingExtension !== undefined,
          createdAt: d.createdAt,
        });
      }
      items.sort((a, b) => (a.deadlineState === b.deadlineState ? new Date(a.nextDueAt ?? 0).getTime() - new Date(b.nextDueAt ?? 0).getTime() : a.deadlineState === 'overdue' ? -1 : 1));
      const byDepartment = [...counts.values()].sort((a, b) => b.overdue - a.overdue || b.warning - a.warning || String(a.departmentId).localeCompare(String(b.departmentId)));
      return {
        total: { warning: items.filter((i) => i.deadlineState === 'warning').length, overdue: items.filter((i) => i.deadlineState === 'overdue').length },
        byDepartment,
        items: items.slice(0, query.limit),
      };
    },
  });

  api.add({
    method: 'get',
    path: '/stats/tickets-by-category',
    tag: 'stats',
    summary: 'Tickets taken in (受理) in [from, to) per category (诉求类型); default: today, city time. Department users count their own tickets.',
    roles: [...HOTLINE_ROLES, 'department', 'admin'],
    query: rangeQuery,
    async handler({ actor, query }) {
      const { from, to } = rangeOf(query, clock(), utcOffsetMinutes);
      const docs = await Ticket.find({ $and: [ticketVisibilityFilter(actor), { createdAt: { $gte: from, $lt: to } }] }, { category: 1 }).lean<{ category: Category }[]>();
      const counts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
      for (const d of docs) if (d.category in counts) counts[d.category] += 1;
      return { from: from.toISOString(), to: to.toISOString(), total: docs.length, items: CATEGORIES.map((category) => ({ category, count: counts[category] })) };
    },
  });

  api.add({
    method: 'get',
    path: '/kpis/tickets',
    tag: 'kpis',
    summary:
      'Ticket KPIs over [from, to) (default: today, city time): timely dispatch rate (及时转办率), on-time reply rate (按期回复率), on-time completion (按期办结率), satisfaction (满意率, and strict without 基本满意), rating coverage (评价覆盖率), on-time rectification of real-name bad ratings (差评按期整改率), return rate (退单率), extension rate (延期率), repeat complaints (重复投诉率: same caller phone with the same category or address within 30 days) — in total and per lead department. Each rate is `{ numerator, denominator, rate }` (rate null when nothing was due). Definitions: server/src/stats/ticket-kpis.ts (HOTLINE-RULES "KPI definitions"). Department users get their own department only. `source`: auto (default) reads the daily roll-ups when from and to are city midnights, else the tickets; rollup or scan force one (both give the same numbers; `source` in the answer says which).',
    roles: ['supervisor', 'admin', 'department'],
    query: kpiQuery,
    async handler({ actor, query }) {
      const now = clock();
      const { from, to } = rangeOf(query, now, utcOffsetMinutes);
      const departmentId = departmentScope(actor, query.departmentId);
      const report = await ticketKpiReport(deps, { from, to, now }, departmentId, query.source);
      return { from: from.toISOString(), to: to.toISOString(), departmentId, ...report };
    },
  });

  api.add({
    method: 'get',
    path: '/kpis/tickets/breakdown',
    tag: 'kpis',
    summary:
      'The ticket KPIs of GET /kpis/tickets, broken down by `groupBy` — a comma-separated list of department, category, channel, period (default department) — with `bucket` day|week|month (city time; weeks start on Monday) for period. Each event counts in the group of its own time and department (a dispatch: the department it named). Returns `total` and `groups` (each `{ key: { departmentId?, category?, channel?, period?, periodFrom?, periodTo? }, ...kpis }`, empty groups left out). At most 5000 groups (400 `too_big` otherwise: narrow the range or use a coarser bucket). Definitions: server/src/stats/ticket-kpis.ts. Department users get their own department only.',
    roles: ['supervisor', 'admin', 'department'],
    query: kpiBreakdownQuery,
    async handler({ actor, query }) {
      const now = clock();
      const { from, to } = rangeOf(query, now, utcOffsetMinutes);
      const departmentId = departmentScope(actor, query.departmentId);
      const groupBy = [...new Set(query.groupBy.split(','))] as GroupDimension[];
      const report = await readTicketKpis(deps, { from, to, now }, { departmentId, groupBy, bucket: query.bucket, utcOffsetMinutes }, query.source);
      if (report.groups.length > MAX_KPI_GROUPS) {
        throw validation(`${report.groups.length} groups: at most ${MAX_KPI_GROUPS}`, [
          { path: 'query.groupBy', message: `at most ${MAX_KPI_GROUPS} groups; narrow the range, group by fewer dimensions or use a coarser bucket`, code: 'too_big' },
        ]);
      }
      return { from: from.toISOString(), to: to.toISOString(), departmentId, groupBy, bucket: query.bucket, ...report };
    },
  });
}
