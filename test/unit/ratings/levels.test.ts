import { describe, expect, it } from 'vitest';
import { levelOfDigit, parseLevel, RATING_LABELS } from '../../../server/src/ratings/levels.js';
import { hashToken, TOKEN_PATTERN } from '../../../server/src/ratings/tokens.js';
import { isBadRating, RATING_LEVELS } from '../../../server/src/tickets/vocabulary.js';

describe('好差评 levels', () => {
  it('keypad digits 1–5 follow the five levels in order; 4 and 5 are bad ratings', () => {
    expect([1, 2, 3, 4, 5].map((d) => RATING_LABELS[levelOfDigit(d)!])).toEqual(['非常满意', '满意', '基本满意', '不满意', '非常不满意']);
    expect([1, 2, 3, 4, 5].map((d) => isBadRating(levelOfDigit(d)!))).toEqual([false, false, false, true, true]);
    expect(levelOfDigit(0)).toBeNull();
    expect(levelOfDigit(6)).toBeNull();
  });
  it('a level by id or by its Chinese label', () => {
    for (const l of RATING_LEVELS) {
      expect(parseLevel(l)).toBe(l);
      expect(parseLevel(RATING_LABELS[l])).toBe(l);
    }
    expect(parseLevel('很好')).toBeNull();
  });
  it('tokens are stored as their SHA-256', () => {
    expect(hashToken('x')).toMatch(/^[0-9a-f]{64}$/);
    expect(TOKEN_PATTERN.test('A'.repeat(43))).toBe(true);
    expect(TOKEN_PATTERN.test('A'.repeat(42))).toBe(false);
  });
});
