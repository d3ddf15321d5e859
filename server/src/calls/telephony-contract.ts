/**
 * The contract between the engine and telephony adapters (ARCHITECTURE "The data flow"): the
 * BullMQ queues, the payloads and their zod schemas, and the deterministic job ids that make
 * every publish idempotent. Both sides import this one file (telephony/src imports it too), so a
 * payload can never drift between the publisher and the consumer.
 *
 * - `call-events`: telephony → engine. Job ids derive from the SIP Call-ID (and the agent and
 *   offer time where one call has several such events), so a retransmitted INVITE, a redelivered
 *   job or a second publish of the same fact is stored once.
 * - `telephony-commands-<instance>`: engine → the telephony instance that holds the call (each
 *   `call.offered` names its instance; the engine keeps it on the call record). One queue per
 *   instance because a call's dialog state lives in that instance's memory.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const CALL_EVENTS_QUEUE = 'call-events';
export const TELEPHONY_COMMANDS_PREFIX = 'telephony-commands';
/** BullMQ queue names may not contain ':'; instance ids are restricted accordingly. */
export const INSTANCE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const commandsQueueName = (instance: string): string => `${TELEPHONY_COMMANDS_PREFIX}-${instance}`;

/** Redis key (under the queue prefix) holding the engine's heartbeat: absent → telephony answers 503. */
export const ENGINE_HEARTBEAT_KEY = 'engine:heartbeat';
/** Redis hash (under the queue prefix) of SIP digest HA1 per username, mirrored from the directory. */
export const SIP_CREDENTIALS_KEY = 'sip:ha1';
/** Prefix (under the queue prefix) of telephony's registration store (telephony/src/redis-binding-store.ts). */
export const SIP_BINDINGS_PREFIX = 'sip';
/** Its index: sorted set of AORs scored by their latest binding expiry (epoch ms). */
export const SIP_REGISTRATIONS_INDEX = `${SIP_BINDINGS_PREFIX}:aors`;

const callId = z.string().min(1).max(256);
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'not a date');
const agentId = z.string().min(1).max(128);
const instance = z.string().regex(INSTANCE_ID);

export const callOfferedSchema = z.object({
  type: z.literal('call.offered'),
  callId,
  /** telephony instance holding the call: commands for it go to its queue */
  instance,
  line: z.string().min(1).max(64),
  lineName: z.string().max(200),
  /** caller's number: user part of the From URI */
  fromNumber: z.string().max(64),
  /** From display name decoded as UTF-8, '' when absent */
  displayName: z.string().max(200),
  /** the dialled number, normalised */
  toNumber: z.string().max(64),
  /** the caller's SDP offer ('' if the INVITE had none) */
  sdp: z.string().max(64 * 1024),
  receivedAt: isoTime,
  /** a partner gateway the call came from (e.g. '110' handing a non-police matter to 12345) */
  fromGateway: z.string().max(32).nullable().default(null),
  /** the partner's reference for the matter, from its configured SIP header */
  gatewayReference: z.string().max(200).nullable().default(null),
});
export type CallOffered = z.input<typeof callOfferedSchema>;

export const ABANDON_REASONS = ['caller-cancel', 'ring-timeout', 'rejected', 'shutdown', 'telephony-restart', 'max-wait-callback'] as const;
export type AbandonReason = (typeof ABANDON_REASONS)[number];

export const callAbandonedSchema = z.object({
  type: z.literal('call.abandoned'),
  callId,
  line: z.string().min(1).max(64),
  reason: z.enum(ABANDON_REASONS),
  /** SIP status the caller's INVITE got */
  finalStatus: z.number().int(),
  at: isoTime,
  /** a phone was ringing when the caller left: when it alerted (its 180/183), if it did */
  alertingAt: isoTime.optional(),
});
export type CallAbandoned = z.infer<typeof callAbandonedSchema>;

/**
 * Why ringing an agent's phone did not connect (RONA and friends). Not the agent's fault:
 * `call-gone` — the call no longer waits for this ring (answered by someone else);
 * `call-ended` — the caller is gone (or telephony does not know the call).
 */
