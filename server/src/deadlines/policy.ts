/**
 * SLA policies (HOTLINE-RULES.md "Default deadlines"). A policy table is data: admins edit it
 * through the API, every edit is a new version, and a ticket keeps the resolved snapshot it
 * started with, so a later edit never moves the deadlines of tickets already in the loop.
 */
import { z } from 'zod';
import { CATEGORIES, URGENCIES, type Category, type Urgency } from '../tickets/vocabulary.js';
import { DURATION_UNITS, type Duration } from './calendar.js';

/** The milestones a ticket's clock watches. */
export const MILESTONES = [
  'sign', // 签收 after dispatch
  'contact', // first contact with the citizen after signing (先行联系)
  'reply', // 答复/办结 after dispatch
  'review', // hotline review of a reply
  'visit', // 回访 after an accepted reply or a direct answer
  'verify', // 核实 of a real-name bad rating
  'rectify', // 整改反馈 after a valid bad rating (replaces `reply` in that round)
] as const;
export type MilestoneKey = (typeof MILESTONES)[number];

export const durationSchema = z.object({
  value: z.number().positive().max(10_000),
  unit: z.enum(DURATION_UNITS),
});

/** Deadlines of one category × urgency; null: this milestone has no deadline. */
export const milestoneDurationsSchema = z.object(
  Object.fromEntries(MILESTONES.map((m) => [m, durationSchema.nullable()])) as Record<MilestoneKey, z.ZodNullable<typeof durationSchema>>,
);
export type MilestoneDurations = z.output<typeof milestoneDurationsSchema>;

export const policyRulesSchema = z.object({
  /** A department may return (退单) within this long after dispatch. */
  returnWindow: durationSchema,
  /** Extensions (延期) add at most this many working days in total. */
  maxExtensionDays: z.number().int().min(0).max(60),
  /** Yellow warning when this share of the allowed time has run (red at due). */
  warnRatio: z.number().gt(0).lt(1),
  /** Overdue reminders repeat this often until the milestone is met. */
  remindEvery: durationSchema,
  /** Each further such delay escalates one level up the hierarchy (street → district → city). */
  escalateAfter: durationSchema,
  /** Failed rounds after which the ticket is flagged to supervisors. */
  redoFlagAfter: z.number().int().min(1).max(10),
});
export type PolicyRules = z.output<typeof policyRulesSchema>;

export const policyTableSchema = z.object({
  rules: policyRulesSchema,
  deadlines: z.object(
    Object.fromEntries(CATEGORIES.map((c) => [c, z.object(Object.fromEntries(URGENCIES.map((u) => [u, milestoneDurationsSchema])))])) as Record<
      Category,
      z.ZodObject<Record<Urgency, typeof milestoneDurationsSchema>>
    >,
  ),
});
export type PolicyTable = z.output<typeof policyTableSchema>;

/** The policy a ticket carries: its category × urgency row plus the rules, with the table version. */
export interface TicketPolicy extends PolicyRules {
  version: number;
  durations: MilestoneDurations;
}

const h = (value: number): Duration => ({ value, unit: 'hours' });
const wd = (value: number): Duration => ({ value, unit: 'workingDays' });

/** 咨询 3, 求助/建议 5, 投诉/举报 10 working days; 表扬 none (Henan provincial rules). */
const REPLY_DAYS: Record<Category, number | null> = { consultation: 3, help: 5, suggestion: 5, complaint: 10, report: 10, praise: null };

function defaultRow(category: Category, urgency: Urgency): MilestoneDurations {
  const urgent = urgency !== 'normal';
  const replyDays = REPLY_DAYS[category];
  const handled = replyDays !== null; // praise is forwarded without a handling deadline
  return {
    // 特急/紧急: sign within 2 h; 一般: within 24 h, rolled over non-working days.
    sign: urgent ? h(2) : { value: 24, unit: 'workingDayHours' },
    // 特急/紧急: first reply (contact) within 2 h of signing; 一般: none.
    contact: urgent && handled ? h(2) : null,
    reply: !handled ? null : urgent ? h(24) : wd(replyDays),
    review: wd(1),
    visit: urgent ? wd(1) : wd(2),
    verify: h(48),
    rectify: handled ? wd(15) : null,
  };
}

export const DEFAULT_RULES: PolicyRules = {
  returnWindow: wd(2),
  maxExtensionDays: 10,
  warnRatio: 0.75,
  remindEvery: wd(1),
  escalateAfter: wd(1),
  redoFlagAfter: 2,
};

export function defaultPolicyTable(): PolicyTable {
  const deadlines = Object.fromEntries(
    CATEGORIES.map((c) => [c, Object.fromEntries(URGENCIES.map((u) => [u, defaultRow(c, u)]))]),
  ) as PolicyTable['deadlines'];
  return { rules: { ...DEFAULT_RULES }, deadlines };
}

export const DEFAULT_POLICY_VERSION = 1;

export function resolvePolicy(table: PolicyTable, version: number, category: Category, urgency: Urgency): TicketPolicy {
  return { version, ...table.rules, durations: structuredClone(table.deadlines[category][urgency]) };
}

/** The built-in defaults (version 1) for one category × urgency. */
export function defaultPolicy(category: Category, urgency: Urgency): TicketPolicy {
  return resolvePolicy(defaultPolicyTable(), DEFAULT_POLICY_VERSION, category, urgency);
}

export const HOUR_MS = 3_600_000;
export const addHours = (at: Date, hours: number): Date => new Date(at.getTime() + hours * HOUR_MS);
