// SIP registrar for agents' phones: UDP only (TCP off, TELEPHONY-NOTES defect 6), on the
// patched `sip@0.0.6` stack (patches/sip+0.0.6.patch). See telephony/README.md.
//
// Answers: REGISTER (digest auth, bindings with expiry), OPTIONS 200, CANCEL 481, ACK nothing,
// other known methods 405 with Allow, unknown methods 501. Every request gets a final response
// (defect 4: an unanswered request would hold a transaction forever).
import { randomBytes } from 'node:crypto';
import sip, { type SipAor, type SipMessage, type SipRemote } from 'sip';
import { InMemoryBindingStore, type Binding, type BindingStore } from './binding-store.js';
import {
  NonceIssuer,
  readDigestFields,
  verifyDigest,
  type CredentialLookup,
  type Credentials,
  type DigestFields,
} from './digest.js';
import { FailureLimiter } from './failure-limiter.js';
import { FloodGuard, type FloodOptions } from './flood-guard.js';
import { ownAddressSet, sipAddressOf } from './gateways.js';
import { silentLogger, startSipStack, type RunningStack, type SipLogger } from './sip-stack.js';

export type RegistrarLogger = SipLogger;

export interface RegistrarOptions {
  /** IP address to bind (loopback in tests; the adapter's signalling address in production) */
  address: string;
  port: number;
  /** digest realm, also the host part of the AORs the registrar keys bindings by */
  realm: string;
  lookupCredentials: CredentialLookup;
  store?: BindingStore;
  logger?: RegistrarLogger;
  now?: () => number;
  /** used when neither the contact nor the request says (seconds) */
  defaultExpires?: number;
  /** shorter non-zero requests get 423 Interval Too Brief with Min-Expires (seconds) */
  minExpires?: number;
  /** longer requests are cut down to this (seconds) */
  maxExpires?: number;
  nonceTtlMs?: number;
  /** share it between instances so any of them accepts a nonce another issued */
  nonceSecret?: Buffer;
  /** authentication failures per source IP per window before that IP is refused */
  failureLimit?: number;
  failureWindowMs?: number;
  /** UDP datagrams larger than this are dropped before parsing (bytes) */
  maxMessageSize?: number;
  maxContactsPerAor?: number;
  /** credential lookup slower than this gets 503 Retry-After */
  lookupTimeoutMs?: number;
  /**
   * Requests per source IP per second (before any parsing of credentials or Redis work); beyond
   * it: 503 Retry-After, as the call relay answers a flood (default 50; 0: off). Sources in
   * `trustedSources` (the carrier's SBC) are not limited.
   */
  flood?: FloodOptions;
  /**
   * Our own SIP address(es) (`host:port`, the adapter's signalling address): a Contact naming one
   * of them is refused with 403, since a call to it would come back to us (TELEPHONY-NOTES defect 1).
   */
  ownAddresses?: readonly string[];
}

export interface RegistrarStats {
  requests: number;
  challenges: number;
  registrations: number;
  unregistrations: number;
  authFailures: number;
  rateLimited: number;
  /** requests answered 503 by the per-source flood limit */
  floodLimited: number;
  oversizeDropped: number;
  errors: number;
}

export interface Registrar {
  readonly address: string;
  readonly port: number;
  readonly realm: string;
  readonly store: BindingStore;
  readonly stats: Readonly<RegistrarStats>;
  /** `sip:<user>@<realm>` */
  aorOf(user: string): string;
  isBlocked(ip: string): boolean;
  stop(): Promise<void>;
}

const ALLOW = 'REGISTER, OPTIONS, ACK, CANCEL';
/** methods we recognise but do not serve here: 405; anything else: 501 (RFC 3261 §8.2.1) */
const KNOWN_METHODS = new Set([
  'INVITE', 'BYE', 'PRACK', 'UPDATE', 'INFO', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'PUBLISH',
]);


class SipError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: Record<string, unknown> = {},
  ) {
    super(`${status} ${reason}`);
  }
}

function uriString(u: SipAor['uri'] | undefined): string {
  if (u === undefined) return '';
  return typeof u === 'string' ? u : sip.stringifyUri(u);
}

