// Dialled number → hotline line (热线归并: former hotlines merged into 12345 keep their numbers and
// become lines of it). The table is data, so a deployment configures its own numbers; the lookup
// is a pure function of (table, dialled number). A deployment sets its own table in
// TELEPHONY_LINES (JSON, see linesFromEnv).
import { z } from 'zod';

export interface LineConfig {
  /** stable id the engine keys queues, KPIs and routing rules by */
  id: string;
  /** display name for consoles and reports */
  name: string;
  /** numbers that reach this line, as they arrive in the Request-URI user part */
  numbers: string[];
  /** the former hotline this line replaced, if it is a merged one */
  mergedFrom?: string;
}

export interface Line {
  id: string;
  name: string;
  mergedFrom?: string;
}

export const DEFAULT_LINES: readonly LineConfig[] = [
  { id: 'main', name: '12345政务服务便民热线', numbers: ['12345'] },
  { id: 'enterprise', name: '万人助万企', numbers: ['12345-1', '96150'] },
  { id: 'urban-management', name: '城管热线（已归并）', numbers: ['12319'], mergedFrom: '12319' },
];

export type LineTable = ReadonlyMap<string, Line>;

/**
 * Normalises a dialled number for lookup: URI parameters dropped (`12345;phone-context=…`),
 * percent-escapes decoded, a leading `+86` / `0086` country code removed, spaces, dots and
 * brackets removed. `-` is kept: it is significant in numbers such as `12345-1`.
 * Returns undefined for anything that is not a plausible dialled number.
 */
export function normaliseDialled(dialled: string | undefined): string | undefined {
  if (dialled === undefined) return undefined;
  let s = dialled.split(';')[0] ?? '';
  try {
    s = decodeURIComponent(s);
  } catch {
    return undefined;
  }
  s = s.replace(/[\s.()]/g, '');
  if (s.startsWith('+86')) s = s.slice(3);
  else if (s.startsWith('0086')) s = s.slice(4);
  if (!/^[0-9*#][0-9*#-]{0,31}$/.test(s)) return undefined;
  return s;
}

/** Builds the lookup table; throws on a number configured twice or one that cannot be dialled. */
export function buildLineTable(lines: readonly LineConfig[]): LineTable {
  const table = new Map<string, Line>();
  const ids = new Set<string>();
  for (const l of lines) {
    if (!l.id || ids.has(l.id)) throw new Error(`line id missing or duplicated: ${JSON.stringify(l.id)}`);
    ids.add(l.id);
    const line: Line = { id: l.id, name: l.name };
    if (l.mergedFrom !== undefined) line.mergedFrom = l.mergedFrom;
    for (const n of l.numbers) {
      const key = normaliseDialled(n);
      if (key === undefined || key !== n) throw new Error(`line ${l.id}: number ${JSON.stringify(n)} is not in normal form`);
      const other = table.get(key);
      if (other) throw new Error(`number ${n} configured for both ${other.id} and ${l.id}`);
      table.set(key, line);
    }
  }
  return table;
}

/** The line a dialled number reaches, with the normalised number; undefined if none. */
export function lookupLine(table: LineTable, dialled: string | undefined): { line: Line; number: string } | undefined {
  const number = normaliseDialled(dialled);
  if (number === undefined) return undefined;
  const line = table.get(number);
  return line ? { line, number } : undefined;
}

const lineConfigSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'id: letters, digits, "_" or "-", at most 64'),
    name: z.string().min(1).max(200),
    numbers: z.array(z.string().min(1).max(32)).min(1).max(100),
    mergedFrom: z.string().min(1).max(32).optional(),
  })
  .strict();

/**
 * Reads TELEPHONY_LINES: a JSON array of `{id, name, numbers, mergedFrom?}`. Unset or empty: the
 * demo table (DEFAULT_LINES). Throws with a message naming the bad entry, so a misconfigured
 * deployment stops at start-up instead of answering 404 to its own hotline.
 */
export function linesFromEnv(raw: string | undefined): readonly LineConfig[] {
  if (raw === undefined || raw.trim() === '') return DEFAULT_LINES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('TELEPHONY_LINES is not valid JSON');
  }
  const r = z.array(lineConfigSchema).min(1, 'TELEPHONY_LINES: at least one line').safeParse(parsed);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`TELEPHONY_LINES${i.path.map((p) => `[${JSON.stringify(p)}]`).join('')}: ${i.message}`);
  }
  const lines: LineConfig[] = r.data.map((l) => ({ id: l.id, name: l.name, numbers: l.numbers, ...(l.mergedFrom !== undefined ? { mergedFrom: l.mergedFrom } : {}) }));
  buildLineTable(lines); // duplicates and numbers not in normal form
  return lines;
}
