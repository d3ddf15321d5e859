/**
 * 好差评 levels as citizens see them (国办发〔2019〕51号) and the IVR keypad mapping, pure.
 * Stored values stay the English ids of tickets/vocabulary.ts.
 */
import { RATING_LEVELS, type RatingLevel } from '../tickets/vocabulary.js';

export const RATING_LABELS: Record<RatingLevel, string> = {
  very_satisfied: '非常满意',
  satisfied: '满意',
  basically_satisfied: '基本满意',
  dissatisfied: '不满意',
  very_dissatisfied: '非常不满意',
};

/**
 * 电话按键评价: the IVR prompt reads "非常满意请按1，满意请按2，基本满意请按3，不满意请按4，非常不满意请按5",
 * so digit n is the n-th level of RATING_LEVELS.
 */
export const KEYPAD_DIGITS = [1, 2, 3, 4, 5] as const;
export const levelOfDigit = (digit: number): RatingLevel | null => RATING_LEVELS[digit - 1] ?? null;

/** A level given as its id (`satisfied`) or its Chinese label (`满意`). */
export function parseLevel(v: string): RatingLevel | null {
  if ((RATING_LEVELS as readonly string[]).includes(v)) return v as RatingLevel;
  const hit = (Object.entries(RATING_LABELS) as [RatingLevel, string][]).find(([, label]) => label === v);
  return hit ? hit[0] : null;
}
