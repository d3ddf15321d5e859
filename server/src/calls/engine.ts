/**
 * The engine side of calls: what happens when telephony reports a call (record it, queue it in
 * the ACD, offer it to agents) and what the engine commands back (`ring` on the queue
 * `telephony-commands`). Used by the call-event worker (worker.ts) and by the agent routes
 * (routes.ts: an agent becoming available triggers a distribution round).
 *
 * Call records go through call-store.ts: live in Redis (one atomic write per step), written
 * behind to MongoDB in batches. Distribution rounds are coalesced (dispatch): events arriving
 * while a round runs share the next one.
 *
 * Every step is idempotent, because BullMQ delivers at least once:
 * - the CDR is keyed by the call id (create = first delivery, already there = redelivery);
 * - the ACD enqueue is idempotent per call id (acd-store.ts);
 * - `ring` jobs have a deterministic id (call, agent, offer time), so re-adding one after a crash
 *   between the claim and the command is a no-op if it was already sent.
 */
import { randomUUID } from 'node:crypto';
import AsyncLock from 'async-lock';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import {
  callerPriority,
  PRIORITY,
  queuePosition,
  type AgentState,
  type AgentStatus,
  type Assignment,
  type CallbackTask,
  type OverflowPolicy,
  type StateActor,
  type Strategy,
} from './acd.js';
import { AgentConflictError, type AcdStore } from './acd-store.js';
import type { CallerCard } from '../realtime/contract.js';
import { newCallDoc, type CallStore } from './call-store.js';
import type { CallDoc, CallTransfer, RingResult } from './model.js';
import {
  commandJobId,
  type CallAbandoned,
  type CallAnswered,
  type CallEnded,
  type CallHeld,
  type CallOffered,
  type CallResumed,
  type CallRingFailed,
  type CallRinging,
  type CallTransferResult,
  type RingFailure,
  type TelephonyCommand,
} from './telephony-contract.js';

export { CALL_EVENTS_QUEUE, COMMAND_JOB_OPTIONS } from './telephony-contract.js';
/** The agent group every agent and call belongs to until groups are configured. */
export const DEFAULT_GROUP = 'main';

export type CallOfferedEvent = Omit<CallOffered, 'fromGateway' | 'gatewayReference'> & { fromGateway?: string | null; gatewayReference?: string | null };
export type CallAbandonedEvent = CallAbandoned;

export type { CallerCard };

/** Realtime notifications (rooms as in realtime/gateway.ts). */
export type CallNotifier = (rooms: string[], event: string, payload: Record<string, unknown>) => void;

export interface TransferTarget {
  key: string;
  name: string;
}

export interface CallEngineDeps {
  /** call records: live in Redis, written behind to MongoDB (call-store.ts) */
  records: CallStore;
  acd: AcdStore;
  /** the command queue of a telephony instance */
  commands: (instance: string) => Queue<TelephonyCommand>;
  log: Logger;
  clock: () => Date;
  strategy?: Strategy;
  /** 老年人优先: numbers recognised as elderly callers */
  elderly?: ReadonlySet<string>;
  /** priority of each line's calls (e.g. 万人助万企 ahead of the main line) */
  linePriority?: Readonly<Record<string, number>>;
  /** the SIP user of an agent (the directory username) */
  sipUserOf?: (agentId: string) => Promise<string | null>;
  /** earlier tickets of a phone number, newest first, for the screen pop */
  history?: (phone: string) => Promise<CallerCard['earlierTickets']>;
  /** numbers with this many earlier tickets in the history are repeat callers (default 3) */
  repeatCallerTickets?: number;
  notify?: CallNotifier;
  /** ring an agent this long before trying the next one (ms, default 15 000) */
  ringTimeoutMs?: number;
  /** overflow / maximum wait per agent group */
  overflow?: (group: string) => OverflowPolicy | null;
  /** the agent group and skills a line's calls need (default: everything to the main group) */
  routeOf?: (line: string) => { group: string; skills: readonly string[] };
  transferTargets?: readonly TransferTarget[];
  /** after-call work (话后处理) after each call; false: straight back to available (default true) */
  wrapUp?: boolean;
  /** is the agent reachable: phone registered, console connected (reconciliation) */
  presence?: (agentId: string) => Promise<{ phone: boolean; console: boolean }>;
  /** an agent is only logged out after being unreachable in the same state this long (ms, default 30 000) */
  presenceGraceMs?: number;
  /** a call record still open this long after its offer is closed by the stale sweep (ms, default 6 h) */
  staleCallMs?: number;
}

export const DEFAULT_TRANSFER_TARGETS: readonly TransferTarget[] = [
  { key: '110', name: '公安110' },
  { key: '119', name: '消防119' },
  { key: '120', name: '急救120' },
  { key: '122', name: '交警122' },
];

export type OfferedOutcome = 'queued' | 'redelivered' | 'ended';

/** acd.changed messages are at most this often (ms) */
export const ACD_CHANGED_MS = 250;

/** Thrown to make BullMQ retry an event that arrived before the one it depends on. */
export class OutOfOrderError extends Error {}

