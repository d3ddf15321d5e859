// Agents' SIP credentials come from the directory (issue #4 item 1), end to end: the engine
// mirrors each agent's digest HA1 into Redis, and the telephony adapter (its registrar reading
// that mirror, as in production) lets a SIPp phone register with the directory password, refuses
// a wrong one, and follows a password change made through PUT /api/agents/{id}/sip-password at
// once. The directory keeps only the HA1.
// Adapter on 127.0.0.31, phones on 127.0.0.32 (distinct hosts: TELEPHONY-NOTES defect 1).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sipHa1 } from '../../server/src/calls/sip-credentials.js';
import { DEMO_PASSWORD } from '../../server/src/directory/seed-data.js';
import type { TelephonyAdapter } from '../../telephony/src/adapter.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { describeRun, runSipp, startTelephonyOnFreePort } from './sipp.js';

const ADAPTER_IP = '127.0.0.31';
const PHONE_IP = '127.0.0.32';
const REALM = 'hotline.local';

let t: TestApp;
let tel: TelephonyAdapter;

beforeAll(async () => {
  t = await startTestApp({ env: { SIP_REALM: REALM, ACD_PRESENCE_CHECK: 'false' } });
  tel = await startTelephonyOnFreePort(ADAPTER_IP, { realm: REALM, instance: 'cred1', redisUrl: process.env.TEST_REDIS_URL!, queuePrefix: t.prefix });
}, 60_000);

afterAll(async () => {
  await tel?.stop();
  await t?.close();
});

const register = (scenario: 'register.xml' | 'register-wrong-password.xml', user: string, password: string) =>
  runSipp({
    scenario,
    target: { address: tel.address, port: tel.port },
    localAddress: PHONE_IP,
    args: ['-s', user, '-au', user, '-ap', password, '-key', 'realm', REALM, '-key', 'expires', '600'],
  });

const bindings = (user: string) => tel.bindings.list(`sip:${user}@${REALM}`, Date.now());

describe('SIP credentials from the directory, through the telephony adapter', { timeout: 60_000 }, () => {
  it('the demo password registers; a wrong one gets 401 then 403 and no binding', async () => {
    const ok = await register('register.xml', 'agent1', DEMO_PASSWORD);
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(await bindings('agent1')).toHaveLength(1);

    const wrong = await register('register-wrong-password.xml', 'window1', 'not-the-password');
    expect(wrong.code, describeRun(wrong)).toBe(0);
    expect(await bindings('window1')).toEqual([]);
  });

  it('PUT /api/agents/{id}/sip-password: the old password stops working at once, the new one registers; only the HA1 is stored', async () => {
    const sup = `Bearer ${await t.token('super1')}`;
    const agent = `Bearer ${await t.token('agent2')}`;
    const next = 'Phone#2026-agent2';

    // only supervisors and admins set phone passwords; a weak one is refused with a code
    const denied = await t.api.put('/api/agents/agent2/sip-password').set('authorization', agent).send({ password: next });
    expect(denied.status).toBe(403);
    const bad = await t.api.put('/api/agents/agent2/sip-password').set('authorization', sup).send({ password: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const notAgent = await t.api.put('/api/agents/urban1/sip-password').set('authorization', sup).send({ password: next });
    expect(notAgent.status).toBe(404);

    const r = await t.api.put('/api/agents/agent2/sip-password').set('authorization', sup).send({ password: next });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ agentId: 'agent2', realm: REALM, updated: true });

    const doc = await t.app.models.User.findById('agent2').lean();
    expect(doc?.sip).toEqual({ ha1: sipHa1('agent2', REALM, next), realm: REALM });
    expect(JSON.stringify(doc)).not.toContain(next);

    const old = await register('register-wrong-password.xml', 'agent2', DEMO_PASSWORD);
    expect(old.code, describeRun(old)).toBe(0);
    expect(await bindings('agent2')).toEqual([]);

    const now = await register('register.xml', 'agent2', next);
    expect(now.code, describeRun(now)).toBe(0);
    expect(await bindings('agent2')).toHaveLength(1);
  });
});
