// Inbound calls, first half (issue #4 items 2 and 9; ARCHITECTURE "The data flow" step 1): the
// carrier-facing UAS side of the signalling B2BUA. On the patched `sip@0.0.6` stack, UDP only.
//
// INVITE to a known number (lines.ts): 100 Trying at once; dialog state kept per call; a
// `call.offered` job published to BullMQ (`call-events`, job id from the Call-ID); then 180
// Ringing while the engine queues the call. Unknown number → 404. Engine marked down, or the
// publish failing / not confirmed within `publishTimeoutMs` → 503 with Retry-After. CANCEL while
// ringing → 200 + 487 + `call.abandoned`. A call nobody picks up within `maxRingMs` → 480 +
// `call.abandoned`. BYE/in-dialog requests for unknown dialogs → 481, OPTIONS → 200, other known
// methods → 405, unknown methods → 501. Every request gets a final response (defect 4).
//
// Not here yet: ringing agents (`telephony-commands`), answer (200/ACK) and BYE relay, re-INVITE,
// transfer. `InboundCalls.handle` is separate from the socket so one SIP stack can later serve the
// registrar and this adapter together.
import { randomBytes } from 'node:crypto';
import sip, { type SipAor, type SipMessage, type SipRemote, type SipStack } from 'sip';
import { createBullmqPublisher, type AbandonReason, type CallEventPublisher, type CallOffered } from './call-events.js';
import { unquote } from './digest.js';
import { buildLineTable, DEFAULT_LINES, lookupLine, type Line, type LineConfig, type LineTable } from './lines.js';

export interface InboundLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface InboundOptions {
  /** IP address to bind (the adapter's carrier-facing signalling address) */
  address: string;
  port: number;
  /** host put in our Contact (default: `address`); set it when binding 0.0.0.0 or behind NAT */
  contactHost?: string;
  lines?: readonly LineConfig[];
  /** where call events go; built from `redisUrl` when absent */
  publisher?: CallEventPublisher;
  redisUrl?: string;
  queueName?: string;
  /** BullMQ key prefix */
  queuePrefix?: string;
  /** the engine's health as seen by this adapter (e.g. a heartbeat key); false → 503 */
  engineHealthy?: () => boolean | Promise<boolean>;
  /** a publish (or health check) not confirmed within this gets 503 (ms, default 2000) */
  publishTimeoutMs?: number;
  /** Retry-After on 503 (seconds, default 30) */
  retryAfterSeconds?: number;
  /** a call still ringing after this gets 480 and `call.abandoned` (ms, default 300 000) */
  maxRingMs?: number;
  /** UDP datagrams larger than this are dropped before parsing (bytes, default 8192) */
  maxMessageSize?: number;
  logger?: InboundLogger;
  now?: () => number;
}

export type CallState = 'offering' | 'ringing' | 'ended';

/** Dialog state of one inbound call (the caller's leg; UAS side). */
export interface InboundCall {
  callId: string;
  /** caller's From tag */
  remoteTag: string;
  /** our To tag */
  localTag: string;
  /** CSeq of the caller's INVITE */
  cseq: number;
  /** caller's Contact URI: where in-dialog requests to the caller go */
  remoteTarget: string;
  /** caller's SDP offer */
  sdp: string;
  line: Line;
  fromNumber: string;
  displayName: string;
  toNumber: string;
  receivedAt: number;
  state: CallState;
  /** Via branch of the INVITE (a CANCEL carries the same) */
  branch: string;
}

