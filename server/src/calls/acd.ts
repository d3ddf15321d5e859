/**
 * The ACD (automatic call distribution) core: agent states, the queue order, the choice of which
 * queued call goes to which agent, queue position, overflow and the callback task of an
 * abandoned call (issue 4 item 3; HOTLINE-RULES "Intake rules": missed calls get a callback task).
 *
 * Pure: no I/O, no clock, no randomness. Times are epoch milliseconds passed in by the caller.
 * acd-store.ts keeps the same data in Redis and makes the decisions here atomic across engine
 * instances (Lua compare-and-set); this file is the only code that decides them.
 */
import type { ErrorCode } from '../errors.js';

export const AGENT_STATES = ['logged_out', 'available', 'on_call', 'wrap_up', 'break'] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** A call being offered (ringing) to an agent: set by a claim, cleared by answer / no answer / abandon. */
export interface Offer {
  callId: string;
  at: number;
}

export interface AgentStatus {
  agentId: string;
  state: AgentState;
  /** when the agent entered `state` (ms); for `available`, the start of the idle time */
  since: number;
  skills: readonly string[];
  /** the agent group (坐席组) whose queue the agent serves */
  group: string;
  /** non-null while a call rings on the agent's phone; such an agent is never chosen again */
  offer: Offer | null;
  /** the call the agent is on (state on_call) or wrapping up (wrap_up) */
  callId: string | null;
}

export interface AcdError {
  code: ErrorCode;
  message: string;
}

export type AgentDecision = { ok: true; agent: AgentStatus; changed: boolean } | { ok: false; error: AcdError };

// ---------------------------------------------------------------------------------------------
// Agent state changes

/**
 * Who asks for a state change (not counting call events, see applyCallEvent):
 * - `agent`: the agent from the console;
 * - `supervisor`: 班长 forcing a state (any state, e.g. an agent left for lunch while available);
 * - `system`: reconciliation — the phone's SIP registration expired or the console's socket is
 *   gone, so the agent must stop receiving calls (issue 4 item 3: state is never stuck).
 */
export type StateActor = 'agent' | 'supervisor' | 'system';

const ALL: readonly AgentState[] = AGENT_STATES;

/**
 * For each target state, the states each actor may move an agent from. `on_call` is absent for
 * agents and the system: an agent is on a call only because telephony said the call was answered.
 * The supervisor may force any state (including on_call, to repair a record after an outage).
 */
export const AGENT_RULES: Record<AgentState, Record<StateActor, readonly AgentState[]>> = {
  logged_out: { agent: ['available', 'break', 'wrap_up'], supervisor: ALL, system: ['available', 'on_call', 'wrap_up', 'break'] },
  available: { agent: ['logged_out', 'break', 'wrap_up'], supervisor: ALL, system: ['wrap_up'] },
  break: { agent: ['logged_out', 'available', 'wrap_up'], supervisor: ALL, system: [] },
  wrap_up: { agent: ['available', 'break'], supervisor: ALL, system: [] },
  on_call: { agent: [], supervisor: ALL, system: [] },
};

function moved(agent: AgentStatus, to: AgentState, now: number, patch: Partial<AgentStatus> = {}): AgentStatus {
  return { ...agent, state: to, since: now, offer: null, callId: to === 'on_call' || to === 'wrap_up' ? agent.callId : null, ...patch };
}

/**
 * A requested state change. Asking for the present state is a no-op (`changed: false`) so a
 * retried request or a duplicated reconciliation is harmless. Leaving `available` withdraws a
 * pending offer (the store re-queues the call).
 */
export function changeAgentState(agent: AgentStatus, to: AgentState, actor: StateActor, now: number): AgentDecision {
  if (agent.state === to) return { ok: true, agent, changed: false };
  const from = AGENT_RULES[to][actor];
  if (from.length === 0) {
    return { ok: false, error: { code: 'ACTION_FORBIDDEN', message: `${actor} may not set an agent ${to}` } };
  }
  if (!from.includes(agent.state)) {
    return { ok: false, error: { code: 'INVALID_TRANSITION', message: `${actor} may not move an agent from ${agent.state} to ${to}` } };
  }
  return { ok: true, agent: moved(agent, to, now), changed: true };
}

