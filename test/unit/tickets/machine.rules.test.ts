/**
 * Rules decided where HOTLINE-RULES.md was silent or the first version was wrong (see the
 * closing note of issue #2): each pinned with a concrete scenario.
 */
import { describe, expect, it } from 'vitest';
import { addHours, defaultPolicy } from '../../../server/src/deadlines/policy.js';
import { commandSchemas, type Command, type CommandType } from '../../../server/src/tickets/commands.js';
import { initialCore } from '../../../server/src/tickets/intake.js';
import { decide } from '../../../server/src/tickets/machine.js';
import type { Actor, IntakeInput, TicketCore } from '../../../server/src/tickets/types.js';

const T0 = new Date('2026-03-02T01:00:00Z');
const agent: Actor = { id: 'a1', name: 'Agent', role: 'agent' };
const sup: Actor = { id: 's1', name: 'Sup', role: 'supervisor' };
const lead: Actor = { id: 'd1', name: 'Dept', role: 'department', departmentId: 'city-urban' };

const base: IntakeInput = {
  channel: 'phone',
  caller: { name: null, phone: '13800000000', anonymous: true },
  category: 'complaint',
  urgency: 'normal',
  area: { districtId: null, streetId: null },
  address: '某路1号',
  content: '内容足够长的投诉',
  confidential: false,
  enterprise: false,
  elderly: false,
};

function run(t: TicketCore, type: CommandType, body: Record<string, unknown>, actor: Actor, now: Date): TicketCore {
  const command = { type, ...(commandSchemas[type] as { parse(v: unknown): object }).parse(body) } as Command;
  const d = decide(t, command, actor, now);
  if (!d.ok) throw new Error(`${type} refused: ${d.error.code} ${d.error.message}`);
  return d.transition.next;
}

function refused(t: TicketCore, type: CommandType, body: Record<string, unknown>, actor: Actor, now: Date): string {
  const command = { type, ...(commandSchemas[type] as { parse(v: unknown): object }).parse(body) } as Command;
  const d = decide(t, command, actor, now);
  return d.ok ? 'accepted' : d.error.code;
}

function toVisiting(input: IntakeInput): TicketCore {
  let t = initialCore(input, T0).core;
  t = run(t, 'dispatch', { leadDepartmentId: 'city-urban' }, agent, T0);
  t = run(t, 'sign', {}, lead, T0);
  t = run(t, 'reply', { text: '已处理完毕' }, lead, T0);
  return run(t, 'reviewReply', { accept: true }, agent, T0);
}

describe('rules pinned by issue #2', () => {
  it("an anonymous caller's bad rating is anonymous by default: analysed, not sent to verification", () => {
    const t = run(toVisiting(base), 'returnVisit', { contacted: true, rating: 'very_dissatisfied' }, agent, T0);
    expect(t.state).toBe('closed');
    expect(t.rating).toMatchObject({ level: 'very_dissatisfied', realName: false });
  });

  it("a named caller's bad rating goes to verification (核实)", () => {
    const named = { ...base, caller: { name: '王五', phone: '13800000000', anonymous: false } };
    const t = run(toVisiting(named), 'returnVisit', { contacted: true, rating: 'dissatisfied' }, agent, T0);
    expect(t.state).toBe('disputed');
    expect(t.rating?.realName).toBe(true);
  });

  it('a return visit that reached nobody cannot carry a rating', () => {
    expect(refused(toVisiting(base), 'returnVisit', { contacted: false, rating: 'satisfied' }, agent, T0)).toBe('VALIDATION_FAILED');
    const t = run(toVisiting(base), 'returnVisit', { contacted: false }, agent, T0);
    expect(t.state).toBe('closed');
    expect(t.rating).toBeNull();
  });

  it('reclassifying urgency before dispatch changes the deadlines the dispatch will set', () => {
    let t = initialCore(base, T0).core;
    expect(t.policy.durations.sign).toEqual({ value: 24, unit: 'workingDayHours' });
    expect(t.policy.durations.contact).toBeNull();
    t = run(t, 'classify', { urgency: 'critical' }, agent, T0);
    expect(t.policy).toEqual(defaultPolicy('complaint', 'critical'));
    t = run(t, 'dispatch', { leadDepartmentId: 'city-urban' }, agent, T0);
    expect(t.deadlines.sign).toMatchObject({ unit: 'hours', startedAt: T0, dueAt: addHours(T0, 2), warnAt: addHours(T0, 1.5), version: 1 });
    expect(t.deadlines.reply).toMatchObject({ unit: 'hours', startedAt: T0, dueAt: addHours(T0, 24), warnAt: addHours(T0, 18), version: 1 });
    expect(t.nextDueAt).toEqual(addHours(T0, 2));
  });

  it('a rejected reply sends the department a fresh reply window and clears the rejected text', () => {
    let t = initialCore(base, T0).core;
    t = run(t, 'dispatch', { leadDepartmentId: 'city-urban' }, agent, T0);
    t = run(t, 'sign', {}, lead, T0);
    const late = addHours(T0, 200);
    t = run(t, 'reply', { text: '敷衍的答复' }, lead, late);
    t = run(t, 'reviewReply', { accept: false, note: '未解决实际问题' }, sup, late);
    expect(t.state).toBe('handling');
    expect(t.reply).toBeNull();
    // a fresh 10-working-day window from the rejection (elapsed time under NATURAL_CONTEXT), as a new clock version
    expect(t.deadlines.reply).toMatchObject({ startedAt: late, dueAt: addHours(late, 240), warnAt: addHours(late, 180), doneAt: null, version: 2 });
    expect(t.deadlines.review?.doneAt).toEqual(late);
    expect(t.nextDueAt).toEqual(addHours(late, 240));
    expect(t.redoCount).toBe(1);
  });

  it('a ticket closed without handling (out of scope) cannot be rated', () => {
    const t = initialCore({ ...base, outOfScope: { kind: 'litigation', legalRoute: '向人民法院起诉' } }, T0).core;
    expect(refused(t, 'rate', { level: 'satisfied' }, { id: 'sys', name: 'citizen link', role: 'system' }, T0)).toBe('INVALID_TRANSITION');
  });
});

