/**
 * 审管 push (issue #6 item 7) to local HTTP receivers: signed bodies (HMAC-SHA256 over
 * timestamp + body), a retry after a 500, targets filtered by department and category, a target
 * that keeps failing, and the delivery log for supervisors and admins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../server/src/regulator/delivery.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { until } from '../helpers/until.js';

const SECRET = 'regulator-secret-0123456789';
let t: TestApp;
let rx: Receiver;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
const act = async (user: string, id: string, action: string, body: Record<string, unknown> = {}) =>
  t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);
const header = (h: Record<string, string | string[] | undefined>, k: string): string => String(h[k] ?? '');

/** the "dead" target comes back (a re-send test) */
let deadRecovered = false;

beforeAll(async () => {
  const seen = new Set<string>();
  rx = await startReceiver((r) => {
    if (r.path === '/dead') return deadRecovered ? 200 : 500;
    // the first attempt of every delivery fails
    const id = header(r.headers, DELIVERY_HEADER);
    if (!seen.has(id)) {
      seen.add(id);
      return 500;
    }
    return 200;
  });
  const webhooks = [
    { id: 'city-reg', url: `${rx.url}/city`, secret: SECRET, categories: ['complaint', 'report'] },
    { id: 'market-reg', url: `${rx.url}/market`, secret: 'market-secret-0123456789', departments: ['city-market'] },
    { id: 'dead-reg', url: `${rx.url}/dead`, secret: 'dead-secret-0123456789ab', events: ['closed'] },
  ];
  t = await startTestApp({ env: { REGULATOR_WEBHOOKS: JSON.stringify(webhooks), REGULATOR_PUSH_ATTEMPTS: '3', REGULATOR_PUSH_BACKOFF_MS: '100' } });
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

interface Delivery {
  id: string;
  webhookId: string;
  ticketId: string;
  event: string;
  status: string;
  attempts: number;
  statusCode: number | null;
  lastError: string | null;
  deliveredAt: string | null;
}

const deliveries = async (query: string): Promise<Delivery[]> => {
  const res = await t.api.get(`/api/regulator-push/deliveries?${query}`).set(await auth('super1'));
  expect(res.status).toBe(200);
  return res.body.items as Delivery[];
};

describe('审管 push', () => {
  it('reply and close are pushed signed, retried after a 500, and logged', async () => {
    const created = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake());
    const id = created.body.id as string;
    await act('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban' });
    await act('urban1', id, 'sign');
    await act('urban1', id, 'reply', { text: '已责令施工单位停止夜间施工。' });
    await act('agent1', id, 'review-reply', { accept: true });
    expect((await act('agent2', id, 'return-visit', { contacted: true, rating: 'satisfied' })).body.state).toBe('closed');

    const done = await until('both city deliveries delivered and the dead one failed', async () => {
      const items = await deliveries(`ticketId=${id}`);
      const city = items.filter((d) => d.webhookId === 'city-reg');
      const dead = items.filter((d) => d.webhookId === 'dead-reg');
      return city.length === 2 && city.every((d) => d.status === 'delivered') && dead[0]?.status === 'failed' ? items : null;
    });

    // the log: two attempts each (500, then 200), the error of the first kept, deliveredAt set
    const city = done.filter((d) => d.webhookId === 'city-reg').sort((a, b) => a.event.localeCompare(b.event));
    expect(city.map((d) => d.event)).toEqual(['closed', 'replied']);
    for (const d of city) {
      expect(d).toMatchObject({ status: 'delivered', attempts: 2, statusCode: 200 });
      expect(d.lastError).toContain('HTTP 500');
      expect(d.deliveredAt).not.toBeNull();
    }
    // the department filter: city-urban's ticket never goes to the market regulator
    expect(done.some((d) => d.webhookId === 'market-reg')).toBe(false);
    // a target that keeps failing: failed after its attempts; only `closed` was asked for
    const dead = done.filter((d) => d.webhookId === 'dead-reg');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ event: 'closed', status: 'failed', attempts: 3, statusCode: 500, deliveredAt: null });

    // what the receiver got: signed, fresh timestamps, one delivery id across attempts
    const got = rx.requests.filter((r) => r.path === '/city' && JSON.parse(r.body).ticket.id === id);
    // per delivery (reply, close): a 500, then the 200 — the two may interleave
    const byDelivery = new Map<string, number[]>();
    for (const r of got) byDelivery.set(header(r.headers, DELIVERY_HEADER), [...(byDelivery.get(header(r.headers, DELIVERY_HEADER)) ?? []), r.status]);
    expect([...byDelivery.values()]).toEqual([
      [500, 200],
      [500, 200],
    ]);
    for (const r of got) {
      const ts = header(r.headers, TIMESTAMP_HEADER);
      expect(verifySignature(SECRET, ts, r.body, header(r.headers, SIGNATURE_HEADER), Math.floor(Date.now() / 1000))).toBe(true);
      expect(verifySignature('wrong-secret-0123456789', ts, r.body, header(r.headers, SIGNATURE_HEADER), Math.floor(Date.now() / 1000))).toBe(false);
      expect(verifySignature(SECRET, ts, `${r.body} `, header(r.headers, SIGNATURE_HEADER), Math.floor(Date.now() / 1000))).toBe(false);
    }
    expect(new Set(got.map((r) => header(r.headers, DELIVERY_HEADER))).size).toBe(2);
    const replied = JSON.parse(got.find((r) => header(r.headers, EVENT_HEADER) === 'replied')!.body);
    expect(replied).toMatchObject({ event: 'ticket.replied', ticket: { number: created.body.number, category: 'complaint', leadDepartmentId: 'city-urban', reply: { text: '已责令施工单位停止夜间施工。', departmentId: 'city-urban' } } });
    const closed = JSON.parse(got.find((r) => header(r.headers, EVENT_HEADER) === 'closed')!.body);
    expect(closed.ticket).toMatchObject({ state: 'closed', closure: { kind: 'resolved' }, rating: { level: 'satisfied' } });
    // no caller details leave the hotline
    for (const r of got) {
      expect(r.body).not.toContain('13812345678');
      expect(r.body).not.toContain('张三');
    }
  });

  it('a category the target does not want is not pushed; the log filters and its roles', async () => {
    const created = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake({ category: 'consultation' }));
    const id = created.body.id as string;
    await act('agent1', id, 'answer-directly', { answer: '请携带身份证到政务服务中心办理。' });
    expect((await act('agent1', id, 'return-visit', { contacted: true })).body.state).toBe('closed');
    await until('the dead target got the close', async () => (await deliveries(`ticketId=${id}&webhookId=dead-reg`)).length === 1);
    expect(await deliveries(`ticketId=${id}&webhookId=city-reg`)).toHaveLength(0);

    expect((await t.api.get('/api/regulator-push/deliveries').set(await auth('admin'))).status).toBe(200);
    for (const u of ['agent1', 'urban1']) expect((await t.api.get('/api/regulator-push/deliveries').set(await auth(u))).status).toBe(403);
    expect((await t.api.get('/api/regulator-push/deliveries')).status).toBe(401);
    const failed = await deliveries('status=failed');
    expect(failed.every((d) => d.status === 'failed')).toBe(true);
  });

  it('a failed delivery sent again by a supervisor once the target is back: delivered, with who and when', async () => {
    const failed = await until('a failed delivery', async () => (await deliveries('status=failed&webhookId=dead-reg'))[0] ?? null);
    const sup = await auth('super1');
    // only failed deliveries, only supervisors and admins, only known ids
    const delivered = (await deliveries('status=delivered'))[0]!;
    expect((await t.api.post(`/api/regulator-push/deliveries/${delivered.id}/resend`).set(sup)).body.error.code).toBe('DELIVERY_NOT_FAILED');
    expect((await t.api.post(`/api/regulator-push/deliveries/${failed.id}/resend`).set(await auth('agent1'))).status).toBe(403);
    expect((await t.api.post('/api/regulator-push/deliveries/nope-000/resend').set(sup)).status).toBe(404);

    deadRecovered = true;
    const res = await t.api.post(`/api/regulator-push/deliveries/${failed.id}/resend`).set(sup);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: failed.id, status: 'retrying', resends: 1, resentBy: 'super1' });
    // twice at once is refused: it is no longer failed
    expect((await t.api.post(`/api/regulator-push/deliveries/${failed.id}/resend`).set(sup)).status).toBe(409);
    const done = await until('the re-sent delivery delivered', async () => {
      const d = (await deliveries(`webhookId=dead-reg`)).find((x) => x.id === failed.id);
      return d?.status === 'delivered' ? d : null;
    });
    expect(done).toMatchObject({ statusCode: 200, resends: 1 });
    // the same delivery id and a valid signature on the re-sent request
    const last = rx.requests.filter((r) => r.path === '/dead' && header(r.headers, DELIVERY_HEADER) === failed.id).at(-1)!;
    expect(last.status).toBe(200);
    expect(verifySignature('dead-secret-0123456789ab', header(last.headers, TIMESTAMP_HEADER), last.body, header(last.headers, SIGNATURE_HEADER), Math.floor(Date.now() / 1000))).toBe(true);
  });
});
