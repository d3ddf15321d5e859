/**
 * Duplicate suggestions (重复件, issue #6 item 8) over HTTP on real Redis + FerretDB: tickets at
 * the same address with similar content are suggested for merging; once merged, a duplicate is
 * no longer suggested and the master lists it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/until.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
async function create(over: Record<string, unknown>): Promise<string> {
  const res = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake(over));
  expect(res.status).toBe(201);
  return res.body.id as string;
}
const candidates = async (id: string, user = 'agent1') => t.api.get(`/api/tickets/${id}/duplicate-candidates`).set(await auth(user));

describe('duplicate candidates', () => {
  it('same address (written differently) and similar content → suggested; other places or matters → not; merged → gone', async () => {
    const first = await create({ address: '文峰区中华路88号', content: '楼下餐馆油烟直排，影响居民开窗通风，已持续一个月。' });
    const second = await create({ address: '文峰区 中华路８８号', content: '楼下餐馆油烟直排影响居民开窗通风，持续一个月了' });
    const otherMatter = await create({ address: '文峰区中华路88号', content: '路灯不亮，晚上出行不便。' });
    await create({ address: '北关区人民路2号', content: '楼下餐馆油烟直排，影响居民开窗通风，已持续一个月。' });

    // the index is filled by the ticket-events worker: wait for it
    const found = await until('first suggested for second', async () => {
      const r = await candidates(second);
      return r.status === 200 && r.body.items.length > 0 ? r.body.items : null;
    });
    expect(found.map((c: { id: string }) => c.id)).toEqual([first]);
    expect(found[0].score).toBeGreaterThanOrEqual(0.5);
    expect((await candidates(otherMatter)).body.items).toEqual([]);

    // merge the second into the first: the master lists it, nobody is offered it again
    const merged = await t.api.post(`/api/tickets/${second}/merge`).set(await auth('agent1')).send({ masterId: first });
    expect(merged.status).toBe(200);
    const third = await create({ address: '文峰区中华路88号', content: '餐馆油烟直排，影响居民开窗通风，已经一个月' });
    const forThird = await until('first suggested for third', async () => {
      const r = await candidates(third);
      return r.body.items?.length ? r.body.items : null;
    });
    expect(forThird.map((c: { id: string }) => c.id)).toEqual([first]);
    expect((await t.api.get(`/api/tickets/${first}`).set(await auth('agent1'))).body.duplicates).toEqual([expect.objectContaining({ id: second })]);
  });

  it('departments may not ask; unknown tickets are 404', async () => {
    const id = await create({});
    expect((await candidates(id, 'urban1')).status).toBe(403);
    expect((await candidates('0123456789abcdef01234567')).status).toBe(404);
  });
});
