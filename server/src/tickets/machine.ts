/**
 * The ticket state machine: the only code that decides a transition.
 *
 *   decide(ticket, command, actor, now) -> { next, entry, events } | { error }
 *
 * Pure: no I/O, no clock, no randomness. The service persists `next` with one conditional
 * update (state + version in the filter), appends `entry` to the timeline and `events` to the
 * outbox. The loop follows 53号文: 受理 → 派单 → 办理 → 答复 → 督办 → 办结 → 回访 → 评价.
 */
import { addHours, defaultPolicy, type TicketPolicy } from '../deadlines/policy.js';
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
      if (ticket.deadlines.reply.dueAt === null) return { code: 'INVALID_TRANSITION', message: 'this ticket has no reply deadline' };
      return null;
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

/** Send the ticket (again) to a department: sets the lead, co-handlers and fresh deadlines. */
function toDepartment(next: TicketCore, lead: string, co: string[], now: Date, replyHours = next.policy.replyHours): void {
  next.state = 'dispatched';
  next.leadDepartmentId = lead;
  next.coDepartmentIds = [...new Set(co.filter((d) => d !== lead))];
  next.dispatchCount += 1;
  next.returnedFrom = null;
  next.returnReason = null;
  next.pendingExtension = null;
  next.extendedHours = 0;
  next.reply = null;
  next.deadlines = {
    sign: { dueAt: addHours(now, next.policy.signHours), doneAt: null },
    reply: { dueAt: replyHours === null ? null : addHours(now, replyHours), doneAt: null },
    returnUntil: addHours(now, next.policy.returnWindowHours),
  };
}

/** A failed round (rejected reply or valid bad rating) counts as a redo (重办). */
function countRedo(next: TicketCore): void {
  next.redoCount += 1;
  if (next.redoCount > next.policy.redoFlagAfter) next.flaggedRepeatedFailure = true;
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
) => { error?: MachineError; note?: string | null; data?: Record<string, unknown> | null; event?: TicketEventType; events?: DomainEvent[] } | void;