describe('rules of the milestone clocks', () => {
  it('an urgent first contact (先行联系) is due 2 h after signing, not after dispatch', () => {
    let t = initialCore({ ...base, urgency: 'urgent' }, T0).core;
    t = run(t, 'dispatch', { leadDepartmentId: 'city-urban' }, agent, T0);
    expect(t.deadlines.contact).toBeUndefined();
    const signed = addHours(T0, 1.5);
    t = run(t, 'sign', {}, lead, signed);
    expect(t.deadlines.contact).toMatchObject({ startedAt: signed, dueAt: addHours(signed, 2), doneAt: null });
    t = run(t, 'contact', { note: '已电话联系' }, lead, addHours(signed, 1));
    expect(t.deadlines.contact?.doneAt).toEqual(addHours(signed, 1));
    expect(refused(t, 'contact', {}, lead, addHours(signed, 1))).toBe('INVALID_TRANSITION');
  });
});

describe('suspension waiting on the citizen (issue #3)', () => {
  it("resumes by itself when the citizen's answer is recorded, and the paused time does not count", () => {
    const named = { ...base, caller: { name: '王五', phone: '13800000000', anonymous: false } };
    let t = initialCore(named, T0).core;
    t = run(t, 'dispatch', { leadDepartmentId: 'city-urban' }, agent, T0);
    t = run(t, 'sign', {}, lead, T0);
    const due = t.deadlines.reply!.dueAt;
    t = run(t, 'requestSuspension', { reason: '等待市民提供现场照片' }, lead, addHours(T0, 1));
    t = run(t, 'decideSuspension', { approve: true }, sup, addHours(T0, 2));
    expect(t.nextDueAt).toBeNull();
    const command = { type: 'citizenInfo', ...commandSchemas.citizenInfo.parse({ text: '市民已发送照片' }) } as Command;
    const d = decide(t, command, agent, addHours(T0, 50));
    if (!d.ok) throw new Error(d.error.code);
    expect(d.transition.events.map((e) => e.type)).toEqual(['ticket.citizen_info', 'ticket.resumed']);
    expect(d.transition.next.suspension.since).toBeNull();
    // paused from T0+2h to T0+50h: the reply deadline moves 48 h later (natural calendar)
    expect(d.transition.next.deadlines.reply!.dueAt).toEqual(addHours(due, 48));
    // without a suspension the note is just recorded
    const plain = decide(d.transition.next, command, agent, addHours(T0, 51));
    expect(plain.ok && plain.transition.events.map((e) => e.type)).toEqual(['ticket.citizen_info']);
  });
});
