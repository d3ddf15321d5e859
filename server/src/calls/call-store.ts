/**
 * Call records (CDR) with write-behind to MongoDB.
 *
 * While a call is in progress its record lives in a Redis hash (one field per record field,
 * JSON-encoded): every step of the call is one atomic Redis write, whichever engine instance
 * handles it, so concurrent handlers never lose each other's fields (FerretDB v1 did lose
 * concurrent updates of one document: bench/sip/ferretdb-lost-update.ts). Each write also puts
 * the call in the `cdr-dirty` sorted set, scored by when it is due in MongoDB: at once when the
 * call is over (ended, abandoned), `flushDelayMs` later while it is still going — or, with
 * `flushLive` off (FerretDB), only once it is over. A short call thus costs MongoDB one insert
 * instead of an insert and three updates. Open calls are also indexed by offer time in
 * `cdr-open`, so the stale sweep finds records that never finished.
 *
 * One flusher at a time (a Redis lease, taken over within seconds if its process dies) writes
 * due records in batches: records never written before with one `insertMany`, the others with
 * one `bulkWrite` of replacements. A record leaves the dirty set only if nobody changed it
 * during its flush (a revision counter), so nothing is lost between Redis and MongoDB; records
 * of finished calls stay in Redis for a day after their last flush (late ticket links, redelivered
 * events), then MongoDB is the only copy. Readers (`get`) look in Redis first, then MongoDB.
 *
 * Durability: a call's record is in Redis from its first event on (Redis persistence is part of
 * the deployment, like the ACD state and the BullMQ queues) and in MongoDB once it finishes (and,
 * with live flushing, within `flushDelayMs` of any change). KPI queries read MongoDB, so they
 * count a call once it has finished.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import type { CallDoc, HoldPeriod, RingAttempt } from './model.js';

const FINAL = new Set(['ended', 'abandoned']);
const DATE_FIELDS = ['offeredAt', 'queuedAt', 'ringingAt', 'answeredAt', 'endedAt', 'abandonedAt', 'createdAt'] as const;

/** A new record with every field at its schema default (model.ts), so a flush writes a whole document. */
export function newCallDoc(d: Pick<CallDoc, '_id' | 'line' | 'offeredAt' | 'outcome'> & Partial<CallDoc>): CallDoc {
  return {
    instance: 'tel1',
    lineName: '',
    fromNumber: '',
    displayName: '',
    toNumber: '',
    sdp: '',
    queuedAt: null,
    priority: 0,
    ringingAt: null,
    agentId: null,
    answeredAt: null,
    endedAt: null,
    abandonedAt: null,
    abandonReason: null,
    waitedMs: null,
    callbackTaskId: null,
    ticketIds: [],
    answeredBy: null,
    talkMs: null,
    endedBy: null,
    endReason: null,
    transfer: null,
    rings: [],
    holds: [],
    fromGateway: null,
    gatewayReference: null,
    createdAt: new Date(),
    ...d,
  };
}

function encode(fields: Partial<CallDoc>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out.push(k, JSON.stringify(v));
  return out;
}

function decode(h: Record<string, string>): CallDoc {
  const doc: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith('~')) doc[k] = JSON.parse(v);
  for (const k of DATE_FIELDS) if (typeof doc[k] === 'string') doc[k] = new Date(doc[k] as string);
  for (const list of [doc.rings, doc.holds]) {
    if (!Array.isArray(list)) continue;
    for (const e of list as Record<string, unknown>[]) {
      for (const k of ['at', 'alertingAt', 'endedAt']) if (typeof e[k] === 'string') e[k] = new Date(e[k] as string);
    }
  }
  const t = doc.transfer as Record<string, unknown> | null | undefined;
  if (t) {
    if (typeof t.requestedAt === 'string') t.requestedAt = new Date(t.requestedAt);
    if (typeof t.at === 'string') t.at = new Date(t.at);
  }
  return doc as unknown as CallDoc;
}

