/**
 * Search terms for Chinese and mixed text without a $text index (FerretDB has none, and
 * MongoDB's has no Chinese analyzer): Han runs become character bigrams (plus the single
 * character for one-character runs), Latin/digit runs become lowercase words. Terms are
 * stored in an indexed array and queried with `$in`, which works the same on MongoDB and
 * FerretDB; ranking happens in code. Pure.
 */
const RUN = /\p{Script=Han}+|(?:(?!\p{Script=Han})[\p{L}\p{N}])+/gu;
const HAN = /^\p{Script=Han}/u;

export function terms(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(RUN)) {
    const run = m[0];
    if (HAN.test(run)) {
      const chars = [...run];
      if (chars.length === 1) out.add(chars[0]!);
      for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i]! + chars[i + 1]!);
    } else if (run.length >= 2 || /\d/.test(run)) {
      out.add(run);
    }
  }
  return [...out];
}

export interface Scored<T> {
  item: T;
  score: number;
}

/**
 * Rank candidates: a query term found in the title counts 3, in tags 2, in the body 1;
 * the share of query terms matched breaks ties toward fuller matches.
 */
export function rank<T extends { titleTerms: string[]; tagTerms: string[]; terms: string[] }>(query: string[], candidates: T[]): Scored<T>[] {
  if (query.length === 0) return [];
  return candidates
    .map((item) => {
      const title = new Set(item.titleTerms);
      const tags = new Set(item.tagTerms);
      const all = new Set(item.terms);
      let score = 0;
      let matched = 0;
      for (const t of query) {
        if (!all.has(t)) continue;
        matched++;
        score += title.has(t) ? 3 : tags.has(t) ? 2 : 1;
      }
      return { item, score: score + matched / query.length };
    })
    .filter((s) => s.score >= 1)
    .sort((a, b) => b.score - a.score);
}