export interface InboundStats {
  requests: number;
  invites: number;
  offered: number;
  rejectedUnknownNumber: number;
  unavailable: number;
  cancelled: number;
  ringTimeouts: number;
  publishFailures: number;
  oversizeDropped: number;
  errors: number;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS';
const KNOWN_METHODS = new Set([
  'REGISTER', 'PRACK', 'UPDATE', 'INFO', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'PUBLISH',
]);

const ENDED_MEMORY_MS = 32_000;
const MAX_ENDED_REMEMBERED = 100_000;

type LiveCall = InboundCall & { timer?: NodeJS.Timeout; invite: SipMessage; offeredOk?: Promise<boolean> };

const silentLogger: InboundLogger = { info() {}, warn() {}, error() {} };

function uriString(u: SipAor['uri'] | string | undefined): string {
  if (u === undefined) return '';
  return typeof u === 'string' ? u : sip.stringifyUri(u);
}

/** The stack hands us headers and bodies as latin1 strings of the raw bytes (defect 5): re-decode. */
function utf8(binary: string): string {
  return Buffer.from(binary, 'latin1').toString('utf8');
}

function displayNameOf(name: string | undefined): string {
  if (!name) return '';
  const n = name.trim();
  return utf8(n.startsWith('"') ? (unquote(n) ?? '') : n);
}

function userOf(u: SipAor['uri'] | string | undefined): string | undefined {
  const p = sip.parseUri(uriString(u));
  if (!p || !/^(sips?|tel)$/.test(p.schema)) return undefined;
  return p.user;
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`not confirmed within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class InboundCalls {
  readonly stats: InboundStats = {
    requests: 0, invites: 0, offered: 0, rejectedUnknownNumber: 0, unavailable: 0, cancelled: 0,
    ringTimeouts: 0, publishFailures: 0, oversizeDropped: 0, errors: 0,
  };
  readonly #calls = new Map<string, LiveCall>();
  readonly #lines: LineTable;
  readonly #publisher: CallEventPublisher;
  readonly #send: (m: SipMessage) => void;
  readonly #o: InboundOptions;
  readonly #log: InboundLogger;
  readonly #now: () => number;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(o: InboundOptions, publisher: CallEventPublisher, send: (m: SipMessage) => void) {
    this.#o = o;
    this.#lines = buildLineTable(o.lines ?? DEFAULT_LINES);
    this.#publisher = publisher;
    this.#send = send;
    this.#log = o.logger ?? silentLogger;
    this.#now = o.now ?? Date.now;
  }

  /** calls not yet ended (a copy of their state) */
  get activeCalls(): InboundCall[] {
    return [...this.#calls.values()].map(({ timer: _t, invite: _i, offeredOk: _p, ...c }) => ({ ...c, line: { ...c.line } }));
  }

  /** Handles one request from the stack (responses to our own requests never come here). */
  handle(rq: SipMessage, remote: SipRemote): void {
    const method = rq.method ?? '';
    if (method === 'ACK') return; // ACKs to our non-2xx finals are absorbed by the transaction layer
    this.stats.requests++;
    try {
      if (method === 'INVITE') this.#invite(rq, remote);
      else if (method === 'CANCEL') this.#cancel(rq);
      else if (method === 'OPTIONS') this.#respond(rq, 200, 'OK', { allow: ALLOW, accept: 'application/sdp' });
      else if (method === 'BYE') this.#respond(rq, 481, 'Call/Transaction Does Not Exist'); // no answered calls yet
      else if (KNOWN_METHODS.has(method)) {
        if (rq.headers.to?.params?.tag) this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
        else this.#respond(rq, 405, 'Method Not Allowed', { allow: ALLOW });
      } else this.#respond(rq, 501, 'Not Implemented', { allow: ALLOW });
    } catch (e) {
      this.stats.errors++;
      this.#log.error({ event: 'inbound.error', method, source: remote.address, err: String(e) }, 'request failed');
      this.#respond(rq, 500, 'Server Internal Error');
    }
  }

  /** Ends every call still in progress with 503 (used on shutdown). */
  async shutdown(): Promise<void> {
    for (const call of [...this.#calls.values()]) {
      this.#finish(call, 503, 'Service Unavailable', 'shutdown', { 'retry-after': String(this.#retryAfter) });
    }
    // bounded: a publish stuck on an unreachable Redis must not hold the shutdown
    await Promise.race([Promise.allSettled([...this.#pending]), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  /** Call-IDs of calls ended within the last 32 s (64·T1, the INVITE transaction lifetime) */
  readonly #ended = new Map<string, { cseq: number; until: number }>();

  #remember(callId: string, cseq: number): void {
    const now = this.#now();
    this.#ended.delete(callId);
    this.#ended.set(callId, { cseq, until: now + ENDED_MEMORY_MS });
    // insertion order = expiry order: drop the expired from the front; hard cap on memory
    for (const [id, e] of this.#ended) {
      if (e.until > now && this.#ended.size <= MAX_ENDED_REMEMBERED) break;
      this.#ended.delete(id);
    }
  }

  /** a copy of an ended call's INVITE (same or lower CSeq; a higher one is a new attempt, e.g. after 503) */
  #isLateCopy(callId: string, cseq: number): boolean {
    const e = this.#ended.get(callId);
    return e !== undefined && e.until > this.#now() && cseq <= e.cseq;
  }

  get #retryAfter(): number {
    return this.#o.retryAfterSeconds ?? 30;
  }

  #respond(rq: SipMessage, status: number, reason: string, headers: Record<string, unknown> = {}, toTag?: string): void {
    const rs = sip.makeResponse(rq, status, reason, { headers });
    // RFC 3261 §8.2.6.2: every response but 100 carries a To tag
    const tag = toTag ?? (status > 100 && !rq.headers.to?.params?.tag ? randomBytes(8).toString('hex') : undefined);
    if (tag !== undefined && rq.headers.to) {
      rs.headers.to = { ...rq.headers.to, params: { ...rq.headers.to.params, tag } };
    }
    this.#send(rs);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p)).catch(() => {});
    return p;
  }

  #invite(rq: SipMessage, remote: SipRemote): void {
    this.stats.invites++;
    const callId = String(rq.headers['call-id'] ?? '');
    const from = rq.headers.from;
    const remoteTag = from?.params?.tag;
    const branch = rq.headers.via?.[0]?.params?.branch;
    if (!callId || !from || !remoteTag || !rq.headers.cseq || !branch) {
      this.#respond(rq, 400, 'Bad Request');
      return;
    }
    if (rq.headers.to?.params?.tag) {
      // re-INVITE: no confirmed dialogs exist yet
      this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    if (this.#calls.has(callId) || this.#isLateCopy(callId, rq.headers.cseq.seq)) {
      // same Call-ID, new branch: a merged/looped request (RFC 3261 §8.2.2.2), or a stray copy of
      // an INVITE whose call already ended (it must not ring a second time). A retransmission
      // with the same branch never gets here: the INVITE server transaction absorbs it.
      this.#respond(rq, 482, 'Loop Detected');
      return;
    }
    const dialled = userOf(rq.uri) ?? userOf(rq.headers.to?.uri);
    const found = lookupLine(this.#lines, dialled);
    if (!found) {
      this.stats.rejectedUnknownNumber++;
      this.#log.info({ event: 'inbound.unknown_number', dialled, source: remote.address }, 'INVITE to an unknown number');
      this.#respond(rq, 404, 'Not Found');
      return;
    }
    this.#respond(rq, 100, 'Trying');

    const contact = Array.isArray(rq.headers.contact) ? rq.headers.contact[0] : undefined;
    const now = this.#now();
    const call: LiveCall = {
      callId,
      remoteTag,
      localTag: randomBytes(8).toString('hex'),
      cseq: rq.headers.cseq.seq,
      remoteTarget: uriString(contact?.uri),
      sdp: rq.content ? utf8(rq.content) : '',
      line: found.line,
      fromNumber: utf8(decodeURIComponentSafe(userOf(from.uri) ?? '')),
      displayName: displayNameOf(from.name),
      toNumber: found.number,
      receivedAt: now,
      state: 'offering',
      branch,
      invite: rq,
    };
    this.#calls.set(callId, call);

    const event: CallOffered = {
      type: 'call.offered',
      callId,
      line: call.line.id,
      lineName: call.line.name,
      fromNumber: call.fromNumber,
      displayName: call.displayName,
      toNumber: call.toNumber,
      sdp: call.sdp,
      receivedAt: new Date(now).toISOString(),
    };
    const timeoutMs = this.#o.publishTimeoutMs ?? 2_000;
    const publish = (async () => {
      const healthy = this.#o.engineHealthy ? await this.#o.engineHealthy() : true;
      if (!healthy) return 'engine-down' as const;
      await this.#publisher.publish(event);
      return 'published' as const;
    })();
    const outcome = withTimeout(publish, timeoutMs).then(
      (r) => r,
      (e: unknown) => (e instanceof TimeoutError ? ('timeout' as const) : (this.#log.error({ event: 'inbound.publish_failed', callId, err: String(e) }, 'call.offered not published'), 'failed' as const)),
    );
    call.offeredOk = publish.then((r) => r === 'published', () => false);
    this.#track(outcome.then((r) => this.#afterPublish(call, r)));
  }

  #afterPublish(
    call: LiveCall,
    r: 'published' | 'engine-down' | 'timeout' | 'failed',
  ): void {
    if (r !== 'published') {
      if (r !== 'engine-down') this.stats.publishFailures++;
      if (call.state === 'ended') return; // cancelled meanwhile; #finish decides about call.abandoned
      this.stats.unavailable++;
      this.#log.warn({ event: 'inbound.unavailable', callId: call.callId, cause: r }, 'engine unavailable: 503');
      // if a timed-out publish lands later, #finish's call.abandoned (after offeredOk) closes it in the engine
      this.#finish(call, 503, 'Service Unavailable', 'rejected', { 'retry-after': String(this.#retryAfter) });
      return;
    }
    this.stats.offered++;
    if (call.state !== 'offering') return;
    call.state = 'ringing';
    this.#respond(call.invite, 180, 'Ringing', this.#contactHeader(call), call.localTag);
    const maxRing = this.#o.maxRingMs ?? 300_000;
    call.timer = setTimeout(() => {
      if (call.state !== 'ringing') return;
      this.stats.ringTimeouts++;
      this.#log.warn({ event: 'inbound.ring_timeout', callId: call.callId, maxRingMs: maxRing }, 'nobody picked the call up: 480');
      this.#finish(call, 480, 'Temporarily Unavailable', 'ring-timeout', {});
    }, maxRing);
  }

  #contactHeader(call: InboundCall): Record<string, unknown> {
    return { contact: [{ uri: `sip:${call.toNumber}@${this.#o.contactHost ?? this.#o.address}:${this.#o.port}`, params: {} }] };
  }

  /** Final non-2xx to the caller's INVITE, state dropped, `call.abandoned` once `call.offered` is in. */
  #finish(
    call: LiveCall,
    status: number,
    reason: string,
    why: AbandonReason,
    headers: Record<string, unknown>,
  ): void {
    if (call.state === 'ended') return;
    call.state = 'ended';
    clearTimeout(call.timer);
    this.#calls.delete(call.callId);
    this.#remember(call.callId, call.cseq);
    this.#respond(call.invite, status, reason, headers, call.localTag);
    const offered = call.offeredOk ?? Promise.resolve(false);
    this.#track(
      offered.then(async (ok) => {
        if (!ok) return; // the engine never heard of it
        try {
          await this.#publisher.publish({
            type: 'call.abandoned', callId: call.callId, line: call.line.id, reason: why, finalStatus: status,
            at: new Date(this.#now()).toISOString(),
          });
        } catch (e) {
          this.stats.publishFailures++;
          this.#log.error({ event: 'inbound.publish_failed', callId: call.callId, type: 'call.abandoned', err: String(e) }, 'call.abandoned not published');
        }
      }),
    );
  }

  #cancel(rq: SipMessage): void {
    const callId = String(rq.headers['call-id'] ?? '');
    const call = this.#calls.get(callId);
    const branch = rq.headers.via?.[0]?.params?.branch;
    if (!call || call.branch !== branch || call.remoteTag !== rq.headers.from?.params?.tag) {
      this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    this.#respond(rq, 200, 'OK');
    this.stats.cancelled++;
    this.#log.info({ event: 'inbound.cancelled', callId }, 'caller cancelled while ringing');
    this.#finish(call, 487, 'Request Terminated', 'caller-cancel', {});
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    // decoded to a latin1 string of bytes, like the rest of the message
    return Buffer.from(decodeURIComponent(s), 'utf8').toString('latin1');
  } catch {
    return s;
  }
}