// Shared by the writing scripts: after a change, a finished call leaves the open set and is due
// at once; a live one is due after the delay, or (live flushing off) only when it finishes.
// KEYS[2] dirty set, KEYS[3] open set; ARGV[1] id, ARGV[2] due while live, ARGV[3] now,
// ARGV[4] '1' to flush live records.
const SCHEDULE = `
local function schedule()
  local o = redis.call('HGET', KEYS[1], 'outcome')
  if o == '"ended"' or o == '"abandoned"' then
    redis.call('ZREM', KEYS[3], ARGV[1])
    redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[1])
  elseif ARGV[4] == '1' then
    redis.call('ZADD', KEYS[2], 'LT', ARGV[2], ARGV[1])
  end
end
`;

// KEYS[1] record hash, KEYS[2] dirty set, KEYS[3] open set (score: offer time). ARGV[1..4] as
// SCHEDULE, ARGV[5] '1' when loaded from MongoDB (already there: not dirty), ARGV[6] offer time,
// ARGV[7..] field/value pairs. 1 created, 0 already there.
const CREATE = `${SCHEDULE}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], '~rev', 1, unpack(ARGV, 7))
local o = redis.call('HGET', KEYS[1], 'outcome')
if o ~= '"ended"' and o ~= '"abandoned"' then redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1]) end
if ARGV[5] == '1' then
  redis.call('HSET', KEYS[1], '~flushed', '1')
else
  schedule()
end
return 1`;

// KEYS as CREATE; ARGV[1..4] as SCHEDULE, ARGV[5..] field/value pairs. -1: no such record in Redis.
const UPDATE = `${SCHEDULE}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('HINCRBY', KEYS[1], '~rev', 1)
redis.call('PERSIST', KEYS[1])
schedule()
return 1`;

// Add a string to a JSON array field once. KEYS as CREATE; ARGV[1..4] as SCHEDULE, ARGV[5]
// field, ARGV[6] value. -1 no record, 0 already there, 1 added.
const ADD_TO_SET = `${SCHEDULE}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local cur = redis.call('HGET', KEYS[1], ARGV[5])
local arr = {}
if cur and cur ~= 'null' then arr = cjson.decode(cur) end
for _, v in ipairs(arr) do if v == ARGV[6] then return 0 end end
arr[#arr + 1] = ARGV[6]
redis.call('HSET', KEYS[1], ARGV[5], cjson.encode(arr))
redis.call('HINCRBY', KEYS[1], '~rev', 1)
redis.call('PERSIST', KEYS[1])
schedule()
return 1`;

// An entry of a JSON array field (rings, holds) found by some of its fields, created if missing;
// then `patch` fields are set where the entry has none yet (the first result of a ring wins, so a
// redelivered or late event cannot rewrite it). KEYS as CREATE; ARGV[1..4] as SCHEDULE, ARGV[5]
// field, ARGV[6] match (JSON object), ARGV[7] the new entry (JSON), ARGV[8] patch (JSON object),
// ARGV[9..] record field/value pairs set in the same step (as UPDATE; one script instead of two).
// -1 no record, 0 nothing changed, 1 changed.
const UPSERT_ENTRY = `${SCHEDULE}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local cur = redis.call('HGET', KEYS[1], ARGV[5])
local arr = {}
if cur and cur ~= 'null' and cur ~= '[]' then arr = cjson.decode(cur) end
local match = cjson.decode(ARGV[6])
local patch = cjson.decode(ARGV[8])
local found = nil
for _, e in ipairs(arr) do
  local same = true
  for k, v in pairs(match) do if e[k] ~= v then same = false break end end
  if same then found = e break end
end
local changed = false
if not found then
  found = cjson.decode(ARGV[7])
  arr[#arr + 1] = found
  changed = true
end
for k, v in pairs(patch) do
  if found[k] == nil or found[k] == cjson.null then found[k] = v changed = true end
end
local fields = #ARGV > 8
if not changed and not fields then return 0 end
if changed then redis.call('HSET', KEYS[1], ARGV[5], cjson.encode(arr)) end
if fields then redis.call('HSET', KEYS[1], unpack(ARGV, 9)) end
redis.call('HINCRBY', KEYS[1], '~rev', 1)
redis.call('PERSIST', KEYS[1])
schedule()
return 1`;