/** The alerting time an outcome event carries, as a ring-attempt patch. */
const alerting = (ev: { alertingAt?: string | undefined }): { alertingAt?: Date } => (ev.alertingAt ? { alertingAt: new Date(ev.alertingAt) } : {});

/** How a failed ring is kept on the call record's ring attempts. */
export function ringResultOf(reason: RingFailure): RingResult {
  if (reason === 'no-answer') return 'no_answer';
  if (reason === 'busy') return 'busy';
  if (reason === 'call-gone' || reason === 'call-ended') return 'cancelled';
  return 'failed';
}

export class CallEngine {
  private readonly strategy: Strategy;
  private readonly elderly: ReadonlySet<string>;
  private readonly linePriority: Readonly<Record<string, number>>;
  private readonly sipUsers = new Map<string, { user: string | null; at: number }>();
  /**
   * Serialises this process's read-modify-write of one call record. FerretDB v1 loses one of two
   * concurrent updates of a document (bench/sip/ferretdb-lost-update.ts); on MongoDB each update
   * is atomic and this only keeps a handler's read consistent with its write. Never held across
   * dispatch(), so two handlers can never wait for each other.
   */
  private readonly cdrLock = new AsyncLock({ maxPending: 100_000 });
  /** the distribution round running now, and the one callers joined while it ran (dispatch) */
  private round: Promise<Assignment[]> | null = null;
  private nextRound: Promise<Assignment[]> | null = null;
  /** acd.changed is coalesced: at most one per ACD_CHANGED_MS to the wallboards (see notifyAcd) */
  private acdChanged: { timer: NodeJS.Timeout; reasons: Set<string>; count: number } | null = null;

  constructor(private readonly deps: CallEngineDeps) {
    this.strategy = deps.strategy ?? 'longest_idle';
    this.elderly = deps.elderly ?? new Set();
    this.linePriority = deps.linePriority ?? { enterprise: PRIORITY.enterprise };
  }

  get acd(): AcdStore {
    return this.deps.acd;
  }

  /** the call records (live in Redis, written behind to MongoDB) */
  get records(): CallStore {
    return this.deps.records;
  }

  get ringTimeoutMs(): number {
    return this.deps.ringTimeoutMs ?? 15_000;
  }

  get transferTargets(): readonly TransferTarget[] {
    return this.deps.transferTargets ?? DEFAULT_TRANSFER_TARGETS;
  }

  /**
   * `acd.changed` tells wallboards and agent consoles to refresh the queue view. At hundreds of
   * calls a second one message per event would flood every console in the `hotline` room, so
   * changes within ACD_CHANGED_MS go out as one message listing the reasons and how many.
   */
  private notifyAcd(reason: string): void {
    if (this.acdChanged) {
      this.acdChanged.reasons.add(reason);
      this.acdChanged.count++;
      return;
    }
    const pending = { reasons: new Set([reason]), count: 1, timer: undefined as unknown as NodeJS.Timeout };
    pending.timer = setTimeout(() => {
      this.acdChanged = null;
      this.notify(['supervisors', 'hotline'], 'acd.changed', { reasons: [...pending.reasons], changes: pending.count });
    }, ACD_CHANGED_MS);
    pending.timer.unref?.();
    this.acdChanged = pending;
  }

  /** Drop a coalesced acd.changed still waiting (before the sockets and Redis close). */
  close(): void {
    if (this.acdChanged) clearTimeout(this.acdChanged.timer);
    this.acdChanged = null;
  }

  private notify(rooms: string[], event: string, payload: Record<string, unknown>): void {
    try {
      this.deps.notify?.(rooms, event, payload);
    } catch (err) {
      this.deps.log.warn({ err, event }, 'call notification failed');
    }
  }

  // ----- call events --------------------------------------------------------------------------

  private withCall<T>(callId: string, fn: () => Promise<T>): Promise<T> {
    return this.cdrLock.acquire(callId, fn);
  }

  /** `call.offered`: record the call, queue it, and try to give it (and any other) to an agent. */
  async offered(ev: CallOfferedEvent): Promise<OfferedOutcome> {
    const outcome = await this.withCall(ev.callId, () => this.recordOffer(ev));
    if (outcome === 'ended') return outcome;
    if (outcome === 'queued') this.notifyAcd('queued');
    await this.dispatch();
    // A crash between an earlier delivery's claim and its `ring` would leave the offer unsent
    // (only a redelivery can find one; the first delivery's ring went out just above).
    if (outcome === 'redelivered') await this.resendRing(ev.callId);
    return outcome;
  }

