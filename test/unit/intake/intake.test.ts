/** Pure parts of the online intake: signatures, content typing, partner config, Open311 mapping. */
import { describe, expect, it } from 'vitest';
import { detectType, displayName } from '../../../server/src/intake/attachments.js';
import { parsePartners } from '../../../server/src/intake/partners.js';
import { maskName } from '../../../server/src/intake/presenter.js';
import { sign, verify } from '../../../server/src/intake/signature.js';
import { statusOf } from '../../../server/src/open311/mapping.js';
import { TICKET_STATES } from '../../../server/src/tickets/vocabulary.js';

const SECRET = 'a-partner-secret-of-at-least-32-characters';

describe('webhook signature', () => {
  const body = Buffer.from('{"messageId":"m1"}');
  const at = new Date('2026-11-26T04:00:00Z');
  const ts = String(at.getTime() / 1000);
  it('accepts its own signature within ±5 minutes, refuses outside, refuses any change', () => {
    const s = sign(SECRET, ts, body);
    expect(s).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verify(SECRET, { signature: s, timestamp: ts }, body, at)).toEqual({ ok: true });
    expect(verify(SECRET, { signature: s, timestamp: ts }, body, new Date(at.getTime() + 299_000)).ok).toBe(true);
    expect(verify(SECRET, { signature: s, timestamp: ts }, body, new Date(at.getTime() + 301_000))).toEqual({ ok: false, problem: 'timestamp' });
    expect(verify(SECRET, { signature: s, timestamp: ts }, body, new Date(at.getTime() - 301_000))).toEqual({ ok: false, problem: 'timestamp' });
    expect(verify(SECRET, { signature: s, timestamp: ts }, Buffer.from('{"messageId":"m2"}'), at)).toEqual({ ok: false, problem: 'signature' });
    expect(verify(`${SECRET}x`, { signature: s, timestamp: ts }, body, at)).toEqual({ ok: false, problem: 'signature' });
    expect(verify(SECRET, { signature: s.slice(0, -1), timestamp: ts }, body, at)).toEqual({ ok: false, problem: 'signature' });
    expect(verify(SECRET, { timestamp: ts }, body, at)).toEqual({ ok: false, problem: 'signature' });
    expect(verify(SECRET, { signature: s, timestamp: 'soon' }, body, at)).toEqual({ ok: false, problem: 'timestamp' });
  });
});

describe('attachment typing', () => {
  it('by magic bytes, not by name', () => {
    expect(detectType(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).toBe('image/jpeg');
    expect(detectType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png');
    expect(detectType(Buffer.from('GIF89a....'))).toBe('image/gif');
    expect(detectType(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(detectType(Buffer.from('RIFF\0\0\0\0WAVEfmt '))).toBe('audio/wav');
    expect(detectType(Buffer.from('%PDF-1.4'))).toBe('application/pdf');
    expect(detectType(Buffer.from('\0\0\0\x18ftypmp42'))).toBe('video/mp4');
    expect(detectType(Buffer.from('MZ\x90\0'))).toBeNull(); // Windows executable
    expect(detectType(Buffer.from('\x7fELF'))).toBeNull();
    expect(detectType(Buffer.from('<svg onload=alert(1)>'))).toBeNull(); // SVG can carry script
    expect(detectType(Buffer.from('<html>'))).toBeNull();
    expect(detectType(Buffer.alloc(0))).toBeNull();
  });
  it('display names lose paths and control characters', () => {
    expect(displayName('../../etc/passwd')).toBe('passwd');
    expect(displayName('C:\\Users\\a\\照片.jpg')).toBe('照片.jpg');
    expect(displayName('a\u0000b\r\n.png')).toBe('ab.png');
    expect(displayName('')).toBe('attachment');
    expect(displayName('x'.repeat(300))).toHaveLength(100);
  });
});

describe('partners', () => {
  it('parses both forms and names every problem', () => {
    const p = parsePartners(JSON.stringify({ rmt: { secret: SECRET, channel: 'media' }, portal: SECRET }));
    expect(p.get('rmt')).toEqual({ name: 'rmt', secret: SECRET, channel: 'media' });
    expect(p.get('portal')).toEqual({ name: 'portal', secret: SECRET, channel: 'webhook' });
    expect(parsePartners('').size).toBe(0);
    expect(() => parsePartners('{')).toThrow(/JSON/);
    expect(() => parsePartners(JSON.stringify({ rmt: 'short' }))).toThrow(/rmt.*32/);
    expect(() => parsePartners(JSON.stringify({ 'Bad Name': SECRET }))).toThrow(/partner name/);
    expect(() => parsePartners(JSON.stringify({ rmt: { secret: SECRET, channel: 'fax' } }))).toThrow(/rmt/);
  });
});

describe('Open311 status and public masking', () => {
  it('closed and merged are closed, everything else open', () => {
    expect(Object.fromEntries(TICKET_STATES.map((s) => [s, statusOf(s)]))).toEqual({
      received: 'open', dispatched: 'open', handling: 'open', returned: 'open', replied: 'open', visiting: 'open', disputed: 'open', closed: 'closed', merged: 'closed',
    });
  });
  it('names show only their first character', () => {
    expect(maskName('张三')).toBe('张*');
    expect(maskName('欧阳娜娜')).toBe('欧***');
    expect(maskName('李')).toBe('李*');
    expect(maskName(null)).toBeNull();
  });
});