export const RING_FAILURES = ['no-answer', 'busy', 'rejected', 'unregistered', 'unreachable', 'call-gone', 'call-ended'] as const;
export type RingFailure = (typeof RING_FAILURES)[number];

export const callRingFailedSchema = z.object({
  type: z.literal('call.ring-failed'),
  callId,
  agentId,
  /** the offer's time (ms) from the ring command: identifies the attempt */
  offerAt: z.number().int(),
  reason: z.enum(RING_FAILURES),
  /** SIP status from the phone, if any */
  status: z.number().int().nullable(),
  at: isoTime,
  /** when the agent's phone alerted (its 180/183) for this ring, if it did */
  alertingAt: isoTime.optional(),
});
export type CallRingFailed = z.infer<typeof callRingFailedSchema>;

export const callAnsweredSchema = z.object({
  type: z.literal('call.answered'),
  callId,
  agentId,
  offerAt: z.number().int(),
  at: isoTime,
  /** when the agent's phone alerted (its 180/183) for this ring, if it did */
  alertingAt: isoTime.optional(),
});
export type CallAnswered = z.infer<typeof callAnsweredSchema>;

export const END_PARTIES = ['caller', 'agent', 'gateway', 'system'] as const;
export type EndParty = (typeof END_PARTIES)[number];

export const callEndedSchema = z.object({
  type: z.literal('call.ended'),
  callId,
  by: z.enum(END_PARTIES),
  /** 'bye', 'no-ack', 'telephony-restart', 'shutdown', … */
  reason: z.string().min(1).max(64),
  at: isoTime,
});
export type CallEnded = z.infer<typeof callEndedSchema>;

export const callTransferResultSchema = z.object({
  type: z.literal('call.transfer-result'),
  callId,
  /** the transfer request this answers (from the command) */
  requestId: z.string().min(1).max(64),
  target: z.string().min(1).max(32),
  outcome: z.enum(['connected', 'failed']),
  /** failure cause: 'status-486', 'timeout', 'caller-reinvite-488', 'not-answered-call', … */
  reason: z.string().max(64).nullable(),
  at: isoTime,
});
export type CallTransferResult = z.infer<typeof callTransferResultSchema>;

/**
 * The agent's phone is alerting (its first 180/183 to our INVITE): the ring attempt reached it.
 * Sent only when telephony is asked for live ringing events (TELEPHONY_RINGING_EVENTS); the
 * alerting time otherwise comes with the ring's outcome (`alertingAt` on answered, ring-failed,
 * abandoned).
 */
export const callRingingSchema = z.object({
  type: z.literal('call.ringing'),
  callId,
  agentId,
  /** the offer's time (ms) from the ring command: identifies the attempt */
  offerAt: z.number().int(),
  /** 180 or 183 */
  status: z.number().int(),
  at: isoTime,
});
export type CallRinging = z.infer<typeof callRingingSchema>;

export const HOLD_PARTIES = ['caller', 'agent', 'gateway'] as const;
export type HoldParty = (typeof HOLD_PARTIES)[number];

/**
 * `call.held`: a re-INVITE putting the media on hold (a=sendonly / a=inactive, or c=0.0.0.0) was
 * accepted; `call.resumed`: a later one back to sendrecv. `seq` numbers the holds of one call
 * (1, 2, …): a resume closes the hold with the same seq, so the two may be handled in any order.
 */
export const callHeldSchema = z.object({
  type: z.literal('call.held'),
  callId,
  seq: z.number().int().min(1),
  by: z.enum(HOLD_PARTIES),
  at: isoTime,
});
export type CallHeld = z.infer<typeof callHeldSchema>;

export const callResumedSchema = z.object({
  type: z.literal('call.resumed'),
  callId,
  seq: z.number().int().min(1),
  by: z.enum(HOLD_PARTIES),
  at: isoTime,
});
export type CallResumed = z.infer<typeof callResumedSchema>;

