// HTTP Digest (RFC 2617 / RFC 3261 §22) for the registrar: MD5, qop=auth or no qop.
// Written here instead of using `sip/digest.js` (TELEPHONY-NOTES defect 8: Math.random nonces,
// non-constant-time comparison).
//
// Nonces are stateless: base64url(issuedAt(8) | random(16) | HMAC-SHA256(secret, first 24)[0..16]).
// Any engine instance holding the same secret can check them, nothing is stored per challenge
// (a flood of unauthenticated REGISTERs costs no memory), and the issue time gives expiry.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  /** plain password; used when ha1 is absent */
  password?: string;
  /** precomputed MD5(username:realm:password), lowercase hex */
  ha1?: string;
}

/** The engine plugs the directory in here. null = no such user. */
export type CredentialLookup = (username: string) => Promise<Credentials | null>;

const NONCE_PAYLOAD = 24;
const NONCE_MAC = 16;

export function md5hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}

export function ha1Of(username: string, realm: string, password: string): string {
  return md5hex(`${username}:${realm}:${password}`);
}

export class NonceIssuer {
  readonly #secret: Buffer;
  readonly #ttlMs: number;

  constructor(secret: Buffer, ttlMs: number) {
    if (secret.length < 16) throw new Error('nonce secret must be at least 16 bytes');
    this.#secret = secret;
    this.#ttlMs = ttlMs;
  }

  issue(now: number): string {
    const payload = Buffer.alloc(NONCE_PAYLOAD);
    payload.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 0);
    randomBytes(16).copy(payload, 8);
    return Buffer.concat([payload, this.#mac(payload)]).toString('base64url');
  }

  /** 'valid', 'stale' (ours but expired), or 'invalid' (not ours, e.g. before a restart with a new secret) */
  check(nonce: string, now: number): 'valid' | 'stale' | 'invalid' {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(nonce)) return 'invalid';
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_PAYLOAD + NONCE_MAC) return 'invalid';
    const payload = raw.subarray(0, NONCE_PAYLOAD);
    if (!timingSafeEqual(raw.subarray(NONCE_PAYLOAD), this.#mac(payload))) return 'invalid';
    const issuedAt = Number(payload.readBigUInt64BE(0));
    if (issuedAt > now + 5_000) return 'invalid';
    return now - issuedAt > this.#ttlMs ? 'stale' : 'valid';
  }

  #mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.#secret).update(payload).digest().subarray(0, NONCE_MAC);
  }
}

/** Removes the quotes (and backslash escapes) the sip parser leaves on auth-param values. */
export function unquote(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

export interface DigestFields {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  algorithm?: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
}

/** Reads the fields of one parsed Authorization header; undefined if it is not a usable Digest header. */
export function readDigestFields(h: Record<string, string | undefined>): DigestFields | undefined {
  if ((h.scheme ?? '').toLowerCase() !== 'digest') return undefined;
  const get = (k: string) => unquote(h[k]);
  const username = get('username');
  const realm = get('realm');
  const nonce = get('nonce');
  const uri = get('uri');
  const response = get('response');
  if (!username || realm === undefined || !nonce || !uri || !response) return undefined;
  const f: DigestFields = { username, realm, nonce, uri, response };
  const algorithm = get('algorithm');
  const qop = get('qop');
  const nc = get('nc');
  const cnonce = get('cnonce');
  if (algorithm !== undefined) f.algorithm = algorithm;
  if (qop !== undefined) f.qop = qop;
  if (nc !== undefined) f.nc = nc;
  if (cnonce !== undefined) f.cnonce = cnonce;
  return f;
}

export function expectedResponse(ha1: string, method: string, f: DigestFields): string {
  const ha2 = md5hex(`${method}:${f.uri}`);
  return f.qop
    ? md5hex(`${ha1}:${f.nonce}:${f.nc ?? ''}:${f.cnonce ?? ''}:${f.qop}:${ha2}`)
    : md5hex(`${ha1}:${f.nonce}:${ha2}`);
}

/** Constant-time comparison of two lowercase hex digests. */
export function digestEquals(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(a, a); // same work either way
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * Checks a digest response. `creds` null (unknown user) is checked against a random HA1 so an
 * unknown user costs the same work and gets the same answer as a wrong password.
 */
export function verifyDigest(
  creds: Credentials | null,
  realm: string,
  method: string,
  f: DigestFields,
): boolean {
  if (f.algorithm !== undefined && f.algorithm.toUpperCase() !== 'MD5') return false;
  if (f.qop !== undefined && (f.qop !== 'auth' || !f.nc || !f.cnonce)) return false;
  let ha1: string;
  let known = creds !== null;
  if (creds?.ha1 && /^[0-9a-fA-F]{32}$/.test(creds.ha1)) ha1 = creds.ha1.toLowerCase();
  else if (creds?.password !== undefined) ha1 = ha1Of(f.username, realm, creds.password);
  else {
    ha1 = randomBytes(16).toString('hex');
    known = false;
  }
  const ok = digestEquals(expectedResponse(ha1, method, f), f.response);
  return ok && known && f.realm === realm;
}
