/**
 * The ticket state machine: the only code that decides a transition.
 *
 *   decide(ticket, command, actor, now) -> { next, entry, events } | { error }
 *
 * Pure: no I/O, no clock, no randomness. The service persists `next` with one conditional
 * update (state + version in the filter), appends `entry` to the timeline and `events` to the
 * outbox. The loop follows 53号文: 受理 → 派单 → 办理 → 答复 → 督办 → 办结 → 回访 → 评价.
 */
import { addWorkingTime, NATURAL_CALENDAR, type Calendar } from '../deadlines/calendar.js';
import {
  cancelMilestone,
  completeMilestone,
  earliest,
  extendMilestone,
  isOpen,
  openMilestone,
  shiftMilestone,
  superviseStep,
  type Deadlines,
} from '../deadlines/milestones.js';
import { defaultPolicy, MILESTONES, type MilestoneKey, type TicketPolicy } from '../deadlines/policy.js';
import type { ErrorCode } from '../errors.js';
import type { Command, CommandOf, CommandType } from './commands.js';
import type { Actor, ActorRef, DomainEvent, RatingRecord, TicketCore, TicketEventType } from './types.js';
import { isBadRating, type Role, type TicketState } from './vocabulary.js';

export interface MachineError {
  code: ErrorCode;
  message: string;
}

export interface Transition {
  next: TicketCore;
  action: CommandType;
  from: TicketState;
  to: TicketState;
  note: string | null;
  data: Record<string, unknown> | null;
  events: DomainEvent[];
}

export type Decision = { ok: true; transition: Transition } | { ok: false; error: MachineError };

/**
 * Data the machine needs beyond the ticket: the working calendar, the current SLA policy table
 * (for reclassification) and the department hierarchy (for escalation). Plain data and pure
 * functions, so decide() stays pure.
 */
export interface MachineContext {
  calendar: Calendar;
  policyFor(category: TicketCore['category'], urgency: TicketCore['urgency']): TicketPolicy;
  /** Parent, grandparent… of a department, nearest first. */
  ancestorsOf(departmentId: string): string[];
}

/** Elapsed-time calendar, built-in default policies, no hierarchy: for tests and tools. */
export const NATURAL_CONTEXT: MachineContext = {
  calendar: NATURAL_CALENDAR,
  policyFor: defaultPolicy,
  ancestorsOf: () => [],
};

const HOTLINE: readonly Role[] = ['agent', 'window', 'supervisor'];
const DEPT: readonly Role[] = ['department'];
const SUPERVISOR: readonly Role[] = ['supervisor'];

interface Rule {
  /** States in which the command is allowed. */
  from: readonly TicketState[];
  /** Roles that may issue it. */
  roles: readonly Role[];
  /** Department relation required for department users. */
  relation?: 'lead' | 'co';
}

/**
 * Who may do what in which state. Exported so tests can enumerate it and the console can
 * show only the buttons that will work.
 */
