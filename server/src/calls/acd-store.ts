/**
 * ACD state in Redis, shared by every engine instance (ARCHITECTURE "Scale past one machine":
 * no state in one process's memory). Decisions come from the pure core in acd.ts; this adapter
 * reads, decides, and writes back with Lua scripts that re-check what the decision relied on, so
 * two instances can never offer the same call twice or ring the same agent twice.
 *
 * Keys, all under `prefix` (give it a hash tag such as `{hotline}:acd` so every key lands in one
 * Redis Cluster slot — the scripts touch several keys at once):
 *   <p>:agents            set of agent ids
 *   <p>:agent:<id>        hash: state, since, skills (JSON), group, offerCallId, offerAt, callId, version
 *   <p>:queue             sorted set of waiting call ids, score = (MAX_PRIORITY - priority)·1e13 + enqueuedAt
 *                         (high priority first, then earliest; equal scores order by call id, as in acd.ts)
 *   <p>:call:<callId>     hash: entry (JSON QueueEntry), offeredTo (agent id or '')
 *   <p>:callbacks         hash: task id → JSON CallbackTask
 *   <p>:callbacks:order   sorted set of task ids by creation time
 */
import type { Redis } from 'ioredis';
import {
  MAX_PRIORITY,
  applyCallEvent,
  callbackTask,
  changeAgentState,
  chooseNext,
  overflowDecision,
  overflowed,
  type AcdError,
  type AgentCallEvent,
  type AgentDecision,
  type AgentState,
  type AgentStatus,
  type Assignment,
  type CallbackReason,
  type CallbackAttempt,
  type CallbackTask,
  type OverflowPolicy,
  type QueueEntry,
  type StateActor,
  type Strategy,
} from './acd.js';

/** Queue score: priority band above the enqueue time (ms, < 1e13 until the year 2286). */
export const queueScore = (e: Pick<QueueEntry, 'priority' | 'enqueuedAt'>): number =>
  (MAX_PRIORITY - Math.min(MAX_PRIORITY, Math.max(0, Math.trunc(e.priority)))) * 1e13 + e.enqueuedAt;

/*
 * The idle index: one sorted set per group, `<prefix>:idle:<group>`, of the agents who are
 * available with no offer, scored by when they became available — so a distribution round reads
 * the few longest-idle agents it needs instead of every agent (bench/sip: reading all agents on
 * every event was the engine's largest cost). Every script that writes an agent's state, offer
 * or group ends with REINDEX; the agent hash remembers the group it is indexed in (`idleIn`).
 */
const REINDEX_FN = `local function reindex(agentKey, idlePrefix, agentId)
  local a = redis.call('HMGET', agentKey, 'state', 'offerCallId', 'group', 'since', 'idleIn')
  if not a[1] then return end
  if a[5] and a[5] ~= '' then redis.call('ZREM', idlePrefix .. a[5], agentId) end
  if a[1] == 'available' and (not a[2] or a[2] == '') then
    redis.call('SADD', idlePrefix .. '@groups', a[3] or '')
    redis.call('ZADD', idlePrefix .. (a[3] or ''), tonumber(a[4]) or 0, agentId)
    redis.call('HSET', agentKey, 'idleIn', a[3] or '')
  else
    redis.call('HSET', agentKey, 'idleIn', '')
  end
end
`;

/* REINDEX: KEYS[1] agent hash; ARGV[1] idle prefix; ARGV[2] agent id. */
const REINDEX = `${REINDEX_FN}
reindex(KEYS[1], ARGV[1], ARGV[2])
return 1`;

/*
 * ENQUEUE
 * KEYS[1] queue zset; KEYS[2] call hash
 * ARGV[1] call id; ARGV[2] score; ARGV[3] entry JSON
 * Adds the call once: a call already known (queued, ringing) is left alone. Returns 1 added, 0 known.
 */
const ENQUEUE = `if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'entry', ARGV[3], 'offeredTo', '')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1`;

