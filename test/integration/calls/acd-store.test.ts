/**
 * The Redis ACD store against the real Redis of the test run (test/global-setup.ts): atomic
 * claims from several clients, persisted agent states, abandoned calls → callback tasks, overflow.
 * Every test uses its own key prefix under this file's hash tag; afterAll deletes them all.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIORITY } from '../../../server/src/calls/acd.js';
import { AcdStore } from '../../../server/src/calls/acd-store.js';
import { agent, entry, T0 } from '../../helpers/acd-fixtures.js';

const FILE_TAG = `{acd${randomBytes(4).toString('hex')}}`;
let seq = 0;

let r1: Redis;
let r2: Redis;

beforeAll(() => {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL not set: run through vitest (test/global-setup.ts)');
  r1 = new Redis(url, { maxRetriesPerRequest: 2 });
  r2 = new Redis(url, { maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  await new AcdStore(r1, FILE_TAG).clear();
  expect(await r1.keys(`${FILE_TAG}*`)).toEqual([]);
  r1.disconnect();
  r2.disconnect();
});

/** Two stores on two connections sharing one prefix: two engine instances. */
function stores(): [AcdStore, AcdStore] {
  const prefix = `${FILE_TAG}:t${++seq}`;
  return [new AcdStore(r1, prefix), new AcdStore(r2, prefix)];
}