export const RULES: Record<CommandType, Rule> = {
  classify: { from: ['received'], roles: HOTLINE },
  answerDirectly: { from: ['received'], roles: HOTLINE },
  dispatch: { from: ['received'], roles: HOTLINE },
  sign: { from: ['dispatched'], roles: DEPT, relation: 'lead' },
  return: { from: ['dispatched', 'handling'], roles: DEPT, relation: 'lead' },
  reviewReturn: { from: ['returned'], roles: HOTLINE },
  requestExtension: { from: ['handling'], roles: DEPT, relation: 'lead' },
  decideExtension: { from: ['handling'], roles: SUPERVISOR },
  coNote: { from: ['dispatched', 'handling'], roles: DEPT, relation: 'co' },
  reply: { from: ['handling'], roles: DEPT, relation: 'lead' },
  reviewReply: { from: ['replied'], roles: HOTLINE },
  returnVisit: { from: ['visiting'], roles: HOTLINE },
  rate: { from: ['visiting', 'closed'], roles: [...HOTLINE, 'system'] },
  verifyRating: { from: ['disputed'], roles: SUPERVISOR },
  contact: { from: ['handling'], roles: DEPT, relation: 'lead' },
  requestSuspension: { from: ['handling'], roles: DEPT, relation: 'lead' },
  decideSuspension: { from: ['handling'], roles: SUPERVISOR },
  resume: { from: ['handling'], roles: [...DEPT, ...HOTLINE, 'system'], relation: 'lead' },
  citizenInfo: { from: ['received', 'dispatched', 'handling', 'returned', 'replied', 'visiting', 'disputed'], roles: [...HOTLINE, 'system'] },
  tick: { from: ['dispatched', 'handling', 'returned', 'replied', 'visiting', 'disputed'], roles: ['system'] },
  urge: { from: ['dispatched', 'handling', 'returned', 'replied', 'disputed'], roles: ['agent', 'supervisor'] },
  supervise: { from: ['dispatched', 'handling', 'returned', 'replied', 'visiting', 'disputed'], roles: SUPERVISOR },
  merge: { from: ['received', 'dispatched', 'handling'], roles: HOTLINE },
  reopen: { from: ['closed'], roles: SUPERVISOR },
  close: { from: ['received'], roles: HOTLINE },
};

export const actorRef = (a: Actor): ActorRef => ({
  id: a.id,
  name: a.name,
  role: a.role,
  departmentId: a.departmentId ?? null,
});

/** May this actor issue this command on this ticket in its present state? (No payload checks.) */
export function permits(ticket: TicketCore, type: CommandType, actor: Actor): MachineError | null {
  const rule = RULES[type];
  if (!rule.roles.includes(actor.role)) {
    return { code: 'ACTION_FORBIDDEN', message: `${actor.role} may not ${type}` };
  }
  if (rule.relation && actor.role === 'department') {
    const dept = actor.departmentId ?? null;
    const ok =
      rule.relation === 'lead' ? dept !== null && dept === ticket.leadDepartmentId : dept !== null && ticket.coDepartmentIds.includes(dept);
    if (!ok) {
      return {
        code: 'ACTION_FORBIDDEN',
        message: rule.relation === 'lead' ? `only the lead department may ${type}` : `only a co-handling department may ${type}`,
      };
    }
  }
  if (!rule.from.includes(ticket.state)) {
    return { code: 'INVALID_TRANSITION', message: `cannot ${type} a ticket in state ${ticket.state}` };
  }
  return null;
}

/**
 * Checks that depend on the ticket alone (not on the actor or the payload), beyond its state:
 * they decide whether a button is worth showing. decide() applies them after permits().
 */
export function precondition(ticket: TicketCore, type: CommandType): MachineError | null {
  switch (type) {
    case 'requestExtension':
      if (ticket.pendingExtension) return { code: 'EXTENSION_PENDING', message: 'an extension request is already pending' };
      if (!handlingClock(ticket)) return { code: 'INVALID_TRANSITION', message: 'this ticket has no reply deadline' };
      return null;
    case 'contact':
      return isOpen(ticket.deadlines.contact) ? null : { code: 'INVALID_TRANSITION', message: 'no first contact is due' };
    case 'requestSuspension':
      if (ticket.suspension.since) return { code: 'SUSPENDED', message: 'the ticket is already suspended' };
      if (ticket.suspension.requested) return { code: 'SUSPENSION_PENDING', message: 'a suspension request is already pending' };
      return null;
    case 'decideSuspension':
      return ticket.suspension.requested ? null : { code: 'NO_PENDING_SUSPENSION', message: 'no suspension request is pending' };
    case 'resume':
      return ticket.suspension.since ? null : { code: 'NOT_SUSPENDED', message: 'the ticket is not suspended' };
    case 'tick':
      return ticket.suspension.since ? { code: 'STALE_TIMER', message: 'clocks are stopped while suspended' } : null;
    case 'decideExtension':
      return ticket.pendingExtension ? null : { code: 'NO_PENDING_EXTENSION', message: 'no extension request is pending' };
    case 'rate':
      if (ticket.state === 'closed' && (ticket.closure?.kind === 'out_of_scope' || ticket.closure?.kind === 'closed_by_hotline')) {
        // Only handled matters are rated; out-of-scope or hotline-closed intake was never handled.
        return { code: 'INVALID_TRANSITION', message: `a ticket closed as ${ticket.closure.kind} cannot be rated` };
      }
      if (ticket.ratings.some((r) => r.round === ticket.round)) {
        return { code: 'RATING_EXISTS', message: 'this handling round has already been rated' };
      }
      return null;
    default:
      return null;
  }
}