// After a flush of one record. KEYS as CREATE; ARGV[1] id, ARGV[2] the revision flushed, ARGV[3]
// seconds to keep a finished record. 1 done, 0 changed during the flush (stays dirty).
const ACK = `
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) return 1 end
redis.call('HSET', KEYS[1], '~flushed', '1')
if redis.call('HGET', KEYS[1], '~rev') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local o = redis.call('HGET', KEYS[1], 'outcome')
if o == '"ended"' or o == '"abandoned"' then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1`;

// The flusher lease: KEYS[1] lease key; ARGV[1] holder token, ARGV[2] ms. 1 held.
const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

type Scripts = {
  cdrCreate(hash: string, dirty: string, open: string, ...args: string[]): Promise<number>;
  cdrUpdate(hash: string, dirty: string, open: string, ...args: string[]): Promise<number>;
  cdrAddToSet(hash: string, dirty: string, open: string, ...args: string[]): Promise<number>;
  cdrUpsertEntry(hash: string, dirty: string, open: string, ...args: string[]): Promise<number>;
  cdrAck(hash: string, dirty: string, ...args: string[]): Promise<number>;
  cdrLease(key: string, ...args: string[]): Promise<number>;
};

export interface CallStoreOptions {
  redis: Redis;
  /** key prefix (the deployment's QUEUE_PREFIX) */
  prefix: string;
  Call: Model<CallDoc>;
  log: Logger;
  /** a record of a call still in progress is written to MongoDB this long after a change (ms, default 2 000) */
  flushDelayMs?: number;
  /**
   * Write records of calls still in progress (default true). Off: a record reaches MongoDB when
   * its call finishes, as one insert — for FerretDB, whose update of an existing document holds
   * one pooled SQLite connection while it waits for a second and, under load, deadlocks its pool
   * (bench/RESULTS.md); live records are then read from Redis only.
   */
  flushLive?: boolean;
  /** records per MongoDB batch (default 500) */
  batch?: number;
  /** a finished call's record stays readable in Redis this long after its flush (s, default 1 day) */
  keepFinishedSeconds?: number;
  now?: () => number;
}

