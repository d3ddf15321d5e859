/**
 * One way in for every online channel (citizen API, partner webhook, Open311): a matter becomes
 * a ticket through TicketService.create — the same intake, journal and outbox as a call — and
 * the caller hears 2xx only after create() returned, i.e. after the ticket document is in the
 * database (journal entry first, then the ticket; see TicketService.insert).
 */
import { createHash } from 'node:crypto';
import type { AttachmentMeta, TicketDoc } from '../tickets/model.js';
import { createTicketSchema } from '../tickets/schema.js';
import type { TicketService } from '../tickets/service.js';
import type { Actor } from '../tickets/types.js';
import type { Category, Channel } from '../tickets/vocabulary.js';

export interface CitizenMatter {
  channel: Channel;
  category: Category;
  title?: string | undefined;
  content: string;
  address: string;
  districtId?: string | undefined;
  streetId?: string | undefined;
  phone: string;
  name?: string | undefined;
  anonymous: boolean;
  confidential: boolean;
  enterprise: boolean;
  externalRef?: string | undefined;
}

/** The intake actor of an online channel (recorded as the ticket's creator). */
export const channelActor = (channel: Channel, who: string): Actor => ({ id: `${channel}:${who}`, name: `网上受理 (${channel})`, role: 'system', departmentId: null });

/** A partner platform as the intake actor; its id scopes the partner's message ids (idempotency). */
export const partnerActor = (partner: string): Actor => ({ id: `partner:${partner}`, name: `合作平台 ${partner}`, role: 'system', departmentId: null });

/** Scopes a client's idempotency key by phone (hashed: no phone number in key ids). */
export const scopedKey = (phone: string, key: string): string => `${createHash('sha256').update(phone).digest('hex').slice(0, 16)}:${key}`;

export async function fileMatter(
  tickets: TicketService,
  m: CitizenMatter,
  actor: Actor,
  opts: { idempotencyKey?: string | undefined; attachments?: AttachmentMeta[] } = {},
): Promise<{ ticket: TicketDoc; created: boolean }> {
  const input = createTicketSchema.parse({
    channel: m.channel,
    caller: { name: m.anonymous ? null : (m.name ?? null), phone: m.phone, anonymous: m.anonymous },
    category: m.category,
    urgency: 'normal',
    area: { districtId: m.districtId ?? null, streetId: m.streetId ?? null },
    address: m.address,
    content: m.content,
    title: m.title ?? null,
    confidential: m.confidential,
    enterprise: m.enterprise,
    externalRef: m.externalRef ?? null,
  });
  return tickets.create(input, actor, opts.idempotencyKey, { attachments: opts.attachments ?? [] });
}