/** Telephony call events as they concern the agent (the call record is kept elsewhere). */
export type AgentCallEvent =
  | { type: 'answered'; callId: string }
  /** the agent's phone did not answer in time or rejected the call (RONA) */
  | { type: 'no_answer'; callId: string }
  /** either side hung up; `wrapUp: false` skips after-call work (e.g. a line without it) */
  | { type: 'ended'; callId: string; wrapUp: boolean }
  /** the offer is void through no fault of the agent (the call was answered elsewhere or ended) */
  | { type: 'withdrawn'; callId: string };

/**
 * The only way into `on_call`. An agent whose phone did not answer goes to `break` so that a
 * phone that vanished stops receiving calls until the agent (or a supervisor) makes it available.
 */
export function applyCallEvent(agent: AgentStatus, ev: AgentCallEvent, now: number): AgentDecision {
  const wrong = (message: string): AgentDecision => ({ ok: false, error: { code: 'INVALID_TRANSITION', message } });
  switch (ev.type) {
    case 'answered':
      if (agent.state === 'on_call' && agent.callId === ev.callId) return { ok: true, agent, changed: false };
      if (agent.state !== 'available' || agent.offer?.callId !== ev.callId) return wrong(`call ${ev.callId} is not ringing on agent ${agent.agentId}`);
      return { ok: true, agent: moved(agent, 'on_call', now, { callId: ev.callId }), changed: true };
    case 'no_answer':
      if (agent.offer?.callId !== ev.callId) return { ok: true, agent, changed: false };
      return { ok: true, agent: moved(agent, 'break', now), changed: true };
    case 'withdrawn':
      if (agent.offer?.callId !== ev.callId) return { ok: true, agent, changed: false };
      return { ok: true, agent: { ...agent, offer: null }, changed: true }; // still available, same idle time
    case 'ended':
      if (agent.state !== 'on_call' || agent.callId !== ev.callId) return { ok: true, agent, changed: false };
      return { ok: true, agent: ev.wrapUp ? moved(agent, 'wrap_up', now) : moved(agent, 'available', now), changed: true };
  }
}

/** Free to be offered a call: available and not already ringing. */
export const isIdle = (a: AgentStatus): boolean => a.state === 'available' && a.offer === null;

// ---------------------------------------------------------------------------------------------
// The queue

/** Higher is served first. 老年人优先: callers on the elderly list get ahead of everyone else. */
export const PRIORITY = { normal: 0, enterprise: 5, elderly: 10 } as const;
/** Highest allowed priority; the Redis score packs (MAX_PRIORITY - priority) above the time. */
export const MAX_PRIORITY = 99;

export interface QueueEntry {
  callId: string;
  /** hotline line id (telephony/src/lines.ts) */
  line: string;
  /** '' for a withheld number */
  callerNumber: string;
  /** when the call entered the ACD queue (ms); kept when an unanswered offer puts it back */
  enqueuedAt: number;
  /** 0..MAX_PRIORITY, higher first */
  priority: number;
  requiredSkills: readonly string[];
  /** the agent group whose agents may take the call; changed by overflow */
  group: string;
  /** groups the call has overflowed from, oldest first (so overflow never loops) */
  overflowedFrom: readonly string[];
  /** the telephony instance holding the call (where its `ring` goes); absent in older entries */
  instance?: string;
}

/** Priority of a caller: elderly list first, then the line's own priority (e.g. 万人助万企). */
export function callerPriority(callerNumber: string, lists: { elderly: ReadonlySet<string>; linePriority?: number }): number {
  if (callerNumber !== '' && lists.elderly.has(callerNumber)) return PRIORITY.elderly;
  return lists.linePriority ?? PRIORITY.normal;
}

