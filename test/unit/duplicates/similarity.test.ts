/** Duplicate detection's pure core (server/src/duplicates/similarity.ts), with hand-computed values. */
import { describe, expect, it } from 'vitest';
import { normalizeAddress, similarity, suggestDuplicates, type DuplicateOther } from '../../../server/src/duplicates/similarity.js';

describe('normalizeAddress', () => {
  it('full-width digits, spaces, punctuation and case do not make a different place', () => {
    expect(normalizeAddress('文峰区 中华路１号，３单元')).toBe('文峰区中华路1号3单元');
    expect(normalizeAddress('Building A-3')).toBe('buildinga3');
    expect(normalizeAddress('  ，。 ')).toBe('');
  });
});

describe('similarity (Dice over character bigrams)', () => {
  it('hand-computed: 噪音扰民 vs 噪音太大 share 1 of 3+3 bigrams → 2/6', () => {
    // 噪音 音扰 扰民 | 噪音 音太 太大 → common {噪音} → 2·1/(3+3)
    expect(similarity('噪音扰民', '噪音太大')).toBeCloseTo(1 / 3, 10);
  });
  it('identical text is 1, disjoint is 0, punctuation is ignored', () => {
    expect(similarity('工地夜间施工噪音扰民', '工地夜间施工，噪音扰民！')).toBe(1);
    expect(similarity('路灯不亮', '社保补办')).toBe(0);
    expect(similarity('', '')).toBe(0);
  });
});

describe('suggestDuplicates', () => {
  const subject = { id: 's', address: '中华路1号', content: '小区旁工地夜间施工噪音扰民，持续一周', createdAt: new Date('2026-11-20T00:00:00Z') };
  const other = (id: string, over: Partial<DuplicateOther>): DuplicateOther => ({
    id,
    number: `N-${id}`,
    state: 'handling',
    category: 'complaint',
    mergedInto: null,
    address: '中华路１号',
    content: '工地夜间施工噪音扰民，已经持续一周了',
    createdAt: new Date('2026-11-18T00:00:00Z'),
    ...over,
  });
  it('same place, similar content, inside the window, not merged: suggested, best first', () => {
    const r = suggestDuplicates(subject, [
      other('a', {}),
      other('b', { content: '小区旁工地夜间施工噪音扰民，持续一周' }), // identical
      other('far', { createdAt: new Date('2026-09-01T00:00:00Z') }), // outside 30 days
      other('elsewhere', { address: '人民路2号' }),
      other('different', { content: '路灯不亮，晚上出行不便' }),
      other('merged', { state: 'merged', mergedInto: 'b' }),
      other('s', {}), // itself
    ]);
    expect(r.map((x) => x.id)).toEqual(['b', 'a']);
    expect(r[0]!.score).toBe(1);
    expect(r[1]!.score).toBeGreaterThanOrEqual(0.5);
  });
  it('a ticket without an address has no duplicates by place', () => {
    expect(suggestDuplicates({ ...subject, address: '' }, [other('a', { address: '' })])).toEqual([]);
  });
});