/*
 * CLAIM
 * KEYS[1] queue zset; KEYS[2] call hash; KEYS[3] agent hash
 * ARGV[1] call id; ARGV[2] agent id; ARGV[3] now (ms); ARGV[4] idle prefix
 * Offers the call to the agent iff the call is still waiting in the queue and the agent is still
 * available with no offer. Returns 1 claimed, -1 call no longer waiting, -2 agent not idle.
 */
const CLAIM = `${REINDEX_FN}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return -1 end
local a = redis.call('HMGET', KEYS[3], 'state', 'offerCallId')
if a[1] ~= 'available' or (a[2] and a[2] ~= '') then return -2 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'offeredTo', ARGV[2])
redis.call('HSET', KEYS[3], 'offerCallId', ARGV[1], 'offerAt', ARGV[3])
redis.call('HINCRBY', KEYS[3], 'version', 1)
reindex(KEYS[3], ARGV[4], ARGV[2])
return 1`;

/*
 * WRITE_AGENT (compare-and-set of an agent decided by acd.ts, with the call's side of it)
 * KEYS[1] agent hash; KEYS[2] queue zset; KEYS[3] call hash
 * ARGV[1] expected agent version; ARGV[2] agent id; ARGV[3] call id ('' if none);
 * ARGV[4] call op: 'none' | 'delete' (answered: the call left the ACD) | 'requeue' (offer withdrawn);
 * ARGV[5] requeue score; ARGV[6] idle prefix; ARGV[7..] agent field/value pairs to write
 * 'delete' and 'requeue' require the call to be offered to this agent. Returns 1 written,
 * 0 agent changed since read (retry), -1 call not offered to this agent.
 */
const WRITE_AGENT = `${REINDEX_FN}
if (redis.call('HGET', KEYS[1], 'version') or '') ~= ARGV[1] then return 0 end
if ARGV[4] ~= 'none' then
  if redis.call('HGET', KEYS[3], 'offeredTo') ~= ARGV[2] then return -1 end
  if ARGV[4] == 'delete' then
    redis.call('DEL', KEYS[3])
  else
    redis.call('HSET', KEYS[3], 'offeredTo', '')
    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
  end
end
local f = {}
for i = 7, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(f))
redis.call('HINCRBY', KEYS[1], 'version', 1)
reindex(KEYS[1], ARGV[6], ARGV[2])
return 1`;

/*
 * LEAVE (a call leaves the queue for the callback list: caller hung up, or max wait)
 * KEYS[1] queue zset; KEYS[2] call hash; KEYS[3] callbacks hash; KEYS[4] callbacks order zset;
 * KEYS[5] agent hash of the agent the call rings on (any key of the prefix if none)
 * ARGV[1] call id; ARGV[2] agent id the caller read in offeredTo ('' if none); ARGV[3] task id;
 * ARGV[4] task JSON; ARGV[5] created at (ms); ARGV[6] 'any' | 'queued-only'; ARGV[7] idle prefix
 * Returns 1 done, 0 call unknown (answered, ended or already left), -1 offeredTo changed since
 * read (retry), -2 the call is ringing and ARGV[6] is 'queued-only' (max wait never cuts a ring).
 */
const LEAVE = `${REINDEX_FN}
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local offered = redis.call('HGET', KEYS[2], 'offeredTo') or ''
if offered ~= ARGV[2] then return -1 end
if offered ~= '' then
  if ARGV[6] == 'queued-only' then return -2 end
  if redis.call('HGET', KEYS[5], 'offerCallId') == ARGV[1] then
    redis.call('HSET', KEYS[5], 'offerCallId', '', 'offerAt', '')
    redis.call('HINCRBY', KEYS[5], 'version', 1)
    reindex(KEYS[5], ARGV[7], offered)
  end
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[4]) == 1 then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3])
end
return 1`;

