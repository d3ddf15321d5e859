/**
 * Property tests of the pure ticket state machine: random command sequences (valid payloads,
 * actors drawn from a pool that includes the lead, co-handling and unrelated departments, time
 * moving forward) applied from initialCore(). Each property runs on its own so one broken
 * invariant does not hide another.
 *
 * decide() runs with the elapsed-time calendar of NATURAL_CONTEXT (every duration unit is
 * elapsed time) and a small department hierarchy, so the deadline engine's `tick` can escalate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Milestone } from '../../../server/src/deadlines/milestones.js';
import { MILESTONES, type MilestoneKey } from '../../../server/src/deadlines/policy.js';
import type { ErrorCode } from '../../../server/src/errors.js';
import { COMMAND_TYPES, commandSchemas, type Command, type CommandOf, type CommandType } from '../../../server/src/tickets/commands.js';
import { initialCore } from '../../../server/src/tickets/intake.js';
import {
  NATURAL_CONTEXT,
  RULES,
  availableCommands,
  decide,
  permits,
  precondition,
  type Decision,
  type MachineContext,
} from '../../../server/src/tickets/machine.js';
import type { Actor, IntakeInput, TicketCore, TicketEventType } from '../../../server/src/tickets/types.js';
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
const HOUR = 3_600_000;

// ---------------------------------------------------------------------------------------------
// Actors
// ---------------------------------------------------------------------------------------------

const DEPTS = ['D1', 'D2', 'D3'] as const;
const dept = (d: string | null): Actor => ({ id: `u-${d ?? 'none'}`, name: `dept ${d ?? 'none'}`, role: 'department', departmentId: d });
/** D1 sits two levels below the city, D2 one; D3 has no parent. */
const PARENTS: Record<string, string[]> = { D1: ['P1', 'P0'], D2: ['P0'] };
const CTX: MachineContext = { ...NATURAL_CONTEXT, ancestorsOf: (d) => PARENTS[d] ?? [] };
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
/** Extension days: mostly within the 10-day limit, sometimes past it (the schema allows 60). */
const days = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 10 }), weight: 4 }, { arbitrary: fc.integer({ min: 1, max: 60 }), weight: 1 });

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
  requestExtension: build('requestExtension', fc.record({ days, reason: text })),
  decideExtension: build('decideExtension', fc.record({ approve: fc.boolean(), days: opt(days), note: opt(text) })),
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
  contact: build('contact', fc.record({ note: opt(text) })),
  requestSuspension: build('requestSuspension', fc.record({ reason: text })),
  decideSuspension: build('decideSuspension', fc.record({ approve: fc.boolean(), note: opt(text) })),
  resume: build('resume', fc.record({ note: opt(text) })),
  citizenInfo: build('citizenInfo', fc.record({ text })),
  // milestone and version are aimed at the ticket when the step is issued (see aimTick)
  tick: build('tick', fc.record({ milestone: fc.constantFrom(...MILESTONES), version: fc.constant(1), supervisorId: opt(fc.constantFrom('u-sup', 'u-sup2')) })),
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
  contact: 24,
  requestSuspension: 12,
  decideSuspension: 24,
  resume: 24,
  citizenInfo: 12,
  tick: 32,
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
  /** For tick: which milestone it aims at, and (0, 1 of 0..9) a stale version instead of the current one. */
  clock: number;
  stale: number;
}
const stepArb: fc.Arbitrary<Step> = fc.record({
  type: fc.nat({ max: 9_999 }),
  payload: fc.nat({ max: 2 }),
  actor: fc.nat({ max: POOL.length * 4 }),
  guided: fc.integer({ min: 0, max: 9 }).map((n) => n < 9),
  dtMinutes,
  clock: fc.nat({ max: 99 }),
  stale: fc.integer({ min: 0, max: 9 }),
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

const isOpenClock = (m: Milestone | undefined): m is Milestone => m !== undefined && m.doneAt === null && m.cancelledAt === null;
const openKeys = (t: TicketCore): MilestoneKey[] => MILESTONES.filter((k) => isOpenClock(t.deadlines[k]));

/**
 * The engine's timers aim at a milestone of the ticket: mostly an open one at its current
 * version; sometimes a met / cancelled / absent one, or a stale version (one off either way).
 */
function aimTick(ticket: TicketCore, step: Step, base: CommandOf<'tick'>): Command {
  const open = openKeys(ticket);
  const present = MILESTONES.filter((k) => ticket.deadlines[k] !== undefined);
  const pool: readonly MilestoneKey[] = open.length > 0 && step.clock % 5 !== 0 ? open : present.length > 0 && step.clock % 10 !== 0 ? present : MILESTONES;
  const milestone = pool[step.clock % pool.length] as MilestoneKey;
  const current = ticket.deadlines[milestone]?.version ?? 1;
  const version = step.stale === 0 ? current + 1 : step.stale === 1 ? Math.max(1, current - 1) : current;
  return { ...base, milestone, version };
}

/** Resolve a step to the (command, actor) actually issued on this ticket. */
function pick(ticket: TicketCore, step: Step, bank: Bank): { command: Command; actor: Actor } {
  const payload = (t: CommandType): Command => {
    const options = bank[t];
    const command = options[step.payload % options.length] as Command;
    return command.type === 'tick' ? aimTick(ticket, step, command) : command;
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
    const decision = decide(prev, command, actor, now, CTX);
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
const NO_CLOCK_STATES: readonly TicketState[] = ['received', 'closed', 'merged'];
const iso = (d: Date | null | undefined): string => (d ? d.toISOString() : String(d));

/** Earliest dueAt / warnAt of the open milestones, computed here from the milestones themselves. */
function earliestOpen(t: TicketCore, field: 'dueAt' | 'warnAt'): Date | null {
  const times = openKeys(t).map((k) => (t.deadlines[k] as Milestone)[field].getTime());
  return times.length ? new Date(Math.min(...times)) : null;
}

/** The clock that must be running in a waiting state: the actor the ticket waits for is timed. */
function ownClockViolation(t: TicketCore): string | null {
  const open = (k: MilestoneKey): boolean => isOpenClock(t.deadlines[k]);
  const met = (k: MilestoneKey): boolean => (t.deadlines[k]?.doneAt ?? null) !== null;
  switch (t.state) {
    case 'dispatched':
      return open('sign') ? null : 'dispatched without an open sign clock';
    case 'handling':
      return met('sign') ? null : 'handling without a met sign clock';
    case 'returned':
      return (t.returnedFrom === 'dispatched' ? open('sign') : met('sign')) ? null : `returned from ${t.returnedFrom} with sign ${JSON.stringify(t.deadlines.sign)}`;
    case 'replied':
      return open('review') ? null : 'replied without an open review clock';
    case 'visiting':
      return open('visit') ? null : 'visiting without an open visit clock';
    case 'disputed':
      return open('verify') ? null : 'disputed without an open verify clock';
    default:
      return null;
  }
}

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
  '0 ≤ extendedDays ≤ policy.maxExtensionDays': (t) =>
    t.extendedDays < 0 || t.extendedDays > t.policy.maxExtensionDays || !Number.isInteger(t.extendedDays) ? `extendedDays ${t.extendedDays}` : null,
  "pendingExtension non-null ⇒ state 'handling'": (t) =>
    t.pendingExtension !== null && t.state !== 'handling' ? `pending extension of ${t.pendingExtension.days} days in state ${t.state}` : null,
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
  'a department-held ticket has a sign clock and a return window': (t) =>
    HELD_BY_DEPARTMENT.includes(t.state) && (t.deadlines.sign === undefined || t.returnUntil === null)
      ? `${t.state} with sign ${JSON.stringify(t.deadlines.sign)}, returnUntil ${iso(t.returnUntil)}`
      : null,
  'dispatched/handling/returned ⇒ a handling clock (reply or rectify) is open iff the policy has a reply deadline': (t) =>
    ['dispatched', 'handling', 'returned'].includes(t.state) &&
    (isOpenClock(t.deadlines.reply) || isOpenClock(t.deadlines.rectify)) !== (t.policy.durations.reply !== null)
      ? `${t.state} (${t.category}) with open clocks ${openKeys(t).join(',')}`
      : null,
  "the clock of whoever the ticket waits for is running (sign, review, visit, verify)": ownClockViolation,
  "'visiting' ⇒ there is a reply or a direct answer": (t) =>
    t.state === 'visiting' && t.reply === null && t.directAnswer === null ? 'visiting with nothing to visit about' : null,
  'round ≥ 1, counters ≥ 0': (t) =>
    t.round < 1 || t.redoCount < 0 || t.urgeCount < 0 || t.dispatchCount < 0 ? `round ${t.round} redo ${t.redoCount} urge ${t.urgeCount}` : null,
  'every open milestone has startedAt ≤ warnAt ≤ dueAt': (t) => {
    for (const k of openKeys(t)) {
      const m = t.deadlines[k] as Milestone;
      if (!(m.startedAt.getTime() <= m.warnAt.getTime() && m.warnAt.getTime() <= m.dueAt.getTime())) {
        return `${k}: started ${iso(m.startedAt)}, warn ${iso(m.warnAt)}, due ${iso(m.dueAt)}`;
      }
    }
    return null;
  },
  'a milestone is never both met and cancelled; versions are ≥ 1': (t) => {
    for (const k of MILESTONES) {
      const m = t.deadlines[k];
      if (m && ((m.doneAt !== null && m.cancelledAt !== null) || m.version < 1)) return `${k}: ${JSON.stringify(m)}`;
    }
    return null;
  },
  'closed, merged and received tickets have no open milestone': (t) =>
    NO_CLOCK_STATES.includes(t.state) && openKeys(t).length > 0 ? `${t.state} with open ${openKeys(t).join(',')}` : null,
  'nextDueAt / nextWarnAt are the earliest open dueAt / warnAt (null while suspended)': (t) => {
    const paused = t.suspension.since !== null;
    const due = paused ? null : earliestOpen(t, 'dueAt');
    const warn = paused ? null : earliestOpen(t, 'warnAt');
    return iso(t.nextDueAt) !== iso(due) || iso(t.nextWarnAt) !== iso(warn)
      ? `nextDueAt ${iso(t.nextDueAt)} (expected ${iso(due)}), nextWarnAt ${iso(t.nextWarnAt)} (expected ${iso(warn)}), suspended ${paused}`
      : null;
  },
  "suspension.since non-null ⇒ state 'handling'": (t) =>
    t.suspension.since !== null && t.state !== 'handling' ? `suspended since ${iso(t.suspension.since)} in state ${t.state}` : null,
  "suspension.requested non-null ⇒ state 'handling'": (t) =>
    t.suspension.requested !== null && t.state !== 'handling' ? `suspension request pending in state ${t.state}` : null,
  'a suspension is requested or running, never both; its reason is set iff it runs': (t) =>
    (t.suspension.requested !== null && t.suspension.since !== null) || (t.suspension.reason !== null) !== (t.suspension.since !== null)
      ? `suspension ${JSON.stringify(t.suspension)}`
      : null,
  "escalatedTo is a prefix of the lead department's ancestors": (t) => {
    const up = t.leadDepartmentId ? CTX.ancestorsOf(t.leadDepartmentId) : [];
    return t.escalatedTo.length > up.length || t.escalatedTo.some((d, i) => d !== up[i]) ? `escalatedTo ${t.escalatedTo.join(',')} for lead ${t.leadDepartmentId}` : null;
  },
  "only overdue milestones carry reminders and escalations; an open one's stay within the lead's hierarchy": (t) => {
    const up = t.leadDepartmentId ? CTX.ancestorsOf(t.leadDepartmentId).length : 0;
    for (const k of MILESTONES) {
      const m = t.deadlines[k];
      if (m && ((m.level !== 'overdue' && (m.reminders > 0 || m.escalations > 0)) || (isOpenClock(m) && m.escalations > up) || m.reminders < 0)) {
        return `${k}: level ${m.level}, reminders ${m.reminders}, escalations ${m.escalations} (hierarchy ${up})`;
      }
    }
    return null;
  },
  'a milestone supervision found overdue ⇒ the ticket is supervised': (t) =>
    MILESTONES.some((k) => t.deadlines[k]?.level === 'overdue') && !t.supervised ? 'overdue milestone on an unsupervised ticket' : null,
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
      // every command leads with its own event (from → to); the engine's tick emits only supervision events
      if (tr.action !== 'tick') expect(tr.events[0]?.data).toMatchObject({ from: tr.from, to: tr.to });
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
  'SUSPENDED',
  'SUSPENSION_PENDING',
  'NO_PENDING_SUSPENSION',
  'NOT_SUSPENDED',
  'STALE_TIMER',
  'NOTHING_DUE',
  'INVALID_TRANSITION', // requestExtension without a handling clock; contact with none due; rate on never-handled intake
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
          const decision = decide(ticket, command, actor, now, CTX);
          expect(ticket).toEqual(snapshot);
          if (decision.ok) {
            ticket = decision.transition.next;
          } else {
            // a second identical call answers identically (no hidden state)
            expect(decide(ticket, command, actor, now, CTX)).toEqual(decision);
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
          } else if (step.command.type === 'contact') {
            expect(isOpenClock(step.prev.deadlines.contact)).toBe(false);
          } else {
            expect(step.command.type).toBe('requestExtension');
            expect(isOpenClock(step.prev.deadlines.reply) || isOpenClock(step.prev.deadlines.rectify)).toBe(false);
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
// (5) the milestone clocks and the deadline engine
// ---------------------------------------------------------------------------------------------

/** Under NATURAL_CONTEXT every duration unit is elapsed time; a working day is 24 h. */
const elapsedMs = (d: { value: number; unit: string }): number => d.value * (d.unit === 'workingDays' ? 24 : 1) * HOUR;
const SUPERVISION_EVENTS: readonly TicketEventType[] = ['ticket.deadline_warning', 'ticket.deadline_overdue', 'ticket.deadline_reminder', 'ticket.escalated'];
const LEVELS = ['on_time', 'warning', 'overdue'] as const;

/** What supervision owes milestone `m` at `now` (written here from the policy, independently of milestones.ts). */
/** The department's own clocks escalate up its hierarchy; the hotline's clocks (review, visit, verify) do not. */
const DEPARTMENT_CLOCKS = ['sign', 'contact', 'reply', 'rectify'];

function owed(m: Milestone, t: TicketCore, now: Date, key: string): { level: (typeof LEVELS)[number]; reminders: number; escalations: number; due: boolean } {
  const clockLevel = now >= m.dueAt ? 'overdue' : now >= m.warnAt ? 'warning' : 'on_time';
  const level = LEVELS.indexOf(clockLevel) > LEVELS.indexOf(m.level) ? clockLevel : m.level;
  const late = now.getTime() - m.dueAt.getTime();
  const hierarchy = t.leadDepartmentId && DEPARTMENT_CLOCKS.includes(key) ? CTX.ancestorsOf(t.leadDepartmentId).length : 0;
  const reminders = clockLevel === 'overdue' ? Math.max(m.reminders, Math.floor(late / elapsedMs(t.policy.remindEvery))) : m.reminders;
  const escalations =
    clockLevel === 'overdue' ? Math.max(m.escalations, Math.min(hierarchy, Math.floor(late / elapsedMs(t.policy.escalateAfter)))) : m.escalations;
  return { level, reminders, escalations, due: level !== m.level || reminders !== m.reminders || escalations !== m.escalations };
}

describe('property (5): milestone clocks', () => {
  it("a milestone's version never decreases over a run, and a clock never moves or restarts without a new version", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const highest = new Map<MilestoneKey, number>();
        replay(s, (ticket, step) => {
          const where = step ? ` after ${describeStep(step)}` : ' at intake';
          for (const k of MILESTONES) {
            const m = ticket.deadlines[k];
            if (!m) continue;
            const seen = highest.get(k) ?? 0;
            if (m.version < seen) throw new Error(`${k} is at version ${m.version} after version ${seen} was seen${where}`);
            highest.set(k, m.version);
            const before = step?.prev.deadlines[k];
            if (before && before.version === m.version && (iso(before.dueAt) !== iso(m.dueAt) || iso(before.startedAt) !== iso(m.startedAt))) {
              throw new Error(`${k} moved (${iso(before.dueAt)} → ${iso(m.dueAt)}) without a new version${where}`);
            }
          }
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('tick acts exactly when something is owed, at the current version only, and never fires the same step twice', () => {
    runProperty((_ticket, step) => {
      if (!step || step.command.type !== 'tick' || permits(step.prev, 'tick', step.actor)) return;
      const c = step.command;
      const prev = step.prev;
      const m = prev.deadlines[c.milestone];
      const code = step.decision.ok ? null : step.decision.error.code;
      if (prev.suspension.since !== null || !isOpenClock(m) || m.version !== c.version) {
        expect(code, describeStep(step)).toBe('STALE_TIMER');
        return;
      }
      const o = owed(m, prev, step.now, c.milestone);
      expect(code, describeStep(step)).toBe(o.due ? null : 'NOTHING_DUE');
      if (!step.decision.ok) return;
      const tr = step.decision.transition;
      const after = tr.next.deadlines[c.milestone] as Milestone;
      const types = tr.events.map((e) => e.type);
      expect(tr.to).toBe(tr.from);
      expect(types.length).toBeGreaterThan(0);
      for (const t of types) expect(SUPERVISION_EVENTS).toContain(t);
      // the step changes supervision only: the deadline itself and its version stay
      expect({ ...after, level: m.level, reminders: m.reminders, escalations: m.escalations }).toEqual(m);
      expect({ level: after.level, reminders: after.reminders, escalations: after.escalations }).toEqual({
        level: o.level,
        reminders: o.reminders,
        escalations: o.escalations,
      });
      expect(types.includes('ticket.deadline_overdue')).toBe(o.level === 'overdue' && m.level !== 'overdue');
      expect(types.includes('ticket.deadline_warning')).toBe(o.level === 'warning' && m.level === 'on_time');
      expect(types.includes('ticket.deadline_reminder')).toBe(o.reminders > m.reminders);
      expect(types.includes('ticket.escalated')).toBe(o.escalations > m.escalations);
      if (types.includes('ticket.deadline_overdue')) expect(tr.next.supervised).toBe(true);
      if (types.includes('ticket.escalated')) {
        // escalation only widens: an earlier, wider escalation by another clock is kept
        expect(tr.next.escalatedTo).toEqual(CTX.ancestorsOf(prev.leadDepartmentId ?? '').slice(0, Math.max(o.escalations, prev.escalatedTo.length)));
      }
      // a second timer for the same step at the same instant finds nothing to do
      expect(refusalOf(decide(tr.next, c, step.actor, step.now, CTX))).toBe('NOTHING_DUE');
    });
  });

  it('resume shifts every open clock by the paused time (elapsed under NATURAL_CONTEXT) and leaves met ones alone', () => {
    runProperty((_ticket, step) => {
      if (!step?.decision.ok || step.command.type !== 'resume') return;
      const prev = step.prev;
      const next = step.decision.transition.next;
      const since = prev.suspension.since as Date;
      const paused = step.now.getTime() - since.getTime();
      expect(next.suspension).toEqual({ requested: null, since: null, reason: null });
      for (const k of MILESTONES) {
        const before = prev.deadlines[k];
        const after = next.deadlines[k];
        if (!isOpenClock(before)) {
          expect(after).toEqual(before);
          continue;
        }
        expect(after?.dueAt.getTime()).toBe(before.dueAt.getTime() + paused);
        expect(after?.startedAt.getTime()).toBe(before.startedAt.getTime() + paused);
        expect(after?.version).toBe(before.version + (paused > 0 ? 1 : 0));
      }
    });
  });

  it('an approved extension moves the open handling clock by whole days; a denied one moves nothing', () => {
    runProperty((_ticket, step) => {
      if (!step?.decision.ok || step.command.type !== 'decideExtension') return;
      const prev = step.prev;
      const next = step.decision.transition.next;
      const pending = prev.pendingExtension;
      expect(pending).not.toBeNull();
      expect(next.pendingExtension).toBeNull();
      if (!step.command.approve) {
        expect(next.deadlines).toEqual(prev.deadlines);
        expect(next.extendedDays).toBe(prev.extendedDays);
        return;
      }
      const days = step.command.days ?? (pending?.days as number);
      const key: MilestoneKey = isOpenClock(prev.deadlines.rectify) ? 'rectify' : 'reply';
      const before = prev.deadlines[key] as Milestone;
      const after = next.deadlines[key] as Milestone;
      expect(days).toBeLessThanOrEqual(pending?.days as number);
      expect(next.extendedDays).toBe(prev.extendedDays + days);
      expect(after.dueAt.getTime() - before.dueAt.getTime()).toBe(days * 24 * HOUR);
      expect(after.startedAt).toEqual(before.startedAt);
      expect(after.version).toBe(before.version + 1);
      for (const k of MILESTONES) if (k !== key) expect(next.deadlines[k]).toEqual(prev.deadlines[k]);
    });
  });
});

const refusalOf = (d: Decision): ErrorCode | null => (d.ok ? null : d.error.code);

// ---------------------------------------------------------------------------------------------
// The generator reaches the whole machine
// ---------------------------------------------------------------------------------------------

describe('generator coverage', () => {
  it('reaches every state, accepts every command type, opens every milestone and emits every supervision event', () => {
    const states = new Set<TicketState>();
    const accepted = new Set<CommandType>();
    const refusals = new Set<ErrorCode>();
    const milestones = new Set<MilestoneKey>();
    const events = new Set<TicketEventType>();
    for (const s of fc.sample(scenarioArb, { numRuns: NUM_RUNS * 4, seed: 12345 })) {
      replay(s, (ticket, step) => {
        states.add(ticket.state);
        for (const k of openKeys(ticket)) milestones.add(k);
        if (!step) return;
        const d = step.decision;
        if (d.ok) {
          accepted.add(step.command.type);
          for (const e of d.transition.events) events.add(e.type);
        } else refusals.add(d.error.code);
      });
    }
    expect([...states].sort()).toEqual([...TICKET_STATES].sort());
    expect([...accepted].sort()).toEqual([...COMMAND_TYPES].sort());
    expect([...milestones].sort()).toEqual([...MILESTONES].sort());
    for (const e of SUPERVISION_EVENTS) expect(events).toContain(e);
    for (const code of [
      'ACTION_FORBIDDEN',
      'INVALID_TRANSITION',
      'DEADLINE_PASSED',
      'EXTENSION_LIMIT',
      'EXTENSION_PENDING',
      'NO_PENDING_EXTENSION',
      'RATING_EXISTS',
      'SUSPENDED',
      'SUSPENSION_PENDING',
      'NO_PENDING_SUSPENSION',
      'NOT_SUSPENDED',
      'STALE_TIMER',
      'NOTHING_DUE',
    ] as const) {
      expect(refusals).toContain(code);
    }
  });
});
