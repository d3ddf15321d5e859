// The signalling B2BUA (issue #4 items 2, 4, 6, 9; ARCHITECTURE "The data flow" steps 1, 3, 4, 9).
// Carrier side: the caller's INVITE (UAS). Agent side: an INVITE per `ring` command to the agent's
// registered phone (UAC). Gateway side: an INVITE to 110/119/120/122 on `transfer`. Media flows end
// to end: we only carry the SDP from one leg to the other.
//
// Caller's INVITE to a known number: 100 at once, `call.offered` published to the engine, 180.
// Unknown number → 404; engine down / publish not confirmed → 503 + Retry-After; CANCEL → 487 +
// `call.abandoned`; nobody picks it up within `maxRingMs` → 480 + `call.abandoned`.
// `ring`: INVITE to the agent's newest registered contact with the caller's SDP; no answer within
// the command's timeout → CANCEL and `call.ring-failed` (the engine offers the call to the next
// agent); busy/decline/unregistered → `call.ring-failed` at once. Agent's 2xx → ACK, 200 OK to the
// caller with the agent's SDP (retransmitted until the caller's ACK), `call.answered`.
// In the call: BYE from either side → 200, BYE to the other, `call.ended`; re-INVITE (hold, codec
// change) relayed to the other leg and its answer relayed back; other in-dialog requests (INFO…)
// relayed likewise. `transfer`: third-party call control — INVITE the gateway with the caller's
// SDP; on its 2xx re-INVITE the caller with the gateway's SDP, then BYE the agent. If the gateway
// fails (or the caller refuses the re-INVITE) the caller stays with the agent; either way
// `call.transfer-result` tells the engine, which tells the agent.
// Every request gets a final response (TELEPHONY-NOTES defect 4).
import sip, { type SipMessage, type SipRemote } from 'sip';
import type { BindingStore } from './binding-store.js';
import type { AbandonReason, CallEventPublisher, CallOffered, EndParty, RingFailure } from './call-events.js';
import { unquote } from './digest.js';
import { ackFor, inDialogRequest, newCallId, newTag, OkRetransmitter, uacLeg, uasLeg, uriString, type Leg } from './dialog.js';
import { FloodGuard, type FloodOptions } from './flood-guard.js';
import type { Gateway, GatewayTable } from './gateways.js';
import { buildLineTable, DEFAULT_LINES, lookupLine, type Line, type LineConfig, type LineTable } from './lines.js';
import { silentLogger, type SipLogger } from './sip-stack.js';
import type { DialogSnapshots, Snapshot } from './snapshots.js';
import type { RingCommand, StopRingCommand, TransferCommand, EndCallCommand } from '../../server/src/calls/telephony-contract.js';

export type { SipLogger as InboundLogger } from './sip-stack.js';

export interface RelayOptions {
  /** host:port in our Contact and in the From of the legs we open */
  contactHost: string;
  port: number;
  /** telephony instance id (named in call.offered so commands come back here) */
  instance: string;
  lines?: readonly LineConfig[];
  gateways?: GatewayTable;
  /** the registrar's bindings (agents' phones) and realm, for `ring` */
  bindings?: BindingStore;
  realm?: string;
  /** the engine's health as seen by this adapter (e.g. a heartbeat key); false → 503 */
  engineHealthy?: () => boolean | Promise<boolean>;
  /** a publish (or health check) not confirmed within this gets 503 (ms, default 2000) */
  publishTimeoutMs?: number;
  /** Retry-After on 503 (seconds, default 30) */
  retryAfterSeconds?: number;
  /** a call still ringing after this gets 480 and `call.abandoned` (ms, default 300 000) */
  maxRingMs?: number;
  /** a transfer whose gateway has not answered after this is cancelled (ms, default 20 000) */
  transferTimeoutMs?: number;
  snapshots?: DialogSnapshots;
  /**
   * Sends a response outside any transaction (after a restart the stack has none for a caller's
   * INVITE of the previous run), from the stack's own socket to the Via's address (RFC 3261
   * §18.2.2): the patched stack's `sendStateless`.
   */
  sendStateless: (rs: SipMessage, target: { address: string; port: number }) => void;
  /**
   * Publish `call.ringing` the moment a phone alerts (180/183), for live views. Off by default:
   * the alerting time always reaches the engine with the ring's outcome event, and a separate
   * event is one more queue job per call (bench/RESULTS.md, SIP).
   */
  ringingEvents?: boolean;
  /**
   * Out-of-dialog requests (new INVITEs, OPTIONS, unknown methods) per source IP per second;
   * beyond it: 503 Retry-After (a flood from one source cannot take the adapter down). Sources
   * in `trustedSources` (the carrier's SBC, which carries every caller) are not limited.
   */
  flood?: FloodOptions;
  logger?: SipLogger;
  now?: () => number;
}

export type CallState = 'offering' | 'ringing' | 'answered' | 'ended';

/** Public view of one call. */
export interface InboundCall {
  callId: string;
  remoteTag: string;
  localTag: string;
  cseq: number;
  remoteTarget: string;
  /** caller's current SDP (the INVITE's, or its latest re-INVITE's) */
  sdp: string;
  line: Line;
  fromNumber: string;
  displayName: string;
  toNumber: string;
  receivedAt: number;
  state: CallState;
  branch: string;
  /** who the caller is connected to */
  peer: { side: 'agent'; agentId: string } | { side: 'gateway'; target: string } | null;
  fromGateway: string | null;
  gatewayReference: string | null;
}

export interface RelayStats {
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
  rings: number;
  ringFailures: number;
  answered: number;
  ended: number;
  transfers: number;
  transfersFailed: number;
  reinvites: number;
  rateLimited: number;
}

// REGISTER is served on the same port by the registrar (adapter.ts)
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER';
const KNOWN_METHODS = new Set(['PRACK', 'UPDATE', 'INFO', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'PUBLISH']);
const ENDED_MEMORY_MS = 32_000;
/** A re-INVITE we relay (or send for a transfer) gets no final answer within this: given up. */
const REINVITE_TIMEOUT_MS = 32_000;
const MAX_ENDED_REMEMBERED = 100_000;

type Side = 'caller' | 'agent' | 'gateway';

interface Ring {
  agentId: string;
  offerAt: number;
  invite: SipMessage;
  state: 'calling' | 'cancelled' | 'answered' | 'failed';
  timer?: NodeJS.Timeout;
  /** the phone sent 180/183 (the ring is in the restart snapshot), and when */
  alerting?: boolean;
  alertingAt?: string;
  /** the phone's To tag from its 1xx */
  remoteTag?: string;
}

interface Transfer {
  requestId: string;
  gateway: Gateway;
  invite: SipMessage;
  state: 'calling' | 'reinviting' | 'cancelled' | 'done';
  timer?: NodeJS.Timeout;
  leg?: Leg;
}