/*
 * MOVE_GROUP (overflow)
 * KEYS[1] queue zset; KEYS[2] call hash
 * ARGV[1] call id; ARGV[2] entry JSON read by the caller; ARGV[3] new entry JSON
 * Rewrites the entry iff the call is still waiting and unchanged. Returns 1 moved, 0 not.
 */
const MOVE_GROUP = `if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('HGET', KEYS[2], 'entry') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'entry', ARGV[3])
return 1`;

/**
 * `requeued`: the call that was ringing on the agent and went back to the queue (the engine must
 * tell telephony to stop ringing that agent's phone); null if none.
 */
export type StoreResult = { ok: true; agent: AgentStatus; changed: boolean; requeued: string | null } | { ok: false; error: AcdError };

export class AgentConflictError extends Error {
  constructor(agentId: string) {
    super(`agent ${agentId} kept changing; gave up after retries`);
    this.name = 'AgentConflictError';
  }
}

const CAS_RETRIES = 8;
/** Skills strategy: how many longest-idle agents of a group a round looks through for a match. */
const SKILLS_WINDOW = 200;

/**
 * CALLBACK ATTEMPT (a call-back nobody answered: the task stays, its attempt count grows)
 * KEYS[1] callbacks hash; ARGV: task id, attempt JSON. Returns the updated task JSON, or nil.
 */
