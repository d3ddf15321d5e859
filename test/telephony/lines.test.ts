// The dialled-number → line table (热线归并) and its pure lookup.
import { describe, expect, it } from 'vitest';
import { buildLineTable, DEFAULT_LINES, linesFromEnv, lookupLine, normaliseDialled } from '../../telephony/src/lines.js';

describe('lines', () => {
  const table = buildLineTable(DEFAULT_LINES);

  it('maps 12345, the enterprise numbers and a merged former hotline to their lines', () => {
    expect(lookupLine(table, '12345')).toEqual({ line: { id: 'main', name: '12345政务服务便民热线' }, number: '12345' });
    expect(lookupLine(table, '12345-1')?.line.id).toBe('enterprise');
    expect(lookupLine(table, '96150')?.line.id).toBe('enterprise');
    expect(lookupLine(table, '12319')?.line).toMatchObject({ id: 'urban-management', mergedFrom: '12319' });
  });

  it('normalises country code, URI parameters and escapes; keeps "-"', () => {
    expect(lookupLine(table, '+8612345')?.number).toBe('12345');
    expect(lookupLine(table, '008612345')?.number).toBe('12345');
    expect(lookupLine(table, '12345;phone-context=+86')?.number).toBe('12345');
    expect(lookupLine(table, '%2B8696150')?.line.id).toBe('enterprise');
    expect(normaliseDialled('123-45')).toBe('123-45');
    expect(lookupLine(table, '123-45')).toBeUndefined();
  });

  it('unknown, empty or malformed numbers have no line', () => {
    for (const n of [undefined, '', '99999', '12346', 'abc', '12345x', '%zz', '1'.repeat(40)]) {
      expect(lookupLine(table, n)).toBeUndefined();
    }
  });

  it('rejects a number configured twice, a duplicated id, or a number not in normal form', () => {
    expect(() => buildLineTable([{ id: 'a', name: 'A', numbers: ['12345'] }, { id: 'b', name: 'B', numbers: ['12345'] }])).toThrow(/both a and b/);
    expect(() => buildLineTable([{ id: 'a', name: 'A', numbers: ['1'] }, { id: 'a', name: 'A2', numbers: ['2'] }])).toThrow(/duplicated/);
    expect(() => buildLineTable([{ id: 'a', name: 'A', numbers: ['+8612345'] }])).toThrow(/normal form/);
  });

  it('is data: a deployment brings its own table', () => {
    const t = buildLineTable([{ id: 'x', name: 'X', numbers: ['12315'] }]);
    expect(lookupLine(t, '12315')?.line.id).toBe('x');
    expect(lookupLine(t, '12345')).toBeUndefined();
  });

  it('TELEPHONY_LINES: unset means the demo table; a valid table is returned as configured; a bad one names the entry', () => {
    expect(linesFromEnv(undefined)).toBe(DEFAULT_LINES);
    expect(linesFromEnv('  ')).toBe(DEFAULT_LINES);
    const own = [{ id: 'city', name: '市民热线', numbers: ['12345'] }, { id: 'old', name: '旧热线', numbers: ['96118'], mergedFrom: '96118' }];
    expect(linesFromEnv(JSON.stringify(own))).toEqual(own);
    expect(lookupLine(buildLineTable(linesFromEnv(JSON.stringify(own))), '96118')?.line).toEqual({ id: 'old', name: '旧热线', mergedFrom: '96118' });
    expect(() => linesFromEnv('[]')).toThrow(/at least one line/);
    expect(() => linesFromEnv('[{"id":"a b","name":"A","numbers":["1"]}]')).toThrow(/TELEPHONY_LINES\[0\]\["id"\]/);
    expect(() => linesFromEnv('[{"id":"a","name":"A","numbers":[]}]')).toThrow(/\["numbers"\]/);
    expect(() => linesFromEnv('[{"id":"a","name":"A","numbers":["1"],"extra":1}]')).toThrow(/extra/);
    expect(() => linesFromEnv('[{"id":"a","name":"A","numbers":["+8612345"]}]')).toThrow(/normal form/);
  });
});