  private async recordOffer(ev: CallOfferedEvent): Promise<OfferedOutcome> {
    const now = this.deps.clock();
    const priority = callerPriority(ev.fromNumber, { elderly: this.elderly, linePriority: this.linePriority[ev.line] ?? PRIORITY.normal });
    const fresh = newCallDoc({
      _id: ev.callId,
      instance: ev.instance,
      line: ev.line,
      lineName: ev.lineName,
      fromNumber: ev.fromNumber,
      displayName: ev.displayName,
      toNumber: ev.toNumber,
      sdp: ev.sdp,
      offeredAt: new Date(ev.receivedAt),
      queuedAt: now,
      priority,
      outcome: 'queued',
      fromGateway: ev.fromGateway ?? null,
      gatewayReference: ev.gatewayReference ?? null,
      createdAt: now,
    });
    let rec: CallDoc = fresh;
    let outcome: OfferedOutcome = 'queued';
    if (!(await this.deps.records.create(fresh))) {
      // Redelivery: carry on from the record (same enqueue time and priority as the first time).
      const found = await this.deps.records.get(ev.callId);
      if (!found) throw new Error(`call ${ev.callId}: record reported present but not found`);
      rec = found;
      outcome = 'redelivered';
    }
    if (rec.outcome !== 'queued') return 'ended'; // abandoned (or answered) meanwhile
    const route = this.deps.routeOf?.(rec.line) ?? { group: DEFAULT_GROUP, skills: [] };
    await this.deps.acd.enqueue({
      callId: rec._id,
      line: rec.line,
      callerNumber: rec.fromNumber,
      enqueuedAt: new Date(rec.queuedAt ?? now).getTime(),
      priority: rec.priority,
      requiredSkills: [...route.skills],
      group: route.group,
      overflowedFrom: [],
      instance: rec.instance,
    });
    // If the caller hung up between our read and the enqueue (its call.abandoned handled by
    // another engine instance), the entry is stale: its `ring` comes back as `call-gone` and
    // the entry is withdrawn then (ringFailed), so no extra read is spent on every call here.
    return outcome;
  }

  /** `call.abandoned`: the caller hung up before an agent answered → CDR + callback task. */
  async abandoned(ev: CallAbandoned): Promise<CallbackTask | null> {
    const task = await this.withCall(ev.callId, () => this.recordAbandon(ev));
    if (task === undefined) return null;
    this.notifyAcd('abandoned');
    // the agent whose phone was ringing (if any) is free again: give them the next call
    await this.dispatch();
    return task;
  }

  /** undefined: nothing to do (answered meanwhile, or a redelivery) */
  private async recordAbandon(ev: CallAbandoned): Promise<CallbackTask | null | undefined> {
    const rec = await this.deps.records.get(ev.callId);
    // Jobs of one call may run out of order: wait (BullMQ retry with backoff) for the offer.
    if (!rec) throw new OutOfOrderError(`call ${ev.callId} abandoned before its call.offered was recorded; retrying`);
    if (rec.outcome !== 'queued' && rec.outcome !== 'abandoned') return undefined; // answered, transferred…
    const at = new Date(ev.at);
    // ringing on a phone when the caller left: the record names that agent and when it rang
    const inAcd = await this.deps.acd.call(ev.callId);
    const ringingOn = inAcd?.offeredTo ? await this.deps.acd.getAgent(inAcd.offeredTo) : null;
    const ringing = ringingOn?.offer?.callId === ev.callId ? { agentId: ringingOn.agentId, ringingAt: new Date(ringingOn.offer.at) } : {};
    const task = await this.deps.acd.abandon(ev.callId, at.getTime());
    if (ringing.agentId && ringing.ringingAt) await this.deps.records.ring(ev.callId, ringing.agentId, ringing.ringingAt, { result: 'cancelled', endedAt: at, ...alerting(ev) });
    const waitedMs = rec.queuedAt ? Math.max(0, at.getTime() - new Date(rec.queuedAt).getTime()) : null;
    await this.deps.records.update(ev.callId, {
      outcome: 'abandoned',
      abandonedAt: at,
      endedAt: at,
      abandonReason: ev.reason,
      waitedMs,
      ...ringing,
      ...(task ? { callbackTaskId: task.id } : {}),
    });
    return task;
  }

  /** `call.ring-failed`: the agent's phone did not take the call → that agent on break, next agent. */
  async ringFailed(ev: CallRingFailed): Promise<Assignment[]> {
    const now = this.deps.clock().getTime();
    // the attempt's outcome on the record (an attempt the record never had — a ring refused before
    // it was sent — is added with it)
    await this.deps.records.ring(ev.callId, ev.agentId, new Date(ev.offerAt), { result: ringResultOf(ev.reason), endedAt: new Date(ev.at), ...alerting(ev) });
    if (ev.reason === 'call-gone' || ev.reason === 'call-ended') {
      // Not the agent's fault: the offer is withdrawn, the agent stays available.
      await this.withCall(ev.callId, async () => {
        if (ev.reason === 'call-ended') {
          // The caller is gone. If their call.abandoned found nothing in the ACD yet (it raced
          // the enqueue) or is still to come, the callback task is made here, once.
          const rec = await this.deps.records.get(ev.callId);
          if (rec && (rec.outcome === 'queued' || rec.outcome === 'abandoned') && !rec.callbackTaskId) {
            const task = await this.deps.acd.abandon(ev.callId, now);
            if (task) await this.deps.records.update(ev.callId, { callbackTaskId: task.id });
          } else await this.deps.acd.abandonQuietly(ev.callId);
        }
        await this.deps.acd.callEvent(ev.agentId, { type: 'withdrawn', callId: ev.callId }, now);
      });
      return this.dispatch();
    }
    // a report about an older offer of the same call to the same agent changes nothing
    const agent = await this.deps.acd.getAgent(ev.agentId);
    if (agent?.offer?.callId === ev.callId && agent.offer.at !== ev.offerAt) return this.dispatch();
    const r = await this.deps.acd.callEvent(ev.agentId, { type: 'no_answer', callId: ev.callId }, this.deps.clock().getTime());
    if (r.ok && r.changed) {
      this.deps.log.info({ callId: ev.callId, agentId: ev.agentId, reason: ev.reason, status: ev.status }, 'agent did not answer: on break, call back in the queue');
      this.notify([`agent:${ev.agentId}`, 'supervisors'], 'agent.state', { agentId: ev.agentId, state: r.agent.state, reason: `ring-${ev.reason}` });
    }
    return this.dispatch();
  }

