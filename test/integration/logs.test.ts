/** No password, token or full phone number in any log line (HOTLINE-RULES "Privacy and security"). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../../server/src/directory/seed-data.js';
import { intake, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { LOG_LEVEL: 'trace' } });
});
afterAll(async () => {
  await t?.close();
});

describe('logs', () => {
  it('hold request ids but never passwords, tokens or full phone numbers', async () => {
    const phone = '13987654321';
    await t.api.post('/api/auth/login').send({ username: 'agent1', password: 'wrong-password-123' }).expect(401);
    const token = await t.token('agent1');
    const created = await t.api
      .post('/api/tickets')
      .set('authorization', `Bearer ${token}`)
      .set('x-request-id', 'req-log-test-1')
      .send(intake({ caller: { name: '李四', phone, anonymous: false }, content: `请回电 ${phone}，反映噪音问题` }));
    expect(created.status).toBe(201);
    expect(created.headers['x-request-id']).toBe('req-log-test-1');
    await t.api.get(`/api/tickets?phone=${phone}`).set('authorization', `Bearer ${token}`).expect(200);
    // an error path that logs the request
    await t.api.post('/api/tickets').set('authorization', `Bearer ${token}`).set('content-type', 'application/json').send('{"caller": ').expect(400);
    // the console's session: the token travels in Set-Cookie and Cookie headers only
    const login = await t.api.post('/api/auth/login').set('x-requested-with', 'hotline-console').send({ username: 'agent2', password: DEMO_PASSWORD }).expect(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const cookieToken = cookie.split('=')[1]!;
    expect(cookieToken.length).toBeGreaterThan(20);
    await t.api.get('/api/auth/me').set('cookie', cookie).expect(200);
    await t.api.post('/api/auth/logout').set('cookie', cookie).set('x-requested-with', 'hotline-console').expect(200);
    await new Promise((r) => setTimeout(r, 200));
    const all = t.logs.join("\n");
    expect(all).not.toContain(cookieToken.split('.')[2]!);
    expect(t.logs.length).toBeGreaterThan(3);
    expect(all).toContain('req-log-test-1');
    expect(all).not.toContain(DEMO_PASSWORD);
    expect(all).not.toContain('wrong-password-123');
    expect(all).not.toContain(token);
    expect(all).not.toContain(token.split('.')[2]!);
    expect(all).not.toContain(phone);
  });
});
