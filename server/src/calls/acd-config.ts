/**
 * ACD configuration as data (ACD_GROUPS, JSON): which agent group and skills each line's calls
 * need, and each group's overflow policy (issue 4 item 3: maximum wait with overflow to another
 * group or to a callback list). Validated once at start-up; a bad value stops the server.
 *
 * Example: the enterprise line (万人助万企) goes to its own group; after 30 s it overflows to the
 * main group, and after 5 min in all it becomes a callback task:
 *   {"lines": {"enterprise": {"group": "enterprise"}},
 *    "overflow": {"enterprise": {"maxWaitSeconds": 30, "overflowGroup": "main", "callbackAfterSeconds": 300}}}
 */
import { z } from 'zod';
import type { OverflowPolicy, Strategy } from './acd.js';

const groupName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'group names are 1–32 letters, digits, _ or -');

const schema = z
  .object({
    strategy: z.enum(['longest_idle', 'skills']).default('longest_idle'),
    lines: z.record(z.string(), z.object({ group: groupName, skills: z.array(z.string().min(1).max(32)).max(20).default([]) })).default({}),
    overflow: z
      .record(
        groupName,
        z.object({
          maxWaitSeconds: z.number().int().min(1).max(3600),
          overflowGroup: groupName.nullable().default(null),
          callbackAfterSeconds: z.number().int().min(1).max(24 * 3600).nullable().default(null),
        }),
      )
      .default({}),
  })
  .strict();

export interface AcdConfig {
  strategy: Strategy;
  /** the group and skills a line's calls need */
  routeOf(line: string): { group: string; skills: readonly string[] };
  /** the overflow policy of a group, or null (wait until answered or abandoned) */
  policyOf(group: string): OverflowPolicy | null;
  /** whether any group has a policy (the sweep can skip overflow otherwise) */
  hasOverflow: boolean;
}

/**
 * Parses ACD_GROUPS ('' = defaults). `defaultMaxWaitSeconds` (ACD_MAX_WAIT_SECONDS, 0 = off) is
 * the callback limit of groups without their own policy.
 */
export function parseAcdConfig(raw: string, defaultGroup: string, defaultMaxWaitSeconds: number): AcdConfig {
  let json: unknown = {};
  if (raw.trim() !== '') {
    try {
      json = JSON.parse(raw);
    } catch {
      throw new Error('ACD_GROUPS: is not valid JSON');
    }
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new Error(`ACD_GROUPS: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const c = r.data;
  const fallback: OverflowPolicy | null = defaultMaxWaitSeconds > 0 ? { maxWaitSeconds: defaultMaxWaitSeconds, overflowGroup: null, callbackAfterSeconds: defaultMaxWaitSeconds } : null;
  return {
    strategy: c.strategy,
    routeOf: (line) => c.lines[line] ?? { group: defaultGroup, skills: [] },
    policyOf: (group) => c.overflow[group] ?? fallback,
    hasOverflow: Object.keys(c.overflow).length > 0 || fallback !== null,
  };
}
