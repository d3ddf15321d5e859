/** The ledger's pure row mapping (server/src/exports/ledger.ts). */
import { describe, expect, it } from 'vitest';
import { CHANNEL_LABELS, ledgerRow, localTime, type LedgerTicket } from '../../../server/src/exports/ledger.js';
import { CHANNELS } from '../../../server/src/tickets/vocabulary.js';

const ticket = (over: Partial<LedgerTicket> = {}): LedgerTicket =>
  ({
    _id: 'x',
    number: '12345-20261126-000001',
    createdAt: new Date('2026-11-26T01:30:00Z'),
    channel: 'phone',
    category: 'complaint',
    urgency: 'urgent',
    state: 'closed',
    caller: { name: '李四', phone: '13900001111', anonymous: false },
    confidential: false,
    address: '中华路1号',
    title: null,
    content: '回电13900001111',
    leadDepartmentId: 'city-urban',
    coDepartmentIds: ['city-water'],
    deadlines: { reply: { dueAt: new Date('2026-11-27T10:00:00Z'), doneAt: null } },
    reply: { text: '已处理', at: new Date('2026-11-27T09:00:00Z'), by: { id: 'u', role: 'department', name: 'u' } },
    rating: { level: 'satisfied', round: 1, realName: true, comment: null, at: new Date(), by: { id: 'c', role: 'system', name: 'c' } },
    extendedDays: 2,
    redoCount: 0,
    urgeCount: 1,
    supervised: true,
    closure: { kind: 'resolved', reason: null, at: new Date('2026-11-28T02:00:00Z') },
    mergedInto: null,
    ...over,
  }) as unknown as LedgerTicket;

const names = { departmentName: (id: string) => ({ 'city-urban': '市城市管理局', 'city-water': '市水务局' })[id] ?? id, utcOffsetMinutes: 480 };

describe('ledger rows', () => {
  it('every channel has a Chinese label', () => {
    for (const c of CHANNELS) expect(CHANNEL_LABELS[c], c).toMatch(/\p{Script=Han}/u);
  });

  it('labels, city time, department names, on-time flag', () => {
    const row = ledgerRow(ticket(), { id: 's', role: 'supervisor', name: 's', departmentId: null } as never, names);
    expect(row).toMatchObject({
      createdAt: '2026-11-26 09:30',
      channel: '电话',
      category: '投诉',
      urgency: '紧急',
      state: '已办结',
      callerPhone: '13900001111',
      lead: '市城市管理局',
      co: '市水务局',
      onTime: '是',
      rating: '满意',
      supervised: '是',
      closedAt: '2026-11-28 10:00',
    });
    expect(ledgerRow(ticket({ reply: { text: 'x', at: new Date('2026-11-28T00:00:00Z'), by: { id: 'u', role: 'department', name: 'u' } } as never }), { id: 's', role: 'supervisor' } as never, names).onTime).toBe('否');
  });

  it('departments get masked phones everywhere and no confidential name', () => {
    const dept = { id: 'd', role: 'department', name: 'd', departmentId: 'city-urban' } as never;
    const row = ledgerRow(ticket({ confidential: true }), dept, names);
    expect(row.callerPhone).toBe('139****1111');
    expect(row.content).toBe('回电139****1111');
    expect(row.callerName).toBe('');
  });

  it('localTime is empty for missing dates', () => {
    expect(localTime(null, 480)).toBe('');
  });
});
