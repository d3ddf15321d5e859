import { describe, expect, it } from 'vitest';
import { parseRegulatorWebhooks, wants } from '../../../server/src/regulator/config.js';
import { sign, verifySignature } from '../../../server/src/regulator/delivery.js';
import { pushEventOf, pushJobId } from '../../../server/src/regulator/push.js';

const hook = { id: 'a', url: 'https://r.example/h', secret: 's'.repeat(16) };

describe('REGULATOR_WEBHOOKS', () => {
  it('defaults: both events, every department and category', () => {
    const [w] = parseRegulatorWebhooks(JSON.stringify([hook]));
    expect(w).toMatchObject({ events: ['replied', 'closed'], departments: [], categories: [] });
    expect(parseRegulatorWebhooks('')).toEqual([]);
  });
  it('names every problem', () => {
    expect(() => parseRegulatorWebhooks('{')).toThrow('not valid JSON');
    expect(() => parseRegulatorWebhooks(JSON.stringify([{ ...hook, secret: 'short' }]))).toThrow(/0\.secret/);
    expect(() => parseRegulatorWebhooks(JSON.stringify([{ ...hook, url: 'ftp://x' }]))).toThrow(/0\.url/);
    expect(() => parseRegulatorWebhooks(JSON.stringify([{ ...hook, categories: ['noise'] }]))).toThrow(/categories/);
    expect(() => parseRegulatorWebhooks(JSON.stringify([hook, hook]))).toThrow('duplicate webhook id a');
  });
  it('filters by event, category and lead or co-handling department', () => {
    const [w] = parseRegulatorWebhooks(JSON.stringify([{ ...hook, events: ['closed'], departments: ['d1'], categories: ['complaint'] }]));
    const t = { category: 'complaint', leadDepartmentId: 'd2', coDepartmentIds: ['d1'] };
    expect(wants(w!, 'closed', t)).toBe(true);
    expect(wants(w!, 'replied', t)).toBe(false);
    expect(wants(w!, 'closed', { ...t, category: 'help' })).toBe(false);
    expect(wants(w!, 'closed', { ...t, coDepartmentIds: [] })).toBe(false);
  });
});

describe('signature and ids', () => {
  it('HMAC-SHA256 over "<timestamp>.<body>", checked in constant time with a replay window', () => {
    const s = sign('k'.repeat(16), '1700000000', '{"a":1}');
    expect(s).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('k'.repeat(16), '1700000000', '{"a":1}', s, 1700000100)).toBe(true);
    expect(verifySignature('k'.repeat(16), '1700000000', '{"a":1}', s, 1700001000)).toBe(false); // too old
    expect(verifySignature('k'.repeat(16), '1700000001', '{"a":1}', s, 1700000100)).toBe(false);
  });
  it('one job per target, ticket, event and version', () => {
    expect(pushJobId('city', 'abc', 'closed', 7)).toBe('city-abc-closed-7');
    expect(pushEventOf('ticket.replied')).toBe('replied');
    expect(pushEventOf('ticket.closed')).toBe('closed');
    expect(pushEventOf('ticket.signed')).toBeNull();
  });
});
