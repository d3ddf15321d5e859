import { describe, expect, it } from 'vitest';
import { DICTIONARIES } from '../../../agent-console/src/i18n/dict.js';
import { COMMAND_FIELDS, commandBody, commandPath } from '../../../agent-console/src/lib/commands.js';

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();

describe('console i18n', () => {
  const zh = DICTIONARIES['zh-CN'];
  const en = DICTIONARIES.en;

  it('every key exists in both languages, non-empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const [k, v] of Object.entries(zh)) expect(v.trim(), `zh ${k}`).not.toBe('');
    for (const [k, v] of Object.entries(en)) expect(v.trim(), `en ${k}`).not.toBe('');
  });

  it('both languages use the same {placeholders}', () => {
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) expect(placeholders(en[k]), k).toEqual(placeholders(zh[k]));
  });

  it('the English side is not left in Chinese', () => {
    const han = /\p{Script=Han}/u;
    // the language switch is bilingual on purpose
    const bilingual = new Set(['lang.switchAria']);
    for (const [k, v] of Object.entries(en)) if (!bilingual.has(k)) expect(han.test(v), `${k}: ${v}`).toBe(false);
  });

  it('every value of the closed vocabularies has a label (server: tickets/vocabulary.ts, commands.ts)', async () => {
    const { CATEGORIES, URGENCIES, TICKET_STATES, CHANNELS, RATING_LEVELS } = await import('../../../server/src/tickets/vocabulary.js');
    const { COMMAND_TYPES } = await import('../../../server/src/tickets/commands.js');
    const { MILESTONES } = await import('../../../server/src/deadlines/policy.js');
    const want = [
      ...CATEGORIES.map((v) => `category.${v}`),
      ...URGENCIES.map((v) => `urgency.${v}`),
      ...TICKET_STATES.map((v) => `state.${v}`),
      ...CHANNELS.map((v) => `channel.${v}`),
      ...RATING_LEVELS.map((v) => `rating.${v}`),
      ...COMMAND_TYPES.map((v) => `command.${v}`),
      ...MILESTONES.map((v) => `milestone.${v}`),
      'command.create',
    ];
    for (const k of want) expect(Object.keys(zh), k).toContain(k);
  });

  it('every command field has a label, and every user command has a dialog', async () => {
    const { COMMAND_TYPES } = await import('../../../server/src/tickets/commands.js');
    for (const fields of Object.values(COMMAND_FIELDS)) for (const f of fields) expect(Object.keys(zh)).toContain(`field.${f.name}`);
    for (const c of COMMAND_TYPES.filter((x) => x !== 'tick' && x !== 'classify')) expect(Object.keys(COMMAND_FIELDS), c).toContain(c);
  });
});

describe('console command bodies', () => {
  it('maps camelCase commands to the server paths', () => {
    expect(commandPath('requestExtension')).toBe('request-extension');
    expect(commandPath('sign')).toBe('sign');
  });
  it('drops empty optional text, keeps required booleans', () => {
    expect(commandBody('sign', { note: '  ' })).toEqual({});
    expect(commandBody('decideExtension', { note: '' })).toEqual({ approve: false });
    expect(commandBody('requestExtension', { days: 3, reason: ' 需要现场核查 ' })).toEqual({ days: 3, reason: '需要现场核查' });
    expect(commandBody('dispatch', { leadDepartmentId: 'city-urban', coDepartmentIds: [] })).toEqual({ leadDepartmentId: 'city-urban' });
  });
});