const CALLBACK_ATTEMPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return nil end
local task = cjson.decode(raw)
task.attempts = (tonumber(task.attempts) or 0) + 1
task.lastAttempt = cjson.decode(ARGV[2])
local out = cjson.encode(task)
redis.call('HSET', KEYS[1], ARGV[1], out)
return out
`;

/** The scripts, registered on the client with defineCommand: EVALSHA, the text sent only once. */
const SCRIPTS = {
  reindex: { numberOfKeys: 1, lua: REINDEX },
  callbackAttempt: { numberOfKeys: 1, lua: CALLBACK_ATTEMPT },
  enqueue: { numberOfKeys: 2, lua: ENQUEUE },
  claim: { numberOfKeys: 3, lua: CLAIM },
  writeAgent: { numberOfKeys: 3, lua: WRITE_AGENT },
  leave: { numberOfKeys: 5, lua: LEAVE },
  moveGroup: { numberOfKeys: 2, lua: MOVE_GROUP },
} as const;
type ScriptName = keyof typeof SCRIPTS;
type ScriptClient = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

export class AcdStore {
  constructor(
    private readonly redis: Redis,
    /** e.g. `{hotline}:acd`; one hash tag for the whole prefix on Redis Cluster */
    readonly prefix: string,
  ) {
    for (const [name, def] of Object.entries(SCRIPTS)) {
      if (!(`acd_${name}` in redis)) redis.defineCommand(`acd_${name}`, def);
    }
  }

  private run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    return (this.redis as unknown as ScriptClient)[`acd_${name}`]!(...args);
  }

  private k = {
    agents: (): string => `${this.prefix}:agents`,
    agent: (id: string): string => `${this.prefix}:agent:${id}`,
    queue: (): string => `${this.prefix}:queue`,
    call: (id: string): string => `${this.prefix}:call:${id}`,
    callbacks: (): string => `${this.prefix}:callbacks`,
    callbackOrder: (): string => `${this.prefix}:callbacks:order`,
    callbacksKept: (): string => `${this.prefix}:callbacks:kept`,
    idlePrefix: (): string => `${this.prefix}:idle:`,
    idle: (group: string): string => `${this.prefix}:idle:${group}`,
  };

  // ----- agents ------------------------------------------------------------------------------

  /** Create or replace an agent's record (directory sync, tests). Prefer changeState for states. */
  async putAgent(agent: AgentStatus): Promise<void> {
    const version = Number((await this.redis.hget(this.k.agent(agent.agentId), 'version')) ?? '0');
    await this.redis.multi().hset(this.k.agent(agent.agentId), { ...agentFields(agent), version: String(version + 1) }).sadd(this.k.agents(), agent.agentId).exec();
    await this.reindex(agent.agentId);
  }

  /** Brings one agent's entry in the idle index in line with its record. */
  async reindex(agentId: string): Promise<void> {
    await this.run('reindex', this.k.agent(agentId), this.k.idlePrefix(), agentId);
  }

  /** Rebuilds the idle index of every agent (start-up: records written before the index existed). */
  async reindexAll(): Promise<number> {
    const ids = await this.redis.smembers(this.k.agents());
    for (const id of ids) await this.reindex(id);
    return ids.length;
  }

  /** The `limit` longest-idle agents of a group (available, no offer), from the idle index. */
  async idleAgents(group: string, limit: number): Promise<AgentStatus[]> {
    return this.readAgents(await this.redis.zrange(this.k.idle(group), '0', String(Math.max(0, limit - 1))));
  }

  async getAgent(agentId: string): Promise<(AgentStatus & { version: string }) | null> {
    const h = await this.redis.hgetall(this.k.agent(agentId));
    return h.state ? parseAgent(agentId, h) : null;
  }

  async listAgents(): Promise<AgentStatus[]> {
    return this.readAgents((await this.redis.smembers(this.k.agents())).sort());
  }

  /** The records of these agents, in this order, in one round trip (unknown ids left out). */
  private async readAgents(ids: readonly string[]): Promise<AgentStatus[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.k.agent(id));
    const rows = (await pipe.exec()) ?? [];
    const out: AgentStatus[] = [];
    ids.forEach((id, i) => {
      const h = rows[i]?.[1] as Record<string, string> | undefined;
      if (h?.state) out.push(parseAgent(id, h));
    });
    return out;
  }

  /**
   * Console, supervisor or reconciliation asks for a state. Leaving `available` while a call
   * rings on the agent puts that call back in the queue at its old place.
   */
  async changeState(agentId: string, to: AgentState, actor: StateActor, now: number): Promise<StoreResult> {
    return this.decideAndWrite(agentId, (a) => changeAgentState(a, to, actor, now));
  }

  /** Group and skills (supervisor); the state and any offer stay as they are. */
  async updateProfile(agentId: string, group: string, skills: readonly string[]): Promise<StoreResult> {
    return this.decideAndWrite(agentId, (a) => {
      const same = a.group === group && a.skills.length === skills.length && a.skills.every((s, i) => s === skills[i]);
      return { ok: true, agent: { ...a, group, skills: [...skills] }, changed: !same };
    });
  }

  /**
   * Telephony connected the agent to a call the ACD no longer offered them (an offer expired just
   * before the answer): the agent is on that call; any other call ringing on them goes back.
   */
  async forceOnCall(agentId: string, callId: string, now: number): Promise<StoreResult> {
    return this.decideAndWrite(agentId, (a) =>
      a.state === 'on_call' && a.callId === callId
        ? { ok: true, agent: a, changed: false }
        : { ok: true, agent: { ...a, state: 'on_call', since: now, offer: null, callId }, changed: true },
    );
  }

  /** A telephony call event for the agent (answered / no answer / ended). */
  async callEvent(agentId: string, ev: AgentCallEvent, now: number): Promise<StoreResult> {
    return this.decideAndWrite(agentId, (a) => applyCallEvent(a, ev, now));
  }

  private async decideAndWrite(agentId: string, decide: (a: AgentStatus) => AgentDecision): Promise<StoreResult> {
    for (let i = 0; i < CAS_RETRIES; i++) {
      const cur = await this.getAgent(agentId);
      if (!cur) return { ok: false, error: { code: 'NOT_FOUND', message: `agent ${agentId} not found` } };
      const d = decide(cur);
      if (!d.ok) return d;
      if (!d.changed) return { ...d, requeued: null };
      const next = d.agent;
      // The call side: answered → the call leaves the ACD; an offer withdrawn otherwise → requeue.
      let op: 'none' | 'delete' | 'requeue' = 'none';
      let callId = '';
      let score = '0';
      if (cur.offer && next.offer === null) {
        callId = cur.offer.callId;
        if (next.state === 'on_call' && next.callId === callId) op = 'delete';
        else {
          op = 'requeue';
          const raw = await this.redis.hget(this.k.call(callId), 'entry');
          if (raw === null) op = 'none'; // the caller already left; nothing to put back
          else score = String(queueScore(JSON.parse(raw) as QueueEntry));
        }
      }
      const fields = Object.entries(agentFields(next)).flat();
      const r = Number(
        await this.run('writeAgent', this.k.agent(agentId), this.k.queue(), this.k.call(callId || '-'), cur.version, agentId, callId, op, score, this.k.idlePrefix(), ...fields),
      );
      if (r === 1) return { ...d, requeued: op === 'requeue' ? callId : null };
      if (r === -1 && op === 'delete') {
        return { ok: false, error: { code: 'INVALID_TRANSITION', message: `call ${callId} is no longer offered to agent ${agentId}` } };
      }
      // 0: the agent changed under us; -1 on requeue: the call left meanwhile. Read again.
    }
    throw new AgentConflictError(agentId);
  }

  /**
   * Offers that rang longer than `ringTimeoutMs` without an answered / no-answer event (telephony
   * restarted, an event was lost) are treated as no answer, so neither the agent nor the call can
   * stay stuck (issue 4 item 3). Run periodically; concurrent runs are harmless. Returns the
   * re-queued call ids.
   */
  async expireOffers(now: number, ringTimeoutMs: number): Promise<string[]> {
    const out: string[] = [];
    for (const a of await this.listAgents()) {
      if (!a.offer || now - a.offer.at < ringTimeoutMs) continue;
      const r = await this.callEvent(a.agentId, { type: 'no_answer', callId: a.offer.callId }, now);
      if (r.ok && r.requeued) out.push(r.requeued);
    }
    return out;
  }

  // ----- queue ------------------------------------------------------------------------------

  /** Put a call in the queue (idempotent per call id: a redelivered call.offered is ignored). */
  async enqueue(entry: QueueEntry): Promise<boolean> {
    const r = await this.run('enqueue', this.k.queue(), this.k.call(entry.callId), entry.callId, String(queueScore(entry)), JSON.stringify(entry));
    return Number(r) === 1;
  }

  /** Waiting calls (not ringing), in queue order. */
  async queued(limit = 1000): Promise<QueueEntry[]> {
    const ids = await this.redis.zrange(this.k.queue(), '0', String(limit - 1));
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.k.call(id), 'entry');
    const rows = (await pipe.exec()) ?? [];
    return rows.map((r) => r[1]).filter((v): v is string => typeof v === 'string').map((v) => JSON.parse(v) as QueueEntry);
  }

  /** The entry of a known call (waiting or ringing) and the agent it rings on ('' if waiting). */
  async call(callId: string): Promise<{ entry: QueueEntry; offeredTo: string } | null> {
    const h = await this.redis.hgetall(this.k.call(callId));
    return h.entry ? { entry: JSON.parse(h.entry) as QueueEntry, offeredTo: h.offeredTo ?? '' } : null;
  }

  /** Atomically offer a waiting call to an idle agent. */
  async claim(callId: string, agentId: string, now: number): Promise<'claimed' | 'call_gone' | 'agent_busy'> {
    const r = Number(await this.run('claim', this.k.queue(), this.k.call(callId), this.k.agent(agentId), callId, agentId, String(now), this.k.idlePrefix()));
    return r === 1 ? 'claimed' : r === -1 ? 'call_gone' : 'agent_busy';
  }

  /**
   * One distribution round: read the queue and the agents, choose (acd.ts), claim each pair.
   * A pair another instance took first is skipped; the next round (next event or tick) retries.
   * Returns the offers this instance won — each must be sent to telephony as `ring`.
   */
  async distribute(now: number, strategy: Strategy): Promise<Assignment[]> {
    // Nobody idle (the usual case under load, when calls wait): nothing to read. Reading the
    // whole queue on every event made a backlog slow the engine down further (bench/sip).
    const groups = await this.redis.smembers(`${this.k.idlePrefix()}@groups`);
    if (groups.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const g of groups) pipe.zcard(this.k.idle(g));
    const counts = ((await pipe.exec()) ?? []).map((r) => Number(r[1] ?? 0));
    const idleGroups = new Set(groups.filter((_, i) => (counts[i] ?? 0) > 0));
    const totalIdle = counts.reduce((a, b) => a + b, 0);
    if (totalIdle === 0) return [];
    // Only the head of the queue: a few entries per idle agent; read further only while the
    // head holds no call an idle agent's group could take (so no group starves behind another).
    let queue: QueueEntry[] = [];
    for (let limit = Math.min(1000, Math.max(50, totalIdle * 4)); ; limit = Math.min(1000, limit * 4)) {
      queue = await this.queued(limit);
      if (queue.length < limit || limit >= 1000 || queue.some((e) => idleGroups.has(e.group))) break;
    }
    if (queue.length === 0) return [];
    // per group, only the longest-idle agents that could be needed: as many as the group's
    // waiting calls (longest idle), or a bounded window to look for skills in
    const perGroup = new Map<string, number>();
    for (const e of queue) perGroup.set(e.group, (perGroup.get(e.group) ?? 0) + 1);
    const agents = (
      await Promise.all([...perGroup].map(([group, n]) => this.idleAgents(group, strategy === 'longest_idle' ? n : Math.max(n, SKILLS_WINDOW))))
    ).flat();
    const won: Assignment[] = [];
    for (const a of chooseNext(queue, agents, now, strategy)) {
      if ((await this.claim(a.callId, a.agentId, now)) === 'claimed') won.push(a);
    }
    return won;
  }

  // ----- leaving the queue --------------------------------------------------------------------

  /**
   * The caller hung up before an agent answered (queued or ringing): the call leaves the ACD and
   * becomes a callback task (未接回拨). Returns the task, or null when the call was unknown
   * (already answered, ended or abandoned — a redelivered event).
   */
  async abandon(callId: string, now: number): Promise<CallbackTask | null> {
    return this.leave(callId, 'abandoned', now, 'any');
  }

  /** Take a call out of the ACD without a callback task (it was answered after all). */
  async abandonQuietly(callId: string): Promise<void> {
    const task = await this.leave(callId, 'abandoned', Date.now(), 'any');
    if (task) await this.redis.multi().hdel(this.k.callbacks(), task.id).zrem(this.k.callbackOrder(), task.id).exec();
  }

  private async leave(callId: string, reason: CallbackReason, now: number, mode: 'any' | 'queued-only'): Promise<CallbackTask | null> {
    for (let i = 0; i < CAS_RETRIES; i++) {
      const c = await this.call(callId);
      if (!c) return null;
      const task = callbackTask(c.entry, reason, now);
      const agentKey = this.k.agent(c.offeredTo || '-');
      const r = Number(
        await this.run(
          'leave',
          this.k.queue(),
          this.k.call(callId),
          this.k.callbacks(),
          this.k.callbackOrder(),
          agentKey,
          callId,
          c.offeredTo,
          task.id,
          JSON.stringify(task),
          String(now),
          mode,
          this.k.idlePrefix(),
        ),
      );
      if (r === 1) return task;
      if (r === 0 || r === -2) return null;
    }
    throw new AgentConflictError(callId);
  }

  /**
   * Apply overflow policies to every waiting call (run on a timer by one or more instances; the
   * scripts make concurrent sweeps harmless). Returns what changed.
   */
  async sweepOverflow(now: number, policyFor: (group: string) => OverflowPolicy | null): Promise<{ overflowed: string[]; callbacks: CallbackTask[] }> {
    const out = { overflowed: [] as string[], callbacks: [] as CallbackTask[] };
    for (const entry of await this.queued()) {
      const policy = policyFor(entry.group);
      if (!policy) continue;
      const d = overflowDecision(entry, now, policy);
      if (d.action === 'overflow') {
        const r = await this.run('moveGroup', this.k.queue(), this.k.call(entry.callId), entry.callId, JSON.stringify(entry), JSON.stringify(overflowed(entry, d.group)));
        if (Number(r) === 1) out.overflowed.push(entry.callId);
      } else if (d.action === 'callback') {
        const task = await this.leave(entry.callId, 'max_wait', now, 'queued-only');
        if (task) out.callbacks.push(task);
      }
    }
    return out;
  }

  /** One callback task, or null when there is none (closed, or never created). */
  async callbackTask(id: string): Promise<CallbackTask | null> {
    const raw = await this.redis.hget(this.k.callbacks(), id);
    return raw === null ? null : (JSON.parse(raw) as CallbackTask);
  }

  /** Count a call-back attempt that leaves the task open; null when the task is gone. */
  async noteCallbackAttempt(id: string, attempt: CallbackAttempt): Promise<CallbackTask | null> {
    const r = (await this.run('callbackAttempt', this.k.callbacks(), id, JSON.stringify(attempt))) as string | null;
    return r === null ? null : (JSON.parse(r) as CallbackTask);
  }

  /** Take a task off the callback list; false when it was already gone. */
  async removeCallback(id: string): Promise<boolean> {
    const r = await this.redis.multi().hdel(this.k.callbacks(), id).zrem(this.k.callbackOrder(), id).exec();
    return Number(r?.[0]?.[1] ?? 0) === 1;
  }

  /**
   * Put back a task rebuilt from MongoDB after Redis lost the list (callbacks.ts). Never
   * overwrites a task that is there; false when it was.
   */
  async restoreCallback(task: CallbackTask): Promise<boolean> {
    const r = await this.redis.multi().hsetnx(this.k.callbacks(), task.id, JSON.stringify(task)).zadd(this.k.callbackOrder(), 'NX', task.createdAt, task.id).exec();
    return Number(r?.[0]?.[1] ?? 0) === 1;
  }

  /**
   * A marker kept beside the list: absent means Redis lost its data (or never had any), and the
   * list must be rebuilt from the call records before it is trusted.
   */
  async callbacksKept(): Promise<boolean> {
    return (await this.redis.exists(this.k.callbacksKept())) === 1;
  }

  async markCallbacksKept(at: number): Promise<void> {
    await this.redis.set(this.k.callbacksKept(), String(at));
  }

  /** Callback tasks, oldest first. */
  async callbacks(): Promise<CallbackTask[]> {
    const ids = await this.redis.zrange(this.k.callbackOrder(), '0', '-1');
    if (ids.length === 0) return [];
    const raw = await this.redis.hmget(this.k.callbacks(), ...ids);
    return raw.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as CallbackTask);
  }

  /** Delete every key of this prefix (tests, demo reset). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${escapeGlob(this.prefix)}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await this.redis.del(...keys);
    } while (cursor !== '0');
  }
}

const escapeGlob = (s: string): string => s.replace(/[*?[\]\\]/g, '\\$&');

function agentFields(a: AgentStatus): Record<string, string> {
  return {
    state: a.state,
    since: String(a.since),
    skills: JSON.stringify(a.skills),
    group: a.group,
    offerCallId: a.offer?.callId ?? '',
    offerAt: a.offer ? String(a.offer.at) : '',
    callId: a.callId ?? '',
  };
}

function parseAgent(agentId: string, h: Record<string, string>): AgentStatus & { version: string } {
  return {
    agentId,
    state: h.state as AgentState,
    since: Number(h.since ?? 0),
    skills: JSON.parse(h.skills ?? '[]') as string[],
    group: h.group ?? '',
    offer: h.offerCallId ? { callId: h.offerCallId, at: Number(h.offerAt ?? 0) } : null,
    callId: h.callId ? h.callId : null,
    version: h.version ?? '0',
  };
}
