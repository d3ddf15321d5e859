// Registrations in Redis, shared by several telephony instances (issue #4).
//
// Keys (the prefix should carry a hash tag, e.g. '{hotline}:sip', so that every key lands in
// one Redis Cluster slot and the scripts may touch several of them):
//   <prefix>:b:<aor>   hash: field = Contact URI as registered, value = the Binding as JSON.
//                      Key TTL = the latest expiry among its bindings, so a dead AOR vanishes.
//   <prefix>:aors      sorted set: member = AOR, score = the latest expiresAt (epoch ms) among
//                      its bindings. Answers "who is registered" without scanning keys; a member
//                      whose score is in the past is not registered (pruned lazily).
//
// Every write goes through a Lua script that rewrites the hash and then recomputes the key TTL
// and the index score from what is left, so concurrent REGISTERs of one AOR on two instances
// never leave the index or the TTL stale. Expired entries are ignored and removed on read
// (atomically: a binding refreshed by another instance in the meantime is never deleted).
//
// Time is the caller's clock (the `now` arguments and Binding.expiresAt/updatedAt), not the
// Redis server's: TTLs are set as durations (PEXPIRE expiresAt - now), never as absolute times.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Binding, BindingStore } from './binding-store.js';

// Shared by all scripts: drop expired fields of KEYS[1] (as of `now`), then set the TTL of the
// hash and the AOR's score in KEYS[2] from the latest remaining expiry (or delete both).
// Returns the remaining values (JSON) in `live`.
const RECOMPUTE = `
local function recompute(hash, index, aor, now)
  local all = redis.call('HGETALL', hash)
  local live = {}
  local maxExp = 0
  for i = 1, #all, 2 do
    local ok, b = pcall(cjson.decode, all[i + 1])
    local exp = (ok and type(b) == 'table' and tonumber(b.expiresAt)) or 0
    if exp <= now then
      redis.call('HDEL', hash, all[i])
    else
      live[#live + 1] = all[i + 1]
      if exp > maxExp then maxExp = exp end
    end
  end
  if maxExp > 0 then
    redis.call('PEXPIRE', hash, math.ceil(maxExp - now))
    redis.call('ZADD', index, maxExp, aor)
  else
    redis.call('DEL', hash)
    redis.call('ZREM', index, aor)
  end
  return live
end
`;

/** KEYS: hash, index. ARGV: aor, contact, json, now */
const PUT = `${RECOMPUTE}
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
recompute(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[4]))
return 1
`;

/** KEYS: hash, index. ARGV: aor, contact, now */
const REMOVE = `${RECOMPUTE}
local n = redis.call('HDEL', KEYS[1], ARGV[2])
recompute(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[3]))
return n
`;

/**
 * KEYS: hash, index. ARGV: aor, now. Unexpired values; removes expired ones. Read-only (no
 * recompute) when nothing has expired, which is the common case.
 */
const LIST = `${RECOMPUTE}
local now = tonumber(ARGV[2])
local vals = redis.call('HVALS', KEYS[1])
for _, v in ipairs(vals) do
  local ok, b = pcall(cjson.decode, v)
  local exp = (ok and type(b) == 'table' and tonumber(b.expiresAt)) or 0
  if exp <= now then
    return recompute(KEYS[1], KEYS[2], ARGV[1], now)
  end
end
if #vals == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return vals
`;

/** KEYS: index. ARGV: now, prefix of the hash keys. Recomputes every AOR whose score has passed. */
const PURGE = `${RECOMPUTE}
local now = tonumber(ARGV[1])
local aors = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, aor in ipairs(aors) do
  recompute(ARGV[2] .. aor, KEYS[1], aor, now)
end
return #aors
`;

interface Script {
  src: string;
  sha: string;
}
const script = (src: string): Script => ({ src, sha: createHash('sha1').update(src).digest('hex') });
const SCRIPTS = { put: script(PUT), remove: script(REMOVE), list: script(LIST), purge: script(PURGE) };

export interface RedisBindingStoreOptions {
  /** clock for operations that get no `now` (remove, removeAll); default Date.now */
  now?: () => number;
}

export class RedisBindingStore implements BindingStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #now: () => number;

  /**
   * @param redis an ioredis client (shared with the rest of the process is fine)
   * @param prefix key prefix, e.g. '{hotline}:sip'; instances that share bindings share it
   */
  constructor(redis: Redis, prefix: string, options: RedisBindingStoreOptions = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#now = options.now ?? Date.now;
  }

  #hash(aor: string): string {
    return `${this.#prefix}:b:${aor}`;
  }

  get #index(): string {
    return `${this.#prefix}:aors`;
  }

  /** EVALSHA, falling back to EVAL once when the server does not have the script cached */
  async #run(s: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.#redis.evalsha(s.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return this.#redis.eval(s.src, keys.length, ...keys, ...args);
    }
  }

  async list(aor: string, now: number): Promise<Binding[]> {
    const vals = (await this.#run(SCRIPTS.list, [this.#hash(aor), this.#index], [aor, now])) as string[];
    const out: Binding[] = [];
    for (const v of vals) {
      try {
        const b = JSON.parse(v) as Binding;
        // the script compared with the same `now`; re-checked for the (float) edge
        if (b.expiresAt > now) out.push(b);
      } catch {
        // an unparseable entry is skipped (the scripts treat it as expired and remove it)
      }
    }
    return out;
  }

  async put(binding: Binding): Promise<void> {
    // `updatedAt` is the registrar's clock at the time of the REGISTER: the TTL is relative to it
    await this.#run(
      SCRIPTS.put,
      [this.#hash(binding.aor), this.#index],
      [binding.aor, binding.contact, JSON.stringify(binding), binding.updatedAt],
    );
  }

  async remove(aor: string, contact: string): Promise<void> {
    await this.#run(SCRIPTS.remove, [this.#hash(aor), this.#index], [aor, contact, this.#now()]);
  }

  async removeAll(aor: string): Promise<void> {
    await this.#redis.multi().del(this.#hash(aor)).zrem(this.#index, aor).exec();
  }

  /** Whether the AOR has at least one binding unexpired at `now`. */
  async isRegistered(aor: string, now: number): Promise<boolean> {
    const score = await this.#redis.zscore(this.#index, aor);
    return score !== null && Number(score) > now;
  }

  /**
   * AORs with at least one binding unexpired at `now`, for reconciling agent presence with
   * registration (an agent "available" whose AOR is not in here has no reachable phone).
   */
  async registeredUsers(now: number): Promise<string[]> {
    return this.#redis.zrangebyscore(this.#index, `(${now}`, '+inf');
  }

  /** AORs among `aors` with no binding unexpired at `now` (one round trip). */
  async unregistered(aors: readonly string[], now: number): Promise<string[]> {
    if (aors.length === 0) return [];
    const scores = await this.#redis.zmscore(this.#index, ...aors);
    return aors.filter((_, i) => {
      const s = scores[i];
      return s === null || s === undefined || Number(s) <= now;
    });
  }

  /** Removes expired bindings of every AOR whose latest expiry has passed; returns how many AORs were checked. */
  async purgeExpired(now: number): Promise<number> {
    return Number(await this.#run(SCRIPTS.purge, [this.#index], [now, `${this.#prefix}:b:`]));
  }
}
