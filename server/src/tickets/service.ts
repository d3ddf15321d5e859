/**
 * Ticket commands and queries. Thin: the state machine decides, this persists.
 * Every transition is ONE conditional update of ONE ticket document — `{ _id, version }` in the
 * filter — so of two concurrent commands exactly one wins; the loser gets TICKET_CONFLICT.
 * The timeline entry and the outbox entries go into the same update (append-only `$push`).
 */
import { createHash } from 'node:crypto';
import { Types, type Model } from 'mongoose';
import { ticketVisibilityFilter } from '../auth/policies.js';
import type { DirectoryModels } from '../directory/model.js';
import { AppError, notFound } from '../errors.js';
import type { OutboxPublisher } from '../queues/outbox.js';
import { outboxId } from '../queues/outbox.js';
import type { Command } from './commands.js';
import { initialCore } from './intake.js';
import { actorRef, decide } from './machine.js';
import type { OutboxEntry, TicketDoc, TicketModels } from './model.js';
import { nextTicketNumber } from './numbering.js';
import type { CreateTicketInput, ListTicketsQuery } from './schema.js';
import type { Actor, DomainEvent, TicketCore, TimelineEntry } from './types.js';

export interface TicketServiceDeps {
  models: TicketModels;
  directory: DirectoryModels;
  outbox: OutboxPublisher;
  clock: () => Date;
  numberPrefix: string;
  timeZone: string;
}

