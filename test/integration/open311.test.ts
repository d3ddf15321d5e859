/**
 * Open311 GeoReport v2 (issue #6 item 2), driven as an Open311 client would: the spec's paths
 * and field names, form-encoded POST, JSON and XML answers parsed back (fast-xml-parser), and
 * the spec's error format ([{code, description}] / <errors><error>).
 */
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const API_KEY = 'open311-test-key-0123456789';
const BASE = '/open311/v2';
const xml = new XMLParser({ parseTagValue: false, isArray: (name) => ['service', 'request', 'error', 'attribute'].includes(name) });

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { OPEN311_API_KEYS: API_KEY } });
});
afterAll(async () => {
  await t?.close();
});

let seq = 0;
const form = (over: Record<string, string | undefined> = {}): Record<string, string> => {
  const f: Record<string, string | undefined> = {
    api_key: API_KEY,
    service_code: 'complaint',
    address_string: '文峰区南关街道解放大道12号',
    description: `路灯坏了三天，晚上很黑 #${++seq}`,
    first_name: '六',
    last_name: '赵',
    phone: `1371234${String(1000 + seq)}`,
    email: 'zhao@example.org',
    'attribute[district]': 'wenfeng',
    ...over,
  };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as Record<string, string>;
};
const post = (f: Record<string, string>, format = 'json') => t.api.post(`${BASE}/requests.${format}`).type('form').send(f);

describe('services', () => {
  it('GET services.json / .xml list our categories with the spec’s fields', async () => {
    const j = await t.api.get(`${BASE}/services.json`);
    expect(j.status).toBe(200);
    expect(j.headers['content-type']).toMatch(/application\/json; charset=utf-8/);
    expect(j.body.map((s: { service_code: string }) => s.service_code)).toEqual(['consultation', 'help', 'complaint', 'report', 'suggestion', 'praise']);
    expect(Object.keys(j.body[0]).sort()).toEqual(['description', 'group', 'keywords', 'metadata', 'service_code', 'service_name', 'type']);
    expect(j.body[2]).toMatchObject({ service_code: 'complaint', metadata: true, type: 'realtime' });

    const x = await t.api.get(`${BASE}/services.xml`).buffer(true).parse((res, cb) => { let s = ''; res.on('data', (c: Buffer) => (s += c)); res.on('end', () => cb(null, s)); });
    expect(x.status).toBe(200);
    expect(x.headers['content-type']).toMatch(/text\/xml; charset=utf-8/);
    expect(String(x.body)).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>/);
    const parsed = xml.parse(String(x.body));
    expect(parsed.services.service).toHaveLength(6);
    expect(parsed.services.service[2]).toMatchObject({ service_code: 'complaint', metadata: 'true', type: 'realtime', service_name: '投诉 Complaint' });
  });

  it('GET services/{code}.json / .xml: the definition; an unknown code → 404 in the spec’s error format', async () => {
    const j = await t.api.get(`${BASE}/services/complaint.json`);
    expect(j.status).toBe(200);
    expect(j.body.service_code).toBe('complaint');
    expect(j.body.attributes.map((a: { code: string }) => a.code)).toEqual(['district', 'street']);
    const x = await t.api.get(`${BASE}/services/complaint.xml`).buffer(true);
    expect(xml.parse(x.text).service_definition.attributes.attribute[0]).toMatchObject({ code: 'district', variable: 'true', datatype: 'string' });

    const nj = await t.api.get(`${BASE}/services/potholes.json`);
    expect(nj.status).toBe(404);
    expect(nj.body).toEqual([{ code: 404, description: expect.stringContaining('potholes') }]);
    const nx = await t.api.get(`${BASE}/services/potholes.xml`).buffer(true);
    expect(nx.status).toBe(404);
    expect(xml.parse(nx.text).errors.error).toEqual([{ code: '404', description: expect.stringContaining('potholes') }]);
    // an unsupported format
    expect((await t.api.get(`${BASE}/services.csv`)).status).toBe(404);
  });
});

