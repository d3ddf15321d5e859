/**
 * The store of the daily KPI roll-ups (kpi-facts.ts explains what they are). Thin: MongoDB
 * single-document updates and one Redis script; works the same on MongoDB and FerretDB v1.
 *
 * A ticket event (the ticket-events worker) only marks the ticket dirty in Redis (one script:
 * a sorted set by first-dirty time and a revision per ticket). A drain in every worker process
 * takes the dirty tickets after a short debounce — a burst of events on one ticket is one
 * recompute — and for each:
 *
 *   1. under a per-ticket Redis lock, reads the ticket's fact document (`kpi_facts_v1`, `_id` =
 *      ticket id); a delta left pending by a process that died is finished first;
 *   2. reads the ticket, updates the caller index (repeat complaints), computes the new facts;
 *      when they equal the stored ones (most events: sign, urge, notes) nothing is written;
 *   3. compare-and-sets the fact document (its `rev`) to the new facts *with the delta pending*;
 *   4. adds the delta to each roll-up document once: under a per-document lock, read, add,
 *      write back with the op id in `ops` (skipped when `ops` has it) — a retry after a crash
 *      cannot count twice;
 *   5. clears the pending delta; the op ids are pulled from the roll-ups afterwards, one update
 *      per document for all the ops done meanwhile (a pull lost in a crash only leaves an id
 *      that can never match again: op ids are `ticket:rev`, never reused);
 *   6. removes the ticket from the dirty set only if it was not marked again meanwhile.
 *
 * A process that dies anywhere leaves the ticket dirty, and the next drain (any process)
 * finishes its pending delta and recomputes it. The roll-ups are derived data: `rebuild()`
 * recomputes every ticket (at start-up when the roll-ups of this definition version were never
 * completed; until then reports read the tickets; `npm run kpi:rebuild` after a Redis data loss).
 *
 * Repeat complaints: a Redis sorted set per caller key (hashed phone+category, phone+address) of
 * ticket ids scored by intake time, kept for the window. A ticket repeats when an earlier
 * ticket of one of its keys lies within the window before it; when a ticket joins or leaves a
 * key, the later tickets of that key within the window are recomputed too.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Collection, Db } from 'mongodb';
import type { Model } from 'mongoose';
import { Types } from 'mongoose';
import type { Logger } from 'pino';
import type { TicketDoc } from '../tickets/model.js';
import { factDelta, repeatKeys, rollupBreakdown, rollupIncrements, rollupPlan, ticketFacts, type CodedCounts, type FactEntry, type RollupDoc } from './kpi-facts.js';
import { REPEAT_WINDOW_DAYS, TICKET_KPI_PROJECTION, type KpiBreakdown, type KpiOptions, type KpiRange, type KpiTicket } from './ticket-kpis.js';

/** Bump when a KPI definition changes: new collections are filled by a rebuild, the old ones are left alone. */
export const ROLLUP_VERSION = 2;

const DAY = 86_400_000;

export interface KpiFactDoc {
  _id: string;
  /** ticket version the facts were computed from */
  v: number;
  /** revision of this document (compare-and-set) */
  rev: number;
  c: FactEntry[];
  /** hashed caller keys the ticket is indexed under */
  rk: string[];
  at: Date;
  pending?: { op: string; d: FactEntry[]; at: Date };
}

/**
 * A stored roll-up document. The groups are one JSON string, not thousands of fields: FerretDB v1
 * reads and writes a document's fields one by one (bench/kpis: one string field read 25× faster).
 */
interface StoredRollup {
  _id: string;
  /** JSON of { groupKey: codedCounts } */
  g: string;
  /** ops applied and not pulled yet (each added once) */
  ops: string[];
  /** revision (compare-and-set) */
  rev: number;
}

interface MetaDoc {
  _id: string;
  complete: boolean;
  /** rebuild progress: the last ticket id done */
  after: string | null;
  at: Date;
}

/**
 * Caller index. KEYS: every key the ticket is or was under. ARGV: member, score (intake ms),
 * window ms, expire-at ms, then per key '1' (under it, as before), '2' (joins it) or '0' (leaves
 * it). Returns { repeat (0|1), ...ids of later tickets within the window of a key joined or left }.
 * Joining and leaving are decided by the caller from the stored facts, so a retry after a crash
 * looks at the later tickets again.
 */
