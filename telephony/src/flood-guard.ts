// Per-source request budget, shared by the registrar (REGISTER) and the call relay (INVITE,
// OPTIONS…): a source over `perSecond` out-of-dialog requests is answered 503 + Retry-After
// before any work is done for it. The carrier's SBC (`trustedSources`) carries every caller's
// traffic and is never limited. Refusals are reported once per source per 10 s (for the log),
// so a flood cannot flood the log too.
import { RateLimiterMemory } from 'rate-limiter-flexible';

export interface FloodOptions {
  /** requests per second and source; 0 turns limiting off */
  perSecond: number;
  trustedSources?: readonly string[];
}

const REPORT_EVERY_MS = 10_000;
const MAX_SOURCES_REMEMBERED = 10_000;

export class FloodGuard {
  readonly #limiter: RateLimiterMemory | null;
  readonly #trusted: ReadonlySet<string>;
  readonly #reported = new Map<string, number>();

  constructor(
    o: FloodOptions | undefined,
    /** called for the first refusal of a source in 10 s */
    private readonly report: (source: string, method: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    const perSecond = o?.perSecond ?? 50;
    this.#limiter = perSecond > 0 ? new RateLimiterMemory({ points: perSecond, duration: 1 }) : null;
    this.#trusted = new Set(o?.trustedSources ?? []);
  }

  /** Whether requests of this source are counted at all (limiting on, source not trusted). */
  applies(source: string): boolean {
    return this.#limiter !== null && !this.#trusted.has(source);
  }

  /** Spends one request of the source's budget: true when it was over it (answer 503). */
  async over(source: string, method: string): Promise<boolean> {
    if (!this.#limiter || !this.applies(source)) return false;
    try {
      await this.#limiter.consume(source);
      return false;
    } catch {
      const last = this.#reported.get(source) ?? 0;
      if (this.now() - last > REPORT_EVERY_MS) {
        if (this.#reported.size >= MAX_SOURCES_REMEMBERED) this.#reported.clear();
        this.#reported.set(source, this.now());
        this.report(source, method);
      }
      return true;
    }
  }
}
