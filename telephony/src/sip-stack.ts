// One UDP SIP stack on the patched `sip@0.0.6` (patches/sip+0.0.6.patch), shared by the registrar
// and the call relay so phones register and calls flow on one address and port. TCP is off
// (TELEPHONY-NOTES defect 6); datagrams over `maxMessageSize` are dropped before parsing, and the
// patch makes the header parsers linear (whitespace-padded headers no longer stall the loop).
import sip, { type SipMessage, type SipRemote, type SipStack, type SipTransactionCount } from 'sip';

export interface SipLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: SipLogger = { info() {}, warn() {}, error() {} };

export interface SipStackOptions {
  address: string;
  port: number;
  /** bytes (default 8192) */
  maxMessageSize?: number;
  onOversize?: (info: { address: string; port: number; size: number }) => void;
  logger?: SipLogger;
  /** prefix of log events, e.g. 'telephony' */
  name?: string;
  /** a CANCELled INVITE with no final response after this is given up with a 408 (ms, default 32 000) */
  inviteCancelTimeout?: number;
}

export interface RunningStack {
  readonly address: string;
  readonly port: number;
  send(m: SipMessage, callback?: (rs: SipMessage) => void): void;
  /** live transactions of the stack (client: ours, server: peers') */
  transactionCount(): SipTransactionCount;
  /** a message outside any transaction (a response to a previous run's request), from our socket */
  sendStateless(m: SipMessage, target: { address: string; port: number }): void;
  /** shuts every transaction down (their timers included) and closes the socket */
  destroy(): void;
}

/** Binds the socket; rejects if it cannot (port taken, unpatched package). */
export async function startSipStack(o: SipStackOptions, onRequest: (rq: SipMessage, remote: SipRemote) => void): Promise<RunningStack> {
  const log = o.logger ?? silentLogger;
  const name = o.name ?? 'sip';
  let stack: SipStack | undefined;
  await new Promise<void>((resolve, reject) => {
    let bound = false;
    // onListening/onError come from the patch; an unpatched package never calls them
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
        inviteCancelTimeout: o.inviteCancelTimeout,
        onOversize: (info) => {
          o.onOversize?.(info);
          log.warn({ event: `${name}.oversize_dropped`, source: info.address, size: info.size }, 'oversized datagram dropped');
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
          } else log.error({ event: `${name}.socket_error`, err: String(err) }, 'UDP socket error');
        },
        logger: { error: (e) => log.error({ event: 'sip.error', err: String(e) }, 'sip stack error') },
      },
      onRequest,
    );
    stack = s;
  });
  const running = stack as SipStack;
  let destroyed = false;
  return {
    address: o.address,
    port: o.port,
    send(m, cb) {
      if (!destroyed) running.send(m, cb);
    },
    transactionCount: () => running.transactionCount(),
    sendStateless(m, target) {
      if (!destroyed) running.sendStateless(m, target);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      running.destroy();
    },
  };
}
