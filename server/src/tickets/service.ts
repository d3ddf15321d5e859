/**
 * Ticket commands and queries. Thin: the state machine decides, this persists.
 *
 * A transition: read the ticket at version N → decide → insert journal entry N+1 (unique
 * `_id`, the atomic arbiter; a loser gets TICKET_CONFLICT) → write the ticket document
 * `{_id, version: N}` with the new state and timeline → hand the side effects to BullMQ →
 * mark the journal entry published. See JournalDoc for why the arbiter is an insert.
 */
import { createHash } from 'node:crypto';
import { Types, type Model } from 'mongoose';
import { canSeeTicket, ticketVisibilityFilter } from '../auth/policies.js';
import type { DirectoryModels } from '../directory/model.js';
import { AppError, notFound } from '../errors.js';
import type { OutboxPublisher } from '../queues/outbox.js';
import { outboxId } from '../queues/outbox.js';
import type { Command } from './commands.js';
import { initialCore } from './intake.js';
import { actorRef, decide, type MachineContext } from './machine.js';
import type { MilestoneKey } from '../deadlines/policy.js';
import { journalId, type AttachmentMeta, type JournalDoc, type OutboxEntry, type TicketDoc, type TicketModels } from './model.js';
import type { TicketNumberer } from './numbering.js';
import type { CreateTicketInput, ListTicketsQuery } from './schema.js';
import type { Actor, DomainEvent, TicketCore, TimelineEntry } from './types.js';

export interface TicketServiceDeps {
  models: TicketModels;
  directory: DirectoryModels;
  outbox: OutboxPublisher;
  numberer: TicketNumberer;
  clock: () => Date;
  /** Calendar, policies and hierarchy for the state machine (deadlines/store.ts). */
  context: () => MachineContext;
  /**
   * FerretDB v1 (SQLite) uses an index only for a filter that is exactly `{_id}`; any other
   * filter scans the whole collection. There, projection writes filter by `_id` alone — safe,
   * because the journal insert already decided the single writer of each version. On MongoDB the
   * write also carries the version condition.
   */
  idOnlyFilters?: boolean;
  /**
   * The call record a ticket is filed from (`callId` in the intake), if it exists: a ticket may
   * only name a real call, and a call handed over by a partner (110) brings its reference along.
   */
  callLookup?: (callId: string) => Promise<{ fromGateway: string | null; gatewayReference: string | null } | null>;
}

/** The engine's own actor for deadline supervision. */
export const SYSTEM_ACTOR: Actor = { id: 'system', name: '系统督办', role: 'system', departmentId: null };

/** The fields the state machine owns; written together on every transition. */
export const CORE_KEYS = [
  'state',
  'version',
  'round',
  'category',
  'urgency',
  'area',
  'policy',
  'callerAnonymous',
  'leadDepartmentId',
  'coDepartmentIds',
  'dispatchCount',
  'returnedFrom',
  'returnReason',
  'pendingExtension',
  'extendedDays',
  'nextDueAt',
  'nextWarnAt',
  'returnUntil',
  'suspension',
  'escalatedTo',
  'deadlines',
  'reply',
  'directAnswer',
  'rating',
  'ratings',
  'redoCount',
  'flaggedRepeatedFailure',
  'urgeCount',
  'supervised',
  'mergedInto',
  'closure',
] as const satisfies readonly (keyof TicketCore)[];

export function coreOf(doc: TicketCore): TicketCore {
  const core = {} as Record<string, unknown>;
  for (const k of CORE_KEYS) core[k] = doc[k];
  return core as unknown as TicketCore;
}

const toOutbox = (ticketId: string, version: number, at: Date, events: DomainEvent[]): OutboxEntry[] =>
  events.map((e, i) => ({ id: outboxId(ticketId, version, i), type: e.type, version, at, data: e.data }));

const isDuplicateKey = (e: unknown): boolean => (e as { code?: unknown } | null)?.code === 11000;
const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const conflict = (details: Record<string, unknown>): AppError =>
  new AppError('TICKET_CONFLICT', 'the ticket was changed by someone else; reload and try again', details);

/** The ticket document after applying journal entry `j` to `doc` (version j.version - 1). */
function applied(doc: TicketDoc, j: Pick<JournalDoc, 'core' | 'entry' | 'at'>): TicketDoc {
  return { ...doc, ...(j.core as TicketCore), timeline: [...doc.timeline, j.entry], updatedAt: j.at };
}

