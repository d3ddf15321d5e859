/**
 * Open311 GeoReport v2 ↔ the hotline (pure). Services are our categories (诉求类型); a request's
 * status is `closed` once the ticket is closed or merged into another, else `open`; the
 * service_request_id is the ticket number. Field names are the spec's.
 */
import { isOpen } from '../deadlines/milestones.js';
import { maskDeep } from '../shared/phone.js';
import type { TicketDoc } from '../tickets/model.js';
import { CATEGORIES, type Category, type TicketState } from '../tickets/vocabulary.js';

export const SERVICES: Record<Category, { name: string; description: string; keywords: string }> = {
  consultation: { name: '咨询 Consultation', description: '政策、办事咨询 — questions about policies and procedures', keywords: '咨询,consultation,question' },
  help: { name: '求助 Request for help', description: '生活中遇到困难需要政府帮助 — ask a public body for help', keywords: '求助,help' },
  complaint: { name: '投诉 Complaint', description: '对公共服务、市场主体的投诉 — complain about a public service or a business', keywords: '投诉,complaint,noise,噪音' },
  report: { name: '举报 Report of wrongdoing', description: '举报违法违规行为 — report a violation', keywords: '举报,report' },
  suggestion: { name: '建议 Suggestion', description: '对政府工作的意见建议 — suggest an improvement', keywords: '建议,suggestion' },
  praise: { name: '表扬 Praise', description: '表扬工作人员或单位 — praise a public servant or unit', keywords: '表扬,praise' },
};

export const isCategory = (code: string): code is Category => (CATEGORIES as readonly string[]).includes(code);

export const OPEN311_STATUSES = ['open', 'closed'] as const;
export type Open311Status = (typeof OPEN311_STATUSES)[number];
export const CLOSED_STATES: readonly TicketState[] = ['closed', 'merged'];
export const statusOf = (state: TicketState): Open311Status => (CLOSED_STATES.includes(state) ? 'closed' : 'open');

export function service(code: Category) {
  const s = SERVICES[code];
  return { service_code: code, service_name: s.name, description: s.description, metadata: false, type: 'realtime', keywords: s.keywords, group: '12345' };
}

const STATUS_NOTES: Partial<Record<TicketState, string>> = {
  received: '已受理 received',
  dispatched: '已派单 dispatched to the responsible department',
  handling: '办理中 being handled',
  returned: '派单审核中 being re-dispatched',
  replied: '已答复，待审核 answered, under review',
  visiting: '已答复，待回访 answered, return visit pending',
  disputed: '差评核实中 rating under verification',
  closed: '已办结 closed',
  merged: '已并单 merged with an earlier request',
};

/** A ticket as an Open311 service request (public: no caller data; phone numbers and the caller's name masked in text). */
export function serviceRequest(doc: TicketDoc, agency: string | null) {
  const mask = (text: string): string => maskDeep(text, doc.caller.name ? [doc.caller.name] : []) as string;
  const answered = doc.state === 'visiting' || doc.state === 'closed' || doc.state === 'disputed';
  const answer = answered ? (doc.directAnswer?.text ?? doc.reply?.text ?? null) : null;
  const due = Object.values(doc.deadlines ?? {})
    .filter(isOpen)
    .map((m) => new Date(m.dueAt).getTime())
    .sort((a, b) => b - a)[0];
  return {
    service_request_id: doc.number,
    status: statusOf(doc.state),
    status_notes: answer ? mask(answer) : (STATUS_NOTES[doc.state] ?? null),
    service_name: SERVICES[doc.category].name,
    service_code: doc.category,
    description: mask(doc.content),
    agency_responsible: agency,
    service_notice: null,
    requested_datetime: new Date(doc.createdAt).toISOString(),
    updated_datetime: new Date(doc.updatedAt).toISOString(),
    expected_datetime: statusOf(doc.state) === 'open' && due !== undefined ? new Date(due).toISOString() : null,
    address: doc.address,
    address_id: null,
    zipcode: null,
    lat: null,
    long: null,
    media_url: null,
  };
}
