import { createRequire } from 'node:module';

/**
 * China's official public holidays and adjusted working weekends (调休), from the maintained
 * `chinese-days` data package. Read as plain date-keyed data (not through its date-parsing
 * API) so the server's own time zone can never shift a day.
 */
interface ChineseDays {
  holidays: Record<string, string>;
  workdays: Record<string, string>;
}
const data = createRequire(import.meta.url)('chinese-days/dist/chinese-days.json') as ChineseDays;

export interface DayInfo {
  date: string;
  working: boolean;
  /** Why: a holiday or 调休 name, or "weekend" / "weekday". */
  reason: string;
}

/** The official status of a local date YYYY-MM-DD, before local overrides. */
export function officialDay(ymd: string): DayInfo {
  const name = (s: string): string => s.split(',')[1] ?? s;
  const w = data.workdays[ymd];
  if (w) return { date: ymd, working: true, reason: `调休上班 ${name(w)}` };
  const h = data.holidays[ymd];
  if (h) return { date: ymd, working: false, reason: name(h) };
  const dow = new Date(`${ymd}T00:00:00Z`).getUTCDay();
  return dow === 0 || dow === 6 ? { date: ymd, working: false, reason: 'weekend' } : { date: ymd, working: true, reason: 'weekday' };
}

/** The last year the data package covers (later years fall back to weekdays only). */
export const lastOfficialYear = (): number => Math.max(...Object.keys(data.holidays).map((d) => Number(d.slice(0, 4))));