interface Live extends Omit<InboundCall, 'peer'> {
  invite: SipMessage;
  offeredOk?: Promise<boolean>;
  timer?: NodeJS.Timeout;
  ring?: Ring;
  callerLeg?: Leg;
  peer?: { side: 'agent' | 'gateway'; leg: Leg; agentId?: string; target?: string };
  /** our 2xx to the caller's INVITE, until its ACK */
  okToCaller?: OkRetransmitter;
  /** a re-INVITE being relayed (glare guard: a second one gets 491) */
  reinviting?: boolean;
  /** our 2xx to a relayed re-INVITE, per leg call-id, until its ACK */
  pendingAcks: Map<string, { seq: number; rt: OkRetransmitter }>;
  transfer?: Transfer;
  /** every leg Call-ID opened for this call (rings, transfers), forgotten when it ends */
  legIds: Set<string>;
  /** a `ring` being prepared (agent|offerAt), so a duplicate delivered meanwhile is ignored */
  ringPending?: string;
  /** delayed offer (caller's INVITE without SDP): the phone's 2xx waits for the caller's answer */
  agentAck?: { leg: Leg; seq: number; sent?: SipMessage };
  /** holds of the call: `seq` numbers them per call; `held` the hold each side has on now (by seq) */
  hold?: { seq: number; held: Partial<Record<Side, number>> };
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`not confirmed within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
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

function userOf(u: SipMessage['uri'] | string | undefined): string | undefined {
  const p = sip.parseUri(uriString(u));
  if (!p || !/^(sips?|tel)$/.test(p.schema)) return undefined;
  return p.user;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return Buffer.from(decodeURIComponent(s), 'utf8').toString('latin1');
  } catch {
    return s;
  }
}

/** SIP status of an agent phone's final answer → why the ring failed. */
export function ringFailureOf(status: number): RingFailure {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'no-answer';
  if (status === 404 || status === 410) return 'unregistered';
  if (status === 403 || status === 603) return 'rejected';
  if (status >= 500) return 'unreachable';
  return 'rejected';
}

const SDP_HEADERS = { 'content-type': 'application/sdp' };

/**
 * Does this SDP put the call on hold? The audio stream's direction (or the session's, when the
 * stream has none) is sendonly or inactive, or its connection address is 0.0.0.0 (RFC 2543
 * style). Streams other than audio are ignored.
 */
export function isHoldSdp(sdp: string): boolean {
  let section: 'session' | 'audio' | 'other' = 'session';
  let sessionDir = 'sendrecv';
  let audioDir: string | null = null;
  let sessionConn = '';
  let audioConn: string | null = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      if (section === 'audio') break; // the first audio stream decides
      section = line.startsWith('m=audio') ? 'audio' : 'other';
      continue;
    }
    if (section === 'other') continue;
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line)?.[1];
    if (dir) {
      if (section === 'audio') audioDir = dir;
      else sessionDir = dir;
    }
    const conn = /^c=IN IP[46] (\S+)/.exec(line)?.[1];
    if (conn) {
      if (section === 'audio') audioConn = conn;
      else sessionConn = conn;
    }
  }
  const direction = audioDir ?? sessionDir;
  return direction === 'sendonly' || direction === 'inactive' || (audioConn ?? sessionConn) === '0.0.0.0';
}

/** Application text as UTF-8 bytes in a latin1 string: what the patched stack sends unchanged. */
function toWire(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A UAS copies Record-Route into its 18x/2xx to an INVITE (RFC 3261 §12.1.1). */
function recordRouteOf(rq: SipMessage): Record<string, unknown> {
  const rr = rq.headers['record-route'];
  return Array.isArray(rr) && rr.length > 0 ? { 'record-route': rr } : {};
}

export class CallRelay {
  readonly stats: RelayStats = {
    requests: 0, invites: 0, offered: 0, rejectedUnknownNumber: 0, unavailable: 0, cancelled: 0,
    ringTimeouts: 0, publishFailures: 0, oversizeDropped: 0, errors: 0, rings: 0, ringFailures: 0,
    answered: 0, ended: 0, transfers: 0, transfersFailed: 0, reinvites: 0, rateLimited: 0,
  };
  readonly #calls = new Map<string, Live>();
  /** every leg's Call-ID → its call and side (the caller's leg has the call's own id) */
  readonly #legs = new Map<string, { call: Live; side: Side }>();
  readonly #lines: LineTable;
  readonly #publisher: CallEventPublisher;
  readonly #send: (m: SipMessage, cb?: (rs: SipMessage) => void) => void;
  readonly #o: RelayOptions;
  readonly #log: SipLogger;
  readonly #now: () => number;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #ended = new Map<string, { cseq: number; until: number }>();
  readonly #host: string;
  readonly #flood: FloodGuard;
  /** final responses to callers' INVITEs of a previous run, retransmitted until their ACK */
  readonly #leftovers = new Map<string, OkRetransmitter>();

  constructor(o: RelayOptions, publisher: CallEventPublisher, send: (m: SipMessage, cb?: (rs: SipMessage) => void) => void) {
    this.#o = o;
    this.#lines = buildLineTable(o.lines ?? DEFAULT_LINES);
    this.#publisher = publisher;
    // the stack throws synchronously on a target it cannot parse (e.g. an IPv6 Contact): such a
    // message is logged and dropped, never allowed to abort the state change that sent it
    this.#send = (m, cb) => {
      try {
        send(m, cb);
      } catch (e) {
        this.stats.errors++;
        this.#log.error({ event: 'relay.send_failed', method: m.method, status: m.status, uri: m.uri ? uriString(m.uri) : undefined, err: String(e) }, 'message not sent');
      }
    };
    this.#log = o.logger ?? silentLogger;
    this.#now = o.now ?? Date.now;
    this.#host = `${o.contactHost}:${o.port}`;
    this.#flood = new FloodGuard(o.flood, (source, method) => this.#log.warn({ event: 'relay.rate_limited', source, method }, 'too many requests from one source: 503'), this.#now);
  }

  get activeCalls(): InboundCall[] {
    return [...this.#calls.values()].map((c) => ({
      callId: c.callId, remoteTag: c.remoteTag, localTag: c.localTag, cseq: c.cseq, remoteTarget: c.remoteTarget,
      sdp: c.sdp, line: { ...c.line }, fromNumber: c.fromNumber, displayName: c.displayName, toNumber: c.toNumber,
      receivedAt: c.receivedAt, state: c.state, branch: c.branch, fromGateway: c.fromGateway, gatewayReference: c.gatewayReference,
      peer: c.peer ? (c.peer.side === 'agent' ? { side: 'agent', agentId: c.peer.agentId ?? '' } : { side: 'gateway', target: c.peer.target ?? '' }) : null,
    }));
  }

  /** Handles one request from the stack (responses to our own requests go to their callbacks). */
  handle(rq: SipMessage, remote: SipRemote): void {
    const method = rq.method ?? '';
    if (method === 'ACK') {
      this.#ack(rq);
      return;
    }
    this.stats.requests++;
    const inDialog = Boolean(rq.headers.to?.params?.tag);
    if (!inDialog && method !== 'CANCEL' && this.#flood.applies(remote.address)) {
      // resolves in microtasks: requests of later datagrams (a CANCEL) still come after this one
      void this.#flood.over(remote.address, method).then((over) => (over ? this.#flooded(rq) : this.#serve(rq, remote, method, inDialog)));
      return;
    }
    this.#serve(rq, remote, method, inDialog);
  }

  #flooded(rq: SipMessage): void {
    this.stats.rateLimited++;
    this.#respond(rq, 503, 'Service Unavailable', { 'retry-after': '5' });
  }

  #serve(rq: SipMessage, remote: SipRemote, method: string, inDialog: boolean): void {
    try {
      if (method === 'INVITE' && !inDialog) this.#invite(rq, remote);
      else if (method === 'CANCEL') this.#cancel(rq);
      else if (method === 'OPTIONS' && !inDialog) this.#respond(rq, 200, 'OK', { allow: ALLOW, accept: 'application/sdp' });
      else if (inDialog && (method === 'BYE' || method === 'INVITE' || method === 'INFO' || method === 'UPDATE' || method === 'OPTIONS' || method === 'MESSAGE' || method === 'NOTIFY')) this.#inDialog(rq);
      else if (inDialog && this.#legs.has(String(rq.headers['call-id'] ?? ''))) this.#respond(rq, KNOWN_METHODS.has(method) ? 405 : 501, KNOWN_METHODS.has(method) ? 'Method Not Allowed' : 'Not Implemented', { allow: ALLOW });
      else if (method === 'BYE' || inDialog) this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
      else if (KNOWN_METHODS.has(method)) this.#respond(rq, 405, 'Method Not Allowed', { allow: ALLOW });
      else this.#respond(rq, 501, 'Not Implemented', { allow: ALLOW });
    } catch (e) {
      this.stats.errors++;
      this.#log.error({ event: 'relay.error', method, source: remote.address, err: String(e) }, 'request failed');
      this.#respond(rq, 500, 'Server Internal Error');
    }
  }

  /** Ends every call: ringing ones with 503, connected ones with BYE on both legs (shutdown). */
  async shutdown(): Promise<void> {
    for (const rt of this.#leftovers.values()) rt.stop();
    this.#leftovers.clear();
    for (const call of [...this.#calls.values()]) {
      if (call.state === 'answered') this.#hangUp(call, null, 'system', 'shutdown');
      else this.#finish(call, 503, 'Service Unavailable', 'shutdown', { 'retry-after': String(this.#retryAfter) });
    }
    await Promise.race([Promise.allSettled([...this.#pending]), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  /**
   * After a restart: calls the previous run of this instance left behind (snapshots in Redis) are
   * ended — BYE to both parties of connected calls (their phones would otherwise stay in a dead
   * call), `call.ended` / `call.abandoned` to the engine so no call record stays open.
   */
  async reconcile(): Promise<{ ended: number; abandoned: number }> {
    const snaps = this.#o.snapshots ? await this.#o.snapshots.takeAll() : [];
    let ended = 0;
    let abandoned = 0;
    const at = new Date(this.#now()).toISOString();
    for (const s of snaps) {
      if (s.callerLeg && s.peerLeg) {
        // requests relayed after the last snapshot may have used CSeqs beyond the stored ones
        s.callerLeg.localCseq += 1000;
        s.peerLeg.localCseq += 1000;
        this.#send(inDialogRequest(s.callerLeg, 'BYE'));
        this.#send(inDialogRequest(s.peerLeg, 'BYE'));
        await this.#publishSafe({ type: 'call.ended', callId: s.callId, by: 'system', reason: 'telephony-restart', at });
        ended++;
      } else {
        // still waiting or ringing: the caller's INVITE gets its final answer, the phone that was
        // ringing for it a CANCEL (and the ACK of its 487)
        if (s.callerInvite) this.#answerLeftover(s, s.callerInvite);
        if (s.ring) this.#cancelLeftoverRing(s.ring);
        await this.#publishSafe({ type: 'call.abandoned', callId: s.callId, line: s.line, reason: 'telephony-restart', finalStatus: s.callerInvite ? 503 : 0, at });
        abandoned++;
      }
    }
    if (snaps.length > 0) this.#log.warn({ event: 'relay.reconciled', ended, abandoned }, 'calls of the previous run ended');
    return { ended, abandoned };
  }

  /** 503 to a caller's INVITE of the previous run (no transaction left for it: sent statelessly). */
  #answerLeftover(s: Snapshot, ci: NonNullable<Snapshot['callerInvite']>): void {
    const rq: SipMessage = { method: 'INVITE', uri: '', headers: { via: ci.via, from: ci.from, to: ci.to, 'call-id': s.callId, cseq: { method: 'INVITE', seq: ci.cseq } } };
    const rs = sip.makeResponse(rq, 503, 'Service Unavailable', { headers: { 'retry-after': String(this.#retryAfter) } });
    rs.headers.to = { ...ci.to, params: { ...ci.to.params, tag: ci.localTag } };
    const top = ci.via[0];
    if (!top) return;
    const address = top.params.received ?? top.host;
    const rport = top.params.rport ? Number(top.params.rport) : NaN;
    const port = Number.isInteger(rport) && rport > 0 ? rport : (top.port ?? 5060);
    const stateless = this.#o.sendStateless;
    const send = (): void => {
      try {
        stateless(rs, { address, port });
      } catch (e) {
        this.#log.error({ event: 'relay.reconcile_send_failed', callId: s.callId, err: String(e) }, 'final response not sent');
      }
    };
    // as a server transaction would (RFC 3261 §17.2.1): resent at T1, 2·T1 … until the ACK (#ack)
    this.#leftovers.get(s.callId)?.stop();
    this.#leftovers.set(s.callId, new OkRetransmitter(send, () => this.#leftovers.delete(s.callId)));
  }

  /** CANCEL for a ring of the previous run; its 487 finds no transaction, so it is ACKed here. */
  #cancelLeftoverRing(r: NonNullable<Snapshot['ring']>): void {
    const base = { from: r.from, 'call-id': r.callId, 'max-forwards': 70 };
    const cancel: SipMessage = { method: 'CANCEL', uri: r.uri, headers: { ...base, via: [{ ...r.via, params: { ...r.via.params } }], to: r.to, cseq: { method: 'CANCEL', seq: r.cseq } } };
    this.#send(cancel, (rs) => {
      if ((rs.status ?? 0) < 200 || !r.remoteTag) return;
      // The phone answers the INVITE with 487 right after the CANCEL's 200. That 487 matches no
      // transaction of this run (the stack drops it unseen), so the ACK goes out blind: sent
      // again at 0.1, 0.6, 1.6 and 3.6 s, so one lands after the 487 (which the phone resends at
      // T1, 2·T1 … until an ACK comes; an ACK before its 487 is ignored, RFC 3261 §17.2.1).
      const ack: SipMessage = {
        method: 'ACK', uri: r.uri,
        headers: { ...base, via: [{ ...r.via, params: { ...r.via.params } }], to: { ...r.to, params: { ...r.to.params, tag: r.remoteTag } }, cseq: { method: 'ACK', seq: r.cseq } },
      };
      for (const ms of [100, 600, 1600, 3600]) setTimeout(() => this.#send(ack), ms).unref();
    });
  }

  // ----- commands from the engine ---------------------------------------------------------------

  /** `ring`: offer the call to an agent's phone. */
  async ring(cmd: RingCommand): Promise<'ringing' | 'gone' | 'duplicate' | 'unregistered'> {
    const call = this.#calls.get(cmd.callId);
    if (!call || call.state !== 'ringing') {
      // answered by another agent (call-gone) or ended / unknown here (call-ended): the engine
      // withdraws the offer without holding it against the agent
      const reason = call ? 'call-gone' : 'call-ended';
      await this.#publishSafe({ type: 'call.ring-failed', callId: cmd.callId, agentId: cmd.agentId, offerAt: cmd.offerAt, reason, status: null, at: this.#iso() });
      return 'gone';
    }
    if (call.ring && call.ring.agentId === cmd.agentId && call.ring.offerAt === cmd.offerAt) return 'duplicate';
    const key = `${cmd.agentId}|${cmd.offerAt}`;
    if (call.ringPending === key) return 'duplicate'; // the same command delivered twice at once
    call.ringPending = key;
    if (call.ring?.state === 'calling') this.#cancelRing(call, call.ring);
    const aor = `sip:${cmd.sipUser}@${this.#o.realm ?? 'localhost'}`;
    const bindings = this.#o.bindings ? await this.#o.bindings.list(aor, this.#now()) : [];
    const contact = bindings.sort((a, b) => b.updatedAt - a.updatedAt)[0]?.contact;
    if (call.ringPending === key) call.ringPending = undefined;
    if (call.state !== 'ringing') return 'gone';
    if (!contact) {
      this.stats.ringFailures++;
      await this.#publishSafe({ type: 'call.ring-failed', callId: call.callId, agentId: cmd.agentId, offerAt: cmd.offerAt, reason: 'unregistered', status: null, at: this.#iso() });
      return 'unregistered';
    }
    this.stats.rings++;
    const legCallId = newCallId(this.#o.contactHost);
    const invite: SipMessage = {
      method: 'INVITE',
      uri: contact,
      headers: {
        to: { uri: aor, params: {} },
        from: { ...this.#fromOf(call), params: { tag: newTag() } },
        'call-id': legCallId,
        cseq: { method: 'INVITE', seq: 1 },
        contact: [{ uri: `sip:${call.toNumber}@${this.#host}`, params: {} }],
        'max-forwards': 70,
        'x-hotline-call-id': call.callId,
        'x-hotline-line': call.line.id,
        ...(call.sdp ? SDP_HEADERS : {}),
      },
      ...(call.sdp ? { content: call.sdp } : {}),
    };
    const ring: Ring = { agentId: cmd.agentId, offerAt: cmd.offerAt, invite, state: 'calling' };
    call.ring = ring;
    this.#legs.set(legCallId, { call, side: 'agent' });
    call.legIds.add(legCallId);
    ring.timer = setTimeout(() => {
      if (ring.state !== 'calling') return;
      this.stats.ringTimeouts++;
      this.#cancelRing(call, ring);
      this.#ringFailed(call, ring, 'no-answer', null);
    }, cmd.ringTimeoutMs);
    this.#send(invite, (rs) => this.#onRingResponse(call, ring, rs));
    return 'ringing';
  }

  /** `stop-ring`: the engine withdrew the offer (agent went on break…). No event back. */
  stopRing(cmd: StopRingCommand): boolean {
    const call = this.#calls.get(cmd.callId);
    const ring = call?.ring;
    if (!call || !ring || ring.agentId !== cmd.agentId || ring.offerAt !== cmd.offerAt || ring.state !== 'calling') return false;
    this.#cancelRing(call, ring);
    return true;
  }

  /** `end`: the engine ended a waiting call (max wait → callback task). */
  endCall(cmd: EndCallCommand): boolean {
    const call = this.#calls.get(cmd.callId);
    if (!call || (call.state !== 'ringing' && call.state !== 'offering')) return false;
    if (call.ring?.state === 'calling') this.#cancelRing(call, call.ring);
    this.#finish(call, 480, 'Temporarily Unavailable', cmd.reason, {}, false);
    return true;
  }

  /** `transfer`: move the caller to a gateway (110…) by third-party call control. */
  transfer(cmd: TransferCommand): 'started' | 'rejected' {
    const call = this.#calls.get(cmd.callId);
    const fail = (reason: string): 'rejected' => {
      this.stats.transfersFailed++;
      void this.#publishSafe({ type: 'call.transfer-result', callId: cmd.callId, requestId: cmd.requestId, target: cmd.target, outcome: 'failed', reason, at: this.#iso() });
      return 'rejected';
    };
    if (call?.transfer?.requestId === cmd.requestId) return 'started'; // redelivered command
    if (!call || call.state !== 'answered' || !call.callerLeg || call.peer?.side !== 'agent') return fail('not-answered-call');
    if (call.transfer || call.reinviting) return fail('busy');
    const gateway = this.#o.gateways?.get(cmd.target);
    if (!gateway) return fail('unknown-target');
    this.stats.transfers++;
    const legCallId = newCallId(this.#o.contactHost);
    const invite: SipMessage = {
      method: 'INVITE',
      uri: gateway.uri,
      headers: {
        to: { uri: gateway.uri, params: {} },
        // the gateway sees the caller's number (110 may need to call back)
        from: { ...this.#fromOf(call), params: { tag: newTag() } },
        'call-id': legCallId,
        cseq: { method: 'INVITE', seq: 1 },
        contact: [{ uri: `sip:${call.toNumber}@${this.#host}`, params: {} }],
        'max-forwards': 70,
        'x-hotline-call-id': call.callId,
        'x-hotline-transfer': cmd.requestId,
        ...(call.sdp ? SDP_HEADERS : {}),
      },
      ...(call.sdp ? { content: call.sdp } : {}),
    };
    const t: Transfer = { requestId: cmd.requestId, gateway, invite, state: 'calling' };
    call.transfer = t;
    this.#legs.set(legCallId, { call, side: 'gateway' });
    call.legIds.add(legCallId);
    this.#log.info({ event: 'relay.transfer', callId: call.callId, target: gateway.key, by: cmd.by }, 'transfer to gateway');
    t.timer = setTimeout(() => {
      if (t.state !== 'calling') return;
      this.#cancelInvite(t.invite);
      t.state = 'cancelled';
      this.#transferFailed(call, t, 'timeout');
    }, this.#o.transferTimeoutMs ?? 20_000);
    this.#send(invite, (rs) => this.#onGatewayResponse(call, t, rs));
    return 'started';
  }

  // ----- caller's INVITE ------------------------------------------------------------------------

  get #retryAfter(): number {
    return this.#o.retryAfterSeconds ?? 30;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  #fromOf(call: Live): { uri: string; name?: string } {
    const user = call.fromNumber ? encodeURIComponent(call.fromNumber) : 'anonymous';
    const from: { uri: string; name?: string } = { uri: `sip:${user}@${this.#o.contactHost}` };
    // quoted-string, escaped (RFC 3261 §25.1), as UTF-8 bytes (latin1 string: the patched stack
    // sends such strings byte for byte, whatever the characters — José as well as 市民)
    if (call.displayName) from.name = toWire(`"${call.displayName.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`);
    return from;
  }

  #remember(callId: string, cseq: number): void {
    const now = this.#now();
    this.#ended.delete(callId);
    this.#ended.set(callId, { cseq, until: now + ENDED_MEMORY_MS });
    for (const [id, e] of this.#ended) {
      if (e.until > now && this.#ended.size <= MAX_ENDED_REMEMBERED) break;
      this.#ended.delete(id);
    }
  }

  #isLateCopy(callId: string, cseq: number): boolean {
    const e = this.#ended.get(callId);
    return e !== undefined && e.until > this.#now() && cseq <= e.cseq;
  }

  #respond(rq: SipMessage, status: number, reason: string, headers: Record<string, unknown> = {}, toTag?: string, content?: string): void {
    const rs = sip.makeResponse(rq, status, reason, { headers, ...(content !== undefined ? { content } : {}) });
    const tag = toTag ?? (status > 100 && !rq.headers.to?.params?.tag ? newTag() : undefined);
    if (tag !== undefined && rq.headers.to && !rq.headers.to.params?.tag) {
      rs.headers.to = { ...rq.headers.to, params: { ...rq.headers.to.params, tag } };
    }
    this.#send(rs);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p)).catch(() => {});
    return p;
  }

  /** Publishes with retries (about 30 s): a Redis blip must not lose an answer or a hang-up. */
  async #publishSafe(ev: Parameters<CallEventPublisher['publish']>[0]): Promise<void> {
    const attempt = async (): Promise<void> => {
      for (let i = 0, delay = 250; ; i++, delay = Math.min(delay * 2, 8_000)) {
        try {
          await this.#publisher.publish(ev);
          return;
        } catch (e) {
          if (i >= 6) {
            this.stats.publishFailures++;
            this.#log.error({ event: 'relay.publish_failed', callId: ev.callId, type: ev.type, err: String(e) }, 'call event not published');
            return;
          }
          await new Promise((r) => setTimeout(r, delay).unref());
        }
      }
    };
    await this.#track(attempt());
  }

  #gatewayOf(rq: SipMessage, remote: SipRemote): { key: string; reference: string | null } | null {
    for (const g of this.#o.gateways?.values() ?? []) {
      if (!g.inboundSources.includes(remote.address)) continue;
      const raw = rq.headers[g.referenceHeader];
      const ref = typeof raw === 'string' ? utf8(raw).trim().slice(0, 200) : null;
      return { key: g.key, reference: ref || null };
    }
    return null;
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
    if (this.#calls.has(callId) || this.#legs.has(callId) || this.#isLateCopy(callId, rq.headers.cseq.seq)) {
      this.#respond(rq, 482, 'Loop Detected');
      return;
    }
    const dialled = userOf(rq.uri) ?? userOf(rq.headers.to?.uri);
    const found = lookupLine(this.#lines, dialled);
    if (!found) {
      this.stats.rejectedUnknownNumber++;
      this.#log.info({ event: 'relay.unknown_number', dialled, source: remote.address }, 'INVITE to an unknown number');
      this.#respond(rq, 404, 'Not Found');
      return;
    }
    const contact = Array.isArray(rq.headers.contact) ? rq.headers.contact[0] : undefined;
    if (!contact || !sip.parseUri(uriString(contact.uri))) {
      // without a Contact we can parse, nothing could ever reach the caller inside the call
      this.#respond(rq, 400, 'Bad Request (Contact)');
      return;
    }
    this.#respond(rq, 100, 'Trying');
    const gw = this.#gatewayOf(rq, remote);
    const now = this.#now();
    const call: Live = {
      callId, remoteTag, localTag: newTag(), cseq: rq.headers.cseq.seq, remoteTarget: uriString(contact?.uri),
      // bounded as the engine's contract requires (a longer one would never be queued)
      sdp: rq.content ?? '', line: found.line, fromNumber: utf8(decodeURIComponentSafe(userOf(from.uri) ?? '')).slice(0, 64),
      displayName: displayNameOf(from.name).slice(0, 200), toNumber: found.number, receivedAt: now, state: 'offering', branch,
      invite: rq, fromGateway: gw?.key ?? null, gatewayReference: gw?.reference ?? null, pendingAcks: new Map(),
      legIds: new Set([callId]),
    };
    this.#calls.set(callId, call);
    this.#legs.set(callId, { call, side: 'caller' });

    const event: CallOffered = {
      type: 'call.offered', callId, instance: this.#o.instance, line: call.line.id, lineName: call.line.name,
      fromNumber: call.fromNumber, displayName: call.displayName, toNumber: call.toNumber, sdp: utf8(call.sdp),
      receivedAt: new Date(now).toISOString(), fromGateway: call.fromGateway, gatewayReference: call.gatewayReference,
    };
    const publish = (async () => {
      const healthy = this.#o.engineHealthy ? await this.#o.engineHealthy() : true;
      if (!healthy) return 'engine-down' as const;
      await this.#publisher.publish(event);
      return 'published' as const;
    })();
    const outcome = withTimeout(publish, this.#o.publishTimeoutMs ?? 2_000).then(
      (r) => r,
      (e: unknown) => (e instanceof TimeoutError ? ('timeout' as const) : (this.#log.error({ event: 'relay.publish_failed', callId, err: String(e) }, 'call.offered not published'), 'failed' as const)),
    );
    call.offeredOk = publish.then((r) => r === 'published', () => false);
    this.#track(outcome.then((r) => this.#afterPublish(call, r)));
  }

  #afterPublish(call: Live, r: 'published' | 'engine-down' | 'timeout' | 'failed'): void {
    if (r !== 'published') {
      if (r !== 'engine-down') this.stats.publishFailures++;
      if (call.state === 'ended') return;
      this.stats.unavailable++;
      this.#log.warn({ event: 'relay.unavailable', callId: call.callId, cause: r }, 'engine unavailable: 503');
      this.#finish(call, 503, 'Service Unavailable', 'rejected', { 'retry-after': String(this.#retryAfter) });
      return;
    }
    this.stats.offered++;
    if (call.state !== 'offering') return;
    call.state = 'ringing';
    void this.#o.snapshots?.save(this.#snapshot(call));
    this.#respond(call.invite, 180, 'Ringing', { ...this.#contactHeader(call), ...recordRouteOf(call.invite) }, call.localTag);
    const maxRing = this.#o.maxRingMs ?? 300_000;
    call.timer = setTimeout(() => {
      if (call.state !== 'ringing') return;
      this.stats.ringTimeouts++;
      this.#log.warn({ event: 'relay.ring_timeout', callId: call.callId, maxRingMs: maxRing }, 'nobody picked the call up: 480');
      this.#finish(call, 480, 'Temporarily Unavailable', 'ring-timeout', {});
    }, maxRing);
  }

  #contactHeader(call: Live): Record<string, unknown> {
    return { contact: [{ uri: `sip:${call.toNumber}@${this.#host}`, params: {} }] };
  }

  #drop(call: Live): void {
    call.state = 'ended';
    clearTimeout(call.timer);
    this.#calls.delete(call.callId);
    this.#remember(call.callId, call.cseq);
    // legs stay mapped a little longer so late responses/requests find "ended" rather than nothing
    const legIds = [...call.legIds];
    setTimeout(() => {
      for (const id of legIds) if (this.#legs.get(id)?.call === call) this.#legs.delete(id);
    }, ENDED_MEMORY_MS).unref();
    for (const p of call.pendingAcks.values()) p.rt.stop();
    call.okToCaller?.stop();
    void this.#o.snapshots?.remove(call.callId);
  }

  /** Final non-2xx to the caller's INVITE; `call.abandoned` once `call.offered` is in. */
  #finish(call: Live, status: number, reason: string, why: AbandonReason, headers: Record<string, unknown>, publish = true): void {
    if (call.state === 'ended' || call.state === 'answered') return;
    // the ring in progress when the caller left: when its phone alerted goes with the abandon
    const alerting = call.ring?.state === 'calling' && call.ring.alertingAt ? { alertingAt: call.ring.alertingAt } : {};
    if (call.ring?.state === 'calling') this.#cancelRing(call, call.ring);
    this.#drop(call);
    this.#respond(call.invite, status, reason, headers, call.localTag);
    if (!publish) return;
    const offered = call.offeredOk ?? Promise.resolve(false);
    this.#track(
      offered.then(async (ok) => {
        if (!ok) return;
        await this.#publishSafe({ type: 'call.abandoned', callId: call.callId, line: call.line.id, reason: why, finalStatus: status, at: this.#iso(), ...alerting });
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
    if (call.state === 'answered') return; // too late: the 2xx crossed the CANCEL; a BYE follows
    this.stats.cancelled++;
    this.#log.info({ event: 'relay.cancelled', callId }, 'caller cancelled while ringing');
    this.#finish(call, 487, 'Request Terminated', 'caller-cancel', {});
  }

  // ----- ringing the agent ----------------------------------------------------------------------

  #cancelInvite(invite: SipMessage): void {
    const via = invite.headers.via?.[0];
    if (!via?.params?.branch) return; // not sent yet
    this.#send({
      method: 'CANCEL',
      uri: invite.uri,
      headers: {
        via: [via],
        to: invite.headers.to,
        from: invite.headers.from,
        'call-id': invite.headers['call-id'],
        cseq: { method: 'CANCEL', seq: invite.headers.cseq?.seq ?? 1 },
        'max-forwards': 70,
      },
    });
  }

  #cancelRing(call: Live, ring: Ring): void {
    if (ring.state !== 'calling') return;
    ring.state = 'cancelled';
    clearTimeout(ring.timer);
    this.#cancelInvite(ring.invite);
    if (call.ring === ring) call.ring = undefined;
    if (ring.alerting && call.state === 'ringing') void this.#o.snapshots?.save(this.#snapshot(call));
  }

  #ringFailed(call: Live, ring: Ring, reason: RingFailure, status: number | null): void {
    this.stats.ringFailures++;
    this.#log.info({ event: 'relay.ring_failed', callId: call.callId, agentId: ring.agentId, reason, status }, 'agent phone did not take the call');
    void this.#publishSafe({ type: 'call.ring-failed', callId: call.callId, agentId: ring.agentId, offerAt: ring.offerAt, reason, status, at: this.#iso(), ...(ring.alertingAt ? { alertingAt: ring.alertingAt } : {}) });
  }

  #onRingResponse(call: Live, ring: Ring, rs: SipMessage): void {
    const status = rs.status ?? 0;
    if (status < 200) {
      if ((status === 180 || status === 183) && !ring.alerting && ring.state === 'calling' && call.ring === ring && call.state === 'ringing') {
        ring.alerting = true;
        ring.alertingAt = this.#iso();
        ring.remoteTag = rs.headers.to?.params?.tag ?? undefined;
        // a restart from now on must CANCEL this phone (and answer the caller)
        void this.#o.snapshots?.save(this.#snapshot(call));
        // when the phone alerted goes to the engine with the ring's outcome (answered, failed,
        // abandoned); a live event of its own only when asked for (one more job per call)
        if (this.#o.ringingEvents) void this.#publishSafe({ type: 'call.ringing', callId: call.callId, agentId: ring.agentId, offerAt: ring.offerAt, status, at: ring.alertingAt });
      }
      return;
    }
    if (status < 300) {
      const leg = uacLeg(ring.invite, rs);
      if (ring.state === 'answered' && call.agentAck) {
        // delayed offer: the phone's 2xx is acknowledged only with the caller's answer; its
        // retransmissions get that same ACK once it exists, nothing before
        if (call.agentAck.sent) this.#send(call.agentAck.sent);
        return;
      }
      const delayed = !call.sdp && ring.state === 'calling' && call.ring === ring && call.state === 'ringing';
      if (!delayed) this.#send(ackFor(leg, leg.localCseq)); // every 2xx (retransmissions too) gets its ACK
      if (ring.state === 'answered') return;
      if (ring.state !== 'calling' || call.ring !== ring || call.state !== 'ringing') {
        // answered after a CANCEL crossed it, or the caller left meanwhile: hang the phone up
        // (once: retransmissions of that 2xx only get their ACK)
        if (ring.state !== 'failed') this.#send(inDialogRequest(leg, 'BYE'));
        ring.state = 'failed';
        return;
      }
      ring.state = 'answered';
      clearTimeout(ring.timer);
      if (delayed) call.agentAck = { leg, seq: leg.localCseq };
      this.#connectAgent(call, ring, leg, rs.content ?? '');
      return;
    }
    if (ring.state !== 'calling') return; // 487 after our CANCEL
    ring.state = 'failed';
    clearTimeout(ring.timer);
    if (call.ring === ring) call.ring = undefined;
    if (ring.alerting && call.state === 'ringing') void this.#o.snapshots?.save(this.#snapshot(call));
    this.#ringFailed(call, ring, ringFailureOf(status), status);
  }

  #connectAgent(call: Live, ring: Ring, leg: Leg, agentSdp: string): void {
    clearTimeout(call.timer);
    call.state = 'answered';
    call.peer = { side: 'agent', leg, agentId: ring.agentId };
    call.callerLeg = uasLeg(call.invite, call.localTag);
    this.stats.answered++;
    const ok = sip.makeResponse(call.invite, 200, 'OK', {
      headers: { ...this.#contactHeader(call), ...recordRouteOf(call.invite), ...(agentSdp ? SDP_HEADERS : {}) },
      ...(agentSdp ? { content: agentSdp } : {}),
    });
    ok.headers.to = { ...call.invite.headers.to!, params: { ...call.invite.headers.to?.params, tag: call.localTag } };
    call.okToCaller = new OkRetransmitter(
      () => this.#send(ok),
      () => {
        this.#log.warn({ event: 'relay.no_ack', callId: call.callId }, 'caller never acknowledged the 200 OK');
        if (call.agentAck && !call.agentAck.sent) this.#send((call.agentAck.sent = ackFor(call.agentAck.leg, call.agentAck.seq)));
        this.#hangUp(call, null, 'system', 'no-ack');
      },
    );
    void this.#o.snapshots?.save(this.#snapshot(call));
    this.#log.info({ event: 'relay.answered', callId: call.callId, agentId: ring.agentId }, 'agent answered');
    void this.#publishSafe({ type: 'call.answered', callId: call.callId, agentId: ring.agentId, offerAt: ring.offerAt, at: this.#iso(), ...(ring.alertingAt ? { alertingAt: ring.alertingAt } : {}) });
  }

  #snapshot(call: Live): Snapshot {
    const s: Snapshot = { callId: call.callId, line: call.line.id, ...(call.callerLeg ? { callerLeg: call.callerLeg } : {}), ...(call.peer ? { peerLeg: call.peer.leg } : {}) };
    if (call.state === 'ringing' || call.state === 'offering') {
      const { via, from, to } = call.invite.headers;
      if (via && from && to) s.callerInvite = { via, from, to, cseq: call.cseq, localTag: call.localTag };
      const r = call.ring;
      const rv = r?.invite.headers.via?.[0];
      if (r && r.state === 'calling' && r.alerting && rv?.params?.branch && r.invite.headers.from && r.invite.headers.to) {
        s.ring = {
          uri: uriString(r.invite.uri), via: rv, from: r.invite.headers.from, to: r.invite.headers.to,
          callId: String(r.invite.headers['call-id']), cseq: r.invite.headers.cseq?.seq ?? 1, remoteTag: r.remoteTag ?? null,
        };
      }
    }
    return s;
  }

  // ----- in the call ----------------------------------------------------------------------------

  #ack(rq: SipMessage): void {
    const id = String(rq.headers['call-id'] ?? '');
    const leftover = this.#leftovers.get(id);
    if (leftover) {
      leftover.stop();
      this.#leftovers.delete(id);
      return;
    }
    const found = this.#legs.get(id);
    if (!found) return;
    const { call, side } = found;
    const seq = rq.headers.cseq?.seq;
    if (side === 'caller' && call.okToCaller && !call.okToCaller.stopped && seq === call.cseq) {
      call.okToCaller.stop();
      // delayed offer: the caller's ACK holds the answer to the phone's offer; pass it on
      if (call.agentAck && !call.agentAck.sent) {
        if (rq.content) call.sdp = rq.content;
        call.agentAck.sent = ackFor(call.agentAck.leg, call.agentAck.seq, rq.content || undefined);
        this.#send(call.agentAck.sent);
      }
      return;
    }
    const p = call.pendingAcks.get(id);
    if (p && p.seq === seq) {
      p.rt.stop();
      call.pendingAcks.delete(id);
    }
  }

  #legOf(call: Live, side: Side): Leg | undefined {
    if (side === 'caller') return call.callerLeg;
    if (call.peer?.side === side) return call.peer.leg;
    return undefined;
  }

  #inDialog(rq: SipMessage): void {
    const id = String(rq.headers['call-id'] ?? '');
    const found = this.#legs.get(id);
    const method = rq.method ?? '';
    const leg = found && found.call.state === 'answered' ? this.#legOf(found.call, found.side) : undefined;
    if (!found || !leg || rq.headers.to?.params?.tag !== leg.localTag) {
      // a BYE for a leg we already hung up (e.g. the agent after a transfer) still gets its 200
      if (method === 'BYE' && found && found.call.state !== 'answered') this.#respond(rq, 200, 'OK');
      else this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    const { call, side } = found;
    const seq = rq.headers.cseq?.seq ?? 0;
    if (seq <= leg.remoteCseq && leg.remoteCseq !== 0) {
      this.#respond(rq, 500, 'Server Internal Error', { 'retry-after': '1' }); // out of order (§12.2.2)
      return;
    }
    leg.remoteCseq = seq;
    const contact = Array.isArray(rq.headers.contact) ? rq.headers.contact[0] : undefined;
    if (contact && (method === 'INVITE' || method === 'UPDATE')) leg.remoteTarget = uriString(contact.uri) || leg.remoteTarget;

    if (method === 'BYE') {
      this.#respond(rq, 200, 'OK');
      if (side === 'agent' && call.transfer && (call.transfer.state === 'calling' || call.transfer.state === 'reinviting')) {
        // the agent put the handset down after pressing 转110: the caller is not dropped, the
        // transfer carries on (and if it fails, only then is the call ended)
        this.#log.info({ event: 'relay.agent_left_during_transfer', callId: call.callId }, 'agent left; transfer continues');
        call.peer = undefined;
        return;
      }
      const by: EndParty = side === 'caller' ? 'caller' : side === 'agent' ? 'agent' : 'gateway';
      this.#hangUp(call, side, by, 'bye');
      return;
    }
    const otherSide: Side = side === 'caller' ? (call.peer?.side ?? 'agent') : 'caller';
    const other = this.#legOf(call, otherSide);
    if (!other) {
      this.#respond(rq, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    if (method === 'INVITE') {
      if (call.reinviting || call.transfer) {
        this.#respond(rq, 491, 'Request Pending');
        return;
      }
      this.#relayReinvite(call, rq, side, leg, other);
      return;
    }
    // INFO (DTMF), UPDATE, MESSAGE, NOTIFY, OPTIONS: relayed, final response relayed back
    const ct = rq.headers['content-type'];
    const fwd = inDialogRequest(other, method, {
      headers: typeof ct === 'string' ? { 'content-type': ct } : {},
      ...(rq.content ? { content: rq.content } : {}),
    });
    this.#send(fwd, (rs) => {
      if ((rs.status ?? 0) < 200) return;
      const rct = rs.headers['content-type'];
      this.#respond(rq, rs.status ?? 500, rs.reason ?? '', typeof rct === 'string' ? { 'content-type': rct } : {}, undefined, rs.content || undefined);
    });
  }

  #relayReinvite(call: Live, rq: SipMessage, side: Side, leg: Leg, other: Leg): void {
    this.stats.reinvites++;
    call.reinviting = true;
    this.#respond(rq, 100, 'Trying');
    if (side === 'caller' && rq.content) call.sdp = rq.content;
    const fwd = inDialogRequest(other, 'INVITE', {
      headers: { contact: [{ uri: `sip:${call.toNumber}@${this.#host}`, params: {} }], ...(rq.content ? SDP_HEADERS : {}) },
      ...(rq.content ? { content: rq.content } : {}),
    });
    this.#reinvite(other, fwd, (rs) => {
      call.reinviting = false;
      if (!rs) {
        this.#respond(rq, 408, 'Request Timeout');
        return;
      }
      const status = rs.status ?? 0;
      if (status >= 300) {
        this.#respond(rq, status, rs.reason ?? '');
        return;
      }
      const okContact = Array.isArray(rs.headers.contact) ? rs.headers.contact[0] : undefined;
      if (okContact) other.remoteTarget = uriString(okContact.uri) || other.remoteTarget;
      const ok = sip.makeResponse(rq, 200, 'OK', {
        headers: { ...this.#contactHeader(call), ...recordRouteOf(rq), ...(rs.content ? SDP_HEADERS : {}) },
        ...(rs.content ? { content: rs.content } : {}),
      });
      if (rq.content) this.#holdChanged(call, side, isHoldSdp(rq.content));
      const legId = leg.callId;
      call.pendingAcks.get(legId)?.rt.stop();
      call.pendingAcks.set(legId, {
        seq: rq.headers.cseq?.seq ?? 0,
        rt: new OkRetransmitter(() => this.#send(ok), () => call.pendingAcks.delete(legId)),
      });
      void this.#o.snapshots?.save(this.#snapshot(call));
    });
  }

  /** An accepted re-INVITE from `side` put the call on hold or took it off: tell the engine. */
  #holdChanged(call: Live, side: Side, held: boolean): void {
    // per side: a session refresh (sendrecv) from one leg does not end the other leg's hold, and
    // both legs may hold at once (two holds)
    const h = (call.hold ??= { seq: 0, held: {} });
    const current = h.held[side];
    if (held === (current !== undefined)) return;
    let seq: number;
    if (held) {
      seq = ++h.seq;
      h.held[side] = seq;
    } else {
      seq = current!;
      delete h.held[side];
    }
    this.#log.info({ event: held ? 'relay.held' : 'relay.resumed', callId: call.callId, by: side, seq }, held ? 'call on hold' : 'call resumed');
    void this.#publishSafe({ type: held ? 'call.held' : 'call.resumed', callId: call.callId, seq, by: side, at: this.#iso() });
  }

  /**
   * Sends a re-INVITE (`msg`, just built on `leg`) and calls `onFinal` once: with the final
   * response — every 2xx, retransmissions too, gets its ACK — or with null when none came within
   * REINVITE_TIMEOUT_MS (the INVITE is then CANCELled; the stack stops its own timer after a 1xx,
   * so a peer that goes silent must not block the call).
   */
  #reinvite(leg: Leg, msg: SipMessage, onFinal: (rs: SipMessage | null) => void): void {
    const seq = leg.localCseq;
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      this.#cancelInvite(msg);
      onFinal(null);
    }, REINVITE_TIMEOUT_MS);
    timer.unref();
    this.#send(msg, (rs) => {
      const status = rs.status ?? 0;
      if (status < 200) return;
      if (status < 300) this.#send(ackFor(leg, seq));
      if (done) return;
      done = true;
      clearTimeout(timer);
      onFinal(rs);
    });
  }

  /** Ends a connected call: BYE to every leg but `from` (who already hung up), `call.ended`. */
  #hangUp(call: Live, from: Side | null, by: EndParty, reason: string): void {
    if (call.state !== 'answered') return;
    const byes: Leg[] = [];
    if (from !== 'caller' && call.callerLeg) byes.push(call.callerLeg);
    if (call.peer && from !== call.peer.side) byes.push(call.peer.leg);
    for (const leg of byes) this.#send(inDialogRequest(leg, 'BYE'));
    const t = call.transfer;
    if (t && t.state === 'calling') {
      this.#cancelInvite(t.invite);
      t.state = 'cancelled';
      clearTimeout(t.timer);
      this.#transferFailed(call, t, 'call-ended');
    } else if (t?.leg && t.state === 'reinviting') this.#send(inDialogRequest(t.leg, 'BYE'));
    this.#drop(call);
    this.stats.ended++;
    this.#log.info({ event: 'relay.ended', callId: call.callId, by, reason }, 'call ended');
    void this.#publishSafe({ type: 'call.ended', callId: call.callId, by, reason, at: this.#iso() });
  }

  // ----- transfer -------------------------------------------------------------------------------

  #transferFailed(call: Live, t: Transfer, reason: string): void {
    t.state = 'done';
    clearTimeout(t.timer);
    if (call.transfer === t) call.transfer = undefined;
    this.stats.transfersFailed++;
    this.#log.warn({ event: 'relay.transfer_failed', callId: call.callId, target: t.gateway.key, reason }, 'transfer failed: caller stays with the agent');
    void this.#publishSafe({ type: 'call.transfer-result', callId: call.callId, requestId: t.requestId, target: t.gateway.key, outcome: 'failed', reason, at: this.#iso() });
    // the agent already left (hung up during the transfer): nobody is left for the caller
    if (!call.peer && call.state === 'answered') this.#hangUp(call, null, 'system', 'transfer-failed-agent-left');
  }

  #onGatewayResponse(call: Live, t: Transfer, rs: SipMessage): void {
    const status = rs.status ?? 0;
    if (status < 200) return;
    if (status >= 300) {
      if (t.state === 'calling') this.#transferFailed(call, t, `status-${status}`);
      return;
    }
    const leg = uacLeg(t.invite, rs);
    this.#send(ackFor(leg, leg.localCseq));
    if (t.state !== 'calling' || call.state !== 'answered' || !call.callerLeg) {
      if (t.leg === undefined) this.#send(inDialogRequest(leg, 'BYE')); // too late: caller gone or timed out
      t.leg ??= leg;
      return;
    }
    clearTimeout(t.timer);
    t.state = 'reinviting';
    t.leg = leg;
    // re-INVITE the caller towards the gateway's media
    const callerLeg = call.callerLeg;
    const gwSdp = rs.content ?? '';
    const reinvite = inDialogRequest(callerLeg, 'INVITE', {
      headers: { ...this.#contactHeader(call), ...(gwSdp ? SDP_HEADERS : {}) },
      ...(gwSdp ? { content: gwSdp } : {}),
    });
    this.#reinvite(callerLeg, reinvite, (crs) => {
      if (t.state !== 'reinviting' || call.state !== 'answered') return;
      if (!crs || (crs.status ?? 0) >= 300) {
        // the caller kept its old media: still with the agent; the gateway leg goes
        this.#send(inDialogRequest(leg, 'BYE'));
        this.#transferFailed(call, t, crs ? `caller-reinvite-${crs.status ?? 0}` : 'caller-reinvite-timeout');
        return;
      }
      const agentLeg = call.peer?.leg;
      if (agentLeg) this.#send(inDialogRequest(agentLeg, 'BYE'));
      call.peer = { side: 'gateway', leg, target: t.gateway.key };
      t.state = 'done';
      call.transfer = undefined;
      void this.#o.snapshots?.save(this.#snapshot(call));
      this.#log.info({ event: 'relay.transferred', callId: call.callId, target: t.gateway.key }, 'caller connected to the gateway');
      void this.#publishSafe({ type: 'call.transfer-result', callId: call.callId, requestId: t.requestId, target: t.gateway.key, outcome: 'connected', reason: null, at: this.#iso() });
    });
  }
}