export interface InboundAdapter {
  readonly address: string;
  readonly port: number;
  readonly calls: InboundCalls;
  stop(): Promise<void>;
}

/** Binds a UDP SIP stack on (address, port) and serves inbound calls on it. */
export async function startInbound(o: InboundOptions): Promise<InboundAdapter> {
  const log = o.logger ?? silentLogger;
  if (!o.publisher && !o.redisUrl) throw new Error('startInbound needs a publisher or a redisUrl');
  const ownPublisher = !o.publisher;
  const publisher =
    o.publisher ??
    createBullmqPublisher({
      redis: o.redisUrl as string,
      ...(o.queueName !== undefined ? { queueName: o.queueName } : {}),
      ...(o.queuePrefix !== undefined ? { prefix: o.queuePrefix } : {}),
      onError: (err) => log.warn({ event: 'inbound.redis_error', err: String(err) }, 'redis error'),
    });
  let stack: SipStack | undefined;
  const calls = new InboundCalls(o, publisher, (m) => stack?.send(m));
  try {
    await new Promise<void>((resolve, reject) => {
      let bound = false;
      const startTimer = setTimeout(() => {
        try { stack?.destroy(); } catch { /* not bound */ }
        reject(new Error('SIP UDP socket not bound within 5 s (is patches/sip+0.0.6.patch applied? run npm ci)'));
      }, 5000);
      const s = sip.create(
        {
          address: o.address,
          port: o.port,
          udp: true,
          tcp: false,
          maxMessageSize: o.maxMessageSize ?? 8192,
          onOversize: (info) => {
            calls.stats.oversizeDropped++;
            log.warn({ event: 'inbound.oversize_dropped', source: info.address, size: info.size }, 'oversized datagram dropped');
          },
          onListening: () => {
            bound = true;
            clearTimeout(startTimer);
            resolve();
          },
          onError: (err) => {
            if (!bound) {
              clearTimeout(startTimer);
              try { s.destroy(); } catch { /* never opened */ }
              reject(err);
            } else log.error({ event: 'inbound.socket_error', err: String(err) }, 'UDP socket error');
          },
          logger: { error: (e) => log.error({ event: 'sip.error', err: String(e) }, 'sip stack error') },
        },
        (rq, remote) => calls.handle(rq, remote),
      );
      stack = s;
    });
  } catch (e) {
    if (ownPublisher) await publisher.close();
    throw e;
  }
  log.info({ event: 'inbound.listening', address: o.address, port: o.port }, 'inbound SIP listening');
  return {
    address: o.address,
    port: o.port,
    calls,
    async stop() {
      await calls.shutdown();
      await new Promise((r) => setTimeout(r, 20)); // let the final responses leave the socket
      const s = stack;
      stack = undefined;
      s?.destroy();
      if (ownPublisher) await publisher.close();
    },
  };
}
