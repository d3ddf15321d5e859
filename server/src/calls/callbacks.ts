/**
 * Working the callback list (未接回拨, HOTLINE-RULES "Intake rules": every missed call gets a
 * callback task). An agent calls the citizen back and records what happened:
 *   - `no_answer`: nobody picked up; the task stays on the list with its attempt count;
 *   - `reached`: the citizen was reached (a ticket filed from the call may be linked);
 *   - `invalid_number`: the number cannot be called back.
 * The last two close the task. Every result is first written to MongoDB (`callback_results`,
 * insert-only: one document per attempt, and `<task id>:closed` for the close, whose unique id
 * makes a second close a 409), then the Redis list is updated; a crash in between leaves the
 * record, and a repeated close repairs the list.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { z } from 'zod';
import { HOTLINE_ROLES } from '../auth/policies.js';
import { AppError, notFound } from '../errors.js';
import { parse, type ApiRouter } from '../http/router.js';
import { idempotencyHeader } from '../tickets/schema.js';
import type { Actor } from '../tickets/types.js';
import { CALLBACK_RESULTS, callbackTask, type CallbackResult, type CallbackTask } from './acd.js';
import type { CallDoc } from './model.js';

type RecordOfCall = Pick<CallDoc, '_id' | 'callbackTaskId' | 'line' | 'fromNumber' | 'priority' | 'queuedAt' | 'offeredAt' | 'abandonedAt' | 'abandonReason'>;
import type { AcdStore } from './acd-store.js';

export const CALLBACK_RESULTS_COLLECTION = 'callback_results';

export interface CallbackResultDoc {
  /** `<task id>:closed` for the result that closed the task, `<task id>:a:<uuid>` for an attempt */
  _id: string;
  taskId: string;
  callId: string;
  callerNumber: string;
  result: CallbackResult;
  note: string;
  ticketId: string | null;
  by: { id: string; name: string };
  at: Date;
}

/** `cb-<call id>`: printable ASCII without '/' (call ids are SIP Call-IDs) */
const taskParams = z.object({ id: z.string().regex(/^[!-.0-~]{1,260}$/, 'must be a callback task id') });
const resultBody = z.object({
  result: z.enum(CALLBACK_RESULTS),
  note: z.string().trim().max(500).default(''),
  /** a ticket filed from the call-back (the agent must be able to see it) */
  ticketId: z.string().regex(/^[0-9a-f]{24}$/, 'must be a ticket id').optional(),
});

export interface CallbackDeps {
  acd: AcdStore;
  db: Db;
  clock: () => Date;
  /** 404 (throws) unless the actor may see the ticket */
  ticketVisible: (ticketId: string, actor: Actor) => Promise<void>;
  /** the ACD group of a line (ACD_GROUPS), for tasks rebuilt from call records */
  groupOf?: (line: string) => string;
  /** tells consoles and wallboards that the list changed */
  notify: (rooms: string[], event: string, payload: Record<string, unknown>) => void;
}

const isDuplicateKey = (e: unknown): boolean => (e as { code?: number }).code === 11000;

export class CallbackDesk {
  constructor(private readonly d: CallbackDeps) {}

