/**
 * Bodies of the online intake: the public citizen API and the partner webhook. The same zod
 * schemas validate and document them (OpenAPI). Multipart filings carry the same fields as text.
 */
import { z } from 'zod';
import { CATEGORIES, type Channel } from '../tickets/vocabulary.js';

/** Online channels a citizen page (or app) may name (seed item 35); phone/window/110 are staff intake. */
export const ONLINE_CHANNELS = ['web', 'wechat', 'miniprogram', 'portal', 'media'] as const satisfies readonly Channel[];

export const citizenPhone = z
  .string()
  .trim()
  .regex(/^\+?[0-9][0-9 -]{5,19}$/, 'must be a phone number')
  .transform((s) => s.replace(/[ -]/g, ''));

const areaId = z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be an area code such as wenfeng');

/** The matter itself, as a citizen page or a partner platform sends it. */
const matterFields = z.object({
  category: z.enum(CATEGORIES),
  title: z.string().trim().min(1).max(200).optional(),
  content: z.string().trim().min(5).max(5000),
  address: z.string().trim().min(2).max(500),
  districtId: areaId.optional(),
  streetId: areaId.optional(),
  phone: citizenPhone,
  /** Without a name the matter is anonymous (匿名): a page must say so, a partner's message is filed so. */
  name: z.string().trim().min(1).max(50).optional(),
  /** 匿名: no name recorded; ratings from an anonymous citizen are anonymous. */
  anonymous: z.boolean().default(false),
  /** 是否保密: the handling department does not see the name. */
  confidential: z.boolean().default(false),
  /** 万人助万企: filed by or for an enterprise. */
  enterprise: z.boolean().default(false),
});

/**
 * A citizen's complaint (诉求). Name unless anonymous (HOTLINE-RULES "Intake rules": caller or
 * anonymous; phone always, to reach the citizen and to look the ticket up); confidentiality
 * (是否保密) on request. Urgency is the hotline's call (classified later), filed as normal.
 */
export const publicComplaintSchema = matterFields
  .extend({ channel: z.enum(ONLINE_CHANNELS).default('web') })
  .refine((v) => v.anonymous || v.name !== undefined, { message: 'name is required unless anonymous is true', path: ['name'] });
export type PublicComplaint = z.output<typeof publicComplaintSchema>;

export const ticketNumber = z.string().trim().regex(/^[A-Za-z0-9]{1,10}-\d{8}-\d{4,9}$/, 'must be a ticket number such as 12345-20260101-000001');

export const lookupSchema = z.object({ number: ticketNumber, phone: citizenPhone });

/** A partner platform's message (webhook). `messageId` makes redeliveries idempotent. */
export const webhookMessageSchema = matterFields
  .extend({
    messageId: z.string().trim().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'letters, digits, _ . : - (at most 100)'),
    /** The partner's own reference for the matter (shown as the ticket's external reference). */
    externalRef: z.string().trim().regex(/^[A-Za-z0-9_.:/-]{1,100}$/).optional(),
  })
  .transform((v) => ({ ...v, anonymous: v.anonymous || v.name === undefined }));
export type WebhookMessage = z.output<typeof webhookMessageSchema>;