/** Queue order: priority (high first), then longest waiting, then call id (deterministic). */
export function compareEntries(a: QueueEntry, b: QueueEntry): number {
  return b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || (a.callId < b.callId ? -1 : a.callId > b.callId ? 1 : 0);
}

/** Longest idle first, then agent id. */
function compareIdle(a: AgentStatus, b: AgentStatus): number {
  return a.since - b.since || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0);
}

export type Strategy = 'longest_idle' | 'skills';

/** May this agent take this call under this strategy? (idleness is checked separately) */
export function canServe(agent: AgentStatus, entry: QueueEntry, strategy: Strategy): boolean {
  if (agent.group !== entry.group) return false;
  return strategy === 'longest_idle' || entry.requiredSkills.every((s) => agent.skills.includes(s));
}

export interface Assignment {
  callId: string;
  agentId: string;
  /** how long the call waited until this choice (ms) */
  waitedMs: number;
}

/**
 * Which queued calls go to which idle agents now. Calls are taken in queue order; each takes the
 * longest-idle agent that can serve it (`longest_idle`: any agent of the call's group; `skills`:
 * only agents with every required skill). A call no idle agent can serve is skipped, so a
 * lower call may go to an agent the higher one could not use — but never to an agent the higher
 * one could have had. Agents that are not available, or already ringing, are never chosen.
 */
export function chooseNext(queue: readonly QueueEntry[], agents: readonly AgentStatus[], now: number, strategy: Strategy): Assignment[] {
  const free = agents.filter(isIdle).sort(compareIdle);
  const seen = new Set<string>();
  const out: Assignment[] = [];
  for (const entry of [...queue].sort(compareEntries)) {
    if (free.length === 0) break;
    if (seen.has(entry.callId)) continue; // a duplicated entry is served once
    seen.add(entry.callId);
    const i = free.findIndex((a) => canServe(a, entry, strategy));
    if (i < 0) continue;
    const [agent] = free.splice(i, 1);
    out.push({ callId: entry.callId, agentId: agent!.agentId, waitedMs: Math.max(0, now - entry.enqueuedAt) });
  }
  return out;
}

/** 1-based position of the call among the calls of its group, in queue order; null if not queued. */
export function queuePosition(queue: readonly QueueEntry[], callId: string): number | null {
  const entry = queue.find((e) => e.callId === callId);
  if (!entry) return null;
  return queue.filter((e) => e.group === entry.group && compareEntries(e, entry) <= 0).length;
}

/**
 * Estimated wait in seconds, deliberately simple: position × average handle time ÷ agents able to
 * take calls (available, on a call or in wrap-up, in the call's group). It ignores skills,
 * priority calls arriving later and abandons; null when nobody in the group is working.
 */
export function estimatedWaitSeconds(position: number, averageHandleSeconds: number, workingAgents: number): number | null {
  if (workingAgents <= 0) return null;
  return Math.ceil((position * averageHandleSeconds) / workingAgents);
}

/** Agents who will take calls of `group` sooner or later (for estimatedWaitSeconds). */
export const workingAgents = (agents: readonly AgentStatus[], group: string): number =>
  agents.filter((a) => a.group === group && (a.state === 'available' || a.state === 'on_call' || a.state === 'wrap_up')).length;

// ---------------------------------------------------------------------------------------------
// Overflow and callbacks

/** Per-group policy (data, admin-editable). */
export interface OverflowPolicy {
  /** after this wait the call overflows to `overflowGroup`, or goes to the callback list if none */
  maxWaitSeconds: number;
  overflowGroup: string | null;
  /** after this total wait the call leaves the queue for the callback list; null: never */
  callbackAfterSeconds: number | null;
}

