/**
 * The ticket ledger (台账, issue #6 item 6): one row per ticket with Chinese column headers, as
 * supervisors and departments file it. Pure: row values from a ticket document, masked for the
 * reader exactly as the API masks them (presenter.ts).
 */
import { presentCaller } from '../tickets/presenter.js';
import type { TicketDoc } from '../tickets/model.js';
import type { Actor } from '../tickets/types.js';
import type { Category, TicketState, Urgency } from '../tickets/vocabulary.js';
import { RATING_LABELS } from '../ratings/levels.js';
import { maskDeep } from '../shared/phone.js';
import { seesFullCaller } from '../auth/policies.js';

export const STATE_LABELS: Record<TicketState, string> = {
  received: '已受理',
  dispatched: '已派单',
  handling: '办理中',
  returned: '退单待审',
  replied: '已答复',
  visiting: '待回访',
  disputed: '差评核实',
  closed: '已办结',
  merged: '已并单',
};
export const CATEGORY_LABELS: Record<Category, string> = { consultation: '咨询', help: '求助', complaint: '投诉', report: '举报', suggestion: '建议', praise: '表扬' };
export const URGENCY_LABELS: Record<Urgency, string> = { normal: '一般', urgent: '紧急', critical: '特急' };
/** every channel of CHANNELS has one (test/unit/exports/ledger.test.ts) */
export const CHANNEL_LABELS: Record<string, string> = {
  phone: '电话',
  window: '窗口',
  web: '网站',
  wechat: '微信公众号',
  miniprogram: '微信小程序',
  portal: '政务服务网',
  media: '媒体',
  webhook: '合作平台',
  police110: '110转办',
};

/** The fields of a ticket the ledger reads (the export's projection). */
export const LEDGER_PROJECTION = {
  number: 1,
  createdAt: 1,
  channel: 1,
  category: 1,
  urgency: 1,
  state: 1,
  caller: 1,
  confidential: 1,
  address: 1,
  title: 1,
  content: 1,
  leadDepartmentId: 1,
  coDepartmentIds: 1,
  'deadlines.reply.dueAt': 1,
  'deadlines.reply.doneAt': 1,
  reply: 1,
  rating: 1,
  extendedDays: 1,
  redoCount: 1,
  urgeCount: 1,
  supervised: 1,
  closure: 1,
  mergedInto: 1,
} as const;

export type LedgerTicket = Pick<
  TicketDoc,
  | '_id'
  | 'number'
  | 'createdAt'
  | 'channel'
  | 'category'
  | 'urgency'
  | 'state'
  | 'caller'
  | 'confidential'
  | 'address'
  | 'title'
  | 'content'
  | 'leadDepartmentId'
  | 'coDepartmentIds'
  | 'reply'
  | 'rating'
  | 'extendedDays'
  | 'redoCount'
  | 'urgeCount'
  | 'supervised'
  | 'closure'
  | 'mergedInto'
> & { deadlines?: { reply?: { dueAt?: Date | null; doneAt?: Date | null } } };

export interface LedgerColumn {
  key: string;
  header: string;
  /** column width in characters (xlsx) */
  width: number;
}

export const LEDGER_COLUMNS: readonly LedgerColumn[] = [
  { key: 'number', header: '工单编号', width: 18 },
  { key: 'createdAt', header: '受理时间', width: 20 },
  { key: 'channel', header: '受理渠道', width: 10 },
  { key: 'category', header: '诉求类型', width: 8 },
  { key: 'urgency', header: '紧急程度', width: 8 },
  { key: 'state', header: '工单状态', width: 10 },
  { key: 'callerName', header: '诉求人', width: 10 },
  { key: 'callerPhone', header: '联系电话', width: 14 },
  { key: 'address', header: '诉求地址', width: 30 },
  { key: 'title', header: '标题', width: 24 },
  { key: 'content', header: '诉求内容', width: 60 },
  { key: 'lead', header: '主办单位', width: 20 },
  { key: 'co', header: '协办单位', width: 24 },
  { key: 'replyDue', header: '答复时限', width: 20 },
  { key: 'repliedAt', header: '答复时间', width: 20 },
  { key: 'onTime', header: '是否按期答复', width: 12 },
  { key: 'reply', header: '办理结果', width: 60 },
  { key: 'rating', header: '评价', width: 10 },
  { key: 'extendedDays', header: '延期天数', width: 8 },
  { key: 'redoCount', header: '重办次数', width: 8 },
  { key: 'urgeCount', header: '催办次数', width: 8 },
  { key: 'supervised', header: '是否督办', width: 8 },
  { key: 'closedAt', header: '办结时间', width: 20 },
  { key: 'mergedInto', header: '并入工单', width: 26 },
];

/** Local time `YYYY-MM-DD HH:mm` in the city's zone (offset in minutes east of UTC). */
export function localTime(d: Date | string | null | undefined, utcOffsetMinutes: number): string {
  if (!d) return '';
  const t = new Date(new Date(d).getTime() + utcOffsetMinutes * 60_000);
  return t.toISOString().slice(0, 16).replace('T', ' ');
}

export function ledgerRow(t: LedgerTicket, actor: Actor, ctx: { departmentName: (id: string) => string; utcOffsetMinutes: number }): Record<string, string | number> {
  const caller = presentCaller(t, actor);
  const due = t.deadlines?.reply?.dueAt ?? null;
  const repliedAt = t.reply?.at ?? null;
  const row: Record<string, string | number> = {
    number: t.number,
    createdAt: localTime(t.createdAt, ctx.utcOffsetMinutes),
    channel: CHANNEL_LABELS[t.channel] ?? t.channel,
    category: CATEGORY_LABELS[t.category] ?? t.category,
    urgency: URGENCY_LABELS[t.urgency] ?? t.urgency,
    state: STATE_LABELS[t.state] ?? t.state,
    callerName: caller.name ?? (caller.anonymous ? '匿名' : ''),
    callerPhone: caller.phone,
    address: t.address ?? '',
    title: t.title ?? '',
    content: t.content ?? '',
    lead: t.leadDepartmentId ? ctx.departmentName(t.leadDepartmentId) : '',
    co: (t.coDepartmentIds ?? []).map(ctx.departmentName).join('、'),
    replyDue: localTime(due, ctx.utcOffsetMinutes),
    repliedAt: localTime(repliedAt, ctx.utcOffsetMinutes),
    onTime: due && repliedAt ? (new Date(repliedAt) <= new Date(due) ? '是' : '否') : '',
    reply: t.reply?.text ?? '',
    rating: t.rating ? (RATING_LABELS[t.rating.level] ?? t.rating.level) : '',
    extendedDays: t.extendedDays ?? 0,
    redoCount: t.redoCount ?? 0,
    urgeCount: t.urgeCount ?? 0,
    supervised: t.supervised ? '是' : '否',
    closedAt: localTime(t.closure?.at ?? null, ctx.utcOffsetMinutes),
    mergedInto: t.mergedInto ?? '',
  };
  // department readers: phone numbers typed into free text are masked too, as in the API
  if (seesFullCaller(actor)) return row;
  const hidden = (t.confidential || t.caller.anonymous) && t.caller.name ? [t.caller.name] : [];
  return maskDeep(row, hidden) as Record<string, string | number>;
}
