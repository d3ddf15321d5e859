/**
 * Agent groups and overflow (issue 4 item 3): the enterprise line's calls wait for the
 * enterprise group; after its maximum wait they overflow to the main group (and ring an agent
 * there); a group whose callers wait too long sends them to the callback list, and telephony is
 * told to end the waiting call. Real Redis + FerretDB, the ACD sweep running every 200 ms.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../../../server/src/config/env.js';
import type { TelephonyCommand } from '../../../server/src/calls/telephony-contract.js';
import type { CallOffered } from '../../../telephony/src/call-events.js';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { callPlayer } from '../../helpers/call-player.js';
import { until } from '../../helpers/until.js';

const ACD_GROUPS = JSON.stringify({
  lines: { enterprise: { group: 'enterprise' }, 'urban-management': { group: 'urban' } },
  overflow: {
    enterprise: { maxWaitSeconds: 1, overflowGroup: 'main', callbackAfterSeconds: 60 },
    urban: { maxWaitSeconds: 1, overflowGroup: null },
  },
});

let t: TestApp;
const auth = async (u: string) => ({ authorization: `Bearer ${await t.token(u)}` });


const offered = (callId: string, line: string): CallOffered => ({
  type: 'call.offered', callId, instance: 'tel1', line, lineName: line, fromNumber: '13700000000', displayName: '', toNumber: '12345', sdp: '',
  receivedAt: new Date().toISOString(),
});

const jobs = (name: string): Promise<Job<TelephonyCommand>[]> => player.jobs<TelephonyCommand>(name);

beforeAll(async () => {
  t = await startTestApp({ env: { ACD_GROUPS, ACD_TICK_MS: '200', ACD_PRESENCE_CHECK: 'false' } });
});

afterAll(async () => {
  await t?.close();
});

const player = callPlayer(() => t);

describe('agent groups and overflow', { timeout: 30_000 }, () => {
  it('a bad ACD_GROUPS stops the server with the variable named', () => {
    const base = { MONGODB_URL: 'mongodb://x/y', REDIS_URL: 'redis://x', JWT_SECRET: 'x'.repeat(32) };
    expect(() => loadEnv({ ...base, ACD_GROUPS: '{"overflow": {"main": {"maxWaitSeconds": 0}}}' })).toThrow(/ACD_GROUPS/);
    expect(() => loadEnv({ ...base, ACD_GROUPS: 'not json' })).toThrow(/ACD_GROUPS: .*JSON/);
  });

  it('an enterprise call waits for its group, overflows to the main group after the maximum wait, and rings an agent there', async () => {
    // agent2 serves the enterprise group but is on break; agent1 serves main and is available
    const p = await t.api.put('/api/agents/agent2/profile').set(await auth('super1')).send({ group: 'enterprise', skills: ['enterprise'] });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    expect(p.body).toMatchObject({ group: 'enterprise', skills: ['enterprise'] });
    expect((await t.api.put('/api/agents/agent2/profile').set(await auth('agent1')).send({ group: 'main' })).status).toBe(403);
    expect((await t.api.post('/api/agents/me/state').set(await auth('agent1')).send({ state: 'available' })).status).toBe(200);

    const callId = `${randomUUID()}@127.0.0.1`;
    const started = Date.now();
    await player.publisher.publish(offered(callId, 'enterprise'));
    const waiting = await until('queued in the enterprise group', async () => {
      const q = (await t.api.get('/api/acd/queue').set(await auth('super1'))).body.items as Array<{ callId: string; group: string }>;
      return q.find((e) => e.callId === callId);
    });
    expect(waiting.group).toBe('enterprise'); // agent1 (main) is idle but not offered the call yet
    const ring = await until('rung on agent1 after overflow', async () => (await jobs('ring')).find((j) => j.data.callId === callId));
    expect(ring.data).toMatchObject({ agentId: 'agent1' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // only after the 1 s maximum wait
  });

  it('a group without an overflow group sends callers past the maximum wait to the callback list; telephony ends the waiting call', async () => {
    const callId = `${randomUUID()}@127.0.0.1`;
    await player.publisher.publish(offered(callId, 'urban-management'));
    const end = await until('end command', async () => (await jobs('end')).find((j) => j.data.callId === callId));
    expect(end.data).toMatchObject({ callId, reason: 'max-wait-callback' });
    const tasks = (await t.api.get('/api/callbacks').set(await auth('agent1'))).body.items as Array<{ callId: string; reason: string }>;
    expect(tasks).toContainEqual(expect.objectContaining({ callId, reason: 'max_wait' }));
    const rec = (await t.api.get(`/api/calls/${encodeURIComponent(callId)}`).set(await auth('super1'))).body;
    expect(rec).toMatchObject({ outcome: 'abandoned', abandonReason: 'max-wait-callback' });
  });
});