describe('requests', () => {
  it('POST requests.json (form-encoded) → [{service_request_id, service_notice, account_id}] and a ticket in the loop', async () => {
    const f = form();
    const res = await post(f);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toHaveLength(1);
    expect(Object.keys(res.body[0]).sort()).toEqual(['account_id', 'service_notice', 'service_request_id']);
    const id = res.body[0].service_request_id as string;
    const doc = await t.app.models.Ticket.findOne({ number: id }).lean();
    expect(doc).toMatchObject({ channel: 'web', category: 'complaint', address: f.address_string, area: { districtId: 'wenfeng' }, caller: { name: '赵六', phone: f.phone, anonymous: false } });
  });

  it('POST requests.xml answers <service_requests><request>; lat/long alone is a location; no name → anonymous', async () => {
    const res = await post(form({ address_string: undefined, lat: '36.0975', long: '114.3924', first_name: undefined, last_name: undefined }), 'xml');
    expect(res.status).toBe(201);
    const parsed = xml.parse(res.text);
    const id = parsed.service_requests.request[0].service_request_id as string;
    expect(id).toMatch(/^12345-\d{8}-\d{6}$/);
    expect(await t.app.models.Ticket.findOne({ number: id }).lean()).toMatchObject({ address: '坐标 36.0975,114.3924', caller: { name: null, anonymous: true } });
  });

  it('bad posts → the spec’s errors: 400 missing service_code / location / phone, 403 api_key, 404 unknown service_code', async () => {
    const before = await t.app.models.Ticket.countDocuments({});
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ['no service_code', form({ service_code: undefined }), 400, /service_code/],
      ['no location', form({ address_string: undefined }), 400, /location/],
      ['lat without long', form({ address_string: undefined, lat: '36.1' }), 400, /location/],
      ['no phone', form({ phone: undefined }), 400, /phone/],
      ['no description', form({ description: undefined }), 400, /description/],
      ['bad lat', form({ lat: 'north', long: '114' }), 400, /lat/],
      ['no api_key', form({ api_key: undefined }), 403, /api_key/],
      ['wrong api_key', form({ api_key: 'wrong-key-0123456789abcdef' }), 403, /api_key/],
      ['unknown service', form({ service_code: 'potholes' }), 404, /potholes/],
    ];
    const bad: string[] = [];
    for (const [name, f, status, rx] of cases) {
      const j = await post(f);
      const ok = j.status === status && Array.isArray(j.body) && j.body.length > 0 && j.body.every((e: { code: number; description: string }) => e.code === status && typeof e.description === 'string') && j.body.some((e: { description: string }) => rx.test(e.description));
      if (!ok) bad.push(`${name} json: ${j.status} ${JSON.stringify(j.body)}`);
      const x = await post(f, 'xml');
      const errs = x.status === status ? xml.parse(x.text)?.errors?.error : null;
      if (!Array.isArray(errs) || !errs.some((e: { code: string; description: string }) => e.code === String(status) && rx.test(e.description))) bad.push(`${name} xml: ${x.status} ${x.text}`);
    }
    expect(bad).toEqual([]);
    expect(await t.app.models.Ticket.countDocuments({})).toBe(before);
  });

  it('GET requests/{id} and requests?service_request_id: status open, then closed once the ticket is closed; spec fields; no caller data', async () => {
    const f = form({ description: '我是赵六，投诉电话13700001234的商户缺斤短两', first_name: '六', last_name: '赵' });
    const id = (await post(f)).body[0].service_request_id as string;
    const one = await t.api.get(`${BASE}/requests/${id}.json`);
    expect(one.status).toBe(200);
    expect(Object.keys(one.body[0]).sort()).toEqual(
      ['address', 'address_id', 'agency_responsible', 'description', 'expected_datetime', 'lat', 'long', 'media_url', 'requested_datetime', 'service_code', 'service_name', 'service_notice', 'service_request_id', 'status', 'status_notes', 'updated_datetime', 'zipcode'].sort(),
    );
    expect(one.body[0]).toMatchObject({ service_request_id: id, status: 'open', service_code: 'complaint', address: f.address_string });
    expect(one.body[0].description).toContain('137****1234');
    expect(one.body[0].description).toContain('我是***'); // the caller's name, typed into the text, is masked
    expect(JSON.stringify(one.body)).not.toContain(f.phone!);
    expect(JSON.stringify(one.body)).not.toContain('赵');
    expect(one.body[0].requested_datetime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);

    const auth = { authorization: `Bearer ${await t.token('agent1')}` };
    const ticketId = String((await t.app.models.Ticket.findOne({ number: id }).lean())!._id);
    const closed = await t.api.post(`/api/tickets/${ticketId}/close`).set(auth).send({ reason: '重复来电，已合并处理' });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    const x = await t.api.get(`${BASE}/requests.xml?service_request_id=${id}`).buffer(true);
    expect(x.status).toBe(200);
    expect(xml.parse(x.text).service_requests.request[0]).toMatchObject({ service_request_id: id, status: 'closed' });

    const unknown = await t.api.get(`${BASE}/requests/12345-20000101-000001.xml`).buffer(true);
    expect(unknown.status).toBe(404);
    expect(xml.parse(unknown.text).errors.error[0].code).toBe('404');
  });

  it('GET requests.json filters: service_code, status, start_date/end_date; confidential tickets are never listed; bad filters → 400 errors', async () => {
    const a = (await post(form({ service_code: 'suggestion' }))).body[0].service_request_id as string;
    const b = (await post(form({ service_code: 'help' }))).body[0].service_request_id as string;
    // a confidential ticket filed by an agent
    const auth = { authorization: `Bearer ${await t.token('agent1')}` };
    const secret = await t.api.post('/api/tickets').set(auth).send({
      caller: { name: '保密人', phone: '13811112222' }, category: 'suggestion', urgency: 'normal', address: '保密地址', content: '保密的建议内容，请勿公开。', confidential: true,
    });
    expect(secret.status).toBe(201);

    const sugg = await t.api.get(`${BASE}/requests.json?service_code=suggestion`);
    expect(sugg.status).toBe(200);
    const ids = sugg.body.map((r: { service_request_id: string }) => r.service_request_id);
    expect(ids).toContain(a);
    expect(ids).not.toContain(b);
    expect(ids).not.toContain(secret.body.number);
    expect(sugg.body.every((r: { service_code: string }) => r.service_code === 'suggestion')).toBe(true);

    const multi = await t.api.get(`${BASE}/requests.json?service_code=suggestion,help&status=open`);
    expect(multi.body.map((r: { service_request_id: string }) => r.service_request_id)).toEqual(expect.arrayContaining([a, b]));
    expect(multi.body.every((r: { status: string }) => r.status === 'open')).toBe(true);
    const closed = await t.api.get(`${BASE}/requests.json?status=closed`);
    expect(closed.body.every((r: { status: string }) => r.status === 'closed')).toBe(true);

    const past = await t.api.get(`${BASE}/requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00%2B08:00`);
    expect(past.status).toBe(200);
    expect(past.body).toEqual([]);
    const window = await t.api.get(`${BASE}/requests.json?start_date=${encodeURIComponent(new Date(Date.now() - 3600_000).toISOString())}`);
    expect(window.body.map((r: { service_request_id: string }) => r.service_request_id)).toEqual(expect.arrayContaining([a, b]));
    // confidential: not even by id
    expect((await t.api.get(`${BASE}/requests/${secret.body.number}.json`)).status).toBe(404);

    const bad: string[] = [];
    for (const q of ['start_date=yesterday', 'end_date=2026-13-45T00:00:00Z', 'status=pending', 'service_code=potholes', 'start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z', 'service_request_id=../../etc', 'status=open&status=closed']) {
      const r = await t.api.get(`${BASE}/requests.json?${q}`);
      if (r.status !== 400 || !Array.isArray(r.body) || r.body[0]?.code !== 400) bad.push(`${q}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    expect(bad).toEqual([]);
  });

  it('a request body that is not form-encoded or too large still answers in the spec’s format; unknown paths too', async () => {
    const big = await t.api.post(`${BASE}/requests.json`).type('form').send({ ...form(), description: 'x'.repeat(300 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body[0].code).toBe(413);
    const nothing = await t.api.get(`${BASE}/nothing.xml`).buffer(true);
    expect(nothing.status).toBe(404);
    expect(xml.parse(nothing.text).errors.error[0].code).toBe('404');
    const badEscape = await t.api.get(`${BASE}/requests/%E0%A4%A.json`);
    expect(badEscape.status).toBe(400);
    expect(badEscape.body[0].code).toBe(400);
  });
});
