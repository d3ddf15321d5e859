// Where registrations live. The registrar only talks to this interface.
// Issue #4 moves it to Redis so several engine/telephony instances share the bindings (and the
// ACD can reconcile agent state with registration expiry); the in-memory store below is for a
// single process and for tests.

export interface Binding {
  /** address of record, `sip:<user>@<realm>` */
  aor: string;
  /** the Contact URI the phone registered, as sent */
  contact: string;
  /** epoch ms */
  expiresAt: number;
  callId: string;
  cseq: number;
  /** where the REGISTER came from (the phone's real address behind NAT) */
  source: { protocol: string; address: string; port: number };
  userAgent?: string;
  updatedAt: number;
}

export interface BindingStore {
  /** unexpired bindings of one AOR */
  list(aor: string, now: number): Promise<Binding[]>;
  /** insert or replace the binding with the same (aor, contact) */
  put(binding: Binding): Promise<void>;
  remove(aor: string, contact: string): Promise<void>;
  removeAll(aor: string): Promise<void>;
}

export class InMemoryBindingStore implements BindingStore {
  readonly #byAor = new Map<string, Map<string, Binding>>();

  async list(aor: string, now: number): Promise<Binding[]> {
    const m = this.#byAor.get(aor);
    if (!m) return [];
    for (const [contact, b] of m) if (b.expiresAt <= now) m.delete(contact);
    if (m.size === 0) this.#byAor.delete(aor);
    return [...m.values()].map((b) => ({ ...b, source: { ...b.source } }));
  }

  async put(binding: Binding): Promise<void> {
    let m = this.#byAor.get(binding.aor);
    if (!m) this.#byAor.set(binding.aor, (m = new Map()));
    m.set(binding.contact, { ...binding, source: { ...binding.source } });
  }

  async remove(aor: string, contact: string): Promise<void> {
    const m = this.#byAor.get(aor);
    m?.delete(contact);
    if (m && m.size === 0) this.#byAor.delete(aor);
  }

  async removeAll(aor: string): Promise<void> {
    this.#byAor.delete(aor);
  }

  /** drops expired bindings of every AOR (call it from a timer) */
  purgeExpired(now: number): number {
    let n = 0;
    for (const [aor, m] of this.#byAor) {
      for (const [contact, b] of m) if (b.expiresAt <= now) (m.delete(contact), n++);
      if (m.size === 0) this.#byAor.delete(aor);
    }
    return n;
  }
}