  /** `call.answered`: the agent is on the call; the caller card pops on the agent's console. */
  async answered(ev: CallAnswered): Promise<CallerCard> {
    const rec = await this.withCall(ev.callId, () => this.recordAnswer(ev));
    const at = new Date(ev.at);
    const card = await this.callerCard(rec, at);
    this.notify([`agent:${ev.agentId}`], 'call.answered', { ...card });
    this.notify([`agent:${ev.agentId}`, 'supervisors'], 'agent.state', { agentId: ev.agentId, state: 'on_call', reason: 'answered' });
    this.notifyAcd('answered');
    return card;
  }

  private async recordAnswer(ev: CallAnswered): Promise<CallDoc> {
    const rec = await this.deps.records.get(ev.callId);
    if (!rec) throw new OutOfOrderError(`call ${ev.callId} answered before its call.offered was recorded; retrying`);
    const at = new Date(ev.at);
    const r = await this.deps.acd.callEvent(ev.agentId, { type: 'answered', callId: ev.callId }, at.getTime());
    if (!r.ok) {
      // Telephony connected the call, so the agent is on it whatever the ACD thought (an offer
      // expired by the safety sweep just before the answer): repair the agent's record.
      this.deps.log.warn({ callId: ev.callId, agentId: ev.agentId, err: r.error }, 'answer for an offer the ACD no longer had: agent set on_call');
      await this.deps.acd.abandonQuietly(ev.callId);
      const before = await this.ensureAgent(ev.agentId);
      const forced = await this.deps.acd.forceOnCall(ev.agentId, ev.callId, at.getTime());
      // another call that was ringing on this agent went back to the queue: stop that ring
      if (forced.ok && forced.requeued && before.offer?.callId === forced.requeued) await this.stopRing(forced.requeued, ev.agentId, before.offer.at);
    }
    // 'abandoned' too: a max-wait sweep may have given up on the call just as a phone answered it
    const answer =
      rec.outcome === 'queued' || rec.outcome === 'abandoned'
        ? {
            outcome: 'answered' as const,
            answeredAt: at,
            answeredBy: ev.agentId,
            agentId: ev.agentId,
            ringingAt: new Date(ev.offerAt),
            waitedMs: rec.queuedAt ? Math.max(0, at.getTime() - new Date(rec.queuedAt).getTime()) : null,
            ...(rec.outcome === 'abandoned' ? { abandonedAt: null, abandonReason: null, endedAt: null } : {}),
          }
        : undefined;
    // the ring attempt's result and the answer in one atomic write
    await this.deps.records.ring(ev.callId, ev.agentId, new Date(ev.offerAt), { result: 'answered', endedAt: at, ...alerting(ev) }, answer);
    return rec;
  }

  /** `call.ringing`: the agent's phone alerts (its 180/183); kept on the ring attempt. */
  async ringing(ev: CallRinging): Promise<void> {
    await this.deps.records.ring(ev.callId, ev.agentId, new Date(ev.offerAt), { alertingAt: new Date(ev.at) });
  }

  /** `call.held` / `call.resumed`: holds on the record (in any order: a resume closes its hold by seq). */
  async held(ev: CallHeld): Promise<void> {
    const at = new Date(ev.at);
    await this.deps.records.hold(ev.callId, ev.seq, { by: ev.by, at }, { by: ev.by, at });
    this.notifyHold(ev);
  }

  async resumed(ev: CallResumed): Promise<void> {
    await this.deps.records.hold(ev.callId, ev.seq, null, { endedAt: new Date(ev.at) });
    this.notifyHold(ev);
  }

  private notifyHold(ev: CallHeld | CallResumed): void {
    this.notify(['supervisors'], ev.type, { callId: ev.callId, seq: ev.seq, by: ev.by, at: ev.at });
  }

