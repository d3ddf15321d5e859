/**
 * "Nothing is lost when a process dies": a child process creates and dispatches tickets in a
 * loop and is killed with SIGKILL at an arbitrary moment — between journal insert, ticket
 * write and BullMQ hand-over. A fresh app on the same database and Redis then repairs and
 * publishes, so every ticket in MongoDB has every side effect delivered, exactly once per event.
 */
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { Types } from 'mongoose';
import { afterAll, describe, expect, it } from 'vitest';
import { QUEUES } from '../../server/src/queues/names.js';
import { OutboxPublisher, type TicketEventJob } from '../../server/src/queues/outbox.js';
import { startTestApp, intake, type TestApp } from '../helpers/app.js';
import { createLogger } from '../../server/src/shared/logger.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

async function waitUntil(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('outbox recovery', () => {
  it('a publish that fails (Redis unreachable) is delivered by the sweeper later', async () => {
    const seen: TicketEventJob[] = [];
    const t = await startTestApp({ handlers: [async (job) => void seen.push(job)] });
    cleanup.push(() => t.close());
    // A publisher whose Redis is a closed port: the journal is written, the hand-over fails.
    const dead = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const deadQueue = new Queue<TicketEventJob>(QUEUES.ticketEvents, { connection: dead, prefix: t.prefix });
    deadQueue.on('error', () => undefined);
    const broken = new OutboxPublisher(t.app.models.Journal, deadQueue, createLogger('silent'));
    const realPublishSoon = t.app.outbox.publishSoon.bind(t.app.outbox);
    t.app.outbox.publishSoon = (j) => broken.publishSoon(j);
    const res = await t.api.post('/api/tickets').set('authorization', `Bearer ${await t.token('agent1')}`).send(intake());
    expect(res.status).toBe(201);
    t.app.outbox.publishSoon = realPublishSoon;
    await deadQueue.close().catch(() => undefined);
    dead.disconnect();
    const journal = await t.app.models.Journal.findById(`${res.body.id}:1`).lean();
    expect(journal?.published).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.filter((j) => j.ticketId === res.body.id)).toHaveLength(0);
    // The periodic sweep (grace 3 s) picks it up.
    await waitUntil(() => seen.some((j) => j.ticketId === res.body.id && j.type === 'ticket.created'), 15_000, 'the swept event');
    expect((await t.app.models.Journal.findById(`${res.body.id}:1`).lean())?.published).toBe(true);
  });

  it('kill -9 mid-loop, restart: every stored ticket is consistent with its journal and every event is delivered once', async () => {
    // The first app only prepares the database (seed) and is closed again.
    const first = await startTestApp({ env: { RUN_WORKERS: 'false' } });
    const { dbName, prefix } = first;
    const mongoUrl = `${process.env.TEST_MONGODB_URL}/${dbName}`;
    await first.app.close();

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/create-loop.ts'], {
      env: { ...process.env, MONGODB_URL: mongoUrl, REDIS_URL: process.env.TEST_REDIS_URL!, QUEUE_PREFIX: prefix, JWT_SECRET: 'x'.repeat(40) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    await waitUntil(() => out.split('\n').filter((l) => /^[0-9a-f]{24}$/.test(l)).length >= 25, 60_000, `25 tickets from the child (stderr: ${err.slice(-500)})`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // Restart: a new app on the same database and prefix, with a handler counting deliveries.
    const delivered = new Map<string, number>();
    const t: TestApp = await startTestApp({
      env: { MONGODB_URL: mongoUrl, QUEUE_PREFIX: prefix },
      handlers: [async (job) => void delivered.set(job.eventId, (delivered.get(job.eventId) ?? 0) + 1)],
      reuseDatabase: { dbName, prefix },
    });
    cleanup.push(() => t.close());
    const { Journal, Ticket } = t.app.models;
    await waitUntil(async () => (await Journal.countDocuments({ published: false })) === 0, 30_000, 'all journal entries published');
    const journals = await Journal.find({}).lean();
    const tickets = await Ticket.find({}).lean();
    expect(tickets.length).toBeGreaterThanOrEqual(25);
    // Every journal entry is reflected in its ticket (repaired if the writer died midway) …
    const byId = new Map(tickets.map((d) => [String(d._id), d]));
    for (const j of journals) {
      const ticket = byId.get(String(j.ticketId));
      expect(ticket, `ticket of journal ${j._id}`).toBeDefined();
      expect(ticket!.version).toBeGreaterThanOrEqual(j.version);
      expect(ticket!.timeline.map((e) => e.seq)).toEqual(Array.from({ length: ticket!.version }, (_, i) => i + 1));
    }
    // … and every event of every entry reaches the handlers.
    const expected = journals.flatMap((j) => j.events.map((e) => e.id));
    await waitUntil(() => expected.every((id) => delivered.has(id)), 30_000, 'every event delivered');
    for (const id of expected) expect(delivered.get(id)).toBe(1);
    // A ticket the child dispatched is at version 2 with a dispatch timeline entry.
    const dispatched = tickets.filter((d) => d.state === 'dispatched');
    expect(dispatched.length).toBeGreaterThanOrEqual(24);
    expect(Types.ObjectId.isValid(String(dispatched[0]!._id))).toBe(true);
  });
});