const REPEAT_INDEX = `
local member, score, win, exp = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local rep = 0
local out = {}
local function later(key)
  local xs = redis.call('ZRANGEBYSCORE', key, score, score + win, 'WITHSCORES')
  for j = 1, #xs, 2 do
    local m, s = xs[j], tonumber(xs[j + 1])
    if m ~= member and (s > score or m > member) then out[#out + 1] = m end
  end
end
for i, key in ipairs(KEYS) do
  local flag = ARGV[4 + i]
  if flag == '0' then
    redis.call('ZREM', key, member)
    later(key)
  else
    redis.call('ZADD', key, score, member)
    local cur = redis.call('PEXPIRETIME', key)
    if cur < exp then redis.call('PEXPIREAT', key, exp) end
    local xs = redis.call('ZRANGEBYSCORE', key, score - win, score, 'WITHSCORES')
    for j = 1, #xs, 2 do
      local m, s = xs[j], tonumber(xs[j + 1])
      if m ~= member and (s < score or m < member) then rep = 1 end
    end
    if flag == '2' then later(key) end
  end
end
table.insert(out, 1, rep)
return out
`;

/** Mark a ticket dirty: KEYS dirty zset, revisions hash; ARGV ticket id, now ms. */
const MARK = `redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1]) return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)`;

/** Done with a ticket: unless it was marked again since revision ARGV[2], it is clean. */
const ACK = `if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then redis.call('ZREM', KEYS[1], ARGV[1]) redis.call('HDEL', KEYS[2], ARGV[1]) return 1 end return 0`;

/** Release the lock only if it is still ours. */
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type IndexRedis = Redis & {
  kpiRepeatIndex(numKeys: number, ...args: (string | number)[]): Promise<(number | string)[]>;
  kpiUnlock(key: string, token: string): Promise<number>;
  kpiMark(dirty: string, revs: string, ticketId: string, now: number): Promise<number>;
  kpiAck(dirty: string, revs: string, ticketId: string, rev: string): Promise<number>;
};

const isDuplicateKey = (e: unknown): boolean => (e as { code?: number })?.code === 11000;

export interface KpiRollupOptions {
  db: Db;
  redis: Redis;
  prefix: string;
  Ticket: Model<TicketDoc>;
  log: Logger;
  clock: () => Date;
  utcOffsetMinutes: number;
  repeatWindowDays?: number;
  /** how long a ticket's lock is held at most (a stuck holder is overtaken after it) */
  lockMs?: number;
  /** how often dirty tickets are looked for, and how long after its first event a ticket waits (a burst is one recompute) */
  drainEveryMs?: number;
  debounceMs?: number;
  /** tickets recomputed at once by one process */
  concurrency?: number;
}

export class KpiRollup {
  readonly facts: Collection<KpiFactDoc>;
  readonly rollups: Collection<StoredRollup>;
  private readonly meta: Collection<MetaDoc>;
  private readonly redis: IndexRedis;
  private readonly windowMs: number;
  private readonly lockMs: number;
  private drainer: NodeJS.Timeout | null = null;
  private draining: Promise<number> | null = null;
  /** op ids done, to pull from each roll-up document (batched: one write per document) */
  private readonly toPull = new Map<string, string[]>();
  private pulling: Promise<void> | null = null;
  private unpulled = 0;
  private rebuilding: Promise<void> | null = null;
  private complete = false;
  private closed = false;

  constructor(private readonly o: KpiRollupOptions) {
    this.facts = o.db.collection<KpiFactDoc>(`kpi_facts_v${ROLLUP_VERSION}`);
    this.rollups = o.db.collection<StoredRollup>(`kpi_rollups_v${ROLLUP_VERSION}`);
    this.meta = o.db.collection<MetaDoc>('kpi_rollup_meta');
    this.windowMs = (o.repeatWindowDays ?? REPEAT_WINDOW_DAYS) * DAY;
    this.lockMs = o.lockMs ?? 60_000;
    const r = o.redis as IndexRedis;
    if (typeof r.kpiRepeatIndex !== 'function') {
      r.defineCommand('kpiRepeatIndex', { lua: REPEAT_INDEX });
      r.defineCommand('kpiUnlock', { numberOfKeys: 1, lua: UNLOCK });
      r.defineCommand('kpiMark', { numberOfKeys: 2, lua: MARK });
      r.defineCommand('kpiAck', { numberOfKeys: 2, lua: ACK });
    }
    this.redis = r;
  }

  private key(name: string): string {
    return `${this.o.prefix}:kpi:v${ROLLUP_VERSION}:${name}`;
  }

  private get dirtySet(): string {
    return this.key('dirty');
  }

  private get revisions(): string {
    return this.key('dirty-rev');
  }

