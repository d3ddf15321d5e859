/**
 * Property tests of the pure ticket state machine: random command sequences (valid payloads,
 * actors drawn from a pool that includes the lead, co-handling and unrelated departments, time
 * moving forward) applied from initialCore(). Each property runs on its own so one broken
 * invariant does not hide another.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { ErrorCode } from '../../../server/src/errors.js';
import { COMMAND_TYPES, commandSchemas, type Command, type CommandType } from '../../../server/src/tickets/commands.js';
import { initialCore } from '../../../server/src/tickets/intake.js';
import { RULES, precondition, availableCommands, decide, permits, type Decision } from '../../../server/src/tickets/machine.js';
import type { Actor, IntakeInput, TicketCore } from '../../../server/src/tickets/types.js';
import {
  CATEGORIES,
  CHANNELS,
  OPEN_STATES,
  OUT_OF_SCOPE_KINDS,
  RATING_LEVELS,
  TICKET_STATES,
  URGENCIES,
  isBadRating,
  type TicketState,
} from '../../../server/src/tickets/vocabulary.js';

const NUM_RUNS = 500;
const MAX_STEPS = 40;
const T0 = new Date('2025-03-03T00:00:00.000Z');

// ---------------------------------------------------------------------------------------------
// Actors
// ---------------------------------------------------------------------------------------------

const DEPTS = ['D1', 'D2', 'D3'] as const;
const dept = (d: string | null): Actor => ({ id: `u-${d ?? 'none'}`, name: `dept ${d ?? 'none'}`, role: 'department', departmentId: d });
const POOL: Actor[] = [
  { id: 'u-agent', name: 'agent', role: 'agent' },
  { id: 'u-window', name: 'window', role: 'window' },
  { id: 'u-sup', name: 'supervisor', role: 'supervisor' },
  { id: 'u-admin', name: 'admin', role: 'admin' },
  { id: 'system', name: 'system', role: 'system' },
  ...DEPTS.map(dept),
  dept(null),
];

// ---------------------------------------------------------------------------------------------
// Arbitraries: every command is built through its zod schema, so payloads are always valid
// ---------------------------------------------------------------------------------------------

const text = fc.string({ minLength: 2, maxLength: 24 }).filter((s) => s.trim().length >= 2);
const hex24 = fc.stringMatching(/^[0-9a-f]{24}$/);
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const deptId = fc.constantFrom(...DEPTS);
const hours = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 240 }), weight: 4 }, { arbitrary: fc.integer({ min: 1, max: 24 * 60 }), weight: 1 });

function build<T extends CommandType>(type: T, input: fc.Arbitrary<z.input<(typeof commandSchemas)[T]>>): fc.Arbitrary<Command> {
  const schema = commandSchemas[type] as unknown as z.ZodType<object>;
  return input.map((raw) => {
    // drop keys fast-check set to undefined so the schema sees them as absent
    const clean = Object.fromEntries(Object.entries(raw as object).filter(([, v]) => v !== undefined));
    return { type, ...schema.parse(clean) } as Command;
  });
}

const area = fc.record({ districtId: fc.option(fc.constantFrom('410502', '410503')), streetId: fc.option(fc.constantFrom('s1', 's2')) });

const COMMAND_ARBS: Record<CommandType, fc.Arbitrary<Command>> = {
  classify: build(
    'classify',
    fc.record(
      { category: fc.constantFrom(...CATEGORIES), urgency: fc.constantFrom(...URGENCIES), area, note: text },
      { requiredKeys: [] },
    ),
  ),
  answerDirectly: build('answerDirectly', fc.record({ answer: text, knowledgeArticleId: opt(hex24) })),
  dispatch: build('dispatch', fc.record({ leadDepartmentId: deptId, coDepartmentIds: fc.subarray([...DEPTS]), note: opt(text) })),
  sign: build('sign', fc.record({ note: opt(text) })),
  return: build('return', fc.record({ reason: text })),
  reviewReturn: build('reviewReturn', fc.record({ approve: fc.boolean(), note: opt(text) })),
  requestExtension: build('requestExtension', fc.record({ hours, reason: text })),
  decideExtension: build('decideExtension', fc.record({ approve: fc.boolean(), hours: opt(hours), note: opt(text) })),
  coNote: build('coNote', fc.record({ text })),
  reply: build('reply', fc.record({ text })),
  reviewReply: build('reviewReply', fc.record({ accept: fc.boolean(), note: opt(text) })),
  returnVisit: build(
    'returnVisit',
    fc.record({ contacted: fc.boolean(), rating: opt(fc.constantFrom(...RATING_LEVELS)), realName: opt(fc.boolean()), comment: opt(text) }),
  ),
  rate: build('rate', fc.record({ level: fc.constantFrom(...RATING_LEVELS), realName: opt(fc.boolean()), comment: opt(text) })),
  verifyRating: build(
    'verifyRating',
    fc.record({ valid: fc.boolean(), note: text, resolution: opt(fc.constantFrom('redo' as const, 'explained' as const)) }),
  ),
  urge: build('urge', fc.record({ message: text })),
  supervise: build('supervise', fc.record({ note: text })),
  merge: build('merge', fc.record({ masterId: hex24, note: opt(text) })),
  reopen: build('reopen', fc.record({ reason: text })),
  close: build('close', fc.record({ reason: text })),
};

/** Loop-advancing commands are drawn more often than side paths so runs reach deep states. */
const WEIGHTS: Record<CommandType, number> = {
  classify: 8,
  answerDirectly: 12,
  dispatch: 48,
  sign: 48,
  return: 24,
  reviewReturn: 32,
  requestExtension: 40,
  decideExtension: 24,
  coNote: 8,
  reply: 40,
  reviewReply: 40,
  returnVisit: 32,
  rate: 24,
  verifyRating: 40,
  urge: 8,
  supervise: 8,
  merge: 1,
  reopen: 16,
  close: 2,
};

