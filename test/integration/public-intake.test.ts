/**
 * The public citizen API (issue #6 item 1): filing without login, attachments checked by
 * content and stored under random names, lookup by number + phone without leaks, rate limits
 * per IP and per phone (429 + Retry-After + code), and the CAPTCHA hook.
 */
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(200, 7)]);
const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(100, 32)]);
const EXE = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(300, 1)]);

let t: TestApp;
let dataDir: string;
let phoneSeq = 0;
/** A fresh phone per test, so per-phone limits of one test do not touch another. */
const phone = (): string => `139${String(10_000_000 + ++phoneSeq * 7919).slice(-8)}`;
/** A distinct source address per test (trust proxy: loopback may forward). */
let ipSeq = 0;
const ip = (): string => `203.0.113.${++ipSeq}`;

const complaint = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  category: 'complaint',
  content: '小区门口夜间施工噪音扰民，持续一周。联系我 13900001111',
  address: '文峰区南关街道中华路1号',
  districtId: 'wenfeng',
  streetId: 'nanguan',
  phone: phone(),
  name: '李四',
  ...over,
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'hotline-attach-'));
  t = await startTestApp({
    env: { DATA_DIR: dataDir, ATTACHMENT_MAX_BYTES: '4096', ATTACHMENT_MAX_FILES: '2', PUBLIC_FILINGS_PER_PHONE: '3', PUBLIC_FILINGS_PER_IP: '6', PUBLIC_LOOKUPS_PER_IP: '30' },
  });
});

afterAll(async () => {
  await t?.close();
});

const agent = async (): Promise<Record<string, string>> => ({ authorization: `Bearer ${await t.token('agent1')}` });
const count = (): Promise<number> => t.app.models.Ticket.countDocuments({});