  async callerCard(rec: Pick<CallDoc, '_id' | 'fromNumber' | 'displayName' | 'line' | 'lineName' | 'fromGateway' | 'gatewayReference'>, at: Date): Promise<CallerCard> {
    const earlier = rec.fromNumber && this.deps.history ? await this.deps.history(rec.fromNumber).catch(() => []) : [];
    return {
      callId: rec._id,
      fromNumber: rec.fromNumber,
      displayName: rec.displayName,
      line: rec.line,
      lineName: rec.lineName,
      elderly: this.elderly.has(rec.fromNumber),
      repeatCaller: earlier.length >= (this.deps.repeatCallerTickets ?? 3),
      fromGateway: rec.fromGateway ?? null,
      gatewayReference: rec.gatewayReference ?? null,
      earlierTickets: earlier,
      answeredAt: at.toISOString(),
    };
  }

  /** `call.ended`: close the record; the agent goes to after-call work (wrap-up). */
  async ended(ev: CallEnded): Promise<void> {
    const freed = await this.withCall(ev.callId, () => this.recordEnd(ev));
    if (freed) await this.dispatch();
  }

  /** true when the agent became available (then a distribution round is due) */
  private async recordEnd(ev: CallEnded): Promise<boolean> {
    const rec = await this.deps.records.get(ev.callId);
    if (!rec || rec.outcome === 'queued') throw new OutOfOrderError(`call ${ev.callId} ended before its answer was recorded; retrying`);
    if (rec.outcome !== 'answered' && rec.outcome !== 'transferred') return false; // redelivered
    const at = new Date(ev.at);
    const talkMs = rec.answeredAt ? Math.max(0, at.getTime() - new Date(rec.answeredAt).getTime()) : null;
    await this.deps.records.update(ev.callId, { outcome: 'ended', endedAt: at, talkMs, endedBy: ev.by, endReason: ev.reason });
    let freed = false;
    if (rec.answeredBy && rec.outcome === 'answered') {
      const r = await this.deps.acd.callEvent(rec.answeredBy, { type: 'ended', callId: ev.callId, wrapUp: this.deps.wrapUp ?? true }, at.getTime());
      if (r.ok && r.changed) {
        this.notify([`agent:${rec.answeredBy}`, 'supervisors'], 'agent.state', { agentId: rec.answeredBy, state: r.agent.state, reason: 'call-ended' });
        freed = r.agent.state === 'available';
      }
    }
    if (rec.answeredBy) this.notify([`agent:${rec.answeredBy}`], 'call.ended', { callId: ev.callId, by: ev.by, reason: ev.reason, at: ev.at });
    return freed;
  }

  /**
   * One-click transfer (转110…) asked by the agent on the call (or a supervisor): recorded as
   * pending on the call record, then commanded to telephony. The outcome comes back as
   * `call.transfer-result`.
   */
  async requestTransfer(callId: string, target: string, actor: { id: string; role: string }): Promise<CallTransfer> {
    return this.withCall(callId, () => this.recordTransferRequest(callId, target, actor));
  }

  private async recordTransferRequest(callId: string, target: string, actor: { id: string; role: string }): Promise<CallTransfer> {
    const rec = await this.deps.records.get(callId);
    if (!rec) throw new AppError('NOT_FOUND', 'call not found');
    const t = this.transferTargets.find((x) => x.key === target);
    if (!t) throw new AppError('VALIDATION_FAILED', `unknown transfer target ${target}; configured: ${this.transferTargets.map((x) => x.key).join(', ')}`);
    if (rec.outcome !== 'answered') throw new AppError('INVALID_TRANSITION', `call is ${rec.outcome}: only a call in progress can be transferred`);
    if (actor.role !== 'supervisor' && rec.answeredBy !== actor.id) throw new AppError('ACTION_FORBIDDEN', 'only the agent on the call (or a supervisor) may transfer it');
    const now = this.deps.clock();
    if (rec.transfer?.outcome === 'pending' && now.getTime() - new Date(rec.transfer.requestedAt).getTime() < 60_000) {
      throw new AppError('TRANSFER_PENDING', 'a transfer of this call is already in progress');
    }
    const requestId = randomUUID();
    const transfer: CallTransfer = { target: t.key, targetName: t.name, by: actor.id, requestedAt: now, outcome: 'pending', at: null, reason: null, requestId };
    await this.deps.records.update(callId, { transfer });
    await this.deps.commands(rec.instance).add('transfer', { callId, requestId, target: t.key, by: actor.id }, { jobId: commandJobId.transfer({ callId, requestId }) });
    this.deps.log.info({ callId, target: t.key, by: actor.id }, 'transfer requested');
    return transfer;
  }

  /** `call.transfer-result`: record the outcome; on success the agent is free (wrap-up). */
  async transferResult(ev: CallTransferResult): Promise<void> {
    const freed = await this.withCall(ev.callId, () => this.recordTransferResult(ev));
    if (freed) await this.dispatch();
  }