function parseSeconds(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const s = String(v).trim();
  if (!/^\d{1,10}$/.test(s)) throw new SipError(400, 'Bad Expires');
  return Number(s);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SipError(503, 'Service Unavailable', { 'retry-after': '5' })), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** The registrar without a socket: `handle` serves REGISTER (and the other methods when alone on a port). */
export interface RegistrarHandler {
  readonly realm: string;
  readonly store: BindingStore;
  readonly stats: Readonly<RegistrarStats>;
  aorOf(user: string): string;
  isBlocked(ip: string): boolean;
  handle(rq: SipMessage, remote: SipRemote): Promise<void>;
  countOversize(): void;
}

export function createRegistrar(o: Omit<RegistrarOptions, 'address' | 'port'>, send: (m: SipMessage) => void): RegistrarHandler {
  const now = o.now ?? Date.now;
  const log = o.logger ?? silentLogger;
  const store = o.store ?? new InMemoryBindingStore();
  const defaultExpires = o.defaultExpires ?? 3600;
  const minExpires = o.minExpires ?? 60;
  const maxExpires = o.maxExpires ?? 7200;
  const maxContacts = o.maxContactsPerAor ?? 10;
  const lookupTimeoutMs = o.lookupTimeoutMs ?? 2000;
  const nonces = new NonceIssuer(o.nonceSecret ?? randomBytes(32), o.nonceTtlMs ?? 300_000);
  const limiter = new FailureLimiter({ limit: o.failureLimit ?? 5, windowMs: o.failureWindowMs ?? 60_000 });
  const stats: RegistrarStats = {
    requests: 0, challenges: 0, registrations: 0, unregistrations: 0,
    authFailures: 0, rateLimited: 0, floodLimited: 0, oversizeDropped: 0, errors: 0,
  };
  // the method and source only in the log (never credentials)
  const flood = new FloodGuard(o.flood, (source, method) => log.warn({ event: 'register.rate_limited', source, method }, 'too many requests from one source: 503'), now);
  const ownAddresses = ownAddressSet(o.ownAddresses ?? []);
  const aorOf = (user: string) => `sip:${user}@${o.realm}`;
  const toTag = randomBytes(8).toString('hex');

  function respond(rq: SipMessage, status: number, reason: string, headers: Record<string, unknown> = {}): void {
    const to = rq.headers.to;
    const rs = sip.makeResponse(rq, status, reason, {
      headers: {
        // a UAS adds a To tag to its final responses (RFC 3261 §8.2.6.2)
        to: to && !to.params?.tag ? { ...to, params: { ...to.params, tag: toTag } } : to,
        server: 'hotline-12345-registrar',
        ...headers,
      },
    });
    send(rs);
  }

  function failAuth(rq: SipMessage, remote: SipRemote, username: string | undefined, reason: string): never {
    stats.authFailures++;
    const { count, nowBlocked } = limiter.recordFailure(remote.address, now());
    // never the password, the digest response, the nonce or cnonce
    log.warn(
      { event: 'register.auth_failed', source: remote.address, port: remote.port, username, reason, failuresInWindow: count },
      'REGISTER authentication failed',
    );
    if (nowBlocked) {
      log.warn({ event: 'register.source_blocked', source: remote.address, failuresInWindow: count }, 'source blocked after repeated authentication failures');
    }
    throw new SipError(403, 'Forbidden');
  }

  function challenge(stale: boolean): never {
    stats.challenges++;
    const h: Record<string, string> = {
      scheme: 'Digest',
      realm: `"${o.realm}"`,
      nonce: `"${nonces.issue(now())}"`,
      algorithm: 'MD5',
      qop: '"auth"',
    };
    if (stale) h.stale = 'TRUE';
    throw new SipError(401, 'Unauthorized', { 'www-authenticate': [h] });
  }

  async function authenticate(rq: SipMessage, remote: SipRemote, toUser: string): Promise<string> {
    const auths = rq.headers.authorization ?? [];
    let fields: DigestFields | undefined;
    for (const a of auths) {
      const f = readDigestFields(a);
      if (f && f.realm === o.realm) {
        fields = f;
        break;
      }
    }
    if (!fields) {
      if (auths.length > 0) failAuth(rq, remote, undefined, 'unusable_authorization');
      challenge(false);
    }
    let creds: Credentials | null;
    try {
      creds = await withTimeout(o.lookupCredentials(fields.username), lookupTimeoutMs);
    } catch (e) {
      log.error({ event: 'register.lookup_failed', username: fields.username, err: String(e) }, 'credential lookup failed');
      throw e instanceof SipError ? e : new SipError(503, 'Service Unavailable', { 'retry-after': '5' });
    }
    if (fields.uri !== uriString(rq.uri)) failAuth(rq, remote, fields.username, 'digest_uri_mismatch');
    if (!verifyDigest(creds, o.realm, 'REGISTER', fields)) failAuth(rq, remote, fields.username, 'bad_credentials');
    if (fields.username !== toUser) failAuth(rq, remote, fields.username, 'aor_not_owned');
    const nonce = nonces.check(fields.nonce, now());
    // right password on an expired (or pre-restart) nonce: new challenge, stale=TRUE, no failure
    if (nonce !== 'valid') challenge(true);
    return fields.username;
  }

  async function register(rq: SipMessage, remote: SipRemote): Promise<void> {
    if (limiter.isBlocked(remote.address, now())) {
      stats.rateLimited++;
      throw new SipError(403, 'Forbidden');
    }
    const toUri = sip.parseUri(uriString(rq.headers.to?.uri));
    if (!toUri || !/^sips?$/.test(toUri.schema) || !toUri.user) throw new SipError(400, 'Bad To');
    const user = decodeURIComponent(toUri.user);
    await authenticate(rq, remote, user);
    const aor = aorOf(user);
    const t = now();
    const callId = String(rq.headers['call-id']);
    const cseq = rq.headers.cseq?.seq ?? 0;
    const headerExpires = parseSeconds(rq.headers.expires);
    const contacts = rq.headers.contact;
    const list = contacts === undefined ? [] : contacts === '*' ? [{ uri: '*', params: {} } as SipAor] : contacts;

    if (list.some((c) => uriString(c.uri) === '*')) {
      if (list.length !== 1 || headerExpires !== 0) throw new SipError(400, 'Invalid Wildcard Contact');
      const existing = await store.list(aor, t);
      if (existing.some((b) => b.callId === callId && b.cseq >= cseq)) throw new SipError(500, 'Out Of Order CSeq');
      await store.removeAll(aor);
      stats.unregistrations += existing.length;
      log.info({ event: 'register.unregister_all', aor, source: remote.address }, 'all bindings removed');
    } else if (list.length > 0) {
      const existing = new Map((await store.list(aor, t)).map((b) => [b.contact, b]));
      const changes: Array<{ contact: string; expires: number }> = [];
      for (const c of list) {
        const contact = uriString(c.uri);
        const target = sipAddressOf(contact);
        if (!target) throw new SipError(400, 'Bad Contact');
        if (ownAddresses.has(target)) {
          // a call to this contact would be sent to ourselves (defect 1): refuse it, loudly
          log.warn({ event: 'register.own_address_contact', aor, contact, source: remote.address }, 'Contact names our own SIP address: refused');
          throw new SipError(403, 'Contact Is The Registrar Itself');
        }
        let expires = parseSeconds(c.params?.expires) ?? headerExpires ?? defaultExpires;
        if (expires > 0 && expires < minExpires) {
          throw new SipError(423, 'Interval Too Brief', { 'min-expires': String(minExpires) });
        }
        expires = Math.min(expires, maxExpires);
        const old = existing.get(contact);
        if (old && old.callId === callId && old.cseq >= cseq) throw new SipError(500, 'Out Of Order CSeq');
        changes.push({ contact, expires });
      }
      const added = changes.filter((c) => c.expires > 0 && !existing.has(c.contact)).length;
      const removed = changes.filter((c) => c.expires === 0 && existing.has(c.contact)).length;
      if (existing.size + added - removed > maxContacts) throw new SipError(403, 'Too Many Contacts');
      for (const c of changes) {
        if (c.expires === 0) {
          if (existing.has(c.contact)) stats.unregistrations++;
          await store.remove(aor, c.contact);
          log.info({ event: 'register.unregister', aor, contact: c.contact, source: remote.address }, 'binding removed');
        } else {
          const b: Binding = {
            aor, contact: c.contact, expiresAt: t + c.expires * 1000, callId, cseq,
            source: { protocol: remote.protocol, address: remote.address, port: remote.port },
            updatedAt: t,
          };
          const ua = rq.headers['user-agent'];
          if (typeof ua === 'string') b.userAgent = ua.slice(0, 200);
          await store.put(b);
          stats.registrations++;
          log.info({ event: 'register.ok', aor, contact: c.contact, expires: c.expires, source: remote.address }, 'binding stored');
        }
      }
    }
    // 200 lists every current binding with its remaining time (also answers a query: no Contact)
    const current = await store.list(aor, now());
    const headers: Record<string, unknown> = { date: new Date(now()).toUTCString() };
    if (current.length > 0) {
      headers.contact = current.map((b) => ({
        uri: b.contact,
        params: { expires: String(Math.max(0, Math.round((b.expiresAt - now()) / 1000))) },
      }));
    }
    respond(rq, 200, 'OK', headers);
  }

  /** true: this source is over its rate, the request was answered 503 */
  async function flooded(rq: SipMessage, remote: SipRemote): Promise<boolean> {
    if (!(await flood.over(remote.address, rq.method ?? ''))) return false;
    stats.floodLimited++;
    respond(rq, 503, 'Service Unavailable', { 'retry-after': '5' });
    return true;
  }

  async function handle(rq: SipMessage, remote: SipRemote): Promise<void> {
    const method = rq.method ?? '';
    if (method === 'ACK') return; // never answered
    stats.requests++;
    if (await flooded(rq, remote)) return;
    try {
      if (method === 'REGISTER') await register(rq, remote);
      else if (method === 'OPTIONS') respond(rq, 200, 'OK', { allow: ALLOW, accept: 'application/sdp' });
      else if (method === 'CANCEL') respond(rq, 481, 'Call/Transaction Does Not Exist');
      else if (KNOWN_METHODS.has(method)) respond(rq, 405, 'Method Not Allowed', { allow: ALLOW });
      else respond(rq, 501, 'Not Implemented', { allow: ALLOW });
    } catch (e) {
      if (e instanceof SipError) respond(rq, e.status, e.reason, e.headers);
      else {
        stats.errors++;
        log.error({ event: 'registrar.error', method, source: remote.address, err: String(e) }, 'request failed');
        respond(rq, 500, 'Server Internal Error');
      }
    }
  }

  return {
    realm: o.realm,
    store,
    stats,
    aorOf,
    isBlocked: (ip) => limiter.isBlocked(ip, now()),
    handle,
    countOversize: () => void stats.oversizeDropped++,
  };
}

/** A registrar alone on its own UDP port. */
export async function startRegistrar(o: RegistrarOptions): Promise<Registrar> {
  const log = o.logger ?? silentLogger;
  let stack: RunningStack | undefined;
  const r = createRegistrar({ ...o, ownAddresses: [`${o.address}:${o.port}`, ...(o.ownAddresses ?? [])] }, (m) => stack?.send(m));
  stack = await startSipStack(
    { address: o.address, port: o.port, maxMessageSize: o.maxMessageSize ?? 8192, onOversize: () => r.countOversize(), logger: log, name: 'registrar' },
    (rq, remote) => void r.handle(rq, remote),
  );
  log.info({ event: 'registrar.listening', address: o.address, port: o.port, realm: o.realm }, 'registrar listening');

  return {
    address: o.address,
    port: o.port,
    realm: o.realm,
    store: r.store,
    stats: r.stats,
    aorOf: r.aorOf,
    isBlocked: r.isBlocked,
    async stop() {
      stack?.destroy();
      stack = undefined;
    },
  };
}
