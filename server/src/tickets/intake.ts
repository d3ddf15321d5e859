/**
 * Intake (受理): the pure construction of a new ticket's core from validated intake data.
 * Out-of-scope matters (诉讼, 仲裁, 纪检, 复议, 信息公开, 信访) are recorded and closed at once
 * with the legal route the agent gave; they are never dispatched (HOTLINE-RULES "Intake rules").
 */
import { defaultPolicy, type TicketPolicy } from '../deadlines/policy.js';
import type { DomainEvent, IntakeInput, TicketCore } from './types.js';

export function initialCore(input: IntakeInput, now: Date, policy: TicketPolicy = defaultPolicy(input.category, input.urgency)): {
  core: TicketCore;
  events: DomainEvent[];
} {
  const outOfScope = input.outOfScope ?? null;
  const core: TicketCore = {
    state: outOfScope ? 'closed' : 'received',
    version: 1,
    round: 1,
    category: input.category,
    urgency: input.urgency,
    area: { ...input.area },
    policy,
    callerAnonymous: input.caller.anonymous,
    leadDepartmentId: null,
    coDepartmentIds: [],
    dispatchCount: 0,
    returnedFrom: null,
    returnReason: null,
    pendingExtension: null,
    extendedDays: 0,
    deadlines: {},
    nextDueAt: null,
    nextWarnAt: null,
    returnUntil: null,
    suspension: { requested: null, since: null, reason: null },
    escalatedTo: [],
    reply: null,
    directAnswer: null,
    rating: null,
    ratings: [],
    redoCount: 0,
    flaggedRepeatedFailure: false,
    urgeCount: 0,
    supervised: false,
    mergedInto: null,
    closure: outOfScope ? { kind: 'out_of_scope', reason: `${outOfScope.kind}: ${outOfScope.legalRoute}`, at: now } : null,
  };
  const events: DomainEvent[] = [
    { type: 'ticket.created', data: { to: core.state, channel: input.channel, category: input.category, urgency: input.urgency } },
  ];
  if (outOfScope) events.push({ type: 'ticket.closed', data: { kind: 'out_of_scope' } });
  return { core, events };
}
