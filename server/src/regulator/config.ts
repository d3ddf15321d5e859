/**
 * 审管 push targets (issue #6 item 7, seed items 37/42): the regulator's systems that receive
 * ticket results. Configured as JSON in `REGULATOR_WEBHOOKS`, e.g.
 *
 *   [{"id":"city-regulator","url":"https://shenguan.example.gov.cn/hooks/12345",
 *     "secret":"…at least 16 characters…","events":["replied","closed"],
 *     "departments":["city-market"],"categories":["complaint","report"]}]
 *
 * `events` defaults to both; an absent or empty `departments`/`categories` list means "all".
 * The secret signs every body (delivery.ts) and never leaves this process.
 */
import { z } from 'zod';
import { CATEGORIES } from '../tickets/vocabulary.js';

/** Ticket results pushed: the department's reply (答复) and the final close (办结). */
export const PUSH_EVENTS = ['replied', 'closed'] as const;
export type PushEvent = (typeof PUSH_EVENTS)[number];

const webhookSchema = z.object({
  /** Stable name: part of job ids and the delivery log. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id: letters, digits, - and _ only'),
  url: z.url({ protocol: /^https?$/ }),
  secret: z.string().min(16, 'secret: at least 16 characters'),
  events: z.array(z.enum(PUSH_EVENTS)).min(1).default([...PUSH_EVENTS]),
  departments: z.array(z.string().min(1).max(64)).default([]),
  categories: z.array(z.enum(CATEGORIES)).default([]),
});
export type RegulatorWebhook = z.output<typeof webhookSchema>;

/** Parse `REGULATOR_WEBHOOKS`; throws an Error naming the problem (env.ts lists it at start-up). */
export function parseRegulatorWebhooks(raw: string): RegulatorWebhook[] {
  if (raw.trim() === '') return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('not valid JSON');
  }
  const r = z.array(webhookSchema).safeParse(json);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  const ids = r.data.map((w) => w.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new Error(`duplicate webhook id ${dup}`);
  return r.data;
}

/** Does this target want this event of this ticket? Lead or co-handling departments both match. */
export function wants(
  w: RegulatorWebhook,
  event: PushEvent,
  t: { category: string; leadDepartmentId: string | null; coDepartmentIds: string[] },
): boolean {
  if (!w.events.includes(event)) return false;
  if (w.categories.length > 0 && !(w.categories as string[]).includes(t.category)) return false;
  if (w.departments.length > 0) {
    const depts = [t.leadDepartmentId, ...t.coDepartmentIds].filter((d): d is string => d !== null);
    if (!depts.some((d) => w.departments.includes(d))) return false;
  }
  return true;
}
