/**
 * Signed partner webhook (issue #6 item 1): HMAC-SHA256 over "<timestamp>.<raw body>", a
 * ±5-minute window against replay, secrets per partner from WEBHOOK_PARTNERS, idempotent by the
 * partner's messageId (a redelivery — even a racing one — answers the same ticket).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../server/src/intake/signature.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

const MEDIA_SECRET = 'media-secret-0123456789-0123456789-abcdef';
const PORTAL_SECRET = 'portal-secret-0123456789-0123456789-abcdef';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { WEBHOOK_PARTNERS: JSON.stringify({ 'media-a': { secret: MEDIA_SECRET, channel: 'media' }, 'portal-b': PORTAL_SECRET }) } });
});
afterAll(async () => {
  await t?.close();
});

let seq = 0;
const message = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  messageId: `msg-${Date.now()}-${++seq}`,
  category: 'complaint',
  content: '网友反映：小区供暖温度不达标，室内仅十二度。',
  address: '北关区红旗路8号院',
  phone: '13812340000',
  name: '王五',
  externalRef: `rmt/2026/${seq}`,
  ...over,
});
const now = (): string => String(Math.floor(Date.now() / 1000));

function deliver(partner: string, body: string, opts: { secret?: string; ts?: string; signature?: string } = {}) {
  const ts = opts.ts ?? now();
  const signature = opts.signature ?? sign(opts.secret ?? (partner === 'portal-b' ? PORTAL_SECRET : MEDIA_SECRET), ts, body);
  return t.api.post(`/api/intake/webhook/${partner}`).set({ 'content-type': 'application/json', 'x-hotline-timestamp': ts, 'x-hotline-signature': signature }).send(body);
}

describe('signed webhook intake', () => {
  it('a signed message → 201 with the ticket number; the ticket has the partner’s channel and reference', async () => {
    const m = message();
    const res = await deliver('media-a', JSON.stringify(m));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ messageId: m.messageId, duplicate: false, number: expect.stringMatching(/^12345-/) });
    const doc = await t.app.models.Ticket.findOne({ number: res.body.number }).lean();
    expect(doc).toMatchObject({ channel: 'media', externalRef: m.externalRef, state: 'received', caller: { name: '王五', phone: '13812340000', anonymous: false } });
    expect(doc!.createdBy).toMatchObject({ id: 'partner:media-a', role: 'system' });
    // a partner given as a bare secret files under the channel "webhook"; no name → anonymous
    const anon = await deliver('portal-b', JSON.stringify(message({ name: undefined })));
    expect(anon.status).toBe(201);
    expect(await t.app.models.Ticket.findOne({ number: anon.body.number }).lean()).toMatchObject({ channel: 'webhook', caller: { name: null, anonymous: true } });
  });

  it('redelivery (later, with a fresh timestamp) → 200 with the same ticket; concurrent redeliveries create one ticket', async () => {
    const body = JSON.stringify(message());
    const first = await deliver('media-a', body);
    const again = await deliver('media-a', body, { ts: String(Number(now()) + 2) });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ number: first.body.number, duplicate: true });

    const racing = JSON.stringify(message());
    const results = await Promise.all(Array.from({ length: 6 }, () => deliver('media-a', racing)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.number)).size).toBe(1);
    const id = (JSON.parse(racing) as { messageId: string }).messageId;
    // the same messageId from another partner is another message
    const other = await deliver('portal-b', racing);
    expect(other.status).toBe(201);
    expect(other.body.number).not.toBe(results[0]!.body.number);
    expect(await t.app.models.Ticket.countDocuments({ externalRef: (JSON.parse(racing) as { externalRef: string }).externalRef })).toBe(2);
    expect(id).toBeTruthy();
  });

  it('the same messageId with another body → 409 IDEMPOTENCY_MISMATCH', async () => {
    const m = message();
    expect((await deliver('media-a', JSON.stringify(m))).status).toBe(201);
    const changed = await deliver('media-a', JSON.stringify({ ...m, content: '内容被改动过的另一条消息。' }));
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('IDEMPOTENCY_MISMATCH');
  });

  it('refused: wrong secret, tampered body, no signature, stale or future timestamp, unknown partner — nothing stored', async () => {
    const before = await t.app.models.Ticket.countDocuments({});
    const body = JSON.stringify(message());
    const cases: [string, Promise<{ status: number; body: { error?: { code?: string } } }>, number, string][] = [
      ['wrong secret', deliver('media-a', body, { secret: PORTAL_SECRET }), 401, 'SIGNATURE_INVALID'],
      ['another partner’s signature', deliver('portal-b', body, { secret: MEDIA_SECRET }), 401, 'SIGNATURE_INVALID'],
      ['tampered body', deliver('media-a', body.replace('十二度', '二十度'), { signature: sign(MEDIA_SECRET, now(), body) }), 401, 'SIGNATURE_INVALID'],
      ['timestamp swapped (signature over another one)', deliver('media-a', body, { ts: String(Number(now()) - 1), signature: sign(MEDIA_SECRET, now(), body) }), 401, 'SIGNATURE_INVALID'],
      ['no signature', t.api.post('/api/intake/webhook/media-a').set({ 'content-type': 'application/json', 'x-hotline-timestamp': now() }).send(body), 401, 'SIGNATURE_INVALID'],
      ['no timestamp', t.api.post('/api/intake/webhook/media-a').set({ 'content-type': 'application/json', 'x-hotline-signature': sign(MEDIA_SECRET, now(), body) }).send(body), 401, 'TIMESTAMP_OUT_OF_WINDOW'],
      ['replayed after 6 minutes', deliver('media-a', body, { ts: String(Number(now()) - 360) }), 401, 'TIMESTAMP_OUT_OF_WINDOW'],
      ['from the future', deliver('media-a', body, { ts: String(Number(now()) + 360) }), 401, 'TIMESTAMP_OUT_OF_WINDOW'],
      ['unknown partner', deliver('nobody', body), 404, 'NOT_FOUND'],
      ['malformed signature header', deliver('media-a', body, { signature: 'md5=abc' }), 400, 'VALIDATION_FAILED'],
      ['not JSON', deliver('media-a', '{"messageId":'), 400, 'BAD_JSON'],
      ['missing fields', deliver('media-a', JSON.stringify({ messageId: 'x-1' })), 400, 'VALIDATION_FAILED'],
    ];
    const bad: string[] = [];
    for (const [name, p, status, code] of cases) {
      const r = await p;
      if (r.status !== status || r.body.error?.code !== code) bad.push(`${name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    expect(bad).toEqual([]);
    expect(await t.app.models.Ticket.countDocuments({})).toBe(before);
  });

  it('is in the OpenAPI document as a public route with its signature headers', async () => {
    const doc = (await t.api.get('/api/openapi.json')).body;
    const op = doc.paths['/api/intake/webhook/{partner}'].post;
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['partner', 'x-hotline-signature', 'x-hotline-timestamp']);
  });
});