export class TicketService {
  constructor(private readonly deps: TicketServiceDeps) {}

  private get Ticket(): Model<TicketDoc> {
    return this.deps.models.Ticket;
  }
  private get Journal(): Model<JournalDoc> {
    return this.deps.models.Journal;
  }

  /**
   * 受理. With an idempotency key, a retried request returns the ticket the first one made
   * (and 409 IDEMPOTENCY_MISMATCH if the body differs) — the key is claimed by `_id` insert
   * before the ticket is written, so two racing retries cannot both create.
   */
  async create(
    input: CreateTicketInput,
    actor: Actor,
    idempotencyKey?: string,
    extras: { attachments?: AttachmentMeta[] } = {},
  ): Promise<{ ticket: TicketDoc; created: boolean }> {
    let ticketId = new Types.ObjectId();
    if (idempotencyKey) {
      const key = `${actor.id}:${idempotencyKey}`;
      // attached files count by content: a retry with other files is a different request
      const files = extras.attachments?.map((a) => a.sha256) ?? [];
      const requestHash = createHash('sha256').update(JSON.stringify(files.length ? { input, files } : input)).digest('hex');
      try {
        await this.deps.models.Idempotency.create({ _id: key, ticketId, requestHash, createdAt: this.deps.clock() });
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        const claim = await this.deps.models.Idempotency.findById(key).lean();
        if (!claim) throw conflict({ reason: 'idempotency key is being claimed' });
        if (claim.requestHash !== requestHash) {
          throw new AppError('IDEMPOTENCY_MISMATCH', 'this Idempotency-Key was used with a different request body');
        }
        const existing = await this.waitFor(claim.ticketId);
        if (existing) return { ticket: existing, created: false };
        // The first request died after claiming the key: finish its work under the same id.
        ticketId = claim.ticketId;
      }
    }
    return { ticket: await this.insert(ticketId, await this.withCall(input), actor, extras.attachments ?? []), created: true };
  }

  /** Checks the call named by the intake; a partner's reference (110) becomes the external reference. */
  private async withCall(input: CreateTicketInput): Promise<CreateTicketInput> {
    if (!input.callId || !this.deps.callLookup) return input;
    const call = await this.deps.callLookup(input.callId);
    if (!call) throw new AppError('VALIDATION_FAILED', 'invalid body', [{ path: 'body.callId', message: 'no call record with this id', code: 'unknown_call' }]);
    if (input.externalRef || !call.gatewayReference) return input;
    return { ...input, externalRef: `${call.fromGateway ?? 'gateway'}:${call.gatewayReference}` };
  }