  /** Redis keys of the caller index: hashed, so no phone number is kept in a key. */
  private indexKey(k: string): string {
    return this.key(`rep:${createHash('sha256').update(k).digest('base64url').slice(0, 22)}`);
  }

  /** Start draining dirty tickets and, unless the roll-ups of this version are complete, a rebuild in the background. */
  async start(opts: { rebuild?: boolean } = {}): Promise<void> {
    const meta = await this.meta.findOne({ _id: `v${ROLLUP_VERSION}` });
    this.complete = meta?.complete === true;
    if (!this.complete && opts.rebuild !== false) this.rebuilding = this.rebuild().catch((err) => this.o.log.error({ err }, 'kpi roll-up rebuild failed; reports read the tickets'));
    this.drainer = setInterval(() => void this.drain().catch((err) => this.o.log.warn({ err }, 'kpi roll-up drain failed')), this.o.drainEveryMs ?? 200);
    this.drainer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.drainer) clearInterval(this.drainer);
    await this.draining?.catch(() => undefined);
    await this.rebuilding?.catch(() => undefined);
    await this.pullDone();
  }

  /** Are the roll-ups complete (every ticket counted), so reports may read them? */
  get ready(): boolean {
    return this.complete;
  }

  /** The ticket-events handler: mark the ticket dirty (the drain recomputes it). */
  readonly handler = async (job: { ticketId: string }): Promise<void> => {
    await this.markDirty(job.ticketId);
  };

  async markDirty(ticketId: string): Promise<void> {
    await this.redis.kpiMark(this.dirtySet, this.revisions, ticketId, Date.now());
  }

  /** How many tickets wait to be recomputed (tests, monitoring). */
  dirtyCount(): Promise<number> {
    return this.redis.zcard(this.dirtySet);
  }

  /**
   * Recompute the dirty tickets whose first mark is older than the debounce (one pass at a time
   * per process; several processes share the work through the per-ticket locks). A ticket that
   * fails stays dirty and is tried again a few seconds later. Returns how many were done.
   */
  drain(): Promise<number> {
    if (this.draining) return this.draining;
    this.draining = this.drainOnce().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async drainOnce(): Promise<number> {
    let done = 0;
    for (;;) {
      if (this.closed) break;
      const ids = await this.redis.zrangebyscore(this.dirtySet, '-inf', Date.now() - (this.o.debounceMs ?? 300), 'LIMIT', 0, 100);
      if (ids.length === 0) break;
      const revs = await this.redis.hmget(this.revisions, ...ids);
      const queue = ids.map((id, i) => [id, revs[i] ?? ''] as const);
      const work = async (): Promise<void> => {
        for (let next = queue.shift(); next; next = queue.shift()) {
          const [id, rev] = next;
          try {
            await this.recompute(id);
            await this.redis.kpiAck(this.dirtySet, this.revisions, id, rev);
            done += 1;
          } catch (err) {
            this.o.log.warn({ err, ticketId: id }, 'kpi facts of a ticket failed; retried shortly');
            await this.redis.zadd(this.dirtySet, 'XX', Date.now() + 5_000, id);
          }
        }
      };
      await Promise.all(Array.from({ length: this.o.concurrency ?? 2 }, work));
      if (ids.length < 100) break;
    }
    await this.pullDone();
    return done;
  }


  /** A Redis lock on `name` (a ticket id, or `doc:<roll-up id>`) around f. */
  private async withLock<T>(name: string, f: () => Promise<T>): Promise<T> {
    const key = this.key(`lock:${name}`);
    const token = new Types.ObjectId().toHexString();
    const until = Date.now() + 15_000;
    while ((await this.redis.set(key, token, 'PX', this.lockMs, 'NX')) !== 'OK') {
      if (Date.now() > until) throw new Error(`kpi roll-up lock ${name} is held too long`);
      await new Promise((r) => setTimeout(r, 20));
    }
    try {
      return await f();
    } finally {
      await this.redis.kpiUnlock(key, token).catch(() => undefined);
    }
  }

  /**
   * Bring a ticket's facts and the roll-ups up to date with the ticket as stored. Idempotent.
   * Returns whether anything changed.
   */
  async recompute(ticketId: string, cascade = true): Promise<boolean> {
    if (!Types.ObjectId.isValid(ticketId)) return false;
    const { changed, later } = await this.withLock(ticketId, () => this.recomputeLocked(ticketId));
    if (cascade) for (const id of later) await this.recompute(id, false);
    return changed;
  }

  private async recomputeLocked(ticketId: string): Promise<{ changed: boolean; later: string[] }> {
    let fact = await this.facts.findOne({ _id: ticketId });
    if (fact?.pending) {
      await this.settle(ticketId, fact.pending);
      fact = await this.facts.findOne({ _id: ticketId });
    }
    const tk = await this.o.Ticket.collection.findOne(
      { _id: new Types.ObjectId(ticketId) },
      { projection: { ...TICKET_KPI_PROJECTION, version: 1 } },
    );
    if (!tk) return { changed: false, later: [] };
    const ticket = tk as unknown as KpiTicket & { version: number };
    if (fact && ticket.version < fact.v) return { changed: false, later: [] };

    const now = this.o.clock();
    const created = new Date(ticket.createdAt).getTime();
    const keys = repeatKeys(ticket).map((k) => this.indexKey(k));
    const old = fact?.rk ?? [];
    const all = [...new Set([...keys, ...old])];
    let repeat = false;
    let later: string[] = [];
    if (all.length > 0) {
      const expireAt = Math.max(now.getTime(), created) + this.windowMs + 2 * DAY;
      const res = await this.redis.kpiRepeatIndex(all.length, ...all, ticketId, created, this.windowMs, expireAt, ...all.map((k) => (!keys.includes(k) ? '0' : old.includes(k) ? '1' : '2')));
      repeat = Number(res[0]) === 1;
      later = res.slice(1).map(String);
    }
    const next = ticketFacts(ticket, now, repeat, this.o.utcOffsetMinutes);
    const delta = factDelta(fact?.c ?? [], next);
    const sameKeys = old.length === keys.length && old.every((k) => keys.includes(k));
    if (fact && delta.length === 0 && sameKeys) return { changed: false, later };

    const rev = (fact?.rev ?? 0) + 1;
    const pending = delta.length > 0 ? { op: `${ticketId}:${rev}`, d: delta, at: now } : undefined;
    const doc: Omit<KpiFactDoc, '_id'> = { v: ticket.version, rev, c: next, rk: keys, at: now, ...(pending ? { pending } : {}) };
    if (!fact) {
      try {
        await this.facts.insertOne({ _id: ticketId, ...doc });
      } catch (e) {
        if (isDuplicateKey(e)) throw new Error(`kpi facts of ticket ${ticketId} were written concurrently`);
        throw e;
      }
    } else {
      const r = await this.facts.updateOne({ _id: ticketId, rev: fact.rev }, pending ? { $set: doc } : { $set: doc, $unset: { pending: '' } });
      if (r.matchedCount === 0) throw new Error(`kpi facts of ticket ${ticketId} changed concurrently`);
    }
    if (pending) await this.settle(ticketId, pending);
    return { changed: delta.length > 0, later };
  }

  /** Add a pending delta to the roll-ups once, then clear it. */
  private async settle(ticketId: string, pending: NonNullable<KpiFactDoc['pending']>): Promise<void> {
    const incs = rollupIncrements(pending.d);
    const op = pending.op;
    await Promise.all([...incs].map(([id, inc]) => this.applyOnce(id, op, inc)));
    await this.facts.updateOne({ _id: ticketId, 'pending.op': op }, { $unset: { pending: '' } });
    // after the pending delta is gone, nothing can apply it again: the op ids may go
    for (const id of incs.keys()) {
      const list = this.toPull.get(id);
      if (list) list.push(op);
      else this.toPull.set(id, [op]);
    }
    this.unpulled += 1;
    // outside a drain (rebuild, direct calls) keep the documents' op lists short too
    if (this.unpulled >= 50) await this.pullDone();
  }

  /**
   * Add one op's increments to a roll-up document, once. Under a per-document Redis lock: FerretDB
   * v1 does not apply even a single-document update atomically (4 writers × 200 `$inc` on one
   * document ended at 452 in bench/kpis), so every writer of a roll-up document takes the lock;
   * the revision check is a second guard where the database honours it (MongoDB).
   */
  private async applyOnce(id: string, op: string, inc: Record<string, number>): Promise<void> {
    await this.withLock(`doc:${id}`, async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const doc = await this.rollups.findOne({ _id: id });
        if (doc?.ops?.includes(op)) return;
        const g = doc?.g ? (JSON.parse(doc.g) as Record<string, CodedCounts>) : {};
        for (const path in inc) {
          const [, k, code] = path.split('.') as [string, string, string];
          const c = (g[k] ??= {});
          c[code] = (c[code] ?? 0) + inc[path]!;
          if (c[code] === 0) delete c[code];
          if (Object.keys(c).length === 0) delete g[k];
        }
        const body = JSON.stringify(g);
        if (!doc) {
          try {
            await this.rollups.insertOne({ _id: id, g: body, ops: [op], rev: 1 });
            return;
          } catch (e) {
            if (isDuplicateKey(e)) continue;
            throw e;
          }
        }
        const r = await this.rollups.updateOne({ _id: id, rev: doc.rev }, { $set: { g: body, rev: doc.rev + 1 }, $push: { ops: op } });
        if (r.matchedCount === 1) return;
      }
      throw new Error(`kpi roll-up ${id} changed concurrently`);
    });
  }

  /** Pull the op ids of finished deltas from the roll-up documents (after each drain, and at close). */
  async pullDone(): Promise<void> {
    while (this.pulling) await this.pulling;
    if (this.toPull.size === 0) return;
    const batch = [...this.toPull];
    this.toPull.clear();
    this.unpulled = 0;
    this.pulling = Promise.all(batch.map(([id, ops]) => this.withLock(`doc:${id}`, () => this.rollups.updateOne({ _id: id }, { $pullAll: { ops } }))))
      .then(() => undefined)
      .catch((err) => this.o.log.warn({ err }, 'kpi roll-up op ids not pulled (harmless: they never match again)'))
      .finally(() => {
        this.pulling = null;
      });
    await this.pulling;
  }

  /**
   * Recompute every ticket (in `_id` order, resuming where a previous run stopped), then mark the
   * roll-ups complete. One instance at a time (a Redis lease); safe next to live events.
   */
  async rebuild(): Promise<void> {
    const lease = this.key('rebuild');
    const token = new Types.ObjectId().toHexString();
    for (;;) {
      if (this.closed) return;
      if ((await this.redis.set(lease, token, 'PX', 60_000, 'NX')) === 'OK') break;
      // another instance rebuilds: wait for it to finish (or die and let its lease lapse)
      await new Promise((r) => setTimeout(r, 1000));
      const meta = await this.meta.findOne({ _id: `v${ROLLUP_VERSION}` });
      if (meta?.complete) {
        this.complete = true;
        return;
      }
    }
    try {
      const id = `v${ROLLUP_VERSION}`;
      const meta = await this.meta.findOne({ _id: id });
      if (meta?.complete) {
        this.complete = true;
        return;
      }
      let after = meta?.after ?? null;
      const started = Date.now();
      let n = 0;
      let renewed = Date.now();
      for (;;) {
        if (this.closed) return;
        const batch = await this.o.Ticket.collection
          .find(after ? { _id: { $gt: new Types.ObjectId(after) } } : {}, { projection: { _id: 1 } })
          .sort({ _id: 1 })
          .limit(500)
          .toArray();
        if (batch.length === 0) break;
        for (const d of batch) {
          if (this.closed) return;
          await this.recompute(String(d._id));
          if (Date.now() - renewed > 10_000) {
            await this.redis.pexpire(lease, 60_000);
            renewed = Date.now();
          }
        }
        after = String(batch[batch.length - 1]!._id);
        n += batch.length;
        await this.meta.updateOne({ _id: id }, { $set: { after, complete: false, at: new Date() } }, { upsert: true });
      }
      await this.meta.updateOne({ _id: id }, { $set: { complete: true, after, at: new Date() } }, { upsert: true });
      this.complete = true;
      this.o.log.info({ tickets: n, ms: Date.now() - started }, 'kpi roll-ups rebuilt');
    } finally {
      await this.redis.kpiUnlock(lease, token).catch(() => undefined);
    }
  }

  /** The report from the roll-ups, or null when they cannot answer it (range not whole city days, or not complete yet). */
  async read(range: KpiRange, opts: KpiOptions): Promise<KpiBreakdown | null> {
    if (!this.complete) {
      const meta = await this.meta.findOne({ _id: `v${ROLLUP_VERSION}` });
      if (!meta?.complete) return null;
      this.complete = true;
    }
    const plan = rollupPlan(range, opts, this.o.utcOffsetMinutes);
    if (!plan) return null;
    const stored = await this.rollups.find({ _id: { $in: plan } }, { projection: { g: 1 } }).toArray();
    const docs: RollupDoc[] = stored.map((d) => ({ _id: d._id, g: d.g ? (JSON.parse(d.g) as Record<string, CodedCounts>) : {} }));
    return rollupBreakdown(docs, range, { ...opts, utcOffsetMinutes: this.o.utcOffsetMinutes });
  }
}