/** Minutes between steps: mostly short, sometimes days (to cross deadlines), never backwards. */
const dtMinutes = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 180 }), weight: 8 },
  { arbitrary: fc.integer({ min: 0, max: 2 * 24 * 60 }), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 15 * 24 * 60 }), weight: 1 },
);

/**
 * A step names a command type and a payload by index. A guided step (9 in 10) chooses, by
 * weight, among the command types some actor of the pool may issue now, and an actor allowed to
 * issue it; an unguided step chooses among all types and any actor (to exercise refusals).
 * Handler checks (deadlines, limits, one rating per round…) still refuse guided steps.
 */
interface Step {
  type: number;
  payload: number;
  actor: number;
  guided: boolean;
  dtMinutes: number;
}
const stepArb: fc.Arbitrary<Step> = fc.record({
  type: fc.nat({ max: 9_999 }),
  payload: fc.nat({ max: 2 }),
  actor: fc.nat({ max: POOL.length * 4 }),
  guided: fc.integer({ min: 0, max: 9 }).map((n) => n < 9),
  dtMinutes,
});

/** Up to three random valid payloads per command type, shared by the steps of one scenario. */
type Bank = Record<CommandType, Command[]>;
const bankArb: fc.Arbitrary<Bank> = fc.record(
  Object.fromEntries(COMMAND_TYPES.map((t) => [t, fc.array(COMMAND_ARBS[t], { minLength: 1, maxLength: 3 })])) as {
    [T in CommandType]: fc.Arbitrary<Command[]>;
  },
);

const intakeArb: fc.Arbitrary<IntakeInput> = fc.record({
  channel: fc.constantFrom(...CHANNELS),
  caller: fc.record({ name: fc.option(text), phone: fc.constant('13800000000'), anonymous: fc.boolean() }),
  category: fc.constantFrom(...CATEGORIES),
  urgency: fc.constantFrom(...URGENCIES),
  area: fc.record({ districtId: fc.option(fc.constant('410502')), streetId: fc.constant(null) }),
  address: fc.constant('Wenfeng Ave 1'),
  content: text,
  confidential: fc.boolean(),
  enterprise: fc.boolean(),
  elderly: fc.boolean(),
  outOfScope: fc.oneof(
    { arbitrary: fc.constant(null), weight: 19 },
    { arbitrary: fc.record({ kind: fc.constantFrom(...OUT_OF_SCOPE_KINDS), legalRoute: text }), weight: 1 },
  ),
});