/** Commands this actor could issue now (for the console's buttons). */
export function availableCommands(ticket: TicketCore, actor: Actor): CommandType[] {
  return (Object.keys(RULES) as CommandType[]).filter((t) => permits(ticket, t, actor) === null && precondition(ticket, t) === null);
}

function clone(t: TicketCore): TicketCore {
  return structuredClone(t);
}

/** The milestone the department's handling runs against: `rectify` in a rectification round, else `reply`. */
export function handlingClock(t: Pick<TicketCore, 'deadlines'>): MilestoneKey | null {
  if (isOpen(t.deadlines.rectify)) return 'rectify';
  if (isOpen(t.deadlines.reply)) return 'reply';
  return null;
}

function cancelAll(d: Deadlines, now: Date, keys: readonly MilestoneKey[] = MILESTONES): void {
  for (const k of keys) cancelMilestone(d, k, now);
}

const DEPARTMENT_CLOCKS: readonly MilestoneKey[] = ['sign', 'contact', 'reply', 'rectify'];

/**
 * Who an overdue milestone escalates to: the departments above the lead department, for the
 * department's own clocks; the hotline's clocks (review, visit, verify) escalate nowhere.
 */
export function escalationChain(t: Pick<TicketCore, 'leadDepartmentId'>, key: MilestoneKey, ctx: Pick<MachineContext, 'ancestorsOf'>): string[] {
  return DEPARTMENT_CLOCKS.includes(key) && t.leadDepartmentId ? ctx.ancestorsOf(t.leadDepartmentId) : [];
}

/** Send the ticket (again) to a department: sets the lead, co-handlers and fresh deadlines. */
function toDepartment(next: TicketCore, lead: string, co: string[], now: Date, ctx: MachineContext, clock: 'reply' | 'rectify' = 'reply'): void {
  next.state = 'dispatched';
  next.leadDepartmentId = lead;
  next.coDepartmentIds = [...new Set(co.filter((d) => d !== lead))];
  next.dispatchCount += 1;
  next.returnedFrom = null;
  next.returnReason = null;
  next.pendingExtension = null;
  next.extendedDays = 0;
  next.reply = null;
  next.escalatedTo = [];
  cancelAll(next.deadlines, now);
  openMilestone(next.deadlines, 'sign', next.policy, now, ctx.calendar);
  openMilestone(next.deadlines, clock, next.policy, now, ctx.calendar);
  next.returnUntil = addWorkingTime(now, next.policy.returnWindow, ctx.calendar);
}

/** A failed round (rejected reply or valid bad rating) counts as a redo (重办). */
function countRedo(next: TicketCore): void {
  next.redoCount += 1;
  if (next.redoCount > next.policy.redoFlagAfter) next.flaggedRepeatedFailure = true;
}

/**
 * Clocks that follow from the state reached, whatever the command: the visit clock stops at a
 * rating, a disputed ticket gets its verification clock, a finished ticket stops every clock,
 * and the list fields (nextDueAt/nextWarnAt) follow the open clocks.
 */