export class CallStore {
  private readonly r: Redis & Scripts;
  private readonly flushDelayMs: number;
  private readonly flushLive: boolean;
  private readonly batch: number;
  private readonly keepSeconds: number;
  private readonly now: () => number;
  private readonly token = randomUUID();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: CallStoreOptions) {
    this.flushDelayMs = o.flushDelayMs ?? 2_000;
    this.flushLive = o.flushLive ?? true;
    this.batch = o.batch ?? 500;
    this.keepSeconds = o.keepFinishedSeconds ?? 86_400;
    this.now = o.now ?? Date.now;
    const r = o.redis as Redis & Partial<Scripts>;
    if (!r.cdrUpsertEntry) r.defineCommand('cdrUpsertEntry', { numberOfKeys: 3, lua: UPSERT_ENTRY });
    if (!r.cdrCreate) {
      r.defineCommand('cdrCreate', { numberOfKeys: 3, lua: CREATE });
      r.defineCommand('cdrUpdate', { numberOfKeys: 3, lua: UPDATE });
      r.defineCommand('cdrAddToSet', { numberOfKeys: 3, lua: ADD_TO_SET });
      r.defineCommand('cdrAck', { numberOfKeys: 2, lua: ACK });
      r.defineCommand('cdrLease', { numberOfKeys: 1, lua: LEASE });
    }
    this.r = r as Redis & Scripts;
  }

  get Call(): Model<CallDoc> {
    return this.o.Call;
  }

  private hash(id: string): string {
    return `${this.o.prefix}:cdr:${id}`;
  }

  private get dirty(): string {
    return `${this.o.prefix}:cdr-dirty`;
  }

  private get open(): string {
    return `${this.o.prefix}:cdr-open`;
  }

  /**
   * A new record; false when the call already has one (a redelivered offer). A redelivery more
   * than `keepFinishedSeconds` after the call finished would not be recognised; BullMQ redelivers
   * within minutes.
   */
  async create(doc: CallDoc): Promise<boolean> {
    const r = await this.r.cdrCreate(this.hash(doc._id), this.dirty, this.open, ...this.schedule(doc._id), '0', String(new Date(doc.offeredAt).getTime()), ...encode(doc));
    return r === 1;
  }

  /** The record: Redis while the call is live or recently finished, else MongoDB. */
  async get(id: string): Promise<CallDoc | null> {
    const h = await this.o.redis.hgetall(this.hash(id));
    if (h._id !== undefined) return decode(h);
    return this.o.Call.findById(id).lean<CallDoc>();
  }

  /** Set fields of a record; false when there is no such call. */
  async update(id: string, fields: Partial<CallDoc>): Promise<boolean> {
    const args = [...this.schedule(id), ...encode(fields)];
    let r = await this.r.cdrUpdate(this.hash(id), this.dirty, this.open, ...args);
    if (r === -1 && (await this.load(id))) r = await this.r.cdrUpdate(this.hash(id), this.dirty, this.open, ...args);
    return r === 1;
  }

  /** Add a value to an array field (e.g. a ticket filed from the call) once. */
  async addToSet(id: string, field: 'ticketIds', value: string): Promise<boolean> {
    const args = [...this.schedule(id), field, value];
    let r = await this.r.cdrAddToSet(this.hash(id), this.dirty, this.open, ...args);
    if (r === -1 && (await this.load(id))) r = await this.r.cdrAddToSet(this.hash(id), this.dirty, this.open, ...args);
    return r >= 0;
  }

  /**
   * One ring attempt of the record (found by agent and offer time, appended if new): `patch`
   * fields are set only where still empty, so the first outcome of a ring stays. Atomic in Redis
   * (several engine instances may report on one call). false when there is no such call.
   */
  async ring(
    id: string,
    agentId: string,
    at: Date,
    patch: Partial<Pick<RingAttempt, 'alertingAt' | 'result' | 'endedAt'>> = {},
    /** record fields set in the same atomic step (e.g. the answer's), as update() would */
    fields?: Partial<CallDoc>,
  ): Promise<boolean> {
    const entry: RingAttempt = { agentId, at, alertingAt: null, result: null, endedAt: null };
    return this.upsertEntry(id, 'rings', { agentId, at: at.toISOString() }, entry, patch, fields);
  }

  /** One hold of the record (found by its seq, appended if new); `patch` as for ring(). */
  async hold(id: string, seq: number, entry: Omit<HoldPeriod, 'seq' | 'endedAt'> | null, patch: Partial<Pick<HoldPeriod, 'endedAt' | 'at' | 'by'>> = {}): Promise<boolean> {
    return this.upsertEntry(id, 'holds', { seq }, { seq, by: entry?.by ?? null, at: entry?.at ?? null, endedAt: null }, patch);
  }

  private async upsertEntry(id: string, field: 'rings' | 'holds', match: Record<string, unknown>, entry: object, patch: object, fields?: Partial<CallDoc>): Promise<boolean> {
    const args = [...this.schedule(id), field, JSON.stringify(match), JSON.stringify(entry), JSON.stringify(patch), ...(fields ? encode(fields) : [])];
    let r = await this.r.cdrUpsertEntry(this.hash(id), this.dirty, this.open, ...args);
    if (r === -1 && (await this.load(id))) r = await this.r.cdrUpsertEntry(this.hash(id), this.dirty, this.open, ...args);
    return r >= 0;
  }

  /** Calls still open (not ended or abandoned) in Redis whose offer is older than `before` (ms). */
  openBefore(before: number, limit = 1000): Promise<string[]> {
    return this.o.redis.zrangebyscore(this.open, '-inf', String(before), 'LIMIT', 0, limit);
  }

  /** SCHEDULE's arguments: id, due while live, now, flush live records */
  private schedule(id: string): string[] {
    const now = this.now();
    return [id, String(now + this.flushDelayMs), String(now), this.flushLive ? '1' : '0'];
  }

  /** Bring a record only MongoDB has back into Redis (for a change); false if there is none. */
  private async load(id: string): Promise<boolean> {
    const doc = await this.o.Call.findById(id).lean<CallDoc>();
    if (!doc) return false;
    await this.r.cdrCreate(this.hash(id), this.dirty, this.open, ...this.schedule(id), '1', String(new Date(doc.offeredAt).getTime()), ...encode(doc));
    return true;
  }

  // ----- write-behind ---------------------------------------------------------------------------

  /** Start the flusher loop (every engine instance may; one holds the lease at a time). */
  start(intervalMs = 100): void {
    this.stopped = false;
    const loop = async (): Promise<void> => {
      let more = false;
      try {
        if ((await this.r.cdrLease(`${this.o.prefix}:cdr-flusher`, this.token, '10000')) === 1) more = (await this.flushDue()) >= this.batch;
      } catch (err) {
        this.o.log.warn({ err }, 'call record flush failed; retrying');
      }
      if (!this.stopped) this.timer = setTimeout(() => (this.running = loop()), more ? 0 : intervalMs);
    };
    this.running = loop();
  }

  /** Stop the loop and write everything still dirty (graceful shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.flushAll().catch((err: unknown) => this.o.log.warn({ err }, 'final call record flush failed'));
    await this.o.redis.del(`${this.o.prefix}:cdr-flusher`).catch(() => 0);
  }

  /** One batch of records that are due; returns how many were written. */
  async flushDue(): Promise<number> {
    const ids = await this.o.redis.zrangebyscore(this.dirty, '-inf', String(this.now()), 'LIMIT', 0, this.batch);
    return this.flushIds(ids);
  }

  /** Every dirty record, due or not (tests, shutdown). */
  async flushAll(): Promise<number> {
    let n = 0;
    for (;;) {
      const ids = await this.o.redis.zrange(this.dirty, '0', String(this.batch - 1));
      if (ids.length === 0) return n;
      n += await this.flushIds(ids);
    }
  }

  private async flushIds(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const pipe = this.o.redis.pipeline();
    for (const id of ids) pipe.hgetall(this.hash(id));
    const rows = ((await pipe.exec()) ?? []).map((r) => (r[1] ?? {}) as Record<string, string>);
    const inserts: CallDoc[] = [];
    const replaces: CallDoc[] = [];
    const revs: [string, string][] = [];
    rows.forEach((h, i) => {
      const id = ids[i]!;
      revs.push([id, h['~rev'] ?? '']);
      if (h._id === undefined) return; // gone: the ack drops it from the dirty set
      (h['~flushed'] === '1' ? replaces : inserts).push(decode(h));
    });
    const coll = this.o.Call.collection;
    if (inserts.length > 0) {
      try {
        await coll.insertMany(inserts as never[], { ordered: false });
      } catch (err) {
        // records already in MongoDB (a flush that died before its ack): replace them instead
        type WriteError = { code?: number; index?: number };
        const writeErrors = (err as { writeErrors?: WriteError[] | WriteError }).writeErrors;
        const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
        if (list.length === 0 || list.some((e) => e.code !== 11000)) throw err;
        for (const e of list) {
          const idx = e.index;
          if (idx !== undefined && inserts[idx]) replaces.push(inserts[idx]);
        }
      }
    }
    if (replaces.length > 0) {
      await coll.bulkWrite(
        replaces.map((d) => ({ replaceOne: { filter: { _id: d._id as never }, replacement: d as never, upsert: true } })),
        { ordered: false },
      );
    }
    const ack = this.o.redis.pipeline() as unknown as { cdrAck(...a: string[]): unknown; exec(): Promise<unknown> };
    for (const [id, rev] of revs) ack.cdrAck(this.hash(id), this.dirty, id, rev, String(this.keepSeconds));
    await ack.exec();
    return ids.length;
  }

  /** Records waiting for MongoDB (for readiness and tests). */
  pending(): Promise<number> {
    return this.o.redis.zcard(this.dirty);
  }
}