  private async waitFor(id: Types.ObjectId): Promise<TicketDoc | null> {
    // A concurrent first request may be between claiming the key and inserting the ticket.
    for (let i = 0; i < 40; i++) {
      const doc = await this.Ticket.findById(id).lean<TicketDoc>();
      if (doc) return doc;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  }

  private async insert(ticketId: Types.ObjectId, input: CreateTicketInput, actor: Actor, attachments: AttachmentMeta[] = []): Promise<TicketDoc> {
    const id = String(ticketId);
    const now = this.deps.clock();
    const { core, events } = initialCore(input, now, this.deps.context().policyFor(input.category, input.urgency));
    const by = actorRef(actor);
    const entry: TimelineEntry = {
      seq: core.version,
      at: now,
      actor: by,
      action: 'create',
      from: null,
      to: core.state,
      note: input.outOfScope ? input.outOfScope.legalRoute : null,
      data: { channel: input.channel, category: input.category, urgency: input.urgency, outOfScope: input.outOfScope?.kind ?? null },
    };
    for (let attempt = 0; ; attempt++) {
      const doc: TicketDoc = {
        _id: ticketId,
        number: await this.deps.numberer.next(now),
        ...core,
        channel: input.channel,
        caller: { ...input.caller },
        title: input.title,
        address: input.address,
        content: input.content,
        confidential: input.confidential,
        enterprise: input.enterprise,
        elderly: input.elderly,
        callIds: input.callId ? [input.callId] : [],
        externalRef: input.externalRef,
        outOfScope: input.outOfScope,
        attachments,
        createdBy: by,
        createdAt: now,
        updatedAt: now,
        timeline: [entry],
      };
      const journal: JournalDoc = {
        _id: journalId(id, 1),
        ticketId,
        version: 1,
        at: now,
        entry,
        events: toOutbox(id, 1, now, events),
        core: null,
        snapshot: doc as unknown as Record<string, unknown>,
        published: false,
      };
      // Journal first (with the whole ticket), so a crash before the ticket insert is repaired.
      try {
        await this.Journal.collection.insertOne(journal as never);
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        await this.Journal.updateOne({ _id: journal._id, published: false }, { $set: { snapshot: journal.snapshot } });
      }
      try {
        await this.Ticket.collection.insertOne(doc as never);
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        const existing = await this.Ticket.findById(ticketId).lean<TicketDoc>();
        if (existing) return existing; // same id: an earlier attempt of this very request
        if (attempt >= 5) throw e;
        await this.deps.numberer.resync(now); // number collision: Redis lost its counter
        continue;
      }
      await this.deps.outbox.publishSoon(journal);
      return doc;
    }
  }

  /** Load a ticket the actor may see; anything else (absent or not visible) is 404. */
  async get(id: string, actor: Actor): Promise<TicketDoc> {
    if (!Types.ObjectId.isValid(id)) throw notFound('ticket');
    // Load by `_id` alone (an index hit on every backend), then apply the visibility rule.
    const doc = await this.Ticket.findById(new Types.ObjectId(id)).lean<TicketDoc>();
    if (!doc || !canSeeTicket(actor, doc)) throw notFound('ticket');
    return doc;
  }

  /**
   * Apply one command. `expectedVersion` (HTTP If-Match) makes the request conditional on the
   * version the clerk was looking at, so a decision taken on a stale screen is refused.
   */
  async execute(id: string, command: Command, actor: Actor, expectedVersion?: number): Promise<TicketDoc> {
    const doc = await this.get(id, actor);
    if (expectedVersion !== undefined && expectedVersion !== doc.version) {
      throw conflict({ expectedVersion, currentVersion: doc.version });
    }
    await this.checkReferences(doc, command, actor);
    const now = this.deps.clock();
    const decision = decide(coreOf(doc), command, actor, now, this.deps.context());
    if (!decision.ok) throw new AppError(decision.error.code, decision.error.message);
    const t = decision.transition;
    const version = t.next.version;
    const entry: TimelineEntry = { seq: version, at: now, actor: actorRef(actor), action: t.action, from: t.from, to: t.to, note: t.note, data: t.data };
    const journal: JournalDoc = {
      _id: journalId(id, version),
      ticketId: doc._id,
      version,
      at: now,
      entry,
      events: toOutbox(id, version, now, t.events),
      core: t.next,
      snapshot: null,
      published: false,
    };
    try {
      await this.Journal.collection.insertOne(journal as never);
    } catch (e) {
      if (isDuplicateKey(e)) throw conflict({ expectedVersion: doc.version });
      throw e;
    }
    const next = applied(doc, journal);
    await this.writeProjection(doc, next);
    await this.deps.outbox.publishSoon(journal);
    return next;
  }

  /**
   * One deadline-supervision step for a milestone (timer fired). 'stale': the milestone was met
   * or its deadline moved since the timer was set; 'nothing': not due yet.
   */
  async tick(id: string, milestone: MilestoneKey, version: number, supervisorId: string | null): Promise<'acted' | 'stale' | 'nothing'> {
    try {
      await this.execute(id, { type: 'tick', milestone, version, supervisorId }, SYSTEM_ACTOR);
      return 'acted';
    } catch (e) {
      if (e instanceof AppError && e.code === 'NOTHING_DUE') return 'nothing';
      if (e instanceof AppError && (e.code === 'STALE_TIMER' || e.code === 'INVALID_TRANSITION' || e.code === 'NOT_FOUND')) return 'stale';
      throw e;
    }
  }

  /** Write the ticket document for the version this request won (or a repair re-applies). */
  private async writeProjection(prev: TicketDoc, next: TicketDoc): Promise<void> {
    const set: Record<string, unknown> = { timeline: next.timeline, updatedAt: next.updatedAt };
    for (const k of CORE_KEYS) set[k] = next[k];
    await this.Ticket.updateOne(this.deps.idOnlyFilters ? { _id: prev._id } : { _id: prev._id, version: prev.version }, { $set: set });
  }

  /**
   * Repair after a crash: make the ticket document reflect journal entry `j`. Idempotent: the
   * write sets the whole new state, conditioned on the previous version.
   */
  async repair(j: JournalDoc): Promise<'applied' | 'already' | 'behind'> {
    const doc = await this.Ticket.findById(j.ticketId).lean<TicketDoc>();
    if (!doc) {
      if (j.version !== 1 || !j.snapshot) return 'behind';
      try {
        await this.Ticket.collection.insertOne(j.snapshot as never);
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
      }
      return 'applied';
    }
    if (doc.version >= j.version) return 'already';
    if (doc.version < j.version - 1) return 'behind'; // an earlier entry must be repaired first
    await this.writeProjection(doc, applied(doc, j));
    return 'applied';
  }

  /** Checks that need other documents (the machine is pure and cannot look them up). */
  private async checkReferences(doc: TicketDoc, command: Command, actor: Actor): Promise<void> {
    if (command.type === 'dispatch') {
      const ids = [command.leadDepartmentId, ...command.coDepartmentIds];
      const found = await this.deps.directory.Department.countDocuments({ _id: { $in: ids }, active: true });
      if (found !== new Set(ids).size) throw new AppError('UNKNOWN_DEPARTMENT', 'unknown or inactive department', { ids });
    }
    if (command.type === 'merge') {
      if (command.masterId === String(doc._id)) throw new AppError('INVALID_MERGE', 'a ticket cannot be merged into itself');
      const master = await this.Ticket.findById(new Types.ObjectId(command.masterId), { state: 1, leadDepartmentId: 1, coDepartmentIds: 1, escalatedTo: 1 }).lean<TicketDoc>();
      if (!master || !canSeeTicket(actor, master)) throw new AppError('INVALID_MERGE', 'master ticket not found');
      if (master.state === 'merged') throw new AppError('INVALID_MERGE', 'the master ticket is itself merged into another');
    }
  }

  /** Duplicates merged into this ticket (重复件), found by their `mergedInto` link. */
  async duplicatesOf(id: string): Promise<{ id: string; number: string }[]> {
    const docs = await this.Ticket.find({ mergedInto: id }, { number: 1 }).lean();
    return docs.map((d) => ({ id: String(d._id), number: d.number }));
  }

  async list(q: ListTicketsQuery, actor: Actor): Promise<{ items: TicketDoc[]; total: number; page: number; pageSize: number }> {
    const filter = this.filterOf(q, actor);
    const [items, total] = await Promise.all([
      this.Ticket.find(filter, { timeline: 0 })
        .sort({ createdAt: -1, _id: -1 })
        .skip((q.page - 1) * q.pageSize)
        .limit(q.pageSize)
        .lean<TicketDoc[]>(),
      this.Ticket.countDocuments(filter),
    ]);
    return { items, total, page: q.page, pageSize: q.pageSize };
  }

  /** The MongoDB filter of a list query, limited to what the actor may see (list, ledger export). */
  filterOf(q: Omit<ListTicketsQuery, 'page' | 'pageSize'>, actor: Actor): Record<string, unknown> {
    const and: Record<string, unknown>[] = [ticketVisibilityFilter(actor)];
    if (q.state?.length) and.push({ state: { $in: q.state } });
    if (q.category?.length) and.push({ category: { $in: q.category } });
    if (q.urgency) and.push({ urgency: q.urgency });
    if (q.channel) and.push({ channel: q.channel });
    if (q.departmentId) and.push({ $or: [{ leadDepartmentId: q.departmentId }, { coDepartmentIds: q.departmentId }] });
    if (q.number) and.push({ number: q.number });
    if (q.phone) {
      // Departments see masked numbers, so they may not search by a full one.
      if (actor.role === 'department') throw new AppError('FORBIDDEN', 'department users cannot search by phone');
      and.push({ 'caller.phone': q.phone });
    }
    if (q.q) {
      const rx = { $regex: escapeRegex(q.q), $options: 'i' };
      and.push({ $or: [{ content: rx }, { address: rx }, { title: rx }, { number: rx }] });
    }
    if (q.deadlineState) {
      const now = this.deps.clock();
      if (q.deadlineState === 'overdue') and.push({ nextDueAt: { $lte: now } });
      else if (q.deadlineState === 'warning') and.push({ nextWarnAt: { $lte: now }, nextDueAt: { $gt: now } });
      else and.push({ nextWarnAt: { $gt: now } });
    }
    if (q.createdFrom || q.createdTo) {
      and.push({ createdAt: { ...(q.createdFrom ? { $gte: q.createdFrom } : {}), ...(q.createdTo ? { $lt: q.createdTo } : {}) } });
    }
    return { $and: and };
  }
}