export type OverflowDecision =
  | { action: 'stay'; /** next moment (ms) the decision can change; null: never */ recheckAt: number | null }
  | { action: 'overflow'; group: string }
  | { action: 'callback' };

/**
 * What to do with a waiting call. Waits count from `enqueuedAt` (the caller's total wait).
 * The callback limit wins over overflow; overflow never returns to a group the call came from.
 */
export function overflowDecision(entry: QueueEntry, now: number, policy: OverflowPolicy): OverflowDecision {
  const waited = now - entry.enqueuedAt;
  const cb = policy.callbackAfterSeconds;
  if (cb !== null && waited >= cb * 1000) return { action: 'callback' };
  const target = policy.overflowGroup;
  const canOverflow = target !== null && target !== entry.group && !entry.overflowedFrom.includes(target);
  if (waited >= policy.maxWaitSeconds * 1000) {
    if (canOverflow) return { action: 'overflow', group: target };
    // No overflow group at all: the max wait is the callback limit.
    if (target === null) return { action: 'callback' };
    // Already overflowed there (or it is this group): wait for the callback limit, if any.
    return { action: 'stay', recheckAt: cb === null ? null : entry.enqueuedAt + cb * 1000 };
  }
  const times = [entry.enqueuedAt + policy.maxWaitSeconds * 1000];
  if (cb !== null) times.push(entry.enqueuedAt + cb * 1000);
  return { action: 'stay', recheckAt: Math.min(...times) };
}

/** The entry after overflowing to `group` (keeps its place in time and priority). */
export const overflowed = (entry: QueueEntry, group: string): QueueEntry => ({
  ...entry,
  group,
  overflowedFrom: [...entry.overflowedFrom, entry.group],
});

export type CallbackReason = 'abandoned' | 'max_wait';

/** 未接回拨: a task for an agent to call the citizen back. */
export interface CallbackTask {
  /** `cb-<callId>`: one task per call however often the event is delivered */
  id: string;
  callId: string;
  line: string;
  callerNumber: string;
  priority: number;
  group: string;
  reason: CallbackReason;
  enqueuedAt: number;
  /** when the call left the queue (hang-up or max wait) */
  leftAt: number;
  waitedSeconds: number;
  /**
   * Abandoned within 5 s of entering the queue: still gets a task (every missed call does),
   * but KPI code may exclude it from the abandon rate (HOTLINE-RULES "KPI definitions").
   */
  shortAbandon: boolean;
  /** `no_number`: the caller withheld the number, nobody can call back; kept for the record */
  status: 'open' | 'no_number';
  createdAt: number;
  /** rebuilt from the call records after Redis lost the list (callbacks.ts) */
  restored?: boolean;
  /** call-back attempts that did not close the task (nobody answered), and the latest one */
  attempts?: number;
  lastAttempt?: CallbackAttempt;
}

/** What an agent's call-back achieved: `no_answer` keeps the task open, the others close it. */
export const CALLBACK_RESULTS = ['reached', 'no_answer', 'invalid_number'] as const;
export type CallbackResult = (typeof CALLBACK_RESULTS)[number];

export interface CallbackAttempt {
  at: number;
  by: string;
  result: CallbackResult;
  note: string;
}

export const SHORT_ABANDON_MS = 5_000;

export function callbackTask(entry: QueueEntry, reason: CallbackReason, at: number): CallbackTask {
  const waited = Math.max(0, at - entry.enqueuedAt);
  return {
    id: `cb-${entry.callId}`,
    callId: entry.callId,
    line: entry.line,
    callerNumber: entry.callerNumber,
    priority: entry.priority,
    group: entry.group,
    reason,
    enqueuedAt: entry.enqueuedAt,
    leftAt: at,
    waitedSeconds: Math.round(waited / 1000),
    shortAbandon: reason === 'abandoned' && waited < SHORT_ABANDON_MS,
    status: entry.callerNumber === '' ? 'no_number' : 'open',
    createdAt: at,
  };
}