/** The fields the state machine owns; written together on every transition. */
const CORE_KEYS = [
  'state',
  'version',
  'round',
  'category',
  'urgency',
  'area',
  'policy',
  'leadDepartmentId',
  'coDepartmentIds',
  'dispatchCount',
  'returnedFrom',
  'returnReason',
  'pendingExtension',
  'extendedHours',
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

export function coreOf(doc: TicketDoc): TicketCore {
  const core = {} as Record<string, unknown>;
  for (const k of CORE_KEYS) core[k] = doc[k];
  return core as unknown as TicketCore;
}

const toOutbox = (ticketId: string, version: number, at: Date, events: DomainEvent[]): OutboxEntry[] =>
  events.map((e, i) => ({ id: outboxId(ticketId, version, i), type: e.type, version, at, data: e.data }));

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class TicketService {
  constructor(private readonly deps: TicketServiceDeps) {}

  private get Ticket(): Model<TicketDoc> {
    return this.deps.models.Ticket;
  }

  /**
   * 受理. With an idempotency key, a retried request returns the ticket the first one made
   * (and 409 IDEMPOTENCY_MISMATCH if the body differs) — the key is claimed in its own
   * collection by `_id` before the ticket is written, so two racing retries cannot both create.
   */
  async create(input: CreateTicketInput, actor: Actor, idempotencyKey?: string): Promise<{ ticket: TicketDoc; created: boolean }> {
    let ticketId = new Types.ObjectId();
    if (idempotencyKey) {
      const key = `${actor.id}:${idempotencyKey}`;
      const requestHash = createHash('sha256').update(JSON.stringify(input)).digest('hex');
      try {
        await this.deps.models.Idempotency.create({ _id: key, ticketId, requestHash, createdAt: this.deps.clock() });
      } catch (e) {
        if ((e as { code?: unknown }).code !== 11000) throw e;
        const claim = await this.deps.models.Idempotency.findById(key).lean();
        if (!claim) throw new AppError('TICKET_CONFLICT', 'idempotency key is being claimed; retry');
        if (claim.requestHash !== requestHash) {
          throw new AppError('IDEMPOTENCY_MISMATCH', 'this Idempotency-Key was used with a different request body');
        }
        const existing = await this.waitFor(claim.ticketId);
        if (existing) return { ticket: existing, created: false };
        // The first request died after claiming the key: finish its work under the same id.
        ticketId = claim.ticketId;
      }
    }
    return { ticket: await this.insert(ticketId, input, actor), created: true };
  }

  private async waitFor(id: Types.ObjectId): Promise<TicketDoc | null> {
    // A concurrent first request may be between claiming the key and inserting the ticket.
    for (let i = 0; i < 20; i++) {
      const doc = await this.Ticket.findById(id).lean<TicketDoc>();
      if (doc) return doc;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  }

  private async insert(ticketId: Types.ObjectId, input: CreateTicketInput, actor: Actor): Promise<TicketDoc> {
    const now = this.deps.clock();
    const number = await nextTicketNumber(this.deps.models.Counter, this.deps.numberPrefix, now, this.deps.timeZone);
    const { core, events } = initialCore(input, now);
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
    const id = String(ticketId);
    const outbox = toOutbox(id, core.version, now, events);
    const doc: Omit<TicketDoc, 'duplicateIds'> & { duplicateIds: Types.ObjectId[] } = {
      _id: ticketId,
      number,
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
      duplicateIds: [],
      createdBy: by,
      createdAt: now,
      updatedAt: now,
      timeline: [entry],
      outbox,
      outboxPending: true,
    };
    try {
      await this.Ticket.collection.insertOne(doc as unknown as Parameters<typeof this.Ticket.collection.insertOne>[0]);
    } catch (e) {
      if ((e as { code?: unknown }).code === 11000) {
        const existing = await this.Ticket.findById(ticketId).lean<TicketDoc>();
        if (existing) return existing;
      }
      throw e;
    }
    await this.deps.outbox.publishSoon(ticketId, core.version, outbox);
    return doc as TicketDoc;
  }

  /** Load a ticket the actor may see; anything else (absent or not visible) is 404. */
  async get(id: string, actor: Actor): Promise<TicketDoc> {
    if (!Types.ObjectId.isValid(id)) throw notFound('ticket');
    const doc = await this.Ticket.findOne({ _id: new Types.ObjectId(id), ...ticketVisibilityFilter(actor) }).lean<TicketDoc>();
    if (!doc) throw notFound('ticket');
    return doc;
  }

  async execute(id: string, command: Command, actor: Actor): Promise<TicketDoc> {
    const doc = await this.get(id, actor);
    await this.checkReferences(doc, command, actor);
    const now = this.deps.clock();
    const decision = decide(coreOf(doc), command, actor, now);
    if (!decision.ok) throw new AppError(decision.error.code, decision.error.message);
    const t = decision.transition;
    const entry: TimelineEntry = { seq: t.next.version, at: now, actor: actorRef(actor), action: t.action, from: t.from, to: t.to, note: t.note, data: t.data };
    const outbox = toOutbox(id, t.next.version, now, t.events);
    const set: Record<string, unknown> = { updatedAt: now, outboxPending: true };
    for (const k of CORE_KEYS) set[k] = t.next[k];
    const updated = await this.Ticket.findOneAndUpdate(
      { _id: doc._id, version: doc.version, state: doc.state },
      { $set: set, $push: { timeline: entry, outbox: { $each: outbox } } },
      { returnDocument: 'after' },
    ).lean<TicketDoc>();
    if (!updated) {
      throw new AppError('TICKET_CONFLICT', 'the ticket was changed by someone else; reload and try again', {
        expectedVersion: doc.version,
      });
    }
    await this.deps.outbox.publishSoon(doc._id, updated.version, updated.outbox);
    return updated;
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
      const master = await this.Ticket.findOne({ _id: new Types.ObjectId(command.masterId), ...ticketVisibilityFilter(actor) }, { state: 1 }).lean();
      if (!master) throw new AppError('INVALID_MERGE', 'master ticket not found');
      if (master.state === 'merged') throw new AppError('INVALID_MERGE', 'the master ticket is itself merged into another');
    }
  }

  async list(q: ListTicketsQuery, actor: Actor): Promise<{ items: TicketDoc[]; total: number; page: number; pageSize: number }> {
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
    if (q.createdFrom || q.createdTo) {
      and.push({ createdAt: { ...(q.createdFrom ? { $gte: q.createdFrom } : {}), ...(q.createdTo ? { $lt: q.createdTo } : {}) } });
    }
    const filter = { $and: and };
    const [items, total] = await Promise.all([
      this.Ticket.find(filter, { timeline: 0, outbox: 0 })
        .sort({ createdAt: -1, _id: -1 })
        .skip((q.page - 1) * q.pageSize)
        .limit(q.pageSize)
        .lean<TicketDoc[]>(),
      this.Ticket.countDocuments(filter),
    ]);
    return { items, total, page: q.page, pageSize: q.pageSize };
  }

  /** Side effect of `ticket.merged`: link the duplicate from its master (idempotent `$addToSet`). */
  async linkDuplicate(masterId: string, duplicateId: string): Promise<void> {
    await this.Ticket.updateOne({ _id: new Types.ObjectId(masterId) }, { $addToSet: { duplicateIds: new Types.ObjectId(duplicateId) } });
  }
}
