/**
 * What the API shows of a ticket. Keeps storage details (outbox) out of responses and masks
 * the caller for department users: phone 138****5678, name hidden when confidential (是否保密).
 */
import { seesFullCaller } from '../auth/policies.js';
import { maskDeep, maskPhone } from '../shared/phone.js';
import { availableCommands } from './machine.js';
import { isOpen, ticketLevel } from '../deadlines/milestones.js';
import type { TicketDoc } from './model.js';
import type { Actor } from './types.js';

export function presentCaller(doc: Pick<TicketDoc, 'caller' | 'confidential'>, actor: Actor) {
  if (seesFullCaller(actor)) return { ...doc.caller };
  return {
    name: doc.confidential || doc.caller.anonymous ? null : doc.caller.name,
    phone: maskPhone(doc.caller.phone),
    anonymous: doc.caller.anonymous,
  };
}

/**
 * Department users see every free-text field (content, notes, replies, rating comments…) with
 * phone numbers masked, and a confidential caller's name blanked wherever it was typed.
 */
function forActor<T>(value: T, doc: Pick<TicketDoc, 'caller' | 'confidential'>, actor: Actor): T {
  if (seesFullCaller(actor)) return value;
  const hidden = (doc.confidential || doc.caller.anonymous) && doc.caller.name ? [doc.caller.name] : [];
  return maskDeep(value, hidden) as T;
}

export function presentTicketSummary(doc: TicketDoc, actor: Actor) {
  return forActor(summary(doc, actor), doc, actor);
}

/** The ticket's colour by its open clocks: on_time / warning / overdue, paused, or null (none open). */
function deadlineState(doc: TicketDoc, now: Date): string | null {
  if (doc.suspension?.since) return 'paused';
  return Object.values(doc.deadlines ?? {}).some(isOpen) ? ticketLevel(doc.deadlines, now) : null;
}

function summary(doc: TicketDoc, actor: Actor) {
  return {
    id: String(doc._id),
    number: doc.number,
    state: doc.state,
    version: doc.version,
    round: doc.round,
    channel: doc.channel,
    category: doc.category,
    urgency: doc.urgency,
    area: doc.area,
    title: doc.title,
    address: doc.address,
    caller: presentCaller(doc, actor),
    confidential: doc.confidential,
    enterprise: doc.enterprise,
    elderly: doc.elderly,
    leadDepartmentId: doc.leadDepartmentId,
    coDepartmentIds: doc.coDepartmentIds,
    deadlines: doc.deadlines,
    nextDueAt: doc.nextDueAt,
    deadlineState: deadlineState(doc, new Date()),
    pendingExtension: doc.pendingExtension,
    urgeCount: doc.urgeCount,
    supervised: doc.supervised,
    flaggedRepeatedFailure: doc.flaggedRepeatedFailure,
    rating: doc.rating,
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
  };
}

export function presentTicket(doc: TicketDoc, actor: Actor) {
  return forActor(
    {
    ...summary(doc, actor),
    content: doc.content,
    callIds: doc.callIds,
    externalRef: doc.externalRef,
    outOfScope: doc.outOfScope,
    // metadata of citizens' files (GET /api/tickets/{id}/attachments/{attachmentId}); never the storage key
    attachments: (doc.attachments ?? []).map((a) => ({ id: a.id, name: a.name, mimeType: a.mimeType, size: a.size, at: a.at })),
    policy: doc.policy,
    dispatchCount: doc.dispatchCount,
    returnReason: doc.returnReason,
    returnedFrom: doc.returnedFrom,
    extendedDays: doc.extendedDays,
    returnUntil: doc.returnUntil,
    suspension: doc.suspension,
    escalatedTo: doc.escalatedTo,
    reply: doc.reply,
    directAnswer: doc.directAnswer,
    ratings: doc.ratings,
    redoCount: doc.redoCount,
    mergedInto: doc.mergedInto,
    closure: doc.closure,
    createdBy: doc.createdBy,
    timeline: doc.timeline,
    availableCommands: availableCommands(doc, actor),
    },
    doc,
    actor,
  );
}
