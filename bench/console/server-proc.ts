/**
 * bench/console: the real app (server/src/app.ts createApp: Redis adapter, BullMQ workers,
 * FerretDB) in its own process. Seeds the demo city plus BENCH_USERS agents `bench0000…` (inserted
 * directly: no argon2 work, the consoles get tokens signed with the same secret), listens, and
 * reports every `ticket.event` emission time over IPC:
 *   child → { type: 'ready', port }
 *   child → { type: 'emit', ticketId, eventType, at }      (at: performance clock, ms since epoch)
 *   parent → { cmd: 'stop' }  ⇒  app closed, then exit
 */
import { performance } from 'node:perf_hooks';
import { createApp } from '../../server/src/app.js';
import { loadEnv } from '../../server/src/config/env.js';
import { routingRuleModel } from '../../server/src/dispatch/model.js';
import { seedDemo } from '../../server/src/directory/seed.js';
import { articleModel } from '../../server/src/knowledge/model.js';
import type { TicketEventMessage } from '../../server/src/realtime/contract.js';
import { createLogger } from '../../server/src/shared/logger.js';

export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret-0123';
const users = Number(process.env.BENCH_USERS ?? 1000);
const now = (): number => performance.timeOrigin + performance.now();

const env = loadEnv({
  NODE_ENV: 'production',
  MONGODB_URL: process.env.MONGODB_URL,
  REDIS_URL: process.env.REDIS_URL,
  QUEUE_PREFIX: process.env.QUEUE_PREFIX,
  JWT_SECRET: BENCH_SECRET,
  LOG_LEVEL: 'warn',
  RUN_WORKERS: 'true',
  ACD_PRESENCE_CHECK: 'false',
});
const app = await createApp(env, { logger: createLogger('warn') });
await seedDemo({ ...app.models, Rule: routingRuleModel(app.mongo), Article: articleModel(app.mongo) });
await app.store.refresh();
const docs = Array.from({ length: users }, (_, i) => ({
  _id: `bench${String(i).padStart(4, '0')}`,
  username: `bench${String(i).padStart(4, '0')}`,
  name: `坐席${i}`,
  role: 'agent',
  departmentId: null,
  passwordHash: 'not-a-hash',
  active: true,
  createdAt: new Date(),
}));
await app.models.User.deleteMany({ _id: { $regex: '^bench' } });
for (let i = 0; i < docs.length; i += 200) await app.models.User.collection.insertMany(docs.slice(i, i + 200) as never[]);

// The emission instant, taken where the app's notify handler calls io.to(rooms).emit(...).
const io = app.io;
const to = io.to.bind(io);
(io as unknown as { to: (rooms: string | string[]) => unknown }).to = (rooms: string | string[]) => {
  const op = to(rooms);
  const emit = op.emit.bind(op) as (ev: string, msg: TicketEventMessage) => boolean;
  (op as unknown as { emit: typeof emit }).emit = (ev, msg) => {
    if (ev === 'ticket.event') process.send!({ type: 'emit', ticketId: msg.ticketId, eventType: msg.type, at: now() });
    return emit(ev, msg);
  };
  return op;
};

const port = await app.listen(0, '127.0.0.1');
process.send!({ type: 'ready', port });
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stop') void app.close().finally(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