  private async recordTransferResult(ev: CallTransferResult): Promise<boolean> {
    const rec = await this.deps.records.get(ev.callId);
    if (!rec) return false;
    if (!rec.transfer || rec.transfer.requestId !== ev.requestId) return false; // stale or unknown request
    if (rec.transfer.outcome !== 'pending') return false; // redelivered
    const at = new Date(ev.at);
    const set: Partial<CallDoc> = { transfer: { ...rec.transfer, outcome: ev.outcome, at, reason: ev.reason } };
    if (ev.outcome === 'connected' && rec.outcome === 'answered') set.outcome = 'transferred';
    await this.deps.records.update(ev.callId, set);
    let freed = false;
    if (ev.outcome === 'connected' && rec.answeredBy) {
      const r = await this.deps.acd.callEvent(rec.answeredBy, { type: 'ended', callId: ev.callId, wrapUp: this.deps.wrapUp ?? true }, at.getTime());
      if (r.ok && r.changed) {
        this.notify([`agent:${rec.answeredBy}`, 'supervisors'], 'agent.state', { agentId: rec.answeredBy, state: r.agent.state, reason: 'transferred' });
        freed = r.agent.state === 'available';
      }
    }
    const payload = { callId: ev.callId, target: ev.target, targetName: rec.transfer.targetName, outcome: ev.outcome, reason: ev.reason, by: rec.transfer.by, at: ev.at };
    this.notify([`agent:${rec.transfer.by}`, ...(rec.answeredBy && rec.answeredBy !== rec.transfer.by ? [`agent:${rec.answeredBy}`] : []), 'supervisors'], 'call.transfer', payload);
    this.deps.log.info(payload, 'transfer result');
    return freed;
  }

  /** The phone a waiting call is ringing on right now (the ACD's offer), if any. */
  async liveOffer(callId: string): Promise<{ agentId: string; ringingAt: Date } | null> {
    const c = await this.deps.acd.call(callId);
    if (!c?.offeredTo) return null;
    const agent = await this.deps.acd.getAgent(c.offeredTo);
    return agent?.offer?.callId === callId ? { agentId: agent.agentId, ringingAt: new Date(agent.offer.at) } : null;
  }

  /** A ticket filed from the call: the record lists it (idempotent). */
  async linkTicket(callId: string, ticketId: string): Promise<void> {
    await this.withCall(callId, () => this.deps.records.addToSet(callId, 'ticketIds', ticketId).then(() => undefined));
  }

  // ----- distribution -------------------------------------------------------------------------

  /**
   * One distribution round; every offer won is sent to telephony as `ring`. The offer lives in
   * the ACD (Redis); the call record gets the ringing agent and time with the answer (or the
   * abandon), so distribution never writes a record another handler may be writing.
   */
  dispatch(): Promise<Assignment[]> {
    if (!this.round) {
      this.round = this.distributeOnce().finally(() => {
        this.round = null;
      });
      return this.round;
    }
    // A round is running and may have read the queue before the caller's change: the caller
    // joins the one round that starts when it ends. Under load this batches many events into
    // one round instead of one round (several Redis round trips) per event.
    this.nextRound ??= this.round
      .catch(() => [])
      .then(() => {
        this.nextRound = null;
        return this.dispatch();
      });
    return this.nextRound;
  }

  private async distributeOnce(): Promise<Assignment[]> {
    const now = this.deps.clock().getTime();
    const won = await this.deps.acd.distribute(now, this.strategy);
    for (const a of won) await this.sendRing(a.callId, a.agentId, now);
    if (won.length > 0) this.deps.log.info({ offers: won.map((a) => ({ callId: a.callId, agentId: a.agentId, waitedMs: a.waitedMs })) }, 'calls offered to agents');
    return won;
  }

  private async sipUserOf(agentId: string): Promise<string | null> {
    if (!this.deps.sipUserOf) return agentId;
    const hit = this.sipUsers.get(agentId);
    const now = Date.now();
    if (hit && now - hit.at < 60_000) return hit.user;
    const user = await this.deps.sipUserOf(agentId);
    this.sipUsers.set(agentId, { user, at: now });
    return user;
  }

  private async sendRing(callId: string, agentId: string, offerAt: number, knownInstance?: string): Promise<void> {
    // the ACD entry names the telephony instance (no database read per ring)
    const instance = knownInstance ?? (await this.deps.acd.call(callId))?.entry.instance ?? (await this.deps.records.get(callId))?.instance;
    const sipUser = await this.sipUserOf(agentId);
    if (!instance || !sipUser) {
      // no phone to ring (not an agent any more): treat as no answer, the call goes back
      await this.ringFailed({ type: 'call.ring-failed', callId, agentId, offerAt, reason: 'unregistered', status: null, at: new Date(offerAt).toISOString() });
      return;
    }
    const cmd = { callId, agentId, sipUser, offerAt, ringTimeoutMs: this.ringTimeoutMs };
    // the attempt reaches the record with its first event (ringing, answered, failed, stopped):
    // CallStore.ring adds an attempt it does not have yet, so no write is spent here
    await this.deps.commands(instance).add('ring', cmd, { jobId: commandJobId.ring(cmd) });
  }

  private async resendRing(callId: string): Promise<void> {
    const c = await this.deps.acd.call(callId);
    if (!c?.offeredTo) return;
    const agent = await this.deps.acd.getAgent(c.offeredTo);
    if (agent?.offer?.callId === callId) await this.sendRing(callId, agent.agentId, agent.offer.at, c.entry.instance);
  }

