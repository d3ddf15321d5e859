import { z } from 'zod';
import { areaSchema } from './commands.js';
import { CATEGORIES, CHANNELS, OUT_OF_SCOPE_KINDS, TICKET_STATES, URGENCIES } from './vocabulary.js';

/** Mainland mobile, landline with area code, or short service numbers; digits, +, - and spaces. */
const phone = z
  .string()
  .trim()
  .regex(/^\+?[0-9][0-9 -]{2,19}$/, 'must be a phone number');

/**
 * Intake (受理) body. Required fields follow HOTLINE-RULES "Intake rules": caller (or
 * anonymous), phone, address, content, category from the closed list, urgency, confidentiality.
 */
export const createTicketSchema = z
  .object({
    channel: z.enum(CHANNELS).default('phone'),
    caller: z.object({
      name: z.string().trim().min(1).max(50).nullable().default(null),
      phone,
      anonymous: z.boolean().default(false),
    }),
    category: z.enum(CATEGORIES),
    urgency: z.enum(URGENCIES),
    area: areaSchema.default({ districtId: null, streetId: null }),
    address: z.string().trim().min(2).max(500),
    content: z.string().trim().min(5).max(20_000),
    title: z.string().trim().min(1).max(200).nullable().default(null),
    confidential: z.boolean(),
    enterprise: z.boolean().default(false),
    elderly: z.boolean().default(false),
    callId: z.string().trim().min(1).max(128).nullable().default(null),
    externalRef: z.string().trim().min(1).max(128).nullable().default(null),
    outOfScope: z
      .object({ kind: z.enum(OUT_OF_SCOPE_KINDS), legalRoute: z.string().trim().min(2).max(2000) })
      .nullable()
      .default(null),
  })
  .refine((v) => v.caller.anonymous || v.caller.name !== null, {
    message: 'caller.name is required unless the caller is anonymous',
    path: ['caller', 'name'],
  });
export type CreateTicketInput = z.output<typeof createTicketSchema>;

export const idempotencyHeader = z.object({
  'idempotency-key': z.string().regex(/^[A-Za-z0-9_.:-]{8,128}$/).optional(),
});

export const ticketIdParams = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, 'must be a ticket id') });

const csv = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .max(500)
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(values)).max(values.length));

export const listTicketsQuery = z.object({
  state: csv(TICKET_STATES).optional(),
  category: csv(CATEGORIES).optional(),
  urgency: z.enum(URGENCIES).optional(),
  channel: z.enum(CHANNELS).optional(),
  departmentId: z.string().trim().min(1).max(64).optional(),
  number: z.string().trim().regex(/^[A-Za-z0-9-]{1,40}$/).optional(),
  phone: z.string().trim().regex(/^[0-9+ -]{3,20}$/).optional(),
  q: z.string().trim().min(1).max(100).optional(),
  createdFrom: z.coerce.date().optional(),
  createdTo: z.coerce.date().optional(),
  /** By the clock of the open milestones: on_time, warning (yellow) or overdue (red). */
  deadlineState: z.enum(['on_time', 'warning', 'overdue']).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(200).default(20),
});
export type ListTicketsQuery = z.output<typeof listTicketsQuery>;

/** `If-Match: "v3"` (or `3`): act only if the ticket is still at version 3. */
export const ifMatchHeader = z.object({
  'if-match': z
    .string()
    .regex(/^(W\/)?"?v?(\d{1,9})"?$/, 'must be a ticket version such as "v3"')
    .transform((s) => Number(/(\d+)/.exec(s)![1]))
    .optional(),
});
export const etagOf = (version: number): string => `"v${version}"`;
