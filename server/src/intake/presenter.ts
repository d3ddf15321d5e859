/**
 * What a citizen sees of a ticket (lookup by number + phone): progress, not the file. Phone and
 * name masked, no staff names, no internal notes; the answer once the hotline accepted it.
 */
import { maskPhone, maskPhonesInText } from '../shared/phone.js';
import type { TicketDoc } from '../tickets/model.js';

/** Timeline steps a citizen may see (the rest — urging, supervision, co-notes… — is internal). */
const PUBLIC_STEPS = new Set(['create', 'answerDirectly', 'dispatch', 'sign', 'contact', 'reply', 'reviewReply', 'returnVisit', 'rate', 'verifyRating', 'decideExtension', 'reviewReturn', 'reopen', 'close', 'merge']);
const ANSWERED = new Set(['visiting', 'closed', 'disputed']);

export const maskName = (name: string | null): string | null => (name ? `${[...name][0]}${'*'.repeat(Math.max(1, [...name].length - 1))}` : null);

export function presentPublicTicket(doc: TicketDoc, departmentName: string | null) {
  const answer = ANSWERED.has(doc.state) ? (doc.directAnswer?.text ?? doc.reply?.text ?? null) : null;
  return {
    number: doc.number,
    state: doc.state,
    status: doc.state === 'closed' || doc.state === 'merged' ? 'closed' : 'open',
    channel: doc.channel,
    category: doc.category,
    title: doc.title,
    content: maskPhonesInText(doc.content),
    address: doc.address,
    caller: { name: doc.caller.anonymous ? null : maskName(doc.caller.name), phone: maskPhone(doc.caller.phone), anonymous: doc.caller.anonymous },
    handlingDepartment: departmentName,
    answer: answer ? maskPhonesInText(answer) : null,
    attachments: (doc.attachments ?? []).map((a) => ({ name: a.name, mimeType: a.mimeType, size: a.size })),
    createdAt: doc.createdAt,
    updatedAt: doc.updatedAt,
    progress: doc.timeline.filter((e) => PUBLIC_STEPS.has(e.action)).map((e) => ({ at: e.at, step: e.action, state: e.to })),
  };
}