  private async stopRing(callId: string, agentId: string, offerAt: number): Promise<void> {
    const rec = await this.deps.records.get(callId);
    if (!rec) return;
    const cmd = { callId, agentId, offerAt };
    await this.deps.records.ring(callId, agentId, new Date(offerAt), { result: 'cancelled', endedAt: this.deps.clock() });
    await this.deps.commands(rec.instance).add('stop-ring', cmd, { jobId: commandJobId.stopRing(cmd) });
  }

  /**
   * The periodic safety net (every instance may run it; each step is atomic in Redis):
   * offers that rang far longer than the ring timeout without any event (telephony died, an
   * event was lost) are withdrawn; calls past the maximum wait overflow or become callback tasks
   * (and telephony is told to end them); agents whose phone and console are both gone are logged
   * out; then a distribution round.
   */
  async tick(): Promise<{ expired: string[]; overflowed: string[]; callbacks: string[]; loggedOut: string[] }> {
    const now = this.deps.clock().getTime();
    // telephony reports every ring within its timeout; this only catches rings nobody reported
    // on (telephony died), with a margin for events waiting in a loaded queue
    const expired = await this.deps.acd.expireOffers(now, this.ringTimeoutMs + 60_000);
    const out = { expired, overflowed: [] as string[], callbacks: [] as string[], loggedOut: [] as string[] };
    if (this.deps.overflow) {
      const r = await this.deps.acd.sweepOverflow(now, this.deps.overflow);
      out.overflowed = r.overflowed;
      for (const task of r.callbacks) {
        out.callbacks.push(task.callId);
        const rec = await this.deps.records.get(task.callId);
        if (!rec) continue;
        const at = new Date(now);
        await this.withCall(task.callId, () =>
          this.deps.records.update(task.callId, {
            outcome: 'abandoned',
            abandonedAt: at,
            endedAt: at,
            abandonReason: 'max-wait-callback',
            callbackTaskId: task.id,
            waitedMs: rec.queuedAt ? now - new Date(rec.queuedAt).getTime() : null,
          }),
        );
        await this.deps.commands(rec.instance).add('end', { callId: task.callId, reason: 'max-wait-callback' }, { jobId: commandJobId.end({ callId: task.callId }) });
      }
    }
    if (this.deps.presence) out.loggedOut = await this.reconcilePresence();
    if (expired.length + out.overflowed.length + out.callbacks.length + out.loggedOut.length > 0) {
      this.deps.log.info(out, 'ACD sweep');
      this.notifyAcd('sweep');
    }
    await this.dispatch();
    return out;
  }

  /**
   * Agent state is never stuck (issue 4 item 3): an agent who is available (or on break, wrap-up)
   * while neither the phone is registered nor a console is connected is logged out by the system,
   * so calls stop going to a phone that vanished.
   */
  private async reconcilePresence(): Promise<string[]> {
    const out: string[] = [];
    const now = this.deps.clock().getTime();
    const grace = this.deps.presenceGraceMs ?? 30_000;
    for (const a of await this.deps.acd.listAgents()) {
      if (a.state === 'logged_out' || a.state === 'on_call') continue;
      if (now - a.since < grace) continue; // just logged in / changed: give phone and console time
      const p = await this.deps.presence!(a.agentId);
      const reachable = a.state === 'available' ? p.phone && p.console : p.phone || p.console;
      if (reachable) continue;
      const r = await this.deps.acd.changeState(a.agentId, 'logged_out', 'system', this.deps.clock().getTime());
      if (r.ok && r.changed) {
        out.push(a.agentId);
        if (r.requeued && a.offer) await this.stopRing(r.requeued, a.agentId, a.offer.at);
        this.notify([`agent:${a.agentId}`, 'supervisors'], 'agent.state', { agentId: a.agentId, state: 'logged_out', reason: p.phone ? 'console-gone' : 'phone-unregistered' });
      }
    }
    return out;
  }

  /**
   * Call records still open long after their offer (the telephony instance that held them never
   * came back, an event was lost for good) are closed by the system, and their agent released:
   * no call record stays open forever (issue 4 item 9). Run rarely (every few minutes); on
   * FerretDB the query is a collection scan, on MongoDB it uses the offeredAt index.
   */
  async sweepStale(): Promise<{ closed: string[] }> {
    const now = this.deps.clock();
    const before = new Date(now.getTime() - (this.deps.staleCallMs ?? 6 * 3600_000));
    // open records in Redis (the live ones), and in MongoDB (written while live, or older)
    const live = await this.deps.records.openBefore(before.getTime());
    const stored = await this.deps.records.Call.find({ outcome: { $in: ['queued', 'answered', 'transferred'] }, offeredAt: { $lt: before } }, { outcome: 1, answeredBy: 1 })
      .limit(1000)
      .lean<Pick<CallDoc, '_id' | 'outcome' | 'answeredBy'>[]>();
    const open = new Map<string, Pick<CallDoc, '_id' | 'outcome' | 'answeredBy'> | null>(live.map((id) => [id, null]));
    for (const c of stored) open.set(c._id, c);
    const closed: string[] = [];
    for (const [id, found] of open) {
      if (await this.withCall(id, () => this.closeStale(id, found, now))) closed.push(id);
    }
    if (closed.length > 0) this.deps.log.warn({ closed }, 'stale call records closed by the system');
    return { closed };
  }

