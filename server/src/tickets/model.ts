import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { Caller, ClosureKind, OutOfScope, TicketCore, TimelineEntry } from './types.js';
import { CATEGORIES, CHANNELS, TICKET_STATES, URGENCIES, type Channel } from './vocabulary.js';

/** A side effect of a transition, published to BullMQ (ARCHITECTURE step 6). */
export interface OutboxEntry {
  id: string; // `${ticketId}:${version}:${index}` — also the BullMQ job id
  type: string;
  version: number;
  at: Date;
  data: Record<string, unknown>;
}

/**
 * A file a citizen attached (online intake). Metadata only: the bytes live in the attachment
 * store under `storageKey` (a random name, never derived from the client's file name).
 */
export interface AttachmentMeta {
  id: string;
  /** The client's file name, for display only (sanitised, never used as a path). */
  name: string;
  /** Detected from the content (magic bytes), not the client's claim. */
  mimeType: string;
  size: number;
  sha256: string;
  storageKey: string;
  at: Date;
}

export interface TicketDoc extends TicketCore {
  _id: Types.ObjectId;
  number: string;
  channel: Channel;
  caller: Caller;
  title: string | null;
  address: string;
  content: string;
  confidential: boolean;
  enterprise: boolean;
  elderly: boolean;
  callIds: string[];
  externalRef: string | null;
  outOfScope: OutOfScope | null;
  /** Files attached at intake (online channels). */
  attachments?: AttachmentMeta[];
  createdBy: { id: string; name: string; role: string; departmentId: string | null };
  createdAt: Date;
  updatedAt: Date;
  timeline: TimelineEntry[];
}

const Mixed = Schema.Types.Mixed;

const ticketSchema = new Schema<TicketDoc>(
  {
    number: { type: String, required: true },
    state: { type: String, enum: TICKET_STATES, required: true },
    version: { type: Number, required: true },
    round: { type: Number, required: true },
    channel: { type: String, enum: CHANNELS, required: true },
    category: { type: String, enum: CATEGORIES, required: true },
    urgency: { type: String, enum: URGENCIES, required: true },
    area: { type: Mixed, required: true },
    policy: { type: Mixed, required: true },
    caller: { type: Mixed, required: true },
    title: { type: String, default: null },
    address: { type: String, required: true },
    content: { type: String, required: true },
    confidential: { type: Boolean, required: true },
    enterprise: { type: Boolean, default: false },
    elderly: { type: Boolean, default: false },
    callIds: { type: [String], default: [] },
    externalRef: { type: String, default: null },
    outOfScope: { type: Mixed, default: null },
    attachments: { type: Mixed, default: () => [] },
    leadDepartmentId: { type: String, default: null },
    coDepartmentIds: { type: [String], default: [] },
    dispatchCount: { type: Number, default: 0 },
    returnedFrom: { type: String, default: null },
    returnReason: { type: String, default: null },
    pendingExtension: { type: Mixed, default: null },
    extendedDays: { type: Number, default: 0 },
    deadlines: { type: Mixed, required: true },
    nextDueAt: { type: Date, default: null },
    nextWarnAt: { type: Date, default: null },
    returnUntil: { type: Date, default: null },
    suspension: { type: Mixed, required: true },
    escalatedTo: { type: [String], default: [] },
    reply: { type: Mixed, default: null },
    directAnswer: { type: Mixed, default: null },
    rating: { type: Mixed, default: null },
    ratings: { type: Mixed, default: () => [] },
    redoCount: { type: Number, default: 0 },
    flaggedRepeatedFailure: { type: Boolean, default: false },
    urgeCount: { type: Number, default: 0 },
    supervised: { type: Boolean, default: false },
    mergedInto: { type: String, default: null },
    closure: { type: Mixed, default: null },
    createdBy: { type: Mixed, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    timeline: { type: Mixed, default: () => [] },
  },
  { versionKey: false, minimize: false },
);
ticketSchema.index({ number: 1 }, { unique: true });
ticketSchema.index({ leadDepartmentId: 1, state: 1 });
ticketSchema.index({ coDepartmentIds: 1 });
ticketSchema.index({ 'caller.phone': 1 });
ticketSchema.index({ state: 1, createdAt: -1 });
ticketSchema.index({ mergedInto: 1 });
ticketSchema.index({ nextDueAt: 1 });
ticketSchema.index({ escalatedTo: 1 });

/**
 * The ticket journal: one document per ticket version, `_id` = `${ticketId}:${version}`.
 *
 * Why: FerretDB v1 executes an update as query-then-write-by-_id, without isolation —
 * measured here, 50 concurrent `$inc` on one document ended at 4, and of 20 concurrent
 * conditional updates `{_id, version: 1}` four "won". An insert with a unique `_id` IS atomic
 * on FerretDB (SQLite unique index) and on MongoDB. So the insert of version N+1 into the journal
 * is the arbiter: exactly one command claims each version. The winner then writes the ticket
 * document (a projection of the journal) and publishes the side effects recorded here (the
 * outbox). A sweeper repairs projections and publishes events of winners that died midway.
 */
export interface JournalDoc {
  _id: string;
  ticketId: Types.ObjectId;
  version: number;
  at: Date;
  entry: TimelineEntry;
  events: OutboxEntry[];
  /** State after this version (versions > 1). */
  core: TicketCore | null;
  /** The whole new ticket (version 1), so a crash between journal and ticket insert is repairable. */
  snapshot: Record<string, unknown> | null;
  /** Side effects handed to BullMQ. */
  published: boolean;
}
const journalSchema = new Schema<JournalDoc>(
  {
    _id: { type: String, required: true },
    ticketId: { type: Schema.Types.ObjectId, required: true },
    version: { type: Number, required: true },
    at: { type: Date, required: true },
    entry: { type: Mixed, required: true },
    events: { type: Mixed, default: () => [] },
    core: { type: Mixed, default: null },
    snapshot: { type: Mixed, default: null },
    published: { type: Boolean, default: false },
  },
  { versionKey: false, minimize: false },
);
journalSchema.index({ published: 1, at: 1 });
journalSchema.index({ ticketId: 1, version: 1 });

export const journalId = (ticketId: string, version: number): string => `${ticketId}:${version}`;

/** Idempotency keys for ticket creation: `_id` is `${actorId}:${key}`, so uniqueness needs only `_id`. */
export interface IdempotencyDoc {
  _id: string;
  ticketId: Types.ObjectId;
  requestHash: string;
  createdAt: Date;
}
const idempotencySchema = new Schema<IdempotencyDoc>(
  {
    _id: { type: String, required: true },
    ticketId: { type: Schema.Types.ObjectId, required: true },
    requestHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);

export interface TicketModels {
  Ticket: Model<TicketDoc>;
  Idempotency: Model<IdempotencyDoc>;
  Journal: Model<JournalDoc>;
}

export function ticketModels(conn: Connection): TicketModels {
  return {
    Ticket: conn.model<TicketDoc>('Ticket', ticketSchema, 'tickets'),
    Idempotency: conn.model<IdempotencyDoc>('Idempotency', idempotencySchema, 'idempotency_keys'),
    Journal: conn.model<JournalDoc>('Journal', journalSchema, 'ticket_journal'),
  };
}

export type { ClosureKind };
