import { describe, expect, it } from 'vitest';
import { notificationKindOf } from '../../../server/src/notify/notifications.js';
import { renderNotification } from '../../../server/src/notify/templates.js';

describe('citizen notification texts (zh-CN)', () => {
  it('name the ticket number, the department and, for the invitation, the link', () => {
    expect(renderNotification('dispatched', { number: '12345-20261126-000001', departmentName: '市城市管理局' })).toBe(
      '【12345政务服务热线】您反映的诉求（工单号12345-20261126-000001）已转交市城市管理局办理，办理结果将及时答复您。',
    );
    expect(renderNotification('replied', { number: 'N1' })).toContain('承办单位已答复');
    expect(renderNotification('rectifying', { number: 'N1', departmentName: '市住建局' })).toContain('已交市住建局整改');
    const invite = renderNotification('rating_invite', { number: 'N1', replySummary: '答'.repeat(100), link: 'https://x/rate/T', linkValidDays: 7 });
    expect(invite).toContain('7天内有效，仅可评价一次');
    expect(invite.endsWith('https://x/rate/T')).toBe(true);
    expect(invite).toContain(`${'答'.repeat(60)}…`);
  });
});

describe('which ticket events notify the citizen', () => {
  const ev = (type: string, data: Record<string, unknown> = {}) => notificationKindOf({ type, data });
  it('dispatch, reply, rectification and entering the return visit', () => {
    expect(ev('ticket.dispatched', { to: 'dispatched' })).toBe('dispatched');
    expect(ev('ticket.replied', { to: 'replied' })).toBe('replied');
    expect(ev('ticket.rating_verified', { to: 'dispatched', round: 2 })).toBe('rectifying');
    expect(ev('ticket.rating_verified', { to: 'closed' })).toBeNull();
    expect(ev('ticket.reply_reviewed', { to: 'visiting' })).toBe('rating_invite');
    expect(ev('ticket.reply_reviewed', { to: 'handling' })).toBeNull();
    expect(ev('ticket.answered_directly', { to: 'visiting' })).toBe('rating_invite');
    expect(ev('ticket.signed', { to: 'handling' })).toBeNull();
  });
});
