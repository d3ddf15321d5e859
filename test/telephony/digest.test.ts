import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InMemoryBindingStore } from '../../telephony/src/binding-store.js';
import { NonceIssuer, ha1Of, readDigestFields, unquote, verifyDigest, type DigestFields } from '../../telephony/src/digest.js';
import { FailureLimiter } from '../../telephony/src/failure-limiter.js';

// RFC 2617 §3.5 example
const rfc: DigestFields = {
  username: 'Mufasa', realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
  uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: '0a4f113b',
  response: '6629fae49393a05397450978507c4ef1',
};

describe('digest', () => {
  it('verifies the RFC 2617 example with a password or a stored HA1', () => {
    expect(verifyDigest({ password: 'Circle Of Life' }, rfc.realm, 'GET', rfc)).toBe(true);
    expect(verifyDigest({ ha1: ha1Of('Mufasa', rfc.realm, 'Circle Of Life') }, rfc.realm, 'GET', rfc)).toBe(true);
    expect(verifyDigest({ password: 'circle of life' }, rfc.realm, 'GET', rfc)).toBe(false);
    expect(verifyDigest(null, rfc.realm, 'GET', rfc)).toBe(false); // unknown user
    expect(verifyDigest({ password: 'Circle Of Life' }, 'other', 'GET', rfc)).toBe(false);
    expect(verifyDigest({ password: 'Circle Of Life' }, rfc.realm, 'GET', { ...rfc, algorithm: 'SHA-256' })).toBe(false);
    expect(verifyDigest({ password: 'Circle Of Life' }, rfc.realm, 'GET', { ...rfc, response: 'short' })).toBe(false);
  });

  it('reads quoted auth-params as the sip parser leaves them', () => {
    expect(unquote('"a\\"b"')).toBe('a"b');
    expect(readDigestFields({ scheme: 'Basic', username: '"x"' })).toBeUndefined();
    expect(readDigestFields({ scheme: 'Digest', username: '"x"' })).toBeUndefined();
    expect(readDigestFields({ scheme: 'Digest', username: '"u"', realm: '"r"', nonce: '"n"', uri: '"sip:x"', response: '"r1"', qop: 'auth' }))
      .toEqual({ username: 'u', realm: 'r', nonce: 'n', uri: 'sip:x', response: 'r1', qop: 'auth' });
  });

  it('nonces: valid within their lifetime, stale after it, invalid when forged or from another secret', () => {
    const secret = randomBytes(32);
    const n = new NonceIssuer(secret, 60_000);
    const nonce = n.issue(1_000_000);
    expect(n.check(nonce, 1_000_000)).toBe('valid');
    expect(n.check(nonce, 1_060_000)).toBe('valid');
    expect(n.check(nonce, 1_060_001)).toBe('stale');
    expect(new NonceIssuer(randomBytes(32), 60_000).check(nonce, 1_000_000)).toBe('invalid');
    expect(new NonceIssuer(secret, 60_000).check(nonce, 1_000_000)).toBe('valid'); // another instance, same secret
    const raw = Buffer.from(nonce, 'base64url');
    raw[0] = raw[0]! ^ 1;
    expect(n.check(raw.toString('base64url'), 1_000_000)).toBe('invalid');
    expect(n.check('not a nonce', 1_000_000)).toBe('invalid');
    expect(n.issue(0)).not.toBe(n.issue(0));
  });
});

describe('failure limiter', () => {
  it('blocks at the limit within the window, per source, and forgets after the window', () => {
    const l = new FailureLimiter({ limit: 3, windowMs: 1000 });
    expect(l.recordFailure('a', 0)).toEqual({ count: 1, nowBlocked: false });
    l.recordFailure('a', 100);
    expect(l.isBlocked('a', 200)).toBe(false);
    expect(l.recordFailure('a', 200)).toEqual({ count: 3, nowBlocked: true });
    expect(l.isBlocked('a', 999)).toBe(true);
    expect(l.isBlocked('b', 999)).toBe(false);
    expect(l.isBlocked('a', 1000)).toBe(false); // the first failure left the window
    expect(l.isBlocked('a', 1200)).toBe(false);
    expect(l.trackedSources).toBe(0);
  });

  it('keeps memory bounded', () => {
    const l = new FailureLimiter({ limit: 3, windowMs: 1000, maxTracked: 100 });
    for (let i = 0; i < 1000; i++) l.recordFailure(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(l.trackedSources).toBe(100);
  });
});

describe('in-memory binding store', () => {
  it('lists only unexpired bindings and replaces by contact', async () => {
    const s = new InMemoryBindingStore();
    const b = { aor: 'sip:1@r', contact: 'sip:1@h:1', expiresAt: 100, callId: 'c', cseq: 1, source: { protocol: 'UDP', address: 'h', port: 1 }, updatedAt: 0 };
    await s.put(b);
    await s.put({ ...b, contact: 'sip:1@h:2', expiresAt: 200 });
    await s.put({ ...b, cseq: 2, expiresAt: 150 });
    expect((await s.list('sip:1@r', 120)).map((x) => [x.contact, x.cseq])).toEqual([['sip:1@h:1', 2], ['sip:1@h:2', 1]]);
    expect((await s.list('sip:1@r', 160)).map((x) => x.contact)).toEqual(['sip:1@h:2']);
    expect(s.purgeExpired(300)).toBe(1);
    expect(await s.list('sip:1@r', 0)).toEqual([]);
  });
});
