import { Schema, Types, type Connection, type Model } from 'mongoose';
import type { Caller, ClosureKind, OutOfScope, TicketCore, TimelineEntry } from './types.js';
import { CATEGORIES, CHANNELS, TICKET_STATES, URGENCIES, type Channel } from './vocabulary.js';

/** An outbox entry: a side effect written in the same update as the transition (ARCHITECTURE step 6). */
export interface OutboxEntry {
  id: string; // `${ticketId}:${version}:${index}` — also the BullMQ job id
  type: string;
  version: number;
  at: Date;
  data: Record<string, unknown>;
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
  duplicateIds: Types.ObjectId[];
  createdBy: { id: string; name: string; role: string; departmentId: string | null };
  createdAt: Date;
  updatedAt: Date;
  timeline: TimelineEntry[];
  outbox: OutboxEntry[];
  /** True while the outbox holds entries not yet handed to BullMQ (indexed for the sweeper). */
  outboxPending: boolean;
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
    leadDepartmentId: { type: String, default: null },
    coDepartmentIds: { type: [String], default: [] },
    dispatchCount: { type: Number, default: 0 },
    returnedFrom: { type: String, default: null },
    returnReason: { type: String, default: null },
    pendingExtension: { type: Mixed, default: null },
    extendedHours: { type: Number, default: 0 },
    deadlines: { type: Mixed, required: true },
    reply: { type: Mixed, default: null },
    directAnswer: { type: Mixed, default: null },
    rating: { type: Mixed, default: null },
    ratings: { type: Mixed, default: () => [] },
    redoCount: { type: Number, default: 0 },
    flaggedRepeatedFailure: { type: Boolean, default: false },
    urgeCount: { type: Number, default: 0 },
    supervised: { type: Boolean, default: false },
    mergedInto: { type: String, default: null },
    duplicateIds: { type: [Schema.Types.ObjectId], default: [] },
    closure: { type: Mixed, default: null },
    createdBy: { type: Mixed, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    timeline: { type: Mixed, default: () => [] },
    outbox: { type: Mixed, default: () => [] },
    outboxPending: { type: Boolean, default: false },
  },
  { versionKey: false, minimize: false },
);
ticketSchema.index({ number: 1 }, { unique: true });
ticketSchema.index({ leadDepartmentId: 1, state: 1 });
ticketSchema.index({ coDepartmentIds: 1 });
ticketSchema.index({ 'caller.phone': 1 });
ticketSchema.index({ state: 1, createdAt: -1 });
ticketSchema.index({ outboxPending: 1 });

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

/** Per-day sequence for human-readable ticket numbers. */
export interface CounterDoc {
  _id: string;
  seq: number;
}
const counterSchema = new Schema<CounterDoc>({ _id: { type: String, required: true }, seq: { type: Number, required: true } }, { versionKey: false });

export interface TicketModels {
  Ticket: Model<TicketDoc>;
  Idempotency: Model<IdempotencyDoc>;
  Counter: Model<CounterDoc>;
}

export function ticketModels(conn: Connection): TicketModels {
  return {
    Ticket: conn.model<TicketDoc>('Ticket', ticketSchema, 'tickets'),
    Idempotency: conn.model<IdempotencyDoc>('Idempotency', idempotencySchema, 'idempotency_keys'),
    Counter: conn.model<CounterDoc>('Counter', counterSchema, 'counters'),
  };
}

export type { ClosureKind };