const handlers: { [T in CommandType]: Handler<T> } = {
  classify(next, cmd) {
    if (cmd.category === undefined && cmd.urgency === undefined && cmd.area === undefined) {
      return { error: { code: 'VALIDATION_FAILED', message: 'nothing to classify' } };
    }
    const changes: Record<string, unknown> = {};
    if (cmd.category !== undefined) next.category = changes.category = cmd.category;
    if (cmd.urgency !== undefined) next.urgency = changes.urgency = cmd.urgency;
    if (cmd.area !== undefined) next.area = (changes.area = { ...cmd.area }) as TicketCore['area'];
    // Deadlines follow the classification; nothing is dispatched yet, so nothing moves.
    next.policy = defaultPolicy(next.category, next.urgency);
    return { note: cmd.note ?? null, data: changes };
  },

  answerDirectly(next, cmd, by, now) {
    // 直接办结: answered on the spot from the knowledge base; the citizen may rate it at once.
    next.state = 'visiting';
    next.directAnswer = { text: cmd.answer, knowledgeArticleId: cmd.knowledgeArticleId ?? null, at: now, by };
    return { note: cmd.answer, data: { knowledgeArticleId: cmd.knowledgeArticleId ?? null } };
  },

  dispatch(next, cmd, _by, now) {
    toDepartment(next, cmd.leadDepartmentId, cmd.coDepartmentIds, now);
    return {
      note: cmd.note ?? null,
      data: { leadDepartmentId: next.leadDepartmentId, coDepartmentIds: next.coDepartmentIds },
    };
  },

  sign(next, cmd, _by, now) {
    next.state = 'handling';
    next.deadlines.sign.doneAt = now;
    return { note: cmd.note ?? null };
  },

  return(next, cmd, _by, now, prev) {
    const until = prev.deadlines.returnUntil;
    if (until && now.getTime() > until.getTime()) {
      return { error: { code: 'DEADLINE_PASSED', message: 'the return window (退单时限) has passed' } };
    }
    next.returnedFrom = prev.state === 'handling' ? 'handling' : 'dispatched';
    next.returnReason = cmd.reason;
    next.state = 'returned';
    next.pendingExtension = null; // an undecided request dies with the department's hold
    return { note: cmd.reason, data: { departmentId: prev.leadDepartmentId } };
  },

  reviewReturn(next, cmd, _by, _now, prev) {
    // 派单异议审核: approved → back to the hotline for re-dispatch (改派); rejected → the
    // department keeps it, in the state it returned it from.
    if (cmd.approve) {
      next.state = 'received';
      next.leadDepartmentId = null;
      next.coDepartmentIds = [];
      next.deadlines = { sign: { dueAt: null, doneAt: null }, reply: { dueAt: null, doneAt: null }, returnUntil: null };
    } else {
      next.state = prev.returnedFrom ?? 'dispatched';
    }
    next.returnedFrom = null;
    return {
      note: cmd.note ?? null,
      data: { approve: cmd.approve, departmentId: prev.leadDepartmentId, reason: prev.returnReason },
    };
  },

  requestExtension(next, cmd, by, now, prev) {
    const due = prev.deadlines.reply.dueAt!; // precondition: a reply deadline exists
    if (now.getTime() >= due.getTime()) {
      return { error: { code: 'DEADLINE_PASSED', message: 'extensions must be requested before the reply deadline' } };
    }
    if (prev.extendedHours + cmd.hours > prev.policy.maxExtensionHours) {
      return { error: { code: 'EXTENSION_LIMIT', message: `at most ${prev.policy.maxExtensionHours} h of extension in total` } };
    }
    next.pendingExtension = { hours: cmd.hours, reason: cmd.reason, requestedAt: now, by };
    return { note: cmd.reason, data: { hours: cmd.hours } };
  },

  decideExtension(next, cmd, _by, _now, prev) {
    const pending = prev.pendingExtension!; // precondition: a request is pending
    const hours = cmd.hours ?? pending.hours;
    if (cmd.approve) {
      if (hours > pending.hours) {
        return { error: { code: 'VALIDATION_FAILED', message: 'cannot grant more than was requested' } };
      }
      if (prev.extendedHours + hours > prev.policy.maxExtensionHours) {
        return { error: { code: 'EXTENSION_LIMIT', message: `at most ${prev.policy.maxExtensionHours} h of extension in total` } };
      }
      next.extendedHours = prev.extendedHours + hours;
      const due = prev.deadlines.reply.dueAt;
      next.deadlines.reply.dueAt = due ? addHours(due, hours) : null;
    }
    next.pendingExtension = null;
    return {
      note: cmd.note ?? null,
      data: { approve: cmd.approve, hours: cmd.approve ? hours : 0, replyDueAt: next.deadlines.reply.dueAt },
    };
  },

  coNote(_next, cmd) {
    return { note: cmd.text };
  },

  reply(next, cmd, by, now) {
    next.state = 'replied';
    next.reply = { text: cmd.text, at: now, by };
    next.deadlines.reply.doneAt = now;
    next.pendingExtension = null;
    return { note: cmd.text };
  },

  reviewReply(next, cmd, _by, now) {
    if (cmd.accept) {
      next.state = 'visiting';
    } else {
      // Sent back to the department: a failed round (重办) with a fresh reply window.
      next.state = 'handling';
      next.reply = null;
      const hours = next.policy.replyHours;
      next.deadlines.reply = { dueAt: hours === null ? null : addHours(now, hours + next.extendedHours), doneAt: null };
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
    const realName = cmd.realName ?? !prev.callerAnonymous;
    applyRating(next, cmd.level, realName, cmd.comment ?? null, by.role === 'system' ? 'citizen' : 'return_visit', by, now);
    return { note: cmd.comment ?? null, data: { level: cmd.level, realName } };
  },

  verifyRating(next, cmd, _by, now, prev) {
    if (cmd.valid && cmd.resolution === 'redo') {
      // Valid bad rating → rectification (整改): the same lead department handles it again.
      if (!prev.leadDepartmentId) {
        // Answered on the spot: there is no department to send it back to; reopen at the hotline.
        next.state = 'received';
      } else {
        // 整改: the rectification deadline, not the ordinary reply deadline.
        toDepartment(next, prev.leadDepartmentId, prev.coDepartmentIds, now, prev.policy.rectifyHours);
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
    next.deadlines = { sign: { dueAt: null, doneAt: null }, reply: { dueAt: null, doneAt: null }, returnUntil: null };
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
};

export function decide(ticket: TicketCore, command: Command, actor: Actor, now: Date): Decision {
  const refused = permits(ticket, command.type, actor) ?? precondition(ticket, command.type);
  if (refused) return { ok: false, error: refused };
  const next = clone(ticket);
  const by = actorRef(actor);
  const handler = handlers[command.type] as Handler<CommandType>;
  const out = handler(next, command as CommandOf<CommandType>, by, now, ticket) ?? {};
  if (out.error) return { ok: false, error: out.error };
  next.version = ticket.version + 1;
  const base: DomainEvent = {
    type: EVENT_OF[command.type],
    data: { from: ticket.state, to: next.state, ...(out.data ?? {}) },
  };
  const events = [base, ...(out.events ?? [])];
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