function settleClocks(next: TicketCore, prev: TicketCore, now: Date, ctx: MachineContext): void {
  // Suspension belongs to handling: leaving it (reply, return, merge…) ends the pause, and the
  // paused time still does not count against the clocks that stay open.
  if (next.state !== 'handling' && (next.suspension.since || next.suspension.requested)) {
    const since = next.suspension.since;
    if (since) for (const k of MILESTONES) {
      const m = next.deadlines[k];
      if (isOpen(m) && m.startedAt.getTime() < since.getTime()) shiftMilestone(m, since, next.policy, now, ctx.calendar);
    }
    next.suspension = { requested: null, since: null, reason: null };
  }
  if (next.state !== 'visiting') completeMilestone(next.deadlines, 'visit', now);
  if (next.state === 'disputed' && prev.state !== 'disputed') openMilestone(next.deadlines, 'verify', next.policy, now, ctx.calendar);
  if (next.state === 'closed' || next.state === 'merged' || next.state === 'received') {
    cancelAll(next.deadlines, now);
    next.suspension = { requested: null, since: null, reason: null };
  }
  const paused = next.suspension.since !== null;
  next.nextDueAt = paused ? null : earliest(next.deadlines, 'dueAt');
  next.nextWarnAt = paused ? null : earliest(next.deadlines, 'warnAt');
}

/** 挂起 time does not count: every open clock moves on by the paused working time. */
function resumeClocks(next: TicketCore, since: Date, now: Date, ctx: MachineContext): void {
  for (const k of MILESTONES) {
    const m = next.deadlines[k];
    if (isOpen(m)) shiftMilestone(m, since, next.policy, now, ctx.calendar);
  }
  next.suspension = { requested: null, since: null, reason: null };
}

function applyRating(
  next: TicketCore,
  level: RatingRecord['level'],
  realName: boolean,
  comment: string | null,
  source: RatingRecord['source'],
  by: ActorRef,
  now: Date,
): void {
  const record: RatingRecord = { level, round: next.round, realName, comment, at: now, by, source };
  next.rating = record;
  next.ratings = [...next.ratings, record];
  // Real-name bad ratings are all called back and verified (100%); anonymous ones are analysed,
  // not rectified one by one (HOTLINE-RULES 好差评).
  if (isBadRating(level) && realName) {
    // Verification (核实) follows; a late rating of a closed ticket reopens it for that.
    next.state = 'disputed';
    next.closure = null;
  } else if (next.state !== 'closed') {
    next.state = 'closed';
    next.closure = { kind: next.directAnswer && !next.leadDepartmentId ? 'answered_directly' : 'resolved', reason: null, at: now };
  }
}

type Handler<T extends CommandType> = (
  next: TicketCore,
  cmd: CommandOf<T>,
  by: ActorRef,
  now: Date,
  prev: TicketCore,
  ctx: MachineContext,
) => {
  error?: MachineError;
  note?: string | null;
  data?: Record<string, unknown> | null;
  events?: DomainEvent[];
  /** false: the handler's own events replace the command's usual event. */
  primary?: boolean;
} | void;

