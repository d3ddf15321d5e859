/**
 * Call records (CDR, issue 4 item 7) in the collection `calls`. `_id` is telephony's call id, so
 * a redelivered `call.offered` can never make a second record.
 *
 * The engine does not write this collection directly: a live call's record is kept in Redis and
 * written here in batches by the write-behind flusher of call-store.ts (a finished call at once,
 * a live one within CDR_FLUSH_DELAY_MS), with whole-document inserts and `{ _id }` replacements
 * only — FerretDB only uses an index for filters that are exactly `{ _id }`. Fields are set from
 * the event payloads (not from the clock of the worker) so a redelivered event writes the same
 * values again.
 */
import { Schema, type Connection, type Model } from 'mongoose';

/**
 * queued: waiting or ringing; abandoned: the caller left before an answer; answered: talking to an
 * agent; transferred: handed to a gateway (110…) and still up; ended: answered and finished.
 */
export const CALL_OUTCOMES = ['queued', 'abandoned', 'answered', 'transferred', 'ended'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

export interface CallDoc {
  /** telephony call id (SIP Call-ID of the caller's leg) */
  _id: string;
  /** the telephony instance holding the call: its commands go to that instance's queue */
  instance: string;
  line: string;
  lineName: string;
  fromNumber: string;
  displayName: string;
  toNumber: string;
  /** the caller's SDP offer as received (its media address helps diagnose one-way audio); telephony keeps the live copy */
  sdp: string;
  /** when the INVITE arrived at telephony */
  offeredAt: Date;
  /** when the engine put the call in the ACD queue */
  queuedAt: Date | null;
  /** priority the call was queued with (acd.ts PRIORITY) */
  priority: number;
  /** last time the call was offered to an agent, and that agent */
  ringingAt: Date | null;
  agentId: string | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  abandonedAt: Date | null;
  abandonReason: string | null;
  outcome: CallOutcome;
  /** time in the queue until answered or abandoned (ms) */
  waitedMs: number | null;
  callbackTaskId: string | null;
  ticketIds: string[];
  /** the agent who answered (agentId is the last agent offered, answered or not) */
  answeredBy: string | null;
  /** answered → ended (ms); null while talking or when never answered */
  talkMs: number | null;
  /** who hung up: 'caller' | 'agent' | 'system' (telephony restart, stale record) */
  endedBy: string | null;
  endReason: string | null;
  /** one-click transfer (转110 etc.), the last one asked for */
  transfer: CallTransfer | null;
  /** every offer of the call to an agent's phone, in order (agentId/ringingAt above: the last one) */
  rings: RingAttempt[];
  /** every hold of the call (re-INVITE to sendonly/inactive … back to sendrecv), in order */
  holds: HoldPeriod[];
  /** set when the call came from a partner gateway (e.g. '110' handing a non-police matter over) */
  fromGateway: string | null;
  /** the partner's reference for the matter (e.g. 110's incident number), from a SIP header */
  gatewayReference: string | null;
  createdAt: Date;
}

export const RING_RESULTS = ['answered', 'no_answer', 'busy', 'failed', 'cancelled'] as const;
export type RingResult = (typeof RING_RESULTS)[number];

/** One ring of an agent's phone (the engine's `ring` command and what came of it). */
export interface RingAttempt {
  agentId: string;
  /** when the engine offered the call to the agent (the ring command's offer time) */
  at: Date;
  /** when the phone alerted (its 180/183), null if it never did */
  alertingAt: Date | null;
  /** null while the phone still rings */
  result: RingResult | null;
  /** when the attempt ended (answer, failure, CANCEL) */
  endedAt: Date | null;
}

export interface HoldPeriod {
  /** 1, 2, … per call (telephony numbers them) */
  seq: number;
  /** who put the call on hold: 'caller' | 'agent' | 'gateway' */
  by: string;
  at: Date;
  /** when it was resumed; null while on hold (or if the call ended on hold) */
  endedAt: Date | null;
}

export const TRANSFER_OUTCOMES = ['pending', 'connected', 'failed'] as const;
export type TransferOutcome = (typeof TRANSFER_OUTCOMES)[number];

export interface CallTransfer {
  /** target key, e.g. '110', '119', '120', '122' */
  target: string;
  targetName: string;
  /** user id of the agent (or supervisor) who asked */
  by: string;
  requestedAt: Date;
  outcome: TransferOutcome;
  /** when the outcome became known */
  at: Date | null;
  /** failure cause (SIP status / timeout), null on success */
  reason: string | null;
  /** identifies the request in telephony's answer */
  requestId: string;
}

const schema = new Schema<CallDoc>(
  {
    _id: { type: String, required: true },
    instance: { type: String, default: 'tel1' },
    line: { type: String, required: true },
    lineName: { type: String, default: '' },
    fromNumber: { type: String, default: '' },
    displayName: { type: String, default: '' },
    toNumber: { type: String, default: '' },
    sdp: { type: String, default: '' },
    offeredAt: { type: Date, required: true },
    queuedAt: { type: Date, default: null },
    priority: { type: Number, default: 0 },
    ringingAt: { type: Date, default: null },
    agentId: { type: String, default: null },
    answeredAt: { type: Date, default: null },
    endedAt: { type: Date, default: null },
    abandonedAt: { type: Date, default: null },
    abandonReason: { type: String, default: null },
    outcome: { type: String, enum: CALL_OUTCOMES, required: true },
    waitedMs: { type: Number, default: null },
    callbackTaskId: { type: String, default: null },
    ticketIds: { type: [String], default: [] },
    answeredBy: { type: String, default: null },
    talkMs: { type: Number, default: null },
    endedBy: { type: String, default: null },
    endReason: { type: String, default: null },
    transfer: {
      type: new Schema<CallTransfer>(
        {
          target: String,
          targetName: String,
          by: String,
          requestedAt: Date,
          outcome: { type: String, enum: TRANSFER_OUTCOMES },
          at: { type: Date, default: null },
          reason: { type: String, default: null },
          requestId: String,
        },
        { _id: false },
      ),
      default: null,
    },
    rings: {
      type: [
        new Schema<RingAttempt>(
          {
            agentId: String,
            at: Date,
            alertingAt: { type: Date, default: null },
            result: { type: String, default: null },
            endedAt: { type: Date, default: null },
          },
          { _id: false },
        ),
      ],
      default: [],
    },
    holds: {
      type: [new Schema<HoldPeriod>({ seq: Number, by: String, at: Date, endedAt: { type: Date, default: null } }, { _id: false })],
      default: [],
    },
    fromGateway: { type: String, default: null },
    gatewayReference: { type: String, default: null },
    createdAt: { type: Date, default: () => new Date() },
  },
  { versionKey: false },
);
// KPIs by hour/day/line read ranges of offeredAt (kpi-routes.ts).
schema.index({ offeredAt: 1 });
// The stale sweep (engine.ts sweepStale) looks for open records by outcome and age.
schema.index({ outcome: 1, offeredAt: 1 });

export const callModel = (conn: Connection): Model<CallDoc> => conn.model<CallDoc>('Call', schema, 'calls');

/** The API view of a call record (no SDP: it is signalling detail, not part of the record). */
export function presentCall(c: CallDoc): Record<string, unknown> {
  const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);
  return {
    id: c._id,
    line: c.line,
    lineName: c.lineName,
    fromNumber: c.fromNumber,
    displayName: c.displayName,
    toNumber: c.toNumber,
    outcome: c.outcome,
    priority: c.priority,
    offeredAt: iso(c.offeredAt),
    queuedAt: iso(c.queuedAt),
    ringingAt: iso(c.ringingAt),
    agentId: c.agentId ?? null,
    answeredAt: iso(c.answeredAt),
    endedAt: iso(c.endedAt),
    abandonedAt: iso(c.abandonedAt),
    abandonReason: c.abandonReason ?? null,
    waitedMs: c.waitedMs ?? null,
    callbackTaskId: c.callbackTaskId ?? null,
    ticketIds: c.ticketIds ?? [],
    answeredBy: c.answeredBy ?? null,
    talkMs: c.talkMs ?? null,
    endedBy: c.endedBy ?? null,
    endReason: c.endReason ?? null,
    transfer: c.transfer
      ? {
          target: c.transfer.target,
          targetName: c.transfer.targetName,
          by: c.transfer.by,
          requestedAt: iso(c.transfer.requestedAt),
          outcome: c.transfer.outcome,
          at: iso(c.transfer.at),
          reason: c.transfer.reason ?? null,
        }
      : null,
    rings: (c.rings ?? []).map((r) => ({ agentId: r.agentId, at: iso(r.at), alertingAt: iso(r.alertingAt), result: r.result ?? null, endedAt: iso(r.endedAt) })),
    holds: (c.holds ?? []).map((h) => ({ seq: h.seq, by: h.by, at: iso(h.at), endedAt: iso(h.endedAt) })),
    holdCount: (c.holds ?? []).length,
    /** time on hold in completed holds (ms) */
    // a hold whose start is not known yet (its resume handled first) counts once both ends are in
    heldMs: (c.holds ?? []).reduce((n, h) => n + (h.endedAt && h.at ? Math.max(0, new Date(h.endedAt).getTime() - new Date(h.at).getTime()) : 0), 0),
    fromGateway: c.fromGateway ?? null,
    gatewayReference: c.gatewayReference ?? null,
  };
}
