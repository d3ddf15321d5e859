import type { Category, Urgency } from '../tickets/vocabulary.js';

/**
 * The handling policy a ticket carries from intake (HOTLINE-RULES.md "Default deadlines").
 * It is data: a ticket keeps the snapshot it started with, so a later policy edit never
 * moves the deadlines of tickets already in the loop.
 *
 * Durations are in hours of elapsed time for now. Issue #3 replaces the arithmetic with the
 * working-day calendar (Henan rules count working days); until then a "working day" is 24 h.
 */
export interface TicketPolicy {
  version: number;
  /** Hours to sign (签收) after dispatch. */
  signHours: number;
  /** Hours to reply after dispatch; null means no handling deadline (表扬 praise). */
  replyHours: number | null;
  /** Hours to feed back a rectification (整改) after a valid bad rating; null: none. */
  rectifyHours: number | null;
  /** A department may return (退单) within this many hours of dispatch. */
  returnWindowHours: number;
  /** Total extension (延期) a ticket may receive, in hours. */
  maxExtensionHours: number;
  /** Failures (rejected reply or valid bad rating) after which the ticket is flagged to supervisors. */
  redoFlagAfter: number;
}

const DAY = 24;

/** 咨询 3, 求助/建议 5, 投诉/举报 10 working days; 表扬 none (Henan provincial rules). */
const REPLY_DAYS_NORMAL: Record<Category, number | null> = {
  consultation: 3,
  help: 5,
  suggestion: 5,
  complaint: 10,
  report: 10,
  praise: null,
};

export const DEFAULT_POLICY_VERSION = 1;

export function defaultPolicy(category: Category, urgency: Urgency): TicketPolicy {
  const urgent = urgency !== 'normal';
  const replyDays = REPLY_DAYS_NORMAL[category];
  return {
    version: DEFAULT_POLICY_VERSION,
    // 特急/紧急: sign within 2 h, reply within 24 h; 一般: sign within 24 h.
    signHours: urgent ? 2 : DAY,
    replyHours: replyDays === null ? null : urgent ? DAY : replyDays * DAY,
    // 整改反馈 within 15 working days of a valid bad rating (cities use 5–15).
    rectifyHours: replyDays === null ? null : 15 * DAY,
    // Returns only within 2 working days of dispatch (Shandong/Henan practice).
    returnWindowHours: 2 * DAY,
    // Extensions add at most 10 working days in total.
    maxExtensionHours: 10 * DAY,
    // "Two redos still failing are flagged to supervisors."
    redoFlagAfter: 2,
  };
}

export const HOUR_MS = 3_600_000;
export const addHours = (at: Date, hours: number): Date => new Date(at.getTime() + hours * HOUR_MS);
