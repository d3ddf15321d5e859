import { z } from 'zod';
import { MILESTONES } from '../deadlines/policy.js';
import { CATEGORIES, RATING_LEVELS, URGENCIES } from './vocabulary.js';

/**
 * Commands on an existing ticket. The zod schemas are the single source for HTTP validation,
 * the OpenAPI document and the state machine's input type.
 */
const note = z.string().trim().max(2000);
const reason = z.string().trim().min(2).max(2000);
const objectId = z.string().regex(/^[0-9a-f]{24}$/, 'must be a 24-character hex id');

export const areaSchema = z.object({
  districtId: z.string().trim().min(1).max(64).nullable().default(null),
  streetId: z.string().trim().min(1).max(64).nullable().default(null),
});

export const commandSchemas = {
  classify: z.object({
    category: z.enum(CATEGORIES).optional(),
    urgency: z.enum(URGENCIES).optional(),
    area: areaSchema.optional(),
    note: note.optional(),
  }),
  answerDirectly: z.object({
    answer: z.string().trim().min(2).max(10_000),
    knowledgeArticleId: objectId.optional(),
  }),
  dispatch: z.object({
    leadDepartmentId: z.string().trim().min(1).max(64),
    coDepartmentIds: z.array(z.string().trim().min(1).max(64)).max(10).default([]),
    note: note.optional(),
  }),
  sign: z.object({ note: note.optional() }),
  return: z.object({ reason }),
  reviewReturn: z.object({ approve: z.boolean(), note: note.optional() }),
  /** Extensions are asked and granted in whole working days (延期, at most 10 in total by default). */
  requestExtension: z.object({ days: z.number().int().min(1).max(60), reason }),
  decideExtension: z.object({
    approve: z.boolean(),
    days: z.number().int().min(1).max(60).optional(),
    note: note.optional(),
  }),
  coNote: z.object({ text: z.string().trim().min(2).max(10_000) }),
  reply: z.object({ text: z.string().trim().min(2).max(10_000) }),
  reviewReply: z.object({ accept: z.boolean(), note: note.optional() }),
  returnVisit: z.object({
    contacted: z.boolean(),
    rating: z.enum(RATING_LEVELS).optional(),
    realName: z.boolean().optional(),
    comment: note.optional(),
  }),
  rate: z.object({
    level: z.enum(RATING_LEVELS),
    realName: z.boolean().optional(),
    comment: note.optional(),
    /**
     * How a citizen's own rating arrived (the system actor only: the rating link or the IVR
     * keypad, server/src/ratings/), or `default` when none came within the rating window
     * (ratings/default-rating.ts); ignored when a hotline user records it.
     */
    via: z.enum(['link', 'keypad', 'default']).optional(),
  }),
  verifyRating: z.object({
    valid: z.boolean(),
    note: reason,
    /** How a valid rating is handled: fixed at once, ledger with deadline, or explained. */
    resolution: z.enum(['redo', 'explained']).default('redo'),
  }),
  contact: z.object({ note: note.optional() }),
  requestSuspension: z.object({ reason }),
  decideSuspension: z.object({ approve: z.boolean(), note: note.optional() }),
  resume: z.object({ note: note.optional() }),
  /** The citizen answered or supplied what was asked (补充材料); a suspended ticket resumes. */
  citizenInfo: z.object({ text: z.string().trim().min(2).max(10_000) }),
  tick: z.object({
    milestone: z.enum(MILESTONES),
    version: z.number().int().min(1),
    /** The supervisor who follows an overdue milestone (督办), chosen by the engine. */
    supervisorId: z.string().min(1).max(64).nullable().default(null),
  }),
  urge: z.object({ message: z.string().trim().min(2).max(2000) }),
  supervise: z.object({ note: reason }),
  merge: z.object({ masterId: objectId, note: note.optional() }),
  reopen: z.object({ reason }),
  close: z.object({ reason }),
} as const;

export type CommandType = keyof typeof commandSchemas;
export const COMMAND_TYPES = Object.keys(commandSchemas) as CommandType[];

export type CommandOf<T extends CommandType> = { type: T } & z.output<(typeof commandSchemas)[T]>;
export type Command = { [T in CommandType]: CommandOf<T> }[CommandType];
