import { describe, expect, it } from 'vitest';
import { formatDuration, milestoneColour, nextOpenMilestone, ticketColour } from '../../../agent-console/src/lib/deadline.js';

const H = 3_600_000;
const t0 = Date.parse('2026-11-26T09:00:00+08:00');
const m = (warnH: number, dueH: number, extra: Record<string, unknown> = {}) => ({
  warnAt: new Date(t0 + warnH * H).toISOString(),
  dueAt: new Date(t0 + dueH * H).toISOString(),
  doneAt: null,
  cancelledAt: null,
  ...extra,
});

describe('console deadline colours', () => {
  it('green before the warning instant, yellow from it, red from due', () => {
    const x = m(6, 8);
    expect(milestoneColour(x, t0)).toBe('on_time');
    expect(milestoneColour(x, t0 + 6 * H - 1)).toBe('on_time');
    expect(milestoneColour(x, t0 + 6 * H)).toBe('warning');
    expect(milestoneColour(x, t0 + 8 * H - 1)).toBe('warning');
    expect(milestoneColour(x, t0 + 8 * H)).toBe('overdue');
  });

  it('met, cancelled and paused clocks are not coloured by time', () => {
    expect(milestoneColour(m(1, 2, { doneAt: new Date(t0).toISOString() }), t0 + 10 * H)).toBe('met');
    expect(milestoneColour(m(1, 2, { cancelledAt: new Date(t0).toISOString() }), t0 + 10 * H)).toBe('cancelled');
    expect(milestoneColour(m(1, 2), t0 + 10 * H, new Date(t0).toISOString())).toBe('paused');
  });

  it('a ticket takes the worst colour of its open milestones', () => {
    const d = { sign: m(1, 2, { doneAt: new Date(t0).toISOString() }), reply: m(30, 40), contact: m(3, 5) };
    expect(ticketColour(d, t0)).toBe('on_time');
    expect(ticketColour(d, t0 + 4 * H)).toBe('warning');
    expect(ticketColour(d, t0 + 6 * H)).toBe('overdue');
    expect(ticketColour({}, t0)).toBeNull();
    expect(ticketColour(d, t0, new Date(t0).toISOString())).toBe('paused');
  });

  it('the next open milestone is the one due first', () => {
    const d = { sign: m(1, 2, { doneAt: new Date(t0).toISOString() }), reply: m(30, 40), contact: m(3, 5) };
    expect(nextOpenMilestone(d)?.key).toBe('contact');
    expect(nextOpenMilestone({})).toBeNull();
    expect(nextOpenMilestone(null)).toBeNull();
  });

  it('formats countdowns, negative meaning overdue', () => {
    const u = { d: 'd', h: 'h', m: 'm' };
    expect(formatDuration(12 * 60_000, u)).toBe('12m');
    expect(formatDuration(3 * H + 5 * 60_000, u)).toBe('3h 05m');
    expect(formatDuration(2 * 24 * H + 3 * H, u)).toBe('2d 3h');
    expect(formatDuration(-(90 * 60_000), u)).toBe('-1h 30m');
    // office-hour units: hours only (a working day is 7 h, not 24)
    expect(formatDuration(69 * H, u, { days: false })).toBe('69h 00m');
  });
});
