/**
 * The engine side of calls: what happens when telephony reports a call (record it, queue it in
 * the ACD, offer it to agents) and what the engine commands back (`ring` on the queue
 * `telephony-commands`). Used by the call-event worker (worker.ts) and by the agent routes
 * (routes.ts: an agent becoming available triggers a distribution round).
 *
 * Every step is idempotent, because BullMQ delivers at least once:
 * - the CDR is keyed by the call id (insert = first delivery, duplicate key = redelivery);
 * - the ACD enqueue is idempotent per call id (acd-store.ts);
 * - `ring` jobs have a deterministic id (call, agent, offer time), so re-adding one after a crash
 *   between the claim and the command is a no-op if it was already sent.
 */
import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Model } from 'mongoose';
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
  type StateActor,
  type Strategy,
} from './acd.js';
import { AgentConflictError, type AcdStore } from './acd-store.js';
import type { CallDoc } from './model.js';

export const CALL_EVENTS_QUEUE = 'call-events';
export const TELEPHONY_COMMANDS_QUEUE = 'telephony-commands';
/** The agent group every agent and call belongs to until groups are configured. */
export const DEFAULT_GROUP = 'main';

/** Payloads as telephony/src/call-events.ts publishes them (validated in worker.ts). */
export interface CallOfferedEvent {
  type: 'call.offered';
  callId: string;
  line: string;
  lineName: string;
  fromNumber: string;
  displayName: string;
  toNumber: string;
  sdp: string;
  receivedAt: string;
}

export interface CallAbandonedEvent {
  type: 'call.abandoned';
  callId: string;
  line: string;
  reason: string;
  finalStatus: number;
  at: string;
}

/** Commands to telephony. */
export interface RingCommand {
  callId: string;
  agentId: string;
  /** the caller's SDP offer, for the INVITE to the agent's phone */
  sdp: string;
}
export interface StopRingCommand {
  callId: string;
  agentId: string;
}
export type TelephonyCommand = RingCommand | StopRingCommand;

const hashId = (callId: string): string => createHash('sha256').update(callId, 'utf8').digest('hex').slice(0, 32);
/** `ring-<sha256(callId)>-<agent>-<offer ms>`: one job per offer, whoever sends it. */
export const ringJobId = (callId: string, agentId: string, offerAt: number): string => `ring-${hashId(callId)}-${agentId}-${offerAt}`;
export const stopRingJobId = (callId: string, agentId: string, at: number): string => `stop-ring-${hashId(callId)}-${agentId}-${at}`;

export const COMMAND_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 200 },
  // the id must outlive redeliveries of the event that caused it
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

const isDup = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 11000;

export interface CallEngineDeps {
  Call: Model<CallDoc>;
  acd: AcdStore;
  commands: Queue<TelephonyCommand>;
  log: Logger;
  clock: () => Date;
  strategy?: Strategy;
  /** 老年人优先: numbers recognised as elderly callers */
  elderly?: ReadonlySet<string>;
  /** priority of each line's calls (e.g. 万人助万企 ahead of the main line) */
  linePriority?: Readonly<Record<string, number>>;
}

export type OfferedOutcome = 'queued' | 'redelivered' | 'ended';

export class CallEngine {
  private readonly strategy: Strategy;
  private readonly elderly: ReadonlySet<string>;
  private readonly linePriority: Readonly<Record<string, number>>;

  constructor(private readonly deps: CallEngineDeps) {
    this.strategy = deps.strategy ?? 'longest_idle';
    this.elderly = deps.elderly ?? new Set();
    this.linePriority = deps.linePriority ?? { enterprise: PRIORITY.enterprise };
  }

  get acd(): AcdStore {
    return this.deps.acd;
  }

  // ----- call events --------------------------------------------------------------------------

