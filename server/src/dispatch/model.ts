import { Schema, Types, type Connection, type Model } from 'mongoose';
import { CATEGORIES, type Category } from '../tickets/vocabulary.js';

export interface RoutingRuleDoc {
  _id: Types.ObjectId;
  category: Category | null;
  districtId: string | null;
  streetId: string | null;
  departmentId: string;
  priority: number;
  active: boolean;
  note: string | null;
  updatedAt: Date;
}

const schema = new Schema<RoutingRuleDoc>(
  {
    category: { type: String, enum: [...CATEGORIES, null], default: null },
    districtId: { type: String, default: null },
    streetId: { type: String, default: null },
    departmentId: { type: String, required: true },
    priority: { type: Number, default: 0 },
    active: { type: Boolean, default: true },
    note: { type: String, default: null },
    updatedAt: { type: Date, default: () => new Date() },
  },
  { versionKey: false },
);

export const routingRuleModel = (conn: Connection): Model<RoutingRuleDoc> => conn.model<RoutingRuleDoc>('RoutingRule', schema, 'routing_rules');
