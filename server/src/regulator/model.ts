/**
 * The 审管 push delivery log: one document per (target, ticket, event occurrence), `_id` = the
 * BullMQ job id. Created by an insert at enqueue; afterwards written only by the worker holding
 * the job (one at a time), by `_id`, so FerretDB's unisolated updates never race here.
 */
import { Schema, type Connection, type Model } from 'mongoose';
import type { PushEvent } from './config.js';

export const DELIVERY_STATUSES = ['pending', 'retrying', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliveryDoc {
  _id: string;
  webhookId: string;
  url: string;
  ticketId: string;
  ticketNumber: string;
  event: PushEvent;
  /** the ticket version whose event caused this delivery */
  version: number;
  status: DeliveryStatus;
  attempts: number;
  statusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  /** manual re-sends of a failed delivery: who and when (the last one) and how many */
  resends?: number;
  resentAt?: Date | null;
  resentBy?: string | null;
}

const deliverySchema = new Schema<DeliveryDoc>(
  {
    _id: { type: String, required: true },
    webhookId: { type: String, required: true },
    url: { type: String, required: true },
    ticketId: { type: String, required: true },
    ticketNumber: { type: String, required: true },
    event: { type: String, required: true },
    version: { type: Number, required: true },
    status: { type: String, enum: DELIVERY_STATUSES, required: true },
    attempts: { type: Number, default: 0 },
    statusCode: { type: Number, default: null },
    lastError: { type: String, default: null },
    createdAt: { type: Date, required: true },
    lastAttemptAt: { type: Date, default: null },
    deliveredAt: { type: Date, default: null },
    resends: { type: Number, default: 0 },
    resentAt: { type: Date, default: null },
    resentBy: { type: String, default: null },
  },
  { versionKey: false },
);
deliverySchema.index({ createdAt: -1 });
deliverySchema.index({ ticketId: 1 });

export const deliveryModel = (conn: Connection): Model<DeliveryDoc> => conn.model<DeliveryDoc>('RegulatorDelivery', deliverySchema, 'regulator_deliveries');