interface Scenario {
  intake: IntakeInput;
  bank: Bank;
  steps: Step[];
}
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  intake: intakeArb,
  bank: bankArb,
  steps: fc.array(stepArb, { minLength: 1, maxLength: MAX_STEPS, size: 'max' }),
});

// ---------------------------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------------------------

interface StepResult {
  index: number;
  prev: TicketCore;
  command: Command;
  actor: Actor;
  now: Date;
  decision: Decision;
  /** The ticket after the step (prev when refused). */
  ticket: TicketCore;
}

function weighted(types: readonly CommandType[], n: number): CommandType {
  const total = types.reduce((sum, t) => sum + WEIGHTS[t], 0);
  let x = (n / 10_000) * total;
  for (const t of types) {
    x -= WEIGHTS[t];
    if (x < 0) return t;
  }
  return types.at(-1) as CommandType;
}

/** Resolve a step to the (command, actor) actually issued on this ticket. */
function pick(ticket: TicketCore, step: Step, bank: Bank): { command: Command; actor: Actor } {
  const payload = (t: CommandType): Command => {
    const options = bank[t];
    return options[step.payload % options.length] as Command;
  };
  if (step.guided) {
    const available = COMMAND_TYPES.filter((t) => POOL.some((a) => permits(ticket, t, a) === null));
    if (available.length > 0) {
      const type = weighted(available, step.type);
      const allowed = POOL.filter((a) => permits(ticket, type, a) === null);
      return { command: payload(type), actor: allowed[step.actor % allowed.length] as Actor };
    }
  }
  return { command: payload(weighted(COMMAND_TYPES, step.type)), actor: POOL[step.actor % POOL.length] as Actor };
}

const describeStep = (r: StepResult): string =>
  `step ${r.index} at +${(r.now.getTime() - T0.getTime()) / 3_600_000}h: ${r.command.type} ${JSON.stringify({ ...r.command, type: undefined })} ` +
  `by ${r.actor.role}${r.actor.departmentId ? `(${r.actor.departmentId})` : ''} in ${r.prev.state} → ` +
  `${r.decision.ok ? r.decision.transition.to : `refused ${r.decision.error.code}`}`;

/**
 * Apply the scenario; `check` sees the initial ticket (step undefined) and every step. When a
 * check throws, the error carries the trace of accepted steps so far.
 */
function replay(s: Scenario, check: (ticket: TicketCore, step?: StepResult) => void): TicketCore {
  let now = T0;
  let ticket = initialCore(s.intake, now).core;
  const trace: string[] = [`intake ${s.intake.category}/${s.intake.urgency}${s.intake.outOfScope ? ' (out of scope)' : ''} → ${ticket.state}`];
  const run = (fn: () => void, current?: StepResult): void => {
    try {
      fn();
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const lines = current && !current.decision.ok ? [...trace, `${describeStep(current)}  ← failing step`] : trace;
      err.message += `\n  accepted steps:\n    ${lines.join('\n    ')}`;
      throw err;
    }
  };
  run(() => check(ticket));
  s.steps.forEach((step, index) => {
    now = new Date(now.getTime() + step.dtMinutes * 60_000);
    const { command, actor } = pick(ticket, step, s.bank);
    const prev = ticket;
    const decision = decide(prev, command, actor, now);
    if (decision.ok) ticket = decision.transition.next;
    const result: StepResult = { index, prev, command, actor, now, decision, ticket };
    if (decision.ok) trace.push(describeStep(result));
    run(() => check(ticket, result), result);
  });
  return ticket;
}

function runProperty(check: (ticket: TicketCore, step?: StepResult) => void): void {
  fc.assert(
    fc.property(scenarioArb, (s) => {
      replay(s, check);
    }),
    { numRuns: NUM_RUNS },
  );
}

// ---------------------------------------------------------------------------------------------
// (1) state invariants
// ---------------------------------------------------------------------------------------------