describe('filing a complaint (no login)', () => {
  it('JSON filing → 201 with the ticket number; the ticket records its channel and is in the same loop', async () => {
    const body = complaint({ channel: 'wechat' });
    const res = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.number).toMatch(/^12345-\d{8}-\d{6}$/);
    expect(res.body).not.toHaveProperty('id');
    const list = await t.api.get(`/api/tickets?number=${res.body.number}`).set(await agent());
    expect(list.body.items).toHaveLength(1);
    const ticket = (await t.api.get(`/api/tickets/${list.body.items[0].id}`).set(await agent())).body;
    expect(ticket).toMatchObject({ channel: 'wechat', state: 'received', category: 'complaint', urgency: 'normal', address: body.address, area: { districtId: 'wenfeng', streetId: 'nanguan' } });
    expect(ticket.caller).toEqual({ name: '李四', phone: body.phone, anonymous: false });
    expect(ticket.createdBy).toMatchObject({ id: 'wechat:citizen', role: 'system' });
    expect(ticket.availableCommands).toContain('dispatch');
  });

  it('anonymous filing needs no name; a named one without name is 400 at body.name', async () => {
    const anon = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(complaint({ name: undefined, anonymous: true }));
    expect(anon.status, JSON.stringify(anon.body)).toBe(201);
    const doc = await t.app.models.Ticket.findOne({ number: anon.body.number }).lean();
    expect(doc!.caller).toMatchObject({ name: null, anonymous: true });
    const bad = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(complaint({ name: undefined }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toContain('body.name');
  });

  it('bad input → 400 VALIDATION_FAILED naming the field, nothing stored', async () => {
    const before = await count();
    for (const [over, path] of [
      [{ category: 'gossip' }, 'body.category'],
      [{ phone: 'call me' }, 'body.phone'],
      [{ content: '短' }, 'body.content'],
      [{ channel: 'phone' }, 'body.channel'],
      [{ districtId: '../etc' }, 'body.districtId'],
      [{ anonymous: 'yes' }, 'body.anonymous'],
    ] as const) {
      const res = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(complaint(over));
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect(await count()).toBe(before);
  });

  it('Idempotency-Key: a retry answers 200 with the same ticket', async () => {
    const body = complaint();
    const key = `retry-${Date.now()}`;
    const a = await t.api.post('/api/public/complaints').set({ 'x-forwarded-for': ip(), 'idempotency-key': key }).send(body);
    const b = await t.api.post('/api/public/complaints').set({ 'x-forwarded-for': ip(), 'idempotency-key': key }).send(body);
    expect(a.status).toBe(201);
    expect(b.status).toBe(200);
    expect(b.body.number).toBe(a.body.number);
  });
});

describe('attachments', () => {
  const multipart = (fields: Record<string, unknown>) => {
    let req = t.api.post('/api/public/complaints').set('x-forwarded-for', ip());
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) req = req.field(k, String(v));
    return req;
  };

  it('multipart with a photo and a PDF: stored under random names outside any served directory, metadata on the ticket', async () => {
    const res = await multipart(complaint({ anonymous: false, confidential: true }))
      .attach('attachments', PNG, { filename: '../../现场照片.png', contentType: 'image/png' })
      .attach('attachments', PDF, { filename: 'evidence.pdf', contentType: 'application/octet-stream' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.attachments).toEqual([
      { name: '现场照片.png', mimeType: 'image/png', size: PNG.length },
      { name: 'evidence.pdf', mimeType: 'application/pdf', size: PDF.length },
    ]);
    const doc = await t.app.models.Ticket.findOne({ number: res.body.number }).lean();
    expect(doc!.confidential).toBe(true); // multipart "true" → boolean
    const [a, b] = doc!.attachments!;
    expect(a!.storageKey).toMatch(/^[0-9a-f]{32}$/);
    expect(a!.sha256).toHaveLength(64);
    // the bytes are on disk under DATA_DIR/attachments/<2>/<key>, named by nothing the client sent
    expect(await readFile(join(dataDir, 'attachments', a!.storageKey.slice(0, 2), a!.storageKey))).toEqual(PNG);
    expect(await readFile(join(dataDir, 'attachments', b!.storageKey.slice(0, 2), b!.storageKey))).toEqual(PDF);
    // and not reachable over HTTP
    const served = await t.api.get(`/attachments/${a!.storageKey.slice(0, 2)}/${a!.storageKey}`);
    expect(served.status).toBe(404);

    // staff: metadata on the ticket (no storage key), download for those who may read the ticket
    const id = String(doc!._id);
    const seen = (await t.api.get(`/api/tickets/${id}`).set(await agent())).body;
    expect(seen.attachments).toEqual([
      { id: a!.id, name: '现场照片.png', mimeType: 'image/png', size: PNG.length, at: expect.any(String) },
      { id: b!.id, name: 'evidence.pdf', mimeType: 'application/pdf', size: PDF.length, at: expect.any(String) },
    ]);
    expect(JSON.stringify(seen)).not.toContain(a!.storageKey);
    const dl = await t.api.get(`/api/tickets/${id}/attachments/${a!.id}`).set(await agent()).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(dl.status).toBe(200);
    expect(dl.headers['content-type']).toBe('image/png');
    expect(dl.headers['x-content-type-options']).toBe('nosniff');
    expect(dl.headers['content-disposition']).toContain("filename*=UTF-8''%E7%8E%B0");
    expect(Buffer.compare(dl.body as Buffer, PNG)).toBe(0);
    // a department that does not hold the ticket: the 404 of an absent ticket
    const dept = await t.api.get(`/api/tickets/${id}/attachments/${a!.id}`).set({ authorization: `Bearer ${await t.token('urban1')}` });
    expect(dept.status).toBe(404);
    expect((await t.api.get(`/api/tickets/${id}/attachments/${'0'.repeat(24)}`).set(await agent())).status).toBe(404);
  });

  it('type by content: an executable named photo.jpg (image/jpeg) → 415 ATTACHMENT_TYPE_NOT_ALLOWED, no ticket, no file', async () => {
    const before = await count();
    const files = async (): Promise<number> => (await readdir(join(dataDir, 'attachments'), { recursive: true }).catch(() => [])).length;
    const filesBefore = await files();
    const res = await multipart(complaint()).attach('attachments', PNG, { filename: 'ok.png' }).attach('attachments', EXE, { filename: 'photo.jpg', contentType: 'image/jpeg' });
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('ATTACHMENT_TYPE_NOT_ALLOWED');
    expect(res.body.error.details).toMatchObject({ index: 1, name: 'photo.jpg' });
    expect(await count()).toBe(before);
    expect(await files()).toBe(filesBefore);
  });

  it('size and count limits → 413 ATTACHMENT_TOO_LARGE, 400 TOO_MANY_ATTACHMENTS; a file in another field → 400', async () => {
    const big = Buffer.concat([PNG, Buffer.alloc(5000)]);
    const large = await multipart(complaint()).attach('attachments', big, { filename: 'big.png' });
    expect(large.status).toBe(413);
    expect(large.body.error.code).toBe('ATTACHMENT_TOO_LARGE');
    const many = await multipart(complaint()).attach('attachments', PNG, { filename: '1.png' }).attach('attachments', PNG, { filename: '2.png' }).attach('attachments', PNG, { filename: '3.png' });
    expect(many.status).toBe(400);
    expect(many.body.error.code).toBe('TOO_MANY_ATTACHMENTS');
    const other = await multipart(complaint()).attach('avatar', PNG, { filename: '1.png' });
    expect(other.status).toBe(400);
    expect(other.body.error.code).toBe('TOO_MANY_ATTACHMENTS');
  });
});

describe('attachments in GridFS (ATTACHMENT_STORE=gridfs)', () => {
  it('stores in the database and serves the same bytes to staff', async () => {
    const g = await startTestApp({ env: { ATTACHMENT_STORE: 'gridfs' } });
    try {
      let req = g.api.post('/api/public/complaints');
      for (const [k, v] of Object.entries(complaint({ anonymous: true, name: undefined }))) if (v !== undefined) req = req.field(k, String(v));
      const res = await req.attach('attachments', PDF, { filename: '证明.pdf' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const doc = await g.app.models.Ticket.findOne({ number: res.body.number }).lean();
      const a = doc!.attachments![0]!;
      expect(a.storageKey).toMatch(/^gridfs:[0-9a-f]{24}$/);
      const dl = await g.api.get(`/api/tickets/${String(doc!._id)}/attachments/${a.id}`).set({ authorization: `Bearer ${await g.token('agent1')}` }).buffer(true).parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      });
      expect(dl.status).toBe(200);
      expect(Buffer.compare(dl.body as Buffer, PDF)).toBe(0);
    } finally {
      await g.close();
    }
  });
});

describe('looking up progress by number + phone', () => {
  it('the right phone sees progress, masked; a wrong phone and an unknown number get the same 404', async () => {
    const body = complaint();
    const filed = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(body);
    expect(filed.status).toBe(201);
    const { body: list } = await t.api.get(`/api/tickets?number=${filed.body.number}`).set(await agent());
    expect((await t.api.post(`/api/tickets/${list.items[0].id}/dispatch`).set(await agent()).send({ leadDepartmentId: 'city-urban' })).status).toBe(200);
    const from = ip();
    const ok = await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', from).send({ number: filed.body.number, phone: body.phone });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ number: filed.body.number, state: 'dispatched', status: 'open', handlingDepartment: expect.any(String), caller: { name: '李*', anonymous: false } });
    expect(ok.body.caller.phone).toMatch(/^\d{3}\*{4}\d{4}$/);
    expect(ok.body.progress.map((p: { step: string }) => p.step)).toEqual(['create', 'dispatch']);
    const text = JSON.stringify(ok.body);
    expect(text).not.toContain(String(body.phone));
    expect(text).not.toContain('13900001111'); // phones in the content are masked too
    expect(text).not.toContain('agent1');
    const wrongPhone = await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', from).send({ number: filed.body.number, phone: '13700000000' });
    const unknown = await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', from).send({ number: '12345-20000101-000001', phone: body.phone });
    expect(wrongPhone.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(wrongPhone.body).toEqual(unknown.body);
  });

  it('failed lookups are limited per IP: after 5 misses even the right phone gets 429 with Retry-After', async () => {
    const body = complaint();
    const filed = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(body);
    const from = ip();
    for (let i = 0; i < 5; i++) {
      const miss = await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', from).send({ number: filed.body.number, phone: `1370000000${i}` });
      expect(miss.status).toBe(404);
    }
    const blocked = await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', from).send({ number: filed.body.number, phone: body.phone });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'failed_lookups_per_ip' } });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // another address is not affected
    expect((await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', ip()).send({ number: filed.body.number, phone: body.phone })).status).toBe(200);
  });
});

describe('guessing one number’s phone from many addresses', () => {
  it('after 20 misses on a number (any address) → 429 failed_lookups_per_number', async () => {
    const body = complaint();
    const filed = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(body);
    for (let i = 0; i < 20; i++) {
      const miss = await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', `198.51.100.${i + 1}`).send({ number: filed.body.number, phone: `1360000${String(i).padStart(4, '0')}` });
      expect(miss.status).toBe(404);
    }
    const blocked = await t.api.post('/api/public/tickets/lookup').set('x-forwarded-for', ip()).send({ number: filed.body.number, phone: body.phone });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.details.limit).toBe('failed_lookups_per_number');
  });
});

describe('rate limits on filing', () => {
  it('per phone: the 4th filing of one phone in a day → 429 RATE_LIMITED (filings_per_phone) with Retry-After, nothing stored', async () => {
    const p = phone();
    for (let i = 0; i < 3; i++) {
      expect((await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(complaint({ phone: p }))).status).toBe(201);
    }
    const before = await count();
    const res = await t.api.post('/api/public/complaints').set('x-forwarded-for', ip()).send(complaint({ phone: p }));
    expect(res.status).toBe(429);
    expect(res.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'filings_per_phone' } });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(3600);
    expect(await count()).toBe(before);
  });

  it('per IP: the 7th filing from one address in an hour → 429 (filings_per_ip), also for multipart before the upload is read', async () => {
    const from = ip();
    for (let i = 0; i < 6; i++) {
      const r = await t.api.post('/api/public/complaints').set('x-forwarded-for', from).send(complaint());
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    const res = await t.api.post('/api/public/complaints').set('x-forwarded-for', from).send(complaint());
    expect(res.status).toBe(429);
    expect(res.body.error.details.limit).toBe('filings_per_ip');
    expect(res.headers['retry-after']).toBeDefined();
    const mp = await t.api.post('/api/public/complaints').set('x-forwarded-for', from).field('category', 'complaint').attach('attachments', PNG, { filename: 'x.png' });
    expect(mp.status).toBe(429);
    expect(mp.body.error.code).toBe('RATE_LIMITED');
  });
});

describe('OpenAPI', () => {
  it('documents the filing as JSON and as multipart/form-data with files, and the lookup', async () => {
    const doc = (await t.api.get('/api/openapi.json')).body;
    const filing = doc.paths['/api/public/complaints'].post;
    expect(Object.keys(filing.requestBody.content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(Object.keys(filing.requestBody.content['multipart/form-data'].schema.properties)).toContain('attachments');
    expect(filing.security).toBeUndefined(); // public
    expect(doc.paths['/api/public/tickets/lookup'].post.requestBody.content['application/json'].schema.required.sort()).toEqual(['number', 'phone']);
  });
});

describe('CAPTCHA hook', () => {
  it('verifyHuman is called for filing and lookup; a refusal is 403 CAPTCHA_REQUIRED and nothing is stored', async () => {
    const seen: string[] = [];
    const h = await startTestApp({
      verifyHuman: (req: Request) => {
        seen.push(req.path);
        return req.headers['x-captcha-token'] === 'solved' ? { ok: true } : { ok: false, reason: 'captcha missing' };
      },
    });
    try {
      const body = complaint();
      const refused = await h.api.post('/api/public/complaints').send(body);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'CAPTCHA_REQUIRED', details: { reason: 'captcha missing' } });
      expect(await h.app.models.Ticket.countDocuments({})).toBe(0);
      const ok = await h.api.post('/api/public/complaints').set('x-captcha-token', 'solved').send(body);
      expect(ok.status).toBe(201);
      const lookup = await h.api.post('/api/public/tickets/lookup').send({ number: ok.body.number, phone: body.phone });
      expect(lookup.status).toBe(403);
      expect(seen).toEqual(['/public/complaints', '/public/complaints', '/public/tickets/lookup']);
    } finally {
      await h.close();
    }
  });
});
