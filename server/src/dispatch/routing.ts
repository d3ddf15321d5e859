/**
 * Routing (归口办理): which department a ticket should go to. Pure.
 * Rules are data (category + area → department). The most specific matching rule wins:
 * more matched dimensions first, then the deeper area (street before district), then the
 * rule's priority. With no rule, the unit that owns the area takes it (兜底): the street
 * office, else the district government, else the city's default department.
 */
import type { Category } from '../tickets/vocabulary.js';

export interface RoutingRule {
  id: string;
  category: Category | null;
  districtId: string | null;
  streetId: string | null;
  departmentId: string;
  priority: number;
  active: boolean;
}

/** A people's government (kind 'government') owning an area. */
export interface AreaOwner {
  id: string;
  level: 'city' | 'district' | 'street';
  parentId: string | null;
  districtId: string | null;
  streetId: string | null;
  active: boolean;
}

export interface RoutingQuery {
  category: Category;
  districtId: string | null;
  streetId: string | null;
}

export interface Suggestion {
  departmentId: string;
  reason: 'rule' | 'area_owner' | 'city_default';
  ruleId: string | null;
}

function matches(rule: RoutingRule, q: RoutingQuery): boolean {
  if (!rule.active) return false;
  if (rule.category !== null && rule.category !== q.category) return false;
  if (rule.districtId !== null && rule.districtId !== q.districtId) return false;
  if (rule.streetId !== null && rule.streetId !== q.streetId) return false;
  return true;
}

const specificity = (r: RoutingRule): [number, number, number] => [
  (r.category ? 1 : 0) + (r.districtId ? 1 : 0) + (r.streetId ? 1 : 0),
  r.streetId ? 2 : r.districtId ? 1 : 0,
  r.priority,
];

function compare(a: RoutingRule, b: RoutingRule): number {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < 3; i++) if (sa[i] !== sb[i]) return sb[i]! - sa[i]!;
  return a.id.localeCompare(b.id); // deterministic tie-break
}

export function suggestDepartment(rules: readonly RoutingRule[], owners: readonly AreaOwner[], q: RoutingQuery): Suggestion | null {
  const best = rules.filter((r) => matches(r, q)).sort(compare)[0];
  if (best) return { departmentId: best.departmentId, reason: 'rule', ruleId: best.id };
  const active = owners.filter((o) => o.active);
  const street = q.streetId ? active.find((o) => o.level === 'street' && o.streetId === q.streetId) : undefined;
  if (street) return { departmentId: street.id, reason: 'area_owner', ruleId: null };
  const district = q.districtId ? active.find((o) => o.level === 'district' && o.districtId === q.districtId) : undefined;
  if (district) return { departmentId: district.id, reason: 'area_owner', ruleId: null };
  const city = active.find((o) => o.level === 'city' && o.parentId === null);
  return city ? { departmentId: city.id, reason: 'city_default', ruleId: null } : null;
}

/** All matching rules, best first (shown to the agent as alternatives). */
export function rankRules(rules: readonly RoutingRule[], q: RoutingQuery): RoutingRule[] {
  return rules.filter((r) => matches(r, q)).sort(compare);
}