const HELD_BY_DEPARTMENT: readonly TicketState[] = ['dispatched', 'handling', 'returned', 'replied'];

/** Each returns null when it holds, otherwise a description of the violation. */
const INVARIANTS: Record<string, (t: TicketCore) => string | null> = {
  'state is one of TICKET_STATES': (t) => ((TICKET_STATES as readonly string[]).includes(t.state) ? null : `unknown state ${t.state}`),
  'dispatched/handling/returned/replied ⇒ leadDepartmentId non-null': (t) =>
    HELD_BY_DEPARTMENT.includes(t.state) && t.leadDepartmentId === null ? `${t.state} without a lead` : null,
  "'received' ⇒ no lead and no co-handlers": (t) =>
    t.state === 'received' && (t.leadDepartmentId !== null || t.coDepartmentIds.length > 0)
      ? `received with lead ${t.leadDepartmentId} / co ${t.coDepartmentIds.join(',')}`
      : null,
  "'closed'/'merged' ⇒ closure non-null": (t) => ((t.state === 'closed' || t.state === 'merged') && t.closure === null ? `${t.state} without closure` : null),
  'open states ⇒ closure null': (t) =>
    OPEN_STATES.includes(t.state) && t.closure !== null ? `open state ${t.state} carries closure ${t.closure.kind}` : null,
  "mergedInto non-null ⇔ state 'merged'": (t) => ((t.mergedInto !== null) !== (t.state === 'merged') ? `state ${t.state}, mergedInto ${t.mergedInto}` : null),
  '0 ≤ extendedHours ≤ policy.maxExtensionHours': (t) =>
    t.extendedHours < 0 || t.extendedHours > t.policy.maxExtensionHours ? `extendedHours ${t.extendedHours}` : null,
  "pendingExtension non-null ⇒ state 'handling'": (t) =>
    t.pendingExtension !== null && t.state !== 'handling' ? `pending extension of ${t.pendingExtension.hours} h in state ${t.state}` : null,
  "returnedFrom non-null ⇔ state 'returned'": (t) =>
    (t.returnedFrom !== null) !== (t.state === 'returned') ? `state ${t.state}, returnedFrom ${t.returnedFrom}` : null,
  "'disputed' ⇒ the current round has a bad real-name rating": (t) =>
    t.state === 'disputed' && !(t.rating && t.rating.round === t.round && t.rating.realName && isBadRating(t.rating.level))
      ? `disputed with rating ${JSON.stringify(t.rating)} in round ${t.round}`
      : null,
  'flaggedRepeatedFailure ⇔ redoCount > policy.redoFlagAfter': (t) =>
    t.flaggedRepeatedFailure !== t.redoCount > t.policy.redoFlagAfter ? `flag ${t.flaggedRepeatedFailure} with redoCount ${t.redoCount}` : null,
  'co-handlers are distinct and exclude the lead': (t) =>
    new Set(t.coDepartmentIds).size !== t.coDepartmentIds.length || (t.leadDepartmentId !== null && t.coDepartmentIds.includes(t.leadDepartmentId))
      ? `lead ${t.leadDepartmentId}, co ${t.coDepartmentIds.join(',')}`
      : null,
  'a department-held ticket has sign and return deadlines, and a reply deadline iff the policy has one': (t) =>
    HELD_BY_DEPARTMENT.includes(t.state) &&
    (t.deadlines.sign.dueAt === null || t.deadlines.returnUntil === null || (t.deadlines.reply.dueAt === null) !== (t.policy.replyHours === null))
      ? `${t.state} with deadlines ${JSON.stringify(t.deadlines)}`
      : null,
  "'visiting' ⇒ there is a reply or a direct answer": (t) =>
    t.state === 'visiting' && t.reply === null && t.directAnswer === null ? 'visiting with nothing to visit about' : null,
  'round ≥ 1, counters ≥ 0': (t) =>
    t.round < 1 || t.redoCount < 0 || t.urgeCount < 0 || t.dispatchCount < 0 ? `round ${t.round} redo ${t.redoCount} urge ${t.urgeCount}` : null,
};

