/**
 * The pure ACD core (server/src/calls/acd.ts): table tests for agent states, choice, queue
 * position, overflow and callbacks; fast-check properties for the choice function.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AGENT_RULES,
  AGENT_STATES,
  PRIORITY,
  applyCallEvent,
  callbackTask,
  callerPriority,
  canServe,
  changeAgentState,
  chooseNext,
  compareEntries,
  estimatedWaitSeconds,
  isIdle,
  overflowDecision,
  overflowed,
  queuePosition,
  workingAgents,
  type AgentState,
  type AgentStatus,
  type OverflowPolicy,
  type QueueEntry,
  type StateActor,
  type Strategy,
} from '../../../server/src/calls/acd.js';
import { agent, entry, T0 } from '../../helpers/acd-fixtures.js';



describe('agent state changes', () => {
  const cases: Array<[AgentState, AgentState, StateActor, 'ok' | 'ACTION_FORBIDDEN' | 'INVALID_TRANSITION']> = [
    ['logged_out', 'available', 'agent', 'ok'],
    ['available', 'break', 'agent', 'ok'],
    ['break', 'available', 'agent', 'ok'],
    ['wrap_up', 'available', 'agent', 'ok'],
    ['available', 'logged_out', 'agent', 'ok'],
    ['available', 'on_call', 'agent', 'ACTION_FORBIDDEN'],
    ['on_call', 'break', 'agent', 'INVALID_TRANSITION'],
    ['on_call', 'logged_out', 'agent', 'INVALID_TRANSITION'],
    ['on_call', 'available', 'agent', 'INVALID_TRANSITION'],
    ['logged_out', 'wrap_up', 'agent', 'INVALID_TRANSITION'],
    ['on_call', 'available', 'supervisor', 'ok'],
    ['logged_out', 'on_call', 'supervisor', 'ok'],
    ['break', 'logged_out', 'supervisor', 'ok'],
    ['on_call', 'logged_out', 'system', 'ok'],
    ['wrap_up', 'available', 'system', 'ok'],
    ['available', 'break', 'system', 'ACTION_FORBIDDEN'],
    ['break', 'available', 'system', 'INVALID_TRANSITION'],
  ];
  it.each(cases)('%s → %s by %s: %s', (from, to, actor, expected) => {
    const d = changeAgentState(agent('a1', { state: from, since: T0 - 1000 }), to, actor, T0);
    if (expected === 'ok') {
      expect(d.ok).toBe(true);
      if (d.ok) expect(d.agent).toMatchObject({ state: to, since: T0, offer: null });
    } else {
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.error.code).toBe(expected);
    }
  });

  it('asking for the present state is a harmless no-op', () => {
    const a = agent('a1', { state: 'break', since: T0 - 5000 });
    expect(changeAgentState(a, 'break', 'agent', T0)).toEqual({ ok: true, agent: a, changed: false });
  });

  it('leaving available withdraws the pending offer', () => {
    const d = changeAgentState(agent('a1', { offer: { callId: 'c1', at: T0 } }), 'break', 'agent', T0 + 1);
    expect(d.ok && d.agent.offer).toBe(null);
  });

  it('nobody but a supervisor puts an agent on_call directly; agents never reach it from any state', () => {
    for (const from of AGENT_STATES) {
      for (const actor of ['agent', 'system'] as const) {
        const d = changeAgentState(agent('a', { state: from }), 'on_call', actor, T0);
        if (from !== 'on_call') expect(d.ok).toBe(false);
      }
    }
    expect(AGENT_RULES.on_call.agent).toEqual([]);
  });

  it('call events: offer → answered → ended → wrap-up → available', () => {
    const ringing = agent('a1', { offer: { callId: 'c1', at: T0 } });
    const ans = applyCallEvent(ringing, { type: 'answered', callId: 'c1' }, T0 + 3000);
    expect(ans.ok && ans.agent).toMatchObject({ state: 'on_call', callId: 'c1', offer: null, since: T0 + 3000 });
    if (!ans.ok) return;
    // a redelivered answered event changes nothing
    expect(applyCallEvent(ans.agent, { type: 'answered', callId: 'c1' }, T0 + 4000)).toMatchObject({ ok: true, changed: false });
    const end = applyCallEvent(ans.agent, { type: 'ended', callId: 'c1', wrapUp: true }, T0 + 60_000);
    expect(end.ok && end.agent).toMatchObject({ state: 'wrap_up', callId: 'c1' });
    if (!end.ok) return;
    const back = changeAgentState(end.agent, 'available', 'agent', T0 + 90_000);
    expect(back.ok && back.agent).toMatchObject({ state: 'available', callId: null, since: T0 + 90_000 });
  });

  it('answered for a call that is not ringing on the agent is refused', () => {
    const d = applyCallEvent(agent('a1', { offer: { callId: 'c2', at: T0 } }), { type: 'answered', callId: 'c1' }, T0);
    expect(d.ok).toBe(false);
    expect(applyCallEvent(agent('a1', { state: 'break' }), { type: 'answered', callId: 'c1' }, T0).ok).toBe(false);
  });

  it('no answer (RONA) sends the agent to break; ended without wrap-up makes them available', () => {
    const d = applyCallEvent(agent('a1', { offer: { callId: 'c1', at: T0 } }), { type: 'no_answer', callId: 'c1' }, T0 + 20_000);
    expect(d.ok && d.agent).toMatchObject({ state: 'break', offer: null });
    const e = applyCallEvent(agent('a1', { state: 'on_call', callId: 'c1' }), { type: 'ended', callId: 'c1', wrapUp: false }, T0);
    expect(e.ok && e.agent).toMatchObject({ state: 'available', callId: null });
  });

  it('a withdrawn offer (call answered elsewhere or ended) leaves the agent available with the same idle time', () => {
    const a = agent('a1', { since: T0 - 60_000, offer: { callId: 'c1', at: T0 } });
    const d = applyCallEvent(a, { type: 'withdrawn', callId: 'c1' }, T0 + 5_000);
    expect(d.ok && d.agent).toMatchObject({ state: 'available', offer: null, since: T0 - 60_000 });
    expect(d.ok && d.changed).toBe(true);
    // about another call: nothing changes
    expect(applyCallEvent(a, { type: 'withdrawn', callId: 'c9' }, T0)).toMatchObject({ ok: true, changed: false });
  });
});

describe('chooseNext', () => {
  it('priority first, then longest waiting; longest idle agent first', () => {
    const q = [entry('old', { enqueuedAt: T0 }), entry('elder', { enqueuedAt: T0 + 5000, priority: PRIORITY.elderly }), entry('new', { enqueuedAt: T0 + 1000 })];
    const agents = [agent('recent', { since: T0 + 100 }), agent('idle-long', { since: T0 - 60_000 })];
    expect(chooseNext(q, agents, T0 + 10_000, 'longest_idle')).toEqual([
      { callId: 'elder', agentId: 'idle-long', waitedMs: 5000 },
      { callId: 'old', agentId: 'recent', waitedMs: 10_000 },
    ]);
  });

  it('skips agents that are not available or already ringing', () => {
    const agents = [
      agent('busy', { state: 'on_call', since: T0 - 99_000 }),
      agent('ringing', { since: T0 - 98_000, offer: { callId: 'x', at: T0 } }),
      agent('pause', { state: 'break', since: T0 - 97_000 }),
      agent('wrap', { state: 'wrap_up', since: T0 - 96_000 }),
      agent('off', { state: 'logged_out', since: T0 - 95_000 }),
      agent('free', { since: T0 }),
    ];
    expect(chooseNext([entry('c1'), entry('c2')], agents, T0, 'longest_idle')).toEqual([{ callId: 'c1', agentId: 'free', waitedMs: 0 }]);
  });

  it('skills: only agents with every required skill; a call nobody can take does not block the next', () => {
    const q = [entry('legal', { requiredSkills: ['law', 'dialect'] }), entry('plain', { enqueuedAt: T0 + 1 })];
    const agents = [agent('a-law', { skills: ['law'], since: T0 - 10 }), agent('b-both', { skills: ['dialect', 'law'], since: T0 })];
    expect(chooseNext(q, agents, T0, 'skills')).toEqual([
      { callId: 'legal', agentId: 'b-both', waitedMs: 0 },
      { callId: 'plain', agentId: 'a-law', waitedMs: 0 },
    ]);
    // longest_idle ignores skills
    expect(chooseNext(q, agents, T0, 'longest_idle')[0]).toEqual({ callId: 'legal', agentId: 'a-law', waitedMs: 0 });
    const onlyLaw = [agent('a-law', { skills: ['law'] })];
    expect(chooseNext(q, onlyLaw, T0, 'skills')).toEqual([{ callId: 'plain', agentId: 'a-law', waitedMs: 0 }]);
  });

  it('agents serve only their own group', () => {
    const q = [entry('c1', { group: 'enterprise' }), entry('c2', { enqueuedAt: T0 + 1 })];
    expect(chooseNext(q, [agent('m1')], T0, 'longest_idle')).toEqual([{ callId: 'c2', agentId: 'm1', waitedMs: 0 }]);
  });

  it('no agents or no calls: no assignment', () => {
    expect(chooseNext([], [agent('a')], T0, 'skills')).toEqual([]);
    expect(chooseNext([entry('c')], [], T0, 'skills')).toEqual([]);
  });
});

describe('queue position and estimated wait', () => {
  const q = [entry('a', { enqueuedAt: T0 }), entry('b', { enqueuedAt: T0 + 1 }), entry('e', { enqueuedAt: T0 + 2, priority: PRIORITY.elderly }), entry('x', { group: 'other' })];
  it('counts from 1 within the group, priority ahead', () => {
    expect(queuePosition(q, 'e')).toBe(1);
    expect(queuePosition(q, 'a')).toBe(2);
    expect(queuePosition(q, 'b')).toBe(3);
    expect(queuePosition(q, 'x')).toBe(1);
    expect(queuePosition(q, 'nope')).toBe(null);
  });
  it('position × AHT ÷ working agents, rounded up; unknown with nobody working', () => {
    expect(estimatedWaitSeconds(3, 180, 4)).toBe(135);
    expect(estimatedWaitSeconds(1, 100, 3)).toBe(34);
    expect(estimatedWaitSeconds(2, 180, 0)).toBe(null);
    const staff = [agent('a'), agent('b', { state: 'on_call' }), agent('c', { state: 'break' }), agent('d', { group: 'other' })];
    expect(workingAgents(staff, 'main')).toBe(2);
  });
});

describe('priority of a caller', () => {
  it('elderly list first, then the line priority', () => {
    const elderly = new Set(['13900000001']);
    expect(callerPriority('13900000001', { elderly })).toBe(PRIORITY.elderly);
    expect(callerPriority('13900000002', { elderly })).toBe(PRIORITY.normal);
    expect(callerPriority('13900000002', { elderly, linePriority: PRIORITY.enterprise })).toBe(PRIORITY.enterprise);
    expect(callerPriority('', { elderly: new Set(['']) })).toBe(PRIORITY.normal);
  });
});

describe('overflowDecision', () => {
  const policy: OverflowPolicy = { maxWaitSeconds: 60, overflowGroup: 'backup', callbackAfterSeconds: 180 };
  const e = entry('c1');
  it.each([
    [59_999, { action: 'stay', recheckAt: T0 + 60_000 }],
    [60_000, { action: 'overflow', group: 'backup' }],
    [180_000, { action: 'callback' }],
  ])('after %i ms: %o', (waited, expected) => {
    expect(overflowDecision(e, T0 + waited, policy)).toEqual(expected);
  });
  it('never overflows back to a group it came from, nor to its own group', () => {
    const moved = overflowed(e, 'backup');
    expect(moved).toMatchObject({ group: 'backup', overflowedFrom: ['main'] });
    expect(overflowDecision(moved, T0 + 90_000, { ...policy, overflowGroup: 'main' })).toEqual({ action: 'stay', recheckAt: T0 + 180_000 });
    expect(overflowDecision(moved, T0 + 90_000, { ...policy, overflowGroup: 'backup' })).toEqual({ action: 'stay', recheckAt: T0 + 180_000 });
  });
  it('without an overflow group the max wait sends the call to the callback list', () => {
    expect(overflowDecision(e, T0 + 60_000, { maxWaitSeconds: 60, overflowGroup: null, callbackAfterSeconds: null })).toEqual({ action: 'callback' });
    expect(overflowDecision(e, T0 + 1000, { maxWaitSeconds: 60, overflowGroup: null, callbackAfterSeconds: null })).toEqual({ action: 'stay', recheckAt: T0 + 60_000 });
  });
});

describe('callbackTask (未接回拨)', () => {
  it('an abandoned call becomes an open task keyed by call id', () => {
    const t = callbackTask(entry('c9', { priority: PRIORITY.elderly }), 'abandoned', T0 + 42_400);
    expect(t).toEqual({
      id: 'cb-c9',
      callId: 'c9',
      line: 'main',
      callerNumber: '13800000000',
      priority: PRIORITY.elderly,
      group: 'main',
      reason: 'abandoned',
      enqueuedAt: T0,
      leftAt: T0 + 42_400,
      waitedSeconds: 42,
      shortAbandon: false,
      status: 'open',
      createdAt: T0 + 42_400,
    });
  });
  it('flags abandons under 5 s and withheld numbers', () => {
    expect(callbackTask(entry('c'), 'abandoned', T0 + 4999).shortAbandon).toBe(true);
    expect(callbackTask(entry('c'), 'max_wait', T0 + 1000).shortAbandon).toBe(false);
    expect(callbackTask(entry('c', { callerNumber: '' }), 'abandoned', T0 + 9000).status).toBe('no_number');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties of chooseNext

const SKILLS = ['law', 'dialect', 'english'];
const GROUPS = ['main', 'enterprise'];

const agentArb = (id: string): fc.Arbitrary<AgentStatus> =>
  fc.record({
    agentId: fc.constant(id),
    state: fc.constantFrom(...AGENT_STATES),
    since: fc.integer({ min: T0 - 600_000, max: T0 }),
    skills: fc.subarray(SKILLS),
    group: fc.constantFrom(...GROUPS),
    offer: fc.option(fc.record({ callId: fc.constantFrom('x1', 'x2'), at: fc.constant(T0) }), { freq: 4 }),
    callId: fc.constant(null),
  });

const entryArb = (id: string): fc.Arbitrary<QueueEntry> =>
  fc.record({
    callId: fc.constant(id),
    line: fc.constant('main'),
    callerNumber: fc.constant('13800000000'),
    // few distinct times so ties (same priority, same time) occur
    enqueuedAt: fc.integer({ min: 0, max: 20 }).map((s) => T0 - s * 1000),
    priority: fc.constantFrom(PRIORITY.normal, PRIORITY.enterprise, PRIORITY.elderly),
    requiredSkills: fc.subarray(SKILLS, { maxLength: 2 }),
    group: fc.constantFrom(...GROUPS),
    overflowedFrom: fc.constant([]),
  });

const world = fc.record({
  agents: fc.integer({ min: 0, max: 8 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => agentArb(`a${i}`)))),
  queue: fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => entryArb(`c${i}`)))),
  strategy: fc.constantFrom<Strategy>('longest_idle', 'skills'),
});

describe('chooseNext properties', () => {
  it('never assigns an agent that is not idle, and every pair can serve each other', () => {
    fc.assert(
      fc.property(world, ({ agents, queue, strategy }) => {
        const byId = new Map(agents.map((a) => [a.agentId, a]));
        const calls = new Map(queue.map((e) => [e.callId, e]));
        for (const a of chooseNext(queue, agents, T0, strategy)) {
          const ag = byId.get(a.agentId)!;
          expect(isIdle(ag)).toBe(true);
          expect(canServe(ag, calls.get(a.callId)!, strategy)).toBe(true);
        }
      }),
    );
  });

  it('never assigns one call twice or one agent twice', () => {
    fc.assert(
      fc.property(world, ({ agents, queue, strategy }) => {
        const out = chooseNext(queue, agents, T0, strategy);
        expect(new Set(out.map((a) => a.callId)).size).toBe(out.length);
        expect(new Set(out.map((a) => a.agentId)).size).toBe(out.length);
      }),
    );
  });

  it('a call is never served while an earlier one (higher priority, or same priority and longer wait) that the same agent could take waits', () => {
    fc.assert(
      fc.property(world, ({ agents, queue, strategy }) => {
        const out = chooseNext(queue, agents, T0, strategy);
        const served = new Set(out.map((a) => a.callId));
        const byId = new Map(agents.map((a) => [a.agentId, a]));
        for (const a of out) {
          const e = queue.find((q) => q.callId === a.callId)!;
          for (const waiting of queue.filter((q) => !served.has(q.callId))) {
            if (compareEntries(waiting, e) < 0) expect(canServe(byId.get(a.agentId)!, waiting, strategy)).toBe(false);
          }
        }
      }),
    );
  });

  it('one group, no skills: exactly the first k calls in (priority desc, FIFO) order go to the k longest-idle agents', () => {
    fc.assert(
      fc.property(world, ({ agents, queue }) => {
        const q = queue.map((e) => ({ ...e, group: 'main', requiredSkills: [] }));
        const ag = agents.map((a) => ({ ...a, group: 'main' }));
        const out = chooseNext(q, ag, T0, 'longest_idle');
        const idle = ag.filter(isIdle).sort((x, y) => x.since - y.since || (x.agentId < y.agentId ? -1 : 1));
        const k = Math.min(idle.length, q.length);
        const expectedCalls = [...q].sort(compareEntries).slice(0, k);
        expect(out.map((a) => a.callId)).toEqual(expectedCalls.map((e) => e.callId));
        expect(out.map((a) => a.agentId)).toEqual(idle.slice(0, k).map((a) => a.agentId));
        // priority never decreases… then FIFO within a priority
        for (let i = 1; i < expectedCalls.length; i++) {
          const [p, c] = [expectedCalls[i - 1]!, expectedCalls[i]!];
          expect(p.priority > c.priority || (p.priority === c.priority && p.enqueuedAt <= c.enqueuedAt)).toBe(true);
        }
      }),
    );
  });

  it('as many pairs as possible for the greedy order: no idle agent left that could take a waiting call', () => {
    fc.assert(
      fc.property(world, ({ agents, queue, strategy }) => {
        const out = chooseNext(queue, agents, T0, strategy);
        const usedAgents = new Set(out.map((a) => a.agentId));
        const served = new Set(out.map((a) => a.callId));
        for (const a of agents.filter((x) => isIdle(x) && !usedAgents.has(x.agentId))) {
          for (const e of queue.filter((q) => !served.has(q.callId))) expect(canServe(a, e, strategy)).toBe(false);
        }
      }),
    );
  });

  it('deterministic: the order of the inputs does not matter', () => {
    fc.assert(
      fc.property(world, fc.infiniteStream(fc.nat()), ({ agents, queue, strategy }, rnd) => {
        const shuffle = <T>(xs: T[]): T[] => {
          const it = rnd[Symbol.iterator]();
          return xs.map((x) => [it.next().value as number, x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
        };
        expect(chooseNext(shuffle([...queue]), shuffle([...agents]), T0, strategy)).toEqual(chooseNext(queue, agents, T0, strategy));
      }),
    );
  });
});