const handlers: { [T in CommandType]: Handler<T> } = {
  classify(next, cmd, _by, _now, _prev, ctx) {
    if (cmd.category === undefined && cmd.urgency === undefined && cmd.area === undefined) {
      return { error: { code: 'VALIDATION_FAILED', message: 'nothing to classify' } };
    }
    const changes: Record<string, unknown> = {};
    if (cmd.category !== undefined) next.category = changes.category = cmd.category;
    if (cmd.urgency !== undefined) next.urgency = changes.urgency = cmd.urgency;
    if (cmd.area !== undefined) next.area = (changes.area = { ...cmd.area }) as TicketCore['area'];
    // Deadlines follow the classification; nothing is dispatched yet, so nothing moves.
    next.policy = ctx.policyFor(next.category, next.urgency);
    return { note: cmd.note ?? null, data: changes };
  },

  answerDirectly(next, cmd, by, now, _prev, ctx) {
    // 直接办结: answered on the spot from the knowledge base; the citizen may rate it at once.
    next.state = 'visiting';
    next.directAnswer = { text: cmd.answer, knowledgeArticleId: cmd.knowledgeArticleId ?? null, at: now, by };
    openMilestone(next.deadlines, 'visit', next.policy, now, ctx.calendar);
    return { note: cmd.answer, data: { knowledgeArticleId: cmd.knowledgeArticleId ?? null } };
  },

  dispatch(next, cmd, _by, now, _prev, ctx) {
    toDepartment(next, cmd.leadDepartmentId, cmd.coDepartmentIds, now, ctx);
    return {
      note: cmd.note ?? null,
      data: { leadDepartmentId: next.leadDepartmentId, coDepartmentIds: next.coDepartmentIds },
    };
  },

  sign(next, cmd, _by, now, _prev, ctx) {
    next.state = 'handling';
    completeMilestone(next.deadlines, 'sign', now);
    openMilestone(next.deadlines, 'contact', next.policy, now, ctx.calendar);
    return { note: cmd.note ?? null };
  },

  return(next, cmd, _by, now, prev) {
    const until = prev.returnUntil;
    if (until && now.getTime() > until.getTime()) {
      return { error: { code: 'DEADLINE_PASSED', message: 'the return window (退单时限) has passed' } };
    }
    next.returnedFrom = prev.state === 'handling' ? 'handling' : 'dispatched';
    next.returnReason = cmd.reason;
    next.state = 'returned';
    next.pendingExtension = null; // an undecided request dies with the department's hold
    return { note: cmd.reason, data: { departmentId: prev.leadDepartmentId } };
  },

  reviewReturn(next, cmd, _by, now, prev) {
    // 派单异议审核: approved → back to the hotline for re-dispatch (改派); rejected → the
    // department keeps it, in the state it returned it from.
    if (cmd.approve) {
      next.state = 'received';
      next.leadDepartmentId = null;
      next.coDepartmentIds = [];
      cancelAll(next.deadlines, now, DEPARTMENT_CLOCKS);
      next.returnUntil = null;
      next.escalatedTo = [];
    } else {
      // The department's clocks kept running during the review: a wrong return costs it time.
      next.state = prev.returnedFrom ?? 'dispatched';
    }
    next.returnedFrom = null;
    return {
      note: cmd.note ?? null,
      data: { approve: cmd.approve, departmentId: prev.leadDepartmentId, reason: prev.returnReason },
    };
  },

  requestExtension(next, cmd, by, now, prev) {
    const due = prev.deadlines[handlingClock(prev)!]!.dueAt; // precondition: a handling clock is open
    if (now.getTime() >= due.getTime()) {
      return { error: { code: 'DEADLINE_PASSED', message: 'extensions must be requested before the reply deadline' } };
    }
    if (prev.extendedDays + cmd.days > prev.policy.maxExtensionDays) {
      return { error: { code: 'EXTENSION_LIMIT', message: `at most ${prev.policy.maxExtensionDays} working days of extension in total` } };
    }
    next.pendingExtension = { days: cmd.days, reason: cmd.reason, requestedAt: now, by };
    return { note: cmd.reason, data: { days: cmd.days } };
  },

  decideExtension(next, cmd, _by, now, prev, ctx) {
    const pending = prev.pendingExtension!; // precondition: a request is pending
    const days = cmd.days ?? pending.days;
    const key = handlingClock(prev);
    if (cmd.approve) {
      if (days > pending.days) {
        return { error: { code: 'VALIDATION_FAILED', message: 'cannot grant more than was requested' } };
      }
      if (prev.extendedDays + days > prev.policy.maxExtensionDays) {
        return { error: { code: 'EXTENSION_LIMIT', message: `at most ${prev.policy.maxExtensionDays} working days of extension in total` } };
      }
      next.extendedDays = prev.extendedDays + days;
      if (key) extendMilestone(next.deadlines[key]!, days, next.policy, now, ctx.calendar);
    }
    next.pendingExtension = null;
    return {
      note: cmd.note ?? null,
      data: { approve: cmd.approve, days: cmd.approve ? days : 0, milestone: key, dueAt: key ? next.deadlines[key]!.dueAt : null },
    };
  },

  coNote(_next, cmd) {
    return { note: cmd.text };
  },

  reply(next, cmd, by, now, _prev, ctx) {
    next.state = 'replied';
    next.reply = { text: cmd.text, at: now, by };
    for (const k of ['contact', 'reply', 'rectify'] as const) completeMilestone(next.deadlines, k, now);
    openMilestone(next.deadlines, 'review', next.policy, now, ctx.calendar);
    next.pendingExtension = null;
    return { note: cmd.text };
  },

  reviewReply(next, cmd, _by, now, prev, ctx) {
    completeMilestone(next.deadlines, 'review', now);
    if (cmd.accept) {
      next.state = 'visiting';
      openMilestone(next.deadlines, 'visit', next.policy, now, ctx.calendar);
    } else {
      // Sent back to the department: a failed round (重办) with a fresh reply window.
      next.state = 'handling';
      next.reply = null;
      // The clock this reply met: rectify in a rectification round, else reply.
      const clock: MilestoneKey = next.deadlines.rectify?.doneAt?.getTime() === prev.reply?.at.getTime() ? 'rectify' : 'reply';
      openMilestone(next.deadlines, clock, next.policy, now, ctx.calendar);
      next.extendedDays = 0;
      countRedo(next);
    }
    return { note: cmd.note ?? null, data: { accept: cmd.accept, redoCount: next.redoCount } };
  },

  returnVisit(next, cmd, by, now) {
    if (cmd.rating !== undefined && !cmd.contacted) {
      return { error: { code: 'VALIDATION_FAILED', message: 'a rating needs a citizen who was contacted' } };
    }
    if (cmd.rating !== undefined) {
      applyRating(next, cmd.rating, cmd.realName ?? !next.callerAnonymous, cmd.comment ?? null, 'return_visit', by, now);
    } else {
      // Rating is voluntary (51号文): a visit without a rating still closes the loop.
      next.state = 'closed';
      next.closure = { kind: next.directAnswer && !next.leadDepartmentId ? 'answered_directly' : 'resolved', reason: null, at: now };
    }
    const events: DomainEvent[] = [];
    if (cmd.rating !== undefined) events.push({ type: 'ticket.rated', data: { level: cmd.rating, round: next.round } });
    return {
      note: cmd.comment ?? null,
      data: { contacted: cmd.contacted, rating: cmd.rating ?? null, realName: cmd.realName ?? !next.callerAnonymous },
      events,
    };
  },

  rate(next, cmd, by, now, prev) {
    const source: RatingRecord['source'] = by.role !== 'system' ? 'return_visit' : cmd.via === 'keypad' ? 'keypad' : cmd.via === 'default' ? 'default' : 'citizen';
    // a default rating is nobody's words: never real-name
    const realName = source === 'default' ? false : (cmd.realName ?? !prev.callerAnonymous);
    applyRating(next, cmd.level, realName, cmd.comment ?? null, source, by, now);
    return { note: cmd.comment ?? null, data: { level: cmd.level, realName, round: prev.round, source } };
  },

  verifyRating(next, cmd, _by, now, prev, ctx) {
    completeMilestone(next.deadlines, 'verify', now);
    if (cmd.valid && cmd.resolution === 'redo') {
      // Valid bad rating → rectification (整改): the same lead department handles it again.
      if (!prev.leadDepartmentId) {
        // Answered on the spot: there is no department to send it back to; reopen at the hotline.
        next.state = 'received';
      } else {
        // 整改: the rectification deadline, not the ordinary reply deadline.
        toDepartment(next, prev.leadDepartmentId, prev.coDepartmentIds, now, ctx, 'rectify');
      }
      next.round += 1;
      next.rating = null;
      next.closure = null;
      countRedo(next);
    } else {
      next.state = 'closed';
      next.closure = { kind: cmd.valid ? 'resolved' : 'rating_invalid', reason: cmd.note, at: now };
    }
    return { note: cmd.note, data: { valid: cmd.valid, resolution: cmd.valid ? cmd.resolution : null, round: next.round } };
  },

  contact(next, cmd, _by, now) {
    completeMilestone(next.deadlines, 'contact', now);
    return { note: cmd.note ?? null };
  },

  requestSuspension(next, cmd, by, now) {
    next.suspension = { ...next.suspension, requested: { reason: cmd.reason, at: now, by } };
    return { note: cmd.reason };
  },

  decideSuspension(next, cmd, _by, now, prev) {
    const reason = prev.suspension.requested!.reason; // precondition: a request is pending
    next.suspension = cmd.approve ? { requested: null, since: now, reason } : { requested: null, since: null, reason: null };
    return { note: cmd.note ?? null, data: { approve: cmd.approve, reason } };
  },

  resume(next, cmd, _by, now, prev, ctx) {
    const since = prev.suspension.since!; // precondition: suspended
    resumeClocks(next, since, now, ctx);
    return { note: cmd.note ?? null, data: { pausedSince: since } };
  },

  citizenInfo(next, cmd, _by, now, prev, ctx) {
    // The citizen answered: a pause that waited on them ends by itself (自动恢复).
    const since = prev.suspension.since;
    if (since) resumeClocks(next, since, now, ctx);
    return {
      note: cmd.text,
      data: { resumed: since !== null, departmentId: prev.leadDepartmentId },
      events: since ? [{ type: 'ticket.resumed', data: { pausedSince: since, automatic: true } }] : [],
    };
  },

  tick(next, cmd, _by, now, prev, ctx) {
    const m = next.deadlines[cmd.milestone];
    if (!isOpen(m) || m.version !== cmd.version) return { error: { code: 'STALE_TIMER', message: 'the milestone was met or its deadline moved' } };
    const ancestors = escalationChain(prev, cmd.milestone, ctx);
    const step = superviseStep(m, next.policy, now, ctx.calendar, ancestors.length);
    if (!step) return { error: { code: 'NOTHING_DUE', message: 'nothing is due yet for this milestone' } };
    const events: DomainEvent[] = [];
    const base = { milestone: cmd.milestone, dueAt: m.dueAt, departmentId: prev.leadDepartmentId };
    if (step.warned) events.push({ type: 'ticket.deadline_warning', data: base });
    if (step.overdue) {
      // Overdue → a supervision record (督办) with the supervisor who follows it.
      next.supervised = true;
      events.push({ type: 'ticket.deadline_overdue', data: { ...base, supervisorId: cmd.supervisorId } });
    }
    if (step.reminders > m.reminders) events.push({ type: 'ticket.deadline_reminder', data: { ...base, reminder: step.reminders } });
    if (step.escalations > m.escalations) {
      // Escalation only ever widens: another clock's earlier escalation is kept.
      next.escalatedTo = ancestors.slice(0, Math.max(step.escalations, prev.escalatedTo.length));
      events.push({ type: 'ticket.escalated', data: { ...base, escalatedTo: next.escalatedTo, level: step.escalations } });
    }
    m.level = step.level;
    m.reminders = step.reminders;
    m.escalations = step.escalations;
    return {
      note: step.overdue ? `超期督办：${cmd.milestone}` : null,
      data: { ...base, level: step.level, reminders: step.reminders, escalations: step.escalations, supervisorId: step.overdue ? cmd.supervisorId : null },
      events,
      primary: false,
    };
  },

  urge(next, cmd) {
    next.urgeCount += 1;
    return { note: cmd.message, data: { urgeCount: next.urgeCount, departmentId: next.leadDepartmentId } };
  },

  supervise(next, cmd) {
    next.supervised = true;
    return { note: cmd.note, data: { departmentId: next.leadDepartmentId } };
  },

  merge(next, cmd, _by, now, prev) {
    next.state = 'merged';
    next.pendingExtension = null;
    next.mergedInto = cmd.masterId;
    next.closure = { kind: 'closed_by_hotline', reason: 'merged as duplicate', at: now };
    return { note: cmd.note ?? null, data: { masterId: cmd.masterId, departmentId: prev.leadDepartmentId } };
  },

  reopen(next, cmd) {
    next.state = 'received';
    next.round += 1;
    next.rating = null;
    next.closure = null;
    next.leadDepartmentId = null;
    next.coDepartmentIds = [];
    next.returnUntil = null;
    next.escalatedTo = [];
    return { note: cmd.reason, data: { round: next.round } };
  },

  close(next, cmd, _by, now) {
    next.state = 'closed';
    next.closure = { kind: 'closed_by_hotline', reason: cmd.reason, at: now };
    return { note: cmd.reason };
  },
};

