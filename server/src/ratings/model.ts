/**
 * Rating links (issue #6 items 3+4). Only the SHA-256 of a token is stored, as `_id`, so a
 * lookup is an exact `{_id}` filter (an index hit on FerretDB too) and a leaked database cannot
 * be turned into working links. Single use is a second unique insert (`rating_token_claims`,
 * same `_id`): atomic on FerretDB and MongoDB alike, unlike a conditional update.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export interface RatingTokenDoc {
  _id: string; // sha256(token), hex
  ticketId: string;
  round: number;
  createdAt: Date;
  expiresAt: Date;
  /** Set by the claim's winner after the rating was recorded (informational). */
  usedAt: Date | null;
}

export interface RatingClaimDoc {
  _id: string; // the token's hash
  at: Date;
}

const tokenSchema = new Schema<RatingTokenDoc>(
  {
    _id: { type: String, required: true },
    ticketId: { type: String, required: true },
    round: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
  },
  { versionKey: false },
);

const claimSchema = new Schema<RatingClaimDoc>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);

export interface RatingModels {
  RatingToken: Model<RatingTokenDoc>;
  RatingClaim: Model<RatingClaimDoc>;
}

export function ratingModels(conn: Connection): RatingModels {
  return {
    RatingToken: conn.model<RatingTokenDoc>('RatingToken', tokenSchema, 'rating_tokens'),
    RatingClaim: conn.model<RatingClaimDoc>('RatingClaim', claimSchema, 'rating_token_claims'),
  };
}
