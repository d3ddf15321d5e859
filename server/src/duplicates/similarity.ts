/**
 * Duplicate detection (重复件, issue #6 item 8), the pure part: two tickets are about the same
 * matter when they name the same place (normalised address) and their contents are similar
 * (Dice coefficient over character bigrams, which suits Chinese text without word
 * segmentation) within a time window. Suggestions only: an agent decides and merges.
 */

/** Full-width → half-width, case, whitespace and punctuation removed: "中华路１号 ３单元" = "中华路1号3单元". */
export function normalizeAddress(address: string): string {
  return address.normalize('NFKC').toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
}

function bigrams(text: string): Map<string, number> {
  const s = text.normalize('NFKC').toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
  const out = new Map<string, number>();
  const chars = [...s];
  if (chars.length === 1) out.set(chars[0]!, 1);
  for (let i = 0; i + 1 < chars.length; i++) {
    const g = chars[i]! + chars[i + 1]!;
    out.set(g, (out.get(g) ?? 0) + 1);
  }
  return out;
}

/** Dice coefficient over character bigrams (multiset), 0 … 1. */
export function similarity(a: string, b: string): number {
  const x = bigrams(a);
  const y = bigrams(b);
  let sizeX = 0;
  let sizeY = 0;
  let common = 0;
  for (const n of x.values()) sizeX += n;
  for (const [g, n] of y) {
    sizeY += n;
    common += Math.min(n, x.get(g) ?? 0);
  }
  return sizeX + sizeY === 0 ? 0 : (2 * common) / (sizeX + sizeY);
}

export interface DuplicateSubject {
  id: string;
  address: string;
  content: string;
  createdAt: Date;
}

export interface DuplicateOther extends DuplicateSubject {
  number: string;
  state: string;
  category: string;
  mergedInto: string | null;
}

export interface DuplicateSuggestion {
  id: string;
  number: string;
  state: string;
  category: string;
  createdAt: string;
  /** content similarity, 0 … 1 */
  score: number;
}

export const DUPLICATE_DEFAULTS = { windowDays: 30, minScore: 0.5, limit: 10 } as const;

/**
 * The tickets among `others` that look like duplicates of `subject`: same normalised address,
 * created within the window before or after it, not merged away themselves, content similarity
 * at least `minScore`; best first.
 */
export function suggestDuplicates(
  subject: DuplicateSubject,
  others: readonly DuplicateOther[],
  opts: { windowDays?: number; minScore?: number; limit?: number } = {},
): DuplicateSuggestion[] {
  const windowMs = (opts.windowDays ?? DUPLICATE_DEFAULTS.windowDays) * 86_400_000;
  const minScore = opts.minScore ?? DUPLICATE_DEFAULTS.minScore;
  const place = normalizeAddress(subject.address);
  if (place.length === 0) return [];
  const out: DuplicateSuggestion[] = [];
  for (const o of others) {
    if (o.id === subject.id || o.state === 'merged' || o.mergedInto) continue;
    if (normalizeAddress(o.address) !== place) continue;
    if (Math.abs(new Date(o.createdAt).getTime() - new Date(subject.createdAt).getTime()) > windowMs) continue;
    const score = similarity(subject.content, o.content);
    if (score < minScore) continue;
    out.push({ id: o.id, number: o.number, state: o.state, category: o.category, createdAt: new Date(o.createdAt).toISOString(), score: Math.round(score * 1000) / 1000 });
  }
  return out.sort((a, b) => b.score - a.score || a.createdAt.localeCompare(b.createdAt)).slice(0, opts.limit ?? DUPLICATE_DEFAULTS.limit);
}