const EVENT_OF: Record<CommandType, TicketEventType> = {
  classify: 'ticket.classified',
  answerDirectly: 'ticket.answered_directly',
  dispatch: 'ticket.dispatched',
  sign: 'ticket.signed',
  return: 'ticket.returned',
  reviewReturn: 'ticket.return_reviewed',
  requestExtension: 'ticket.extension_requested',
  decideExtension: 'ticket.extension_decided',
  coNote: 'ticket.co_noted',
  reply: 'ticket.replied',
  reviewReply: 'ticket.reply_reviewed',
  returnVisit: 'ticket.visited',
  rate: 'ticket.rated',
  verifyRating: 'ticket.rating_verified',
  urge: 'ticket.urged',
  supervise: 'ticket.supervised',
  merge: 'ticket.merged',
  reopen: 'ticket.reopened',
  close: 'ticket.closed',
  contact: 'ticket.contacted',
  requestSuspension: 'ticket.suspension_requested',
  decideSuspension: 'ticket.suspension_decided',
  resume: 'ticket.resumed',
  citizenInfo: 'ticket.citizen_info',
  tick: 'ticket.deadline_warning',
};

export function decide(ticket: TicketCore, command: Command, actor: Actor, now: Date, ctx: MachineContext = NATURAL_CONTEXT): Decision {
  const refused = permits(ticket, command.type, actor) ?? precondition(ticket, command.type);
  if (refused) return { ok: false, error: refused };
  const next = clone(ticket);
  const by = actorRef(actor);
  const handler = handlers[command.type] as Handler<CommandType>;
  const out = handler(next, command as CommandOf<CommandType>, by, now, ticket, ctx) ?? {};
  if (out.error) return { ok: false, error: out.error };
  next.version = ticket.version + 1;
  settleClocks(next, ticket, now, ctx);
  const base: DomainEvent = {
    type: EVENT_OF[command.type],
    data: { from: ticket.state, to: next.state, ...(out.data ?? {}) },
  };
  const events = out.primary === false ? [...(out.events ?? [])] : [base, ...(out.events ?? [])];
  if (next.state === 'closed' && ticket.state !== 'closed' && command.type !== 'close') {
    events.push({ type: 'ticket.closed', data: { kind: next.closure?.kind ?? null } });
  }
  return {
    ok: true,
    transition: {
      next,
      action: command.type,
      from: ticket.state,
      to: next.state,
      note: out.note ?? null,
      data: out.data ?? null,
      events,
    },
  };
}
