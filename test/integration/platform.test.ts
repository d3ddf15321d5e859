/** Health, readiness, OpenAPI, Swagger UI, knowledge base and routing rules over HTTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('platform endpoints', () => {
  it('healthz and readyz report the process and its MongoDB and Redis', async () => {
    expect((await t.api.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await t.api.get('/readyz')).body).toEqual({ status: 'ready', mongodb: 'ok', redis: 'ok' });
  });

  it('serves an OpenAPI 3 document generated from the route schemas, and Swagger UI', async () => {
    const doc = (await t.api.get('/api/openapi.json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    const dispatch = doc.paths['/api/tickets/{id}/dispatch'].post;
    const body = dispatch.requestBody.content['application/json'].schema;
    expect(body.required).toContain('leadDepartmentId');
    expect(dispatch.description).toBe('Roles: agent, window, supervisor');
    expect(doc.paths['/api/tickets'].post.requestBody.content['application/json'].schema.properties.category.enum).toContain('complaint');
    const ui = await t.api.get('/api/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
  });
});

describe('knowledge base (知识库)', () => {
  it('finds Chinese articles by meaning-bearing bigrams, best first', async () => {
    const res = await t.api.get('/api/knowledge').query({ q: '家里停水了怎么办' }).set(await auth('agent1'));
    expect(res.status).toBe(200);
    expect(res.body.items[0].title).toBe('突发停水怎么办');
    const sb = await t.api.get('/api/knowledge').query({ q: '社保卡丢了' }).set(await auth('agent1'));
    expect(sb.body.items[0].title).toBe('社保卡丢失如何补办');
  });

  it('supervisors add and edit articles; agents cannot; edits are searchable at once', async () => {
    const body = { title: '供暖不热如何反映', body: '供暖季室温低于18度，可拨打12345或联系热力公司。', categories: ['help'], tags: ['供暖'] };
    expect((await t.api.post('/api/knowledge').set(await auth('agent1')).send(body)).status).toBe(403);
    const created = await t.api.post('/api/knowledge').set(await auth('super1')).send(body);
    expect(created.status).toBe(201);
    const found = await t.api.get('/api/knowledge').query({ q: '暖气不热' }).set(await auth('agent1'));
    expect(found.body.items.map((a: { id: string }) => a.id)).toContain(created.body.id);
    const edited = await t.api.put(`/api/knowledge/${created.body.id}`).set(await auth('super1')).send({ ...body, title: '集中供热温度不达标' });
    expect(edited.body.title).toBe('集中供热温度不达标');
    const again = await t.api.get('/api/knowledge').query({ q: '供热' }).set(await auth('agent1'));
    expect(again.body.items[0].id).toBe(created.body.id);
  });
});

describe('routing rules are data', () => {
  it('an admin adds a rule and the suggestion follows it', async () => {
    const q = { category: 'help', districtId: 'beiguan', streetId: 'hongqilu' };
    const before = await t.api.get('/api/routing/suggest').query(q).set(await auth('agent1'));
    expect(before.body.suggestion).toMatchObject({ departmentId: 'beiguan-hongqi', reason: 'area_owner' });
    const rule = await t.api
      .post('/api/routing/rules')
      .set(await auth('admin'))
      .send({ category: 'help', districtId: 'beiguan', departmentId: 'city-water', note: '北关区求助（供水）' });
    expect(rule.status).toBe(201);
    const after = await t.api.get('/api/routing/suggest').query(q).set(await auth('agent1'));
    expect(after.body.suggestion).toMatchObject({ departmentId: 'city-water', reason: 'rule', ruleId: rule.body.id });
    expect((await t.api.post('/api/routing/rules').set(await auth('admin')).send({ departmentId: 'no-such-dept' })).body.error.code).toBe('UNKNOWN_DEPARTMENT');
    expect((await t.api.delete(`/api/routing/rules/${rule.body.id}`).set(await auth('admin'))).status).toBe(204);
  });
});