  /** `call.offered`: record the call, queue it, and try to give it (and any other) to an agent. */
  async offered(ev: CallOfferedEvent): Promise<OfferedOutcome> {
    const now = this.deps.clock();
    const priority = callerPriority(ev.fromNumber, { elderly: this.elderly, linePriority: this.linePriority[ev.line] ?? PRIORITY.normal });
    let rec: CallDoc;
    let outcome: OfferedOutcome = 'queued';
    try {
      const created = await this.deps.Call.create({
        _id: ev.callId,
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
        createdAt: now,
      });
      rec = created.toObject();
    } catch (err) {
      if (!isDup(err)) throw err;
      // Redelivery: carry on from the record (same enqueue time and priority as the first time).
      const found = await this.deps.Call.findById(ev.callId).lean<CallDoc>();
      if (!found) throw err;
      rec = found;
      outcome = 'redelivered';
    }
    if (rec.outcome !== 'queued') return 'ended'; // abandoned (or later: answered) meanwhile
    await this.deps.acd.enqueue({
      callId: rec._id,
      line: rec.line,
      callerNumber: rec.fromNumber,
      enqueuedAt: new Date(rec.queuedAt ?? now).getTime(),
      priority: rec.priority,
      requiredSkills: [],
      group: DEFAULT_GROUP,
      overflowedFrom: [],
    });
    // The caller may have hung up between our read and the enqueue: take the call out again.
    const after = await this.deps.Call.findById(ev.callId, { outcome: 1, abandonedAt: 1 }).lean<Pick<CallDoc, 'outcome' | 'abandonedAt'>>();
    if (after && after.outcome === 'abandoned') {
      await this.deps.acd.abandon(ev.callId, new Date(after.abandonedAt ?? now).getTime());
      return 'ended';
    }
    await this.dispatch();
    // A crash between an earlier delivery's claim and its `ring` would leave the offer unsent.
    await this.resendRing(ev.callId, rec.sdp);
    return outcome;
  }

  /** `call.abandoned`: the caller hung up before an agent answered → CDR + callback task. */
  async abandoned(ev: CallAbandonedEvent): Promise<CallbackTask | null> {
    const rec = await this.deps.Call.findById(ev.callId, { outcome: 1, queuedAt: 1, callbackTaskId: 1 }).lean<Pick<CallDoc, '_id' | 'outcome' | 'queuedAt' | 'callbackTaskId'>>();
    // Jobs of one call may run out of order: wait (BullMQ retry with backoff) for the offer.
    if (!rec) throw new Error(`call ${ev.callId} abandoned before its call.offered was recorded; retrying`);
    if (rec.outcome !== 'queued' && rec.outcome !== 'abandoned') return null; // answered, transferred…
    const at = new Date(ev.at);
    const task = await this.deps.acd.abandon(ev.callId, at.getTime());
    const waitedMs = rec.queuedAt ? Math.max(0, at.getTime() - new Date(rec.queuedAt).getTime()) : null;
    await this.deps.Call.updateOne(
      { _id: ev.callId },
      {
        $set: {
          outcome: 'abandoned',
          abandonedAt: at,
          endedAt: at,
          abandonReason: ev.reason,
          waitedMs,
          ...(task ? { callbackTaskId: task.id } : {}),
        },
      },
    );
    return task;
  }

  // ----- distribution -------------------------------------------------------------------------

  /** One distribution round; every offer won is recorded and sent to telephony as `ring`. */
  async dispatch(): Promise<Assignment[]> {
    const now = this.deps.clock().getTime();
    const won = await this.deps.acd.distribute(now, this.strategy);
    for (const a of won) {
      const rec = await this.deps.Call.findById(a.callId, { sdp: 1 }).lean<Pick<CallDoc, 'sdp'>>();
      await this.deps.Call.updateOne({ _id: a.callId }, { $set: { ringingAt: new Date(now), agentId: a.agentId } });
      await this.sendRing(a.callId, a.agentId, now, rec?.sdp ?? '');
    }
    if (won.length > 0) this.deps.log.info({ offers: won.map((a) => ({ callId: a.callId, agentId: a.agentId, waitedMs: a.waitedMs })) }, 'calls offered to agents');
    return won;
  }

  private async sendRing(callId: string, agentId: string, offerAt: number, sdp: string): Promise<void> {
    await this.deps.commands.add('ring', { callId, agentId, sdp }, { jobId: ringJobId(callId, agentId, offerAt) });
  }

  private async resendRing(callId: string, sdp: string): Promise<void> {
    const c = await this.deps.acd.call(callId);
    if (!c?.offeredTo) return;
    const agent = await this.deps.acd.getAgent(c.offeredTo);
    if (agent?.offer?.callId === callId) await this.sendRing(callId, agent.agentId, agent.offer.at, sdp);
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
    await this.ensureAgent(agentId);
    const now = this.deps.clock().getTime();
    let r;
    try {
      r = await this.deps.acd.changeState(agentId, to, actor, now);
    } catch (err) {
      if (err instanceof AgentConflictError) throw new AppError('AGENT_CONFLICT', err.message);
      throw err;
    }
    if (!r.ok) throw new AppError(r.error.code, r.error.message);
    if (r.requeued) {
      await this.deps.commands.add('stop-ring', { callId: r.requeued, agentId }, { jobId: stopRingJobId(r.requeued, agentId, now) });
    }
    if (r.changed && (to === 'available' || r.requeued)) await this.dispatch();
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