  /** false when the live record had finished meanwhile */
  private async closeStale(id: string, found: Pick<CallDoc, '_id' | 'outcome' | 'answeredBy'> | null, now: Date): Promise<boolean> {
    // the live copy (Redis) may be ahead of MongoDB's by the flush delay
    const c = (await this.deps.records.get(id)) ?? found;
    if (!c) return false;
    if (c.outcome === 'queued') {
      await this.deps.acd.abandonQuietly(c._id);
      await this.deps.records.update(c._id, { outcome: 'abandoned', abandonedAt: now, endedAt: now, abandonReason: 'stale' });
      return true;
    } else if (c.outcome === 'answered' || c.outcome === 'transferred') {
      await this.deps.records.update(c._id, { outcome: 'ended', endedAt: now, endedBy: 'system', endReason: 'stale', talkMs: null });
      if (c.answeredBy) await this.deps.acd.callEvent(c.answeredBy, { type: 'ended', callId: c._id, wrapUp: true }, now.getTime());
      return true;
    }
    return false;
  }

  // ----- agents -------------------------------------------------------------------------------

  /** The agent's ACD record, created logged out on first use. */
  async ensureAgent(agentId: string): Promise<AgentStatus> {
    const cur = await this.deps.acd.getAgent(agentId);
    if (cur) return stripVersion(cur);
    const fresh: AgentStatus = { agentId, state: 'logged_out', since: this.deps.clock().getTime(), skills: [], group: DEFAULT_GROUP, offer: null, callId: null };
    await this.deps.acd.putAgent(fresh);
    return fresh;
  }

  /**
   * A state change asked by the agent, a supervisor or reconciliation. A call that was ringing on
   * the agent goes back to the queue (and telephony is told to stop ringing); an agent who became
   * available gets the next waiting call.
   */
  async changeState(agentId: string, to: AgentState, actor: StateActor): Promise<AgentStatus> {
    const before = await this.ensureAgent(agentId);
    const now = this.deps.clock().getTime();
    let r;
    try {
      r = await this.deps.acd.changeState(agentId, to, actor, now);
    } catch (err) {
      if (err instanceof AgentConflictError) throw new AppError('AGENT_CONFLICT', err.message);
      throw err;
    }
    if (!r.ok) throw new AppError(r.error.code, r.error.message);
    if (r.requeued && before.offer?.callId === r.requeued) await this.stopRing(r.requeued, agentId, before.offer.at);
    if (r.changed) this.notify([`agent:${agentId}`, 'supervisors'], 'agent.state', { agentId, state: to, reason: actor });
    if (r.changed && (to === 'available' || r.requeued)) await this.dispatch();
    return stripVersion((await this.deps.acd.getAgent(agentId)) ?? r.agent);
  }

  /** A supervisor assigns an agent's group (坐席组) and skills; a pending offer is unaffected. */
  async setProfile(agentId: string, profile: { group: string; skills: readonly string[] }): Promise<AgentStatus> {
    await this.ensureAgent(agentId);
    const r = await this.deps.acd.updateProfile(agentId, profile.group, profile.skills);
    if (!r.ok) throw new AppError(r.error.code, r.error.message);
    if (r.agent.state === 'available') await this.dispatch();
    return stripVersion((await this.deps.acd.getAgent(agentId)) ?? r.agent);
  }

  /** Waiting calls in queue order with their 1-based position in their group. */
  async queueView(): Promise<{ callId: string; line: string; callerNumber: string; priority: number; group: string; position: number; enqueuedAt: string; waitedSeconds: number }[]> {
    const now = this.deps.clock().getTime();
    const queue = await this.deps.acd.queued();
    return queue.map((e) => ({
      callId: e.callId,
      line: e.line,
      callerNumber: e.callerNumber,
      priority: e.priority,
      group: e.group,
      position: queuePosition(queue, e.callId) ?? 0,
      enqueuedAt: new Date(e.enqueuedAt).toISOString(),
      waitedSeconds: Math.max(0, Math.round((now - e.enqueuedAt) / 1000)),
    }));
  }
}

function stripVersion(a: AgentStatus & { version?: string }): AgentStatus {
  const { version: _v, ...rest } = a;
  return rest;
}

export function presentAgent(a: AgentStatus): Record<string, unknown> {
  return {
    agentId: a.agentId,
    state: a.state,
    since: new Date(a.since).toISOString(),
    group: a.group,
    skills: a.skills,
    offer: a.offer ? { callId: a.offer.callId, at: new Date(a.offer.at).toISOString() } : null,
    callId: a.callId,
  };
}
