// Counts authentication failures per source IP in a sliding window. At `limit` failures within
// `windowMs` the source is blocked until the oldest of them leaves the window; while blocked its
// REGISTERs are refused (403) without any digest work, and those refusals are not counted (so a
// persistent guesser gets at most `limit` guesses per window). Memory is bounded by `maxTracked`.
// Per process for now: with several instances this moves to Redis with the bindings (issue #4).

export interface FailureLimiterOptions {
  limit: number;
  windowMs: number;
  maxTracked?: number;
}

export class FailureLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxTracked: number;
  readonly #failures = new Map<string, number[]>();

  constructor(o: FailureLimiterOptions) {
    if (o.limit < 1 || o.windowMs <= 0) throw new Error('invalid failure limiter settings');
    this.#limit = o.limit;
    this.#windowMs = o.windowMs;
    this.#maxTracked = o.maxTracked ?? 10_000;
  }

  #recent(ip: string, now: number): number[] {
    const list = (this.#failures.get(ip) ?? []).filter((t) => now - t < this.#windowMs);
    if (list.length === 0) this.#failures.delete(ip);
    else this.#failures.set(ip, list);
    return list;
  }

  isBlocked(ip: string, now: number): boolean {
    return this.#recent(ip, now).length >= this.#limit;
  }

  /** records one failure; returns the count in the window and whether this one reached the limit */
  recordFailure(ip: string, now: number): { count: number; nowBlocked: boolean } {
    const list = this.#recent(ip, now);
    list.push(now);
    if (list.length > this.#limit) list.splice(0, list.length - this.#limit);
    this.#failures.delete(ip); // re-insert: Map order = least recently failed first
    this.#failures.set(ip, list);
    this.#evict(now);
    return { count: list.length, nowBlocked: list.length === this.#limit };
  }

  get trackedSources(): number {
    return this.#failures.size;
  }

  #evict(now: number): void {
    if (this.#failures.size <= this.#maxTracked) return;
    for (const ip of [...this.#failures.keys()]) {
      this.#recent(ip, now);
      if (this.#failures.size <= this.#maxTracked) return;
    }
    while (this.#failures.size > this.#maxTracked) {
      const first = this.#failures.keys().next();
      if (first.done) break;
      this.#failures.delete(first.value);
    }
  }
}
