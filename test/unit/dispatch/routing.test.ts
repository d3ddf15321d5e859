import { describe, expect, it } from 'vitest';
import { rankRules, suggestDepartment, type AreaOwner, type RoutingRule } from '../../../server/src/dispatch/routing.js';

const rule = (id: string, r: Partial<RoutingRule>): RoutingRule => ({
  id,
  category: null,
  districtId: null,
  streetId: null,
  departmentId: `dept-${id}`,
  priority: 0,
  active: true,
  ...r,
});
const owners: AreaOwner[] = [
  { id: 'city', level: 'city', parentId: null, districtId: null, streetId: null, active: true },
  { id: 'wenfeng', level: 'district', parentId: 'city', districtId: 'wenfeng', streetId: null, active: true },
  { id: 'nanguan', level: 'street', parentId: 'wenfeng', districtId: 'wenfeng', streetId: 'nanguan', active: true },
];

describe('routing (归口)', () => {
  const rules = [
    rule('complaint', { category: 'complaint' }),
    rule('complaint-wenfeng', { category: 'complaint', districtId: 'wenfeng' }),
    rule('complaint-nanguan', { category: 'complaint', districtId: 'wenfeng', streetId: 'nanguan' }),
    rule('wenfeng', { districtId: 'wenfeng' }),
    rule('off', { category: 'complaint', districtId: 'wenfeng', streetId: 'nanguan', active: false, priority: 99 }),
  ];

  it('the most specific matching rule wins', () => {
    expect(suggestDepartment(rules, owners, { category: 'complaint', districtId: 'wenfeng', streetId: 'nanguan' })).toEqual({
      departmentId: 'dept-complaint-nanguan',
      reason: 'rule',
      ruleId: 'complaint-nanguan',
    });
    expect(suggestDepartment(rules, owners, { category: 'complaint', districtId: 'wenfeng', streetId: 'other' })?.ruleId).toBe('complaint-wenfeng');
    expect(suggestDepartment(rules, owners, { category: 'complaint', districtId: 'beiguan', streetId: null })?.ruleId).toBe('complaint');
    expect(suggestDepartment(rules, owners, { category: 'help', districtId: 'wenfeng', streetId: null })?.ruleId).toBe('wenfeng');
  });

  it('priority breaks ties between equally specific rules; inactive rules never match', () => {
    const tie = [rule('a', { category: 'help', priority: 1 }), rule('b', { category: 'help', priority: 5 })];
    expect(suggestDepartment(tie, owners, { category: 'help', districtId: null, streetId: null })?.ruleId).toBe('b');
    expect(rankRules(rules, { category: 'complaint', districtId: 'wenfeng', streetId: 'nanguan' }).map((r) => r.id)).not.toContain('off');
  });

  it('with no rule, the area owner takes it (兜底): street, then district, then the city', () => {
    expect(suggestDepartment([], owners, { category: 'help', districtId: 'wenfeng', streetId: 'nanguan' })).toMatchObject({ departmentId: 'nanguan', reason: 'area_owner' });
    expect(suggestDepartment([], owners, { category: 'help', districtId: 'wenfeng', streetId: 'x' })).toMatchObject({ departmentId: 'wenfeng', reason: 'area_owner' });
    expect(suggestDepartment([], owners, { category: 'help', districtId: null, streetId: null })).toMatchObject({ departmentId: 'city', reason: 'city_default' });
    expect(suggestDepartment([], [], { category: 'help', districtId: null, streetId: null })).toBeNull();
  });
});