describe('AcdStore', () => {
  it('50 parallel claims from two clients for 10 calls and 5 agents: every call and agent at most once', async () => {
    const [s1, s2] = stores();
    for (let i = 0; i < 5; i++) await s1.putAgent(agent(`a${i}`, { since: T0 - i }));
    for (let i = 0; i < 10; i++) expect(await s1.enqueue(entry(`c${i}`, { enqueuedAt: T0 + i }))).toBe(true);
    const attempts = Array.from({ length: 50 }, (_, i) => {
      const s = i % 2 === 0 ? s1 : s2;
      const callId = `c${i % 10}`;
      const agentId = `a${Math.floor(i / 2) % 5}`;
      return s.claim(callId, agentId, T0 + 100).then((r) => ({ callId, agentId, r }));
    });
    const results = await Promise.all(attempts);
    const won = results.filter((x) => x.r === 'claimed');
    expect(won.length).toBe(5); // limited by the agents
    expect(new Set(won.map((w) => w.callId)).size).toBe(won.length);
    expect(new Set(won.map((w) => w.agentId)).size).toBe(won.length);
    // Redis agrees with the winners
    for (const w of won) {
      expect((await s2.getAgent(w.agentId))?.offer?.callId).toBe(w.callId);
      expect((await s2.call(w.callId))?.offeredTo).toBe(w.agentId);
    }
    expect((await s1.queued()).length).toBe(5);
  });

  it('concurrent distribution rounds on two instances never double-assign', async () => {
    const [s1, s2] = stores();
    for (let i = 0; i < 5; i++) await s1.putAgent(agent(`a${i}`, { since: T0 - i * 1000 }));
    for (let i = 0; i < 10; i++) await s2.enqueue(entry(`c${i}`, { enqueuedAt: T0 + i, priority: i === 7 ? PRIORITY.elderly : PRIORITY.normal }));
    const rounds = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? s1 : s2).distribute(T0 + 5000, 'longest_idle')));
    const all = rounds.flat();
    expect(all.length).toBe(5);
    expect(new Set(all.map((a) => a.callId)).size).toBe(5);
    expect(new Set(all.map((a) => a.agentId)).size).toBe(5);
    // the elderly caller and the four longest-waiting others were offered
    expect(all.map((a) => a.callId).sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c7']);
    const agents = await s1.listAgents();
    expect(agents.every((a) => a.offer !== null)).toBe(true);
    expect(await s1.distribute(T0 + 6000, 'longest_idle')).toEqual([]);
  });

  it('enqueue is idempotent per call; the queue is ordered by priority, then enqueue time', async () => {
    const [s] = stores();
    await s.enqueue(entry('late', { enqueuedAt: T0 + 2000 }));
    await s.enqueue(entry('early', { enqueuedAt: T0 + 1000 }));
    await s.enqueue(entry('elder', { enqueuedAt: T0 + 3000, priority: PRIORITY.elderly }));
    expect(await s.enqueue(entry('early', { enqueuedAt: T0 + 9000 }))).toBe(false);
    expect((await s.queued()).map((e) => e.callId)).toEqual(['elder', 'early', 'late']);
  });

  it('state changes persist and are visible to another instance; forbidden ones are refused', async () => {
    const [s1, s2] = stores();
    await s1.putAgent(agent('a1', { state: 'logged_out', skills: ['law'], group: 'enterprise' }));
    expect(await s1.changeState('a1', 'available', 'agent', T0 + 10)).toMatchObject({ ok: true, changed: true });
    expect(await s2.getAgent('a1')).toMatchObject({ state: 'available', since: T0 + 10, skills: ['law'], group: 'enterprise' });
    const refused = await s2.changeState('a1', 'on_call', 'agent', T0 + 20);
    expect(refused).toMatchObject({ ok: false, error: { code: 'ACTION_FORBIDDEN' } });
    expect(await s2.changeState('a1', 'break', 'supervisor', T0 + 30)).toMatchObject({ ok: true });
    expect((await s1.getAgent('a1'))?.state).toBe('break');
    expect(await s1.changeState('nobody', 'available', 'agent', T0)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('parallel state changes of one agent from two instances all apply one at a time (version check)', async () => {
    const [s1, s2] = stores();
    await s1.putAgent(agent('a1', { state: 'available' }));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? s1 : s2).changeState('a1', i % 2 ? 'break' : 'available', 'agent', T0 + i)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    const a = await s1.getAgent('a1');
    expect(['available', 'break']).toContain(a?.state);
    // each effective change bumped the version exactly once
    const changed = results.filter((r) => r.ok && r.changed).length;
    expect(Number(a?.version)).toBe(1 + changed);
  });

  it('offer → answered → ended → wrap-up; the answered call leaves the ACD', async () => {
    const [s1, s2] = stores();
    await s1.putAgent(agent('a1'));
    await s1.enqueue(entry('c1'));
    expect(await s1.distribute(T0 + 1000, 'skills')).toEqual([{ callId: 'c1', agentId: 'a1', waitedMs: 1000 }]);
    expect(await s2.callEvent('a1', { type: 'answered', callId: 'c1' }, T0 + 4000)).toMatchObject({ ok: true, changed: true });
    expect(await s1.getAgent('a1')).toMatchObject({ state: 'on_call', callId: 'c1', offer: null });
    expect(await s1.call('c1')).toBe(null);
    expect(await s1.abandon('c1', T0 + 5000)).toBe(null); // too late to abandon an answered call
    expect(await s1.callEvent('a1', { type: 'ended', callId: 'c1', wrapUp: true }, T0 + 60_000)).toMatchObject({ ok: true });
    expect((await s2.getAgent('a1'))?.state).toBe('wrap_up');
    expect(await s1.callbacks()).toEqual([]);
  });

  it('no answer: the call goes back to its old place and the agent to break', async () => {
    const [s] = stores();
    await s.putAgent(agent('a1'));
    await s.enqueue(entry('first', { enqueuedAt: T0 }));
    await s.distribute(T0 + 10, 'longest_idle');
    await s.enqueue(entry('second', { enqueuedAt: T0 + 5 }));
    expect(await s.callEvent('a1', { type: 'no_answer', callId: 'first' }, T0 + 20_000)).toMatchObject({ ok: true, changed: true, requeued: 'first' });
    expect((await s.getAgent('a1'))?.state).toBe('break');
    expect((await s.queued()).map((e) => e.callId)).toEqual(['first', 'second']);
    expect((await s.call('first'))?.offeredTo).toBe('');
  });

  it('an agent logged out by reconciliation while ringing: the call is re-queued and offered to someone else', async () => {
    const [s1, s2] = stores();
    await s1.putAgent(agent('gone', { since: T0 - 1000 }));
    await s1.putAgent(agent('here', { since: T0 }));
    await s1.enqueue(entry('c1'));
    expect((await s1.distribute(T0 + 1, 'longest_idle'))[0]?.agentId).toBe('gone');
    expect(await s2.changeState('gone', 'logged_out', 'system', T0 + 2)).toMatchObject({ ok: true, requeued: 'c1' });
    expect(await s2.distribute(T0 + 3, 'longest_idle')).toEqual([{ callId: 'c1', agentId: 'here', waitedMs: 3 }]);
  });

  it('an offer nobody reported on expires after the ring timeout: call re-queued, agent on break', async () => {
    const [s1, s2] = stores();
    await s1.putAgent(agent('a1'));
    await s1.putAgent(agent('a2', { since: T0 + 1 }));
    await s1.enqueue(entry('c1'));
    await s1.enqueue(entry('c2', { enqueuedAt: T0 + 1 }));
    await s1.distribute(T0 + 10, 'longest_idle');
    await s1.callEvent('a2', { type: 'answered', callId: 'c2' }, T0 + 20);
    expect(await s1.expireOffers(T0 + 20_000, 30_000)).toEqual([]);
    const [x, y] = await Promise.all([s1.expireOffers(T0 + 40_011, 30_000), s2.expireOffers(T0 + 40_011, 30_000)]);
    expect([...x, ...y]).toEqual(['c1']);
    expect(await s1.getAgent('a1')).toMatchObject({ state: 'break', offer: null });
    expect((await s1.getAgent('a2'))?.state).toBe('on_call');
    expect((await s1.queued()).map((e) => e.callId)).toEqual(['c1']);
  });

  it('a caller who hangs up while queued becomes a callback task, once', async () => {
    const [s1, s2] = stores();
    await s1.enqueue(entry('c1', { callerNumber: '13911112222', priority: PRIORITY.elderly }));
    const [t1, t2] = await Promise.all([s1.abandon('c1', T0 + 30_000), s2.abandon('c1', T0 + 30_001)]);
    const task = t1 ?? t2;
    expect([t1, t2].filter(Boolean).length).toBe(1);
    expect(task).toMatchObject({ id: 'cb-c1', callId: 'c1', callerNumber: '13911112222', reason: 'abandoned', status: 'open', waitedSeconds: 30 });
    expect(await s1.queued()).toEqual([]);
    expect(await s2.callbacks()).toEqual([task]);
  });

  it('a caller who hangs up while ringing: the agent is free again, the call becomes a callback task', async () => {
    const [s1, s2] = stores();
    await s1.putAgent(agent('a1'));
    await s1.enqueue(entry('c1'));
    await s1.distribute(T0 + 1, 'longest_idle');
    const task = await s2.abandon('c1', T0 + 3000);
    expect(task).toMatchObject({ id: 'cb-c1', shortAbandon: true });
    expect(await s1.getAgent('a1')).toMatchObject({ state: 'available', offer: null });
    // a late answered event for the abandoned call is refused and leaves the agent alone
    expect(await s1.callEvent('a1', { type: 'answered', callId: 'c1' }, T0 + 3001)).toMatchObject({ ok: false });
    expect((await s1.getAgent('a1'))?.state).toBe('available');
  });

  it('overflow sweep: max wait moves the call to the overflow group, the callback limit to the callback list', async () => {
    const [s1, s2] = stores();
    await s1.putAgent(agent('b1', { group: 'backup' }));
    await s1.putAgent(agent('m1', { group: 'main', state: 'break' }));
    await s1.enqueue(entry('c1', { enqueuedAt: T0 }));
    await s1.enqueue(entry('c2', { enqueuedAt: T0 - 125_000 }));
    const policy = { maxWaitSeconds: 60, overflowGroup: 'backup', callbackAfterSeconds: 180 };
    // the backup group points back at main: the call must not bounce between them
    const backup = { maxWaitSeconds: 60, overflowGroup: 'main', callbackAfterSeconds: 180 };
    const policyFor = (g: string) => (g === 'main' ? policy : g === 'backup' ? backup : null);
    expect(await s1.sweepOverflow(T0 + 10_000, policyFor)).toEqual({ overflowed: ['c2'], callbacks: [] });
    const [a, b] = await Promise.all([s1.sweepOverflow(T0 + 61_000, policyFor), s2.sweepOverflow(T0 + 61_000, policyFor)]);
    expect([...a.overflowed, ...b.overflowed]).toEqual(['c1']);
    expect([...a.callbacks, ...b.callbacks].map((t) => [t.callId, t.reason])).toEqual([['c2', 'max_wait']]);
    expect((await s1.call('c1'))?.entry).toMatchObject({ group: 'backup', overflowedFrom: ['main'] });
    expect(await s2.distribute(T0 + 62_000, 'longest_idle')).toEqual([{ callId: 'c1', agentId: 'b1', waitedMs: 62_000 }]);
    expect((await s1.callbacks()).map((t) => t.id)).toEqual(['cb-c2']);
  });

  it('distribution reads only the head of a long queue, yet a call of a group with an idle agent never starves behind another group', async () => {
    const [s1] = stores();
    await s1.putAgent(agent('m1', { group: 'main' }));
    for (let i = 0; i < 120; i++) await s1.enqueue(entry(`e${i}`, { group: 'enterprise', priority: PRIORITY.enterprise, enqueuedAt: T0 + i }));
    await s1.enqueue(entry('late-main', { group: 'main', enqueuedAt: T0 + 1_000 }));
    expect(await s1.distribute(T0 + 2_000, 'longest_idle')).toEqual([{ callId: 'late-main', agentId: 'm1', waitedMs: 1_000 }]);
    // nobody idle now: a round reads nothing and offers nothing
    expect(await s1.distribute(T0 + 3_000, 'longest_idle')).toEqual([]);
    expect((await s1.queued()).length).toBe(120);
  });

  it('the idle index always equals the agents that are available with no offer, longest idle first, through random operations', async () => {
    const [s1, s2] = stores();
    const ids = ['i1', 'i2', 'i3', 'i4', 'i5', 'i6'];
    for (const [i, id] of ids.entries()) await s1.putAgent(agent(id, { since: T0 + i, group: i % 2 ? 'main' : 'backup' }));
    let now = T0 + 100;
    let n = 0;
    // deterministic pseudo-random sequence (no flakiness, same run every time)
    let x = 12345;
    const rnd = (k: number): number => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % k);
    for (let step = 0; step < 300; step++) {
      now += 10;
      const s = rnd(2) ? s1 : s2;
      const id = ids[rnd(ids.length)]!;
      switch (rnd(8)) {
        case 0:
          await s.changeState(id, (['available', 'break', 'wrap_up', 'logged_out'] as const)[rnd(4)]!, 'supervisor', now);
          break;
        case 1:
          await s.enqueue(entry(`r${++n}`, { enqueuedAt: now, group: rnd(2) ? 'main' : 'backup' }));
          break;
        case 2:
          await s.distribute(now, 'longest_idle');
          break;
        case 3: {
          const a = await s.getAgent(id);
          if (a?.offer) await s.callEvent(id, { type: rnd(2) ? 'answered' : 'no_answer', callId: a.offer.callId }, now);
          break;
        }
        case 4: {
          const a = await s.getAgent(id);
          if (a?.state === 'on_call' && a.callId) await s.callEvent(id, { type: 'ended', callId: a.callId, wrapUp: rnd(2) === 1 }, now);
          break;
        }
        case 5: {
          const a = await s.getAgent(id);
          if (a?.offer) await (rnd(2) ? s.abandon(a.offer.callId, now) : s.abandonQuietly(a.offer.callId));
          break;
        }
        case 6:
          await s.updateProfile(id, rnd(2) ? 'main' : 'backup', []);
          break;
        default:
          await s.expireOffers(now, 50);
      }
      for (const group of ['main', 'backup']) {
        const expected = (await s1.listAgents())
          .filter((a) => a.group === group && a.state === 'available' && a.offer === null)
          .sort((a, b) => a.since - b.since || (a.agentId < b.agentId ? -1 : 1))
          .map((a) => a.agentId);
        expect((await s1.idleAgents(group, 100)).map((a) => a.agentId), `step ${step}, group ${group}`).toEqual(expected);
      }
    }
  });
});
