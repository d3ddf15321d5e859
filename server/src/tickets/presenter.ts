/**
 * What the API shows of a ticket. Keeps storage details (outbox) out of responses and masks
 * the caller for department users: phone 138****5678, name hidden when confidential (是否保密).
 */
import { seesFullCaller } from '../auth/policies.js';
import { maskPhone, maskPhonesInText } from '../shared/phone.js';
import { availableCommands } from './machine.js';
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

export function presentTicketSummary(doc: TicketDoc, actor: Actor) {
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
  const full = seesFullCaller(actor);
  // Free text can carry phone numbers too; department users see them masked.
  const text = (s: string): string => (full ? s : maskPhonesInText(s));
  const timeline = doc.timeline.map((e) => ({ ...e, note: e.note === null ? null : text(e.note) }));
  return {
    ...presentTicketSummary(doc, actor),
    content: text(doc.content),
    callIds: doc.callIds,
    externalRef: doc.externalRef,
    outOfScope: doc.outOfScope,
    policy: doc.policy,
    dispatchCount: doc.dispatchCount,
    returnReason: doc.returnReason,
    returnedFrom: doc.returnedFrom,
    extendedHours: doc.extendedHours,
    reply: doc.reply,
    directAnswer: doc.directAnswer,
    ratings: doc.ratings,
    redoCount: doc.redoCount,
    mergedInto: doc.mergedInto,
    closure: doc.closure,
    createdBy: doc.createdBy,
    timeline,
    availableCommands: availableCommands(doc, actor),
  };
}