export const callEventSchema = z.discriminatedUnion('type', [
  callOfferedSchema,
  callAbandonedSchema,
  callRingFailedSchema,
  callRingingSchema,
  callAnsweredSchema,
  callEndedSchema,
  callTransferResultSchema,
  callHeldSchema,
  callResumedSchema,
]);
export type CallEvent = CallOffered | CallAbandoned | CallRingFailed | CallRinging | CallAnswered | CallEnded | CallTransferResult | CallHeld | CallResumed;
export type CallEventType = CallEvent['type'];

const hash = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 32);

/** Deterministic job id of a call event (no ':' — BullMQ forbids it — and bounded length). */
export function callEventJobId(ev: CallEvent): string {
  switch (ev.type) {
    case 'call.ring-failed':
    case 'call.ringing':
    case 'call.answered':
      return `${ev.type}-${hash(ev.callId)}-${hash(ev.agentId).slice(0, 12)}-${ev.offerAt}`;
    case 'call.transfer-result':
      return `${ev.type}-${hash(ev.callId)}-${hash(ev.requestId).slice(0, 12)}`;
    case 'call.held':
    case 'call.resumed':
      return `${ev.type}-${hash(ev.callId)}-${ev.seq}`;
    default:
      return `${ev.type}-${hash(ev.callId)}`;
  }
}

// ----- commands ------------------------------------------------------------------------------

export const ringCommandSchema = z.object({
  callId,
  agentId,
  /** the agent's SIP user (AOR `sip:<sipUser>@<realm>`) */
  sipUser: z.string().min(1).max(64),
  offerAt: z.number().int(),
  /** CANCEL and report `no-answer` after this (ms). (The caller's SDP stays in telephony, which holds the call.) */
  ringTimeoutMs: z.number().int().min(1000).max(120_000),
});
export type RingCommand = z.infer<typeof ringCommandSchema>;

export const stopRingCommandSchema = z.object({ callId, agentId, offerAt: z.number().int() });
export type StopRingCommand = z.infer<typeof stopRingCommandSchema>;

export const transferCommandSchema = z.object({
  callId,
  requestId: z.string().min(1).max(64),
  /** gateway key configured in telephony (110, 119, 120, 122) */
  target: z.string().min(1).max(32),
  /** who asked (user id), for telephony's log */
  by: z.string().max(128),
});
export type TransferCommand = z.infer<typeof transferCommandSchema>;

/** End a caller still waiting (e.g. max wait reached → a callback task instead). */
export const endCallCommandSchema = z.object({ callId, reason: z.enum(ABANDON_REASONS) });
export type EndCallCommand = z.infer<typeof endCallCommandSchema>;

export const COMMAND_SCHEMAS = {
  ring: ringCommandSchema,
  'stop-ring': stopRingCommandSchema,
  transfer: transferCommandSchema,
  end: endCallCommandSchema,
} as const;
export type CommandName = keyof typeof COMMAND_SCHEMAS;
export type TelephonyCommand = RingCommand | StopRingCommand | TransferCommand | EndCallCommand;

export const commandJobId = {
  ring: (c: Pick<RingCommand, 'callId' | 'agentId' | 'offerAt'>): string => `ring-${hash(c.callId)}-${hash(c.agentId).slice(0, 12)}-${c.offerAt}`,
  stopRing: (c: Pick<StopRingCommand, 'callId' | 'agentId' | 'offerAt'>): string => `stop-ring-${hash(c.callId)}-${hash(c.agentId).slice(0, 12)}-${c.offerAt}`,
  transfer: (c: Pick<TransferCommand, 'callId' | 'requestId'>): string => `transfer-${hash(c.callId)}-${hash(c.requestId).slice(0, 12)}`,
  end: (c: Pick<EndCallCommand, 'callId'>): string => `end-${hash(c.callId)}`,
};

export const COMMAND_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 200 },
  // the id must outlive redeliveries of the event that caused it
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;
