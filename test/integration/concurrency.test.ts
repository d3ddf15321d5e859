/**
 * Real concurrency against FerretDB: parallel HTTP requests race on one ticket document.
 * A transition is one conditional update ({_id, version, state} in the filter), so exactly one
 * request wins; the others get 409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function newTicket(over: Record<string, unknown> = {}): Promise<string> {
  const res = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake(over));
  expect(res.status).toBe(201);
  return res.body.id;
}

describe('concurrent commands on one ticket', () => {
  it('two clerks act on the same version (If-Match): exactly one wins, the other gets TICKET_CONFLICT', async () => {
    const id = await newTicket();
    const [a, s] = await Promise.all([auth('agent1'), auth('super1')]);
    for (let round = 0; round < 3; round++) {
      const fresh = await newTicket();
      const results = await Promise.all([
        t.api.post(`/api/tickets/${fresh}/dispatch`).set(a).set('If-Match', '"v1"').send({ leadDepartmentId: 'city-urban' }),
        t.api.post(`/api/tickets/${fresh}/close`).set(s).set('If-Match', '"v1"').send({ reason: '重复来电，已合并处理' }),
        t.api.post(`/api/tickets/${fresh}/dispatch`).set(a).set('If-Match', '"v1"').send({ leadDepartmentId: 'city-housing' }),
      ]);
      const wins = results.filter((r) => r.status === 200);
      const losses = results.filter((r) => r.status !== 200);
      expect(wins).toHaveLength(1);
      expect(losses.map((r) => [r.status, r.body.error.code])).toEqual(losses.map(() => [409, 'TICKET_CONFLICT']));
      const final = await t.api.get(`/api/tickets/${fresh}`).set(s);
      expect(final.body.version).toBe(2);
      expect(final.body.timeline).toHaveLength(2);
      expect(final.headers.etag).toBe('"v2"');
    }
    const stale = await t.api.post(`/api/tickets/${id}/classify`).set(a).set('If-Match', '"v7"').send({ urgency: 'urgent' });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toMatchObject({ code: 'TICKET_CONFLICT', details: { expectedVersion: 7, currentVersion: 1 } });
  });

  it('20 parallel signs without If-Match: one 200, nineteen 409, one timeline entry', async () => {
    const id = await newTicket();
    await t.api.post(`/api/tickets/${id}/dispatch`).set(await auth('agent1')).send({ leadDepartmentId: 'city-urban' });
    const u = await auth('urban1');
    const results = await Promise.all(Array.from({ length: 20 }, () => t.api.post(`/api/tickets/${id}/sign`).set(u).send({})));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    const losers = results.filter((r) => r.status !== 200);
    expect(losers).toHaveLength(19);
    for (const r of losers) {
      expect(r.status).toBe(409);
      // Lost the race on the write (TICKET_CONFLICT) or read after the winner (INVALID_TRANSITION).
      expect(['TICKET_CONFLICT', 'INVALID_TRANSITION']).toContain(r.body.error.code);
    }
    const final = await t.api.get(`/api/tickets/${id}`).set(u);
    expect(final.body.timeline.filter((e: { action: string }) => e.action === 'sign')).toHaveLength(1);
    expect(final.body.version).toBe(3);
  });

  it('parallel intake gets unique, gap-free human-readable numbers', async () => {
    const a = await auth('agent1');
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => t.api.post('/api/tickets').set(a).send(intake({ content: `并发受理测试第${i}件，内容足够长` }))));
    expect(results.every((r) => r.status === 201)).toBe(true);
    const numbers = results.map((r) => r.body.number as string);
    expect(new Set(numbers).size).toBe(40);
    const day = numbers[0]!.split('-')[1];
    expect(numbers.every((n) => n.split('-')[1] === day)).toBe(true);
    const seqs = numbers.map((n) => Number(n.split('-')[2])).sort((x, y) => x - y);
    // contiguous block: no number is handed out twice and none skipped among these
    expect(seqs[seqs.length - 1]! - seqs[0]!).toBe(39);
  });

  it('a retried create with the same Idempotency-Key returns the same ticket, even when the retries race', async () => {
    const a = await auth('agent1');
    const body = intake({ content: '幂等测试：同一请求重复提交只生成一张工单' });
    const key = 'call-7f3a-retry-0001';
    const results = await Promise.all(Array.from({ length: 8 }, () => t.api.post('/api/tickets').set(a).set('Idempotency-Key', key).send(body)));
    expect(results.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const list = await t.api.get('/api/tickets').query({ q: '幂等测试' }).set(a);
    expect(list.body.total).toBe(1);
    const mismatch = await t.api.post('/api/tickets').set(a).set('Idempotency-Key', key).send({ ...body, content: '不同的内容但是同一个幂等键' });
    expect(mismatch.status).toBe(409);
    expect(mismatch.body.error.code).toBe('IDEMPOTENCY_MISMATCH');
    // the key is per user: another agent's same key is a different request
    const other = await t.api.post('/api/tickets').set(await auth('agent2')).set('Idempotency-Key', key).send(body);
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(results[0]!.body.id);
  });
});
