/**
 * Closed vocabularies of the ticket domain (HOTLINE-RULES.md "Ticket fields", "Categories").
 * Stored values are English identifiers; Chinese labels live with the UI.
 */
export const TICKET_STATES = [
  'received', // 已受理: taken in, awaiting classification / dispatch / direct answer
  'dispatched', // 已派单: sent to a lead department, awaiting 签收
  'handling', // 办理中: signed for by the lead department
  'returned', // 退单待审: the department returned it; hotline reviews (派单异议审核)
  'replied', // 已答复: department replied; hotline reviews the reply
  'visiting', // 待回访: reply accepted (or answered on the spot); return visit and rating
  'disputed', // 差评核实: a real-name bad rating awaits verification (核实)
  'closed', // 已办结
  'merged', // 已并单: a duplicate merged into its master ticket (重复件)
] as const;
export type TicketState = (typeof TICKET_STATES)[number];

export const OPEN_STATES: readonly TicketState[] = ['received', 'dispatched', 'handling', 'returned', 'replied', 'visiting', 'disputed'];

/** 诉求类型. */
export const CATEGORIES = ['consultation', 'help', 'complaint', 'report', 'suggestion', 'praise'] as const;
export type Category = (typeof CATEGORIES)[number];

/** 一般 / 紧急 / 特急. */
export const URGENCIES = ['normal', 'urgent', 'critical'] as const;
export type Urgency = (typeof URGENCIES)[number];

/** Where the matter came in (seed item 35: every online channel feeds the same loop). */
export const CHANNELS = [
  'phone', // 12345 line
  'window', // 有诉即办 / 万人助万企 windows (window clerks)
  'web', // government website (网站)
  'wechat', // WeChat official account (微信公众号)
  'miniprogram', // WeChat / Alipay mini program (小程序)
  'portal', // government service portal / national platform (政务服务网)
  'media', // media clients (融媒体客户端)
  'webhook', // partner platform through the signed webhook
  'police110', // handed over by 110
] as const;
export type Channel = (typeof CHANNELS)[number];

/** 好差评 five levels (国办发〔2019〕51号) with the scores used where a number is needed. */
export const RATING_LEVELS = ['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied'] as const;
export type RatingLevel = (typeof RATING_LEVELS)[number];
export const RATING_SCORES: Record<RatingLevel, number> = {
  very_satisfied: 10,
  satisfied: 8,
  basically_satisfied: 6,
  dissatisfied: 3,
  very_dissatisfied: 0,
};
export const isBadRating = (level: RatingLevel): boolean => level === 'dissatisfied' || level === 'very_dissatisfied';

/** Matters that are not dispatched; the agent records the legal route instead (HOTLINE-RULES "Intake rules"). */
export const OUT_OF_SCOPE_KINDS = [
  'litigation', // 诉讼
  'arbitration', // 仲裁
  'discipline', // 纪检监察
  'administrative_review', // 行政复议
  'information_disclosure', // 政府信息公开
  'petition', // 已进入信访程序
] as const;
export type OutOfScopeKind = (typeof OUT_OF_SCOPE_KINDS)[number];

export const ROLES = ['agent', 'window', 'department', 'supervisor', 'admin', 'system'] as const;
export type Role = (typeof ROLES)[number];