  private get results() {
    return this.d.db.collection<CallbackResultDoc>(CALLBACK_RESULTS_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.results.createIndex({ taskId: 1, at: 1 });
    await this.results.createIndex({ at: 1 });
  }

  private async closedError(taskId: string): Promise<AppError | null> {
    const closed = await this.results.findOne({ _id: `${taskId}:closed` });
    if (!closed) return null;
    return new AppError('CALLBACK_CLOSED', 'this callback task was already closed', { result: closed.result, by: closed.by, at: closed.at.toISOString() });
  }

  /**
   * `key` (the client's Idempotency-Key) makes a retried no_answer count once; a retried close is
   * a 409 naming the close that won, whoever sent it.
   */
  async record(taskId: string, actor: Actor, body: z.infer<typeof resultBody>, key?: string): Promise<{ task: CallbackTask; result: CallbackResult; closed: boolean }> {
    const task = await this.d.acd.callbackTask(taskId);
    if (!task) throw (await this.closedError(taskId)) ?? notFound('callback task');
    if (task.status === 'no_number' && body.result !== 'invalid_number') {
      throw new AppError('VALIDATION_FAILED', 'the caller withheld the number: close this task as invalid_number', [{ path: 'body.result', message: 'must be invalid_number' }]);
    }
    if (body.ticketId) await this.d.ticketVisible(body.ticketId, actor);
    const at = this.d.clock();
    const closes = body.result !== 'no_answer';
    const doc: CallbackResultDoc = {
      _id: closes ? `${taskId}:closed` : `${taskId}:a:${key ?? randomUUID()}`,
      taskId,
      callId: task.callId,
      callerNumber: task.callerNumber,
      result: body.result,
      note: body.note,
      ticketId: body.ticketId ?? null,
      by: { id: actor.id, name: actor.name },
      at,
    };
    try {
      await this.results.insertOne(doc);
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      // a retried no_answer (same key): already counted
      if (!closes) return { task, result: body.result, closed: false };
      await this.d.acd.removeCallback(taskId); // closed before, but the list still had it: repair
      throw (await this.closedError(taskId)) ?? e;
    }
    let current: CallbackTask | null = task;
    if (closes) await this.d.acd.removeCallback(taskId);
    else {
      current = await this.d.acd.noteCallbackAttempt(taskId, { at: at.getTime(), by: actor.name, result: body.result, note: body.note });
      if (!current) {
        // closed by someone else between the read and now: this attempt did not happen
        await this.results.deleteOne({ _id: doc._id });
        throw (await this.closedError(taskId)) ?? notFound('callback task');
      }
    }
    this.d.notify(['hotline', 'supervisors'], 'acd.changed', { reasons: ['callback'], changes: 1 });
    return { task: current, result: body.result, closed: closes };
  }

  /**
   * After Redis lost its data the callback list is rebuilt from the call records (MongoDB): every
   * call of the last `days` days that got a task and has no close in `callback_results` gets its
   * task back, with the attempts recorded so far. Runs at start-up; does nothing while the
   * list's marker is there. Returns how many tasks came back.
   */
  async restoreAfterRedisLoss(days = 7): Promise<number> {
    if (await this.d.acd.callbacksKept()) return 0;
    const now = this.d.clock().getTime();
    const since = new Date(now - days * 86_400_000);
    const calls = this.d.db.collection<RecordOfCall>('calls').find(
      { callbackTaskId: { $ne: null }, abandonedAt: { $gte: since } },
      { projection: { _id: 1, callbackTaskId: 1, line: 1, fromNumber: 1, priority: 1, queuedAt: 1, offeredAt: 1, abandonedAt: 1, abandonReason: 1 } },
    );
    // every result of the window in one read (a task's results are never older than its call)
    const byTask = new Map<string, CallbackResultDoc[]>();
    for await (const r of this.results.find({ at: { $gte: since } }).sort({ at: 1 })) {
      const list = byTask.get(r.taskId) ?? [];
      list.push(r);
      byTask.set(r.taskId, list);
    }
    let restored = 0;
    for await (const c of calls) {
      const id = c.callbackTaskId!;
      const results = byTask.get(id) ?? [];
      if (results.some((r) => r._id === `${id}:closed`)) continue;
      const attempts = results.filter((r) => r.result === 'no_answer');
      const last = attempts.at(-1);
      const enqueuedAt = new Date(c.queuedAt ?? c.offeredAt).getTime();
      const leftAt = new Date(c.abandonedAt!).getTime();
      const reason = c.abandonReason === 'max-wait-callback' ? 'max_wait' : 'abandoned';
      const task: CallbackTask = {
        ...callbackTask(
          { callId: c._id, line: c.line, callerNumber: c.fromNumber, enqueuedAt, priority: c.priority, requiredSkills: [], group: this.d.groupOf?.(c.line) ?? 'main', overflowedFrom: [] },
          reason,
          leftAt,
        ),
        id,
        restored: true,
        ...(attempts.length > 0 ? { attempts: attempts.length } : {}),
        ...(last ? { lastAttempt: { at: last.at.getTime(), by: last.by.name, result: last.result, note: last.note } } : {}),
      };
      if (await this.d.acd.restoreCallback(task)) {
        // closed while this ran (its close removed nothing yet): take it off again
        if (await this.closedError(id)) await this.d.acd.removeCallback(id);
        else restored++;
      }
    }
    await this.d.acd.markCallbacksKept(now);
    if (restored > 0) this.d.notify(['hotline', 'supervisors'], 'acd.changed', { reasons: ['callback'], changes: restored });
    return restored;
  }

  async isOpen(taskId: string): Promise<boolean> {
    return (await this.d.acd.callbackTask(taskId)) !== null;
  }

  /** Every result recorded for a task, oldest first (open or closed). */
  async history(taskId: string): Promise<CallbackResultDoc[]> {
    return this.results.find({ taskId }).sort({ at: 1 }).toArray();
  }
}

/** A callback task as the API shows it: times as ISO strings. */
export const presentTask = (t: CallbackTask) => ({
  ...t,
  enqueuedAt: new Date(t.enqueuedAt).toISOString(),
  leftAt: new Date(t.leftAt).toISOString(),
  createdAt: new Date(t.createdAt).toISOString(),
  ...(t.lastAttempt ? { lastAttempt: { ...t.lastAttempt, at: new Date(t.lastAttempt.at).toISOString() } } : {}),
});

const presentResult = (r: CallbackResultDoc) => ({
  taskId: r.taskId,
  callId: r.callId,
  callerNumber: r.callerNumber,
  result: r.result,
  closed: r._id.endsWith(':closed'),
  note: r.note,
  ticketId: r.ticketId,
  by: r.by,
  at: r.at.toISOString(),
});

export function callbackRoutes(api: ApiRouter, desk: CallbackDesk): void {
  api.add({
    method: 'post',
    path: '/callbacks/:id/results',
    tag: 'calls',
    summary: "Record a call-back's result: no_answer keeps the task open (attempt counted); reached or invalid_number closes it; send Idempotency-Key to make a retried no_answer count once",
    roles: HOTLINE_ROLES,
    params: taskParams,
    body: resultBody,
    headers: idempotencyHeader,
    async handler({ req, actor, params, body }) {
      const { 'idempotency-key': key } = parse(idempotencyHeader, { 'idempotency-key': req.headers['idempotency-key'] }, 'headers');
      const r = await desk.record(params.id, actor, body, key);
      return { task: presentTask(r.task), result: r.result, closed: r.closed };
    },
  });

  api.add({
    method: 'get',
    path: '/callbacks/:id/results',
    tag: 'calls',
    summary: 'The call-back attempts and the close of a callback task, oldest first',
    roles: HOTLINE_ROLES,
    params: taskParams,
    async handler({ params }) {
      const items = await desk.history(params.id);
      if (items.length === 0 && !(await desk.isOpen(params.id))) throw notFound('callback task');
      return { items: items.map(presentResult) };
    },
  });
}
