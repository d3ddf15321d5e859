/**
 * Who may see what: the one place for read permissions (write permissions of tickets live in
 * the state machine's RULES table).
 */
import type { Actor } from '../tickets/types.js';
import type { UserRole } from '../directory/model.js';

export const HOTLINE_ROLES: readonly UserRole[] = ['agent', 'window', 'supervisor'];
export const ALL_ROLES: readonly UserRole[] = ['agent', 'window', 'department', 'supervisor', 'admin'];

/**
 * Department users read only tickets dispatched or co-dispatched to their department
 * (HOTLINE-RULES "Privacy and security"). Other ids answer 404, so ids cannot be probed.
 */
export function ticketVisibilityFilter(actor: Actor): Record<string, unknown> {
  if (actor.role !== 'department') return {};
  const dept = actor.departmentId ?? '__none__';
  // Departments higher up that overdue supervision escalated to may read it too.
  return { $or: [{ leadDepartmentId: dept }, { coDepartmentIds: dept }, { escalatedTo: dept }] };
}

/** Only the hotline, supervisors and admins see full phone numbers and confidential callers. */
export const seesFullCaller = (actor: Actor): boolean => actor.role !== 'department';

/** The same rule as ticketVisibilityFilter, applied to a loaded ticket. */
export function canSeeTicket(actor: Actor, t: { leadDepartmentId: string | null; coDepartmentIds: string[]; escalatedTo?: string[] }): boolean {
  if (actor.role !== 'department') return true;
  const dept = actor.departmentId;
  if (!dept) return false;
  return t.leadDepartmentId === dept || t.coDepartmentIds.includes(dept) || (t.escalatedTo ?? []).includes(dept);
}