describe('property (1): state invariants hold after every step', () => {
  it.each(Object.entries(INVARIANTS))('%s', (_name, invariant) => {
    runProperty((ticket, step) => {
      const violation = invariant(ticket);
      if (violation) throw new Error(`${violation}${step ? ` after ${describeStep(step)}` : ' at intake'}`);
    });
  });

  it('version == 1 + number of accepted commands', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        let accepted = 0;
        const last = replay(s, (ticket, step) => {
          if (step?.decision.ok) {
            accepted += 1;
            expect(step.decision.transition.next.version).toBe(step.prev.version + 1);
          }
          expect(ticket.version).toBe(1 + accepted);
        });
        expect(last.version).toBe(1 + accepted);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the ratings array only grows, and holds at most one rating per round', () => {
    runProperty((ticket, step) => {
      if (step) {
        const before = step.prev.ratings;
        expect(ticket.ratings.length).toBeGreaterThanOrEqual(before.length);
        expect(ticket.ratings.length).toBeLessThanOrEqual(before.length + 1);
        expect(ticket.ratings.slice(0, before.length)).toEqual(before);
        if (ticket.ratings.length > before.length) expect(ticket.rating).toEqual(ticket.ratings.at(-1));
      }
      const rounds = ticket.ratings.map((r) => r.round);
      expect(new Set(rounds).size).toBe(rounds.length);
      for (const r of rounds) expect(r).toBeLessThanOrEqual(ticket.round);
    });
  });

  it('a transition that lands in closed emits exactly one ticket.closed event; others emit none', () => {
    runProperty((_ticket, step) => {
      if (!step?.decision.ok) return;
      const tr = step.decision.transition;
      const closed = tr.events.filter((e) => e.type === 'ticket.closed').length;
      expect(closed, describeStep(step)).toBe(tr.to === 'closed' && tr.from !== 'closed' ? 1 : 0);
      expect(tr.events[0]?.data).toMatchObject({ from: tr.from, to: tr.to });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// (2) the timeline
// ---------------------------------------------------------------------------------------------

interface Entry {
  seq: number;
  from: TicketState | null;
  to: TicketState;
}

describe('property (2): the timeline is append-only and consistent', () => {
  it('seq = new version, each from equals the previous to, and the last to is the current state', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const timeline: Entry[] = [];
        const frozenCopies: string[] = [];
        const last = replay(s, (ticket, step) => {
          let entry: Entry | null = null;
          if (!step) entry = { seq: ticket.version, from: null, to: ticket.state };
          else if (step.decision.ok) {
            const tr = step.decision.transition;
            expect(tr.from).toBe(step.prev.state);
            expect(tr.to).toBe(tr.next.state);
            entry = { seq: tr.next.version, from: tr.from, to: tr.to };
          }
          if (entry) {
            const previous = timeline.at(-1);
            if (previous) {
              expect(entry.seq).toBe(previous.seq + 1);
              expect(entry.from).toBe(previous.to);
            } else {
              expect(entry.seq).toBe(1);
            }
            timeline.push(Object.freeze(entry));
            frozenCopies.push(JSON.stringify(entry));
          }
        });
        // append-only: nothing already written changed
        expect(timeline.map((e) => JSON.stringify(e))).toEqual(frozenCopies);
        expect(timeline.at(-1)?.to).toBe(last.state);
        expect(timeline.at(-1)?.seq).toBe(last.version);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (3) refusals and purity
// ---------------------------------------------------------------------------------------------

const HANDLER_CODES: readonly ErrorCode[] = [
  'VALIDATION_FAILED',
  'DEADLINE_PASSED',
  'EXTENSION_PENDING',
  'EXTENSION_LIMIT',
  'NO_PENDING_EXTENSION',
  'RATING_EXISTS',
  'INVALID_TRANSITION', // requestExtension without a reply deadline; rate on never-handled intake
];

describe('property (3): refused commands leave the ticket unchanged; decide() is pure', () => {
  it('the input ticket is deep-equal before and after every decide(), accepted or refused', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        let now = T0;
        let ticket = initialCore(s.intake, now).core;
        for (const step of s.steps) {
          now = new Date(now.getTime() + step.dtMinutes * 60_000);
          const { command, actor } = pick(ticket, step, s.bank);
          const snapshot = structuredClone(ticket);
          const decision = decide(ticket, command, actor, now);
          expect(ticket).toEqual(snapshot);
          if (decision.ok) {
            ticket = decision.transition.next;
          } else {
            // a second identical call answers identically (no hidden state)
            expect(decide(ticket, command, actor, now)).toEqual(decision);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a refusal is the gate error when permits() refuses, and a handler error otherwise', () => {
    runProperty((_ticket, step) => {
      if (!step) return;
      const gate = permits(step.prev, step.command.type, step.actor);
      if (gate) {
        expect(step.decision).toEqual({ ok: false, error: gate });
      } else if (!step.decision.ok) {
        expect(HANDLER_CODES, describeStep(step)).toContain(step.decision.error.code);
        if (step.decision.error.code === 'INVALID_TRANSITION') {
          if (step.command.type === 'rate') {
            // only handled matters are rated: not out-of-scope or hotline-closed intake
            expect(['out_of_scope', 'closed_by_hotline']).toContain(step.prev.closure?.kind);
          } else {
            expect(step.command.type).toBe('requestExtension');
            expect(step.prev.deadlines.reply.dueAt).toBeNull();
          }
        }
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// (4) availableCommands
// ---------------------------------------------------------------------------------------------

describe('property (4): availableCommands lists exactly what permits() and precondition() allow', () => {
  it('for every actor of the pool, at every step', () => {
    runProperty((ticket) => {
      for (const actor of POOL) {
        const listed = availableCommands(ticket, actor);
        const allowed = COMMAND_TYPES.filter((t) => permits(ticket, t, actor) === null);
        // the console shows no button whose ticket-only precondition fails
        const permitted = allowed.filter((t) => precondition(ticket, t) === null);
        // and permits() itself follows RULES (role, department relation, state)
        const d = actor.departmentId ?? null;
        const byRules = COMMAND_TYPES.filter((type) => {
          const rule = RULES[type];
          const related =
            !rule.relation ||
            actor.role !== 'department' ||
            (d !== null && (rule.relation === 'lead' ? d === ticket.leadDepartmentId : ticket.coDepartmentIds.includes(d)));
          return rule.roles.includes(actor.role) && related && rule.from.includes(ticket.state);
        });
        const key = (xs: readonly string[]): string => [...xs].sort().join(',');
        if (key(listed) !== key(permitted) || key(allowed) !== key(byRules) || new Set(listed).size !== listed.length) {
          expect({ state: ticket.state, actor, listed: [...listed].sort() }).toEqual({ state: ticket.state, actor, listed: [...permitted].sort() });
          expect([...allowed].sort()).toEqual([...byRules].sort());
          expect(new Set(listed).size).toBe(listed.length);
        }
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The generator reaches the whole machine
// ---------------------------------------------------------------------------------------------

describe('generator coverage', () => {
  it('reaches every state and accepts every command type', () => {
    const states = new Set<TicketState>();
    const accepted = new Set<CommandType>();
    const refusals = new Set<ErrorCode>();
    for (const s of fc.sample(scenarioArb, { numRuns: NUM_RUNS, seed: 12345 })) {
      replay(s, (ticket, step) => {
        states.add(ticket.state);
        if (!step) return;
        const d = step.decision;
        if (d.ok) accepted.add(step.command.type);
        else refusals.add(d.error.code);
      });
    }
    expect([...states].sort()).toEqual([...TICKET_STATES].sort());
    expect([...accepted].sort()).toEqual([...COMMAND_TYPES].sort());
    for (const code of ['ACTION_FORBIDDEN', 'INVALID_TRANSITION', 'DEADLINE_PASSED', 'EXTENSION_LIMIT', 'EXTENSION_PENDING', 'NO_PENDING_EXTENSION', 'RATING_EXISTS'] as const) {
      expect(refusals).toContain(code);
    }
  });
});
