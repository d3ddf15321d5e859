// SIP dialog bookkeeping for the B2BUA (RFC 3261 §12): the state of one leg, requests inside it,
// the ACK for a 2xx, and the retransmission of our own 2xx to an INVITE until its ACK arrives
// (`sip@0.0.6` leaves both to the application, TELEPHONY-NOTES "What sip@0.0.6 is").
import { randomBytes } from 'node:crypto';
import sip, { type SipAor, type SipMessage } from 'sip';

/** One dialog as seen from our side. */
export interface Leg {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** our URI on this leg (From of our requests) */
  localUri: string;
  /** the peer's URI (To of our requests) */
  remoteUri: string;
  /** the peer's Contact: the Request-URI of our in-dialog requests */
  remoteTarget: string;
  /** Route set for our in-dialog requests, in order */
  routeSet: string[];
  /** CSeq of our last request on this leg */
  localCseq: number;
  /** CSeq of the peer's last request on this leg */
  remoteCseq: number;
}

export function uriString(u: SipAor['uri'] | string | undefined): string {
  if (u === undefined) return '';
  return typeof u === 'string' ? u : sip.stringifyUri(u);
}

export const newTag = (): string => randomBytes(8).toString('hex');
export const newCallId = (host: string): string => `${randomBytes(12).toString('hex')}@${host}`;

function contactUri(m: SipMessage): string {
  const c = m.headers.contact;
  return Array.isArray(c) && c[0] ? uriString(c[0].uri) : '';
}

function recordRoute(m: SipMessage): string[] {
  const rr = m.headers['record-route'];
  return Array.isArray(rr) ? (rr as SipAor[]).map((r) => uriString(r.uri)) : [];
}

/** The caller's leg once we answer its INVITE (UAS side, §12.1.1). */
export function uasLeg(invite: SipMessage, localTag: string): Leg {
  return {
    callId: String(invite.headers['call-id']),
    localTag,
    remoteTag: invite.headers.from?.params?.tag ?? '',
    localUri: uriString(invite.headers.to?.uri),
    remoteUri: uriString(invite.headers.from?.uri),
    remoteTarget: contactUri(invite),
    routeSet: recordRoute(invite),
    localCseq: 1 + Math.floor(Math.random() * 1000),
    remoteCseq: invite.headers.cseq?.seq ?? 0,
  };
}

/** A leg we called, from our INVITE and its 2xx (UAC side, §12.1.2). */
export function uacLeg(invite: SipMessage, ok: SipMessage): Leg {
  return {
    callId: String(invite.headers['call-id']),
    localTag: invite.headers.from?.params?.tag ?? '',
    remoteTag: ok.headers.to?.params?.tag ?? '',
    localUri: uriString(invite.headers.from?.uri),
    remoteUri: uriString(invite.headers.to?.uri),
    remoteTarget: contactUri(ok) || uriString(invite.uri),
    routeSet: recordRoute(ok).reverse(),
    localCseq: invite.headers.cseq?.seq ?? 1,
    remoteCseq: 0,
  };
}

function dialogHeaders(leg: Leg, method: string, seq: number): SipMessage['headers'] {
  const h: SipMessage['headers'] = {
    to: { uri: leg.remoteUri, params: { tag: leg.remoteTag } },
    from: { uri: leg.localUri, params: { tag: leg.localTag } },
    'call-id': leg.callId,
    cseq: { method, seq },
    'max-forwards': 70,
  };
  if (leg.routeSet.length > 0) h.route = leg.routeSet.map((uri) => ({ uri, params: {} }));
  return h;
}

/** A new request inside the dialog (BYE, re-INVITE, INFO…); increments our CSeq. */
export function inDialogRequest(leg: Leg, method: string, extra: { headers?: Record<string, unknown>; content?: string } = {}): SipMessage {
  leg.localCseq += 1;
  const m: SipMessage = {
    method,
    uri: leg.remoteTarget,
    headers: { ...dialogHeaders(leg, method, leg.localCseq), ...extra.headers },
  };
  if (extra.content !== undefined) m.content = extra.content;
  return m;
}

/** The ACK for a 2xx to our INVITE with CSeq `seq` (a new transaction; the stack adds the Via). */
export function ackFor(leg: Leg, seq: number, sdp?: string): SipMessage {
  const m: SipMessage = { method: 'ACK', uri: leg.remoteTarget, headers: { ...dialogHeaders(leg, 'ACK', seq), via: [] } };
  if (sdp) {
    // delayed offer: the ACK carries the answer (RFC 3261 §13.2.1)
    m.headers['content-type'] = 'application/sdp';
    m.content = sdp;
  }
  return m;
}

/**
 * Resends our 2xx to an INVITE at T1, 2·T1, … capped at T2 until `stop()` (its ACK arrived) or
 * 64·T1 passed, then calls `onTimeout` (RFC 3261 §13.3.1.4: the dialog must then be ended).
 */
export class OkRetransmitter {
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(send: () => void, onTimeout: () => void, t1 = 500, t2 = 4000) {
    send();
    const again = (interval: number): void => {
      this.#timer = setTimeout(() => {
        if (this.#stopped) return;
        send();
        again(Math.min(interval * 2, t2));
      }, interval);
    };
    again(t1);
    this.#deadline = setTimeout(() => {
      if (this.#stopped) return;
      this.stop();
      onTimeout();
    }, 64 * t1);
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#deadline);
  }
}
