// Minimal typings for the parts of `sip@0.0.6` (patched, see patches/sip+0.0.6.patch) that
// the telephony adapter uses. The package ships no types.
declare module 'sip' {
  export interface SipUri {
    schema: string;
    user?: string;
    password?: string;
    host: string;
    port: number;
    params: Record<string, string | null>;
    headers: Record<string, string>;
  }
  export interface SipAor {
    name?: string;
    uri: string | SipUri;
    params: Record<string, string | null>;
  }
  export interface SipVia {
    version: string;
    protocol: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
  }
  export interface SipAuthHeader {
    scheme: string;
    [name: string]: string;
  }
  export interface SipHeaders {
    via?: SipVia[];
    to?: SipAor;
    from?: SipAor;
    'call-id'?: string;
    cseq?: { seq: number; method: string };
    contact?: SipAor[] | '*';
    authorization?: SipAuthHeader[];
    'www-authenticate'?: SipAuthHeader[];
    'content-length'?: number;
    [name: string]: unknown;
  }
  export interface SipMessage {
    method?: string;
    uri?: string | SipUri;
    version?: string;
    status?: number;
    reason?: string;
    headers: SipHeaders;
    content?: string;
  }
  export interface SipRemote {
    protocol: string;
    address: string;
    port: number;
    local?: { address: string; port: number };
  }
  export interface SipOptions {
    address?: string;
    port?: number;
    publicAddress?: string;
    hostname?: string;
    udp?: boolean;
    tcp?: boolean;
    tls?: unknown;
    ws_port?: number;
    rport?: boolean;
    logger?: {
      send?: (m: SipMessage, target: SipRemote) => void;
      recv?: (m: SipMessage, remote: SipRemote) => void;
      error?: (e: unknown) => void;
    };
    /** patched: drop UDP datagrams larger than this many bytes before parsing */
    maxMessageSize?: number;
    /** patched: called for each dropped oversized datagram */
    onOversize?: (info: { address: string; port: number; size: number }) => void;
    /** patched: UDP socket error (e.g. EADDRINUSE on bind) instead of an uncaught exception */
    onError?: (err: Error) => void;
    /** patched: the UDP socket is bound */
    onListening?: (address: { address: string; port: number; family: string }) => void;
    /**
     * patched: an INVITE client transaction we CANCELled that still has no final response after
     * this many ms is terminated and its callback gets a synthetic 408 (default 64*T1 = 32 000)
     */
    inviteCancelTimeout?: number;
  }
  export interface SipTransactionCount {
    client: number;
    server: number;
  }
  export interface SipStack {
    send(m: SipMessage, callback?: (rs: SipMessage) => void): void;
    destroy(): void;
    hostname(): string;
    /** patched: live client and server transactions */
    transactionCount(): SipTransactionCount;
    /** patched: a message sent outside any transaction, from the stack's own UDP socket */
    sendStateless(m: SipMessage, target: { address: string; port: number }): void;
  }
  export function create(options: SipOptions, onRequest: (rq: SipMessage, remote: SipRemote) => void): SipStack;
  export function start(options: SipOptions, onRequest: (rq: SipMessage, remote: SipRemote) => void): void;
  export function send(m: SipMessage, callback?: (rs: SipMessage) => void): void;
  export function stop(): void;
  export function makeResponse(
    rq: SipMessage,
    status: number,
    reason?: string,
    extension?: { headers?: Record<string, unknown>; content?: string },
  ): SipMessage;
  export function parse(data: string | Buffer): SipMessage | undefined;
  export function stringify(m: SipMessage): string;
  export function parseUri(s: string | SipUri): SipUri | undefined;
  export function stringifyUri(u: string | SipUri): string;
  export function generateBranch(): string;

  const sip: {
    create: typeof create;
    start: typeof start;
    send: typeof send;
    stop: typeof stop;
    makeResponse: typeof makeResponse;
    parse: typeof parse;
    stringify: typeof stringify;
    parseUri: typeof parseUri;
    stringifyUri: typeof stringifyUri;
    generateBranch: typeof generateBranch;
  };
  export default sip;
}
