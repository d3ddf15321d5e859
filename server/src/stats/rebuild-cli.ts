/**
 * `npm run kpi:rebuild` — recompute every ticket's KPI facts and the daily roll-ups
 * (kpi-rollup.ts). Safe while the system runs: each ticket is recomputed under its lock and only
 * its difference is added. Use it after a Redis data loss (dirty marks and the caller index of
 * repeat complaints live there). Reports scan the tickets until it has finished.
 *
 *   MONGODB_URL=… REDIS_URL=… [QUEUE_PREFIX=…] [TIME_ZONE=Asia/Shanghai] npm run kpi:rebuild
 */
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { pino } from 'pino';
import { utcOffsetOf } from '../deadlines/store.js';
import { ticketModels } from '../tickets/model.js';
import { KpiRollup, ROLLUP_VERSION } from './kpi-rollup.js';

const mongoUrl = process.env.MONGODB_URL;
const redisUrl = process.env.REDIS_URL;
if (!mongoUrl || !redisUrl) {
  console.error('MONGODB_URL and REDIS_URL are required (e.g. mongodb://127.0.0.1:27027/hotline, redis://127.0.0.1:6390)');
  process.exit(1);
}
const conn = await mongoose.createConnection(mongoUrl, { serverSelectionTimeoutMS: 10_000 }).asPromise();
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const log = pino({ level: 'info' });
try {
  const rollup = new KpiRollup({
    db: conn.db!,
    redis,
    prefix: process.env.QUEUE_PREFIX ?? '{hotline}',
    Ticket: ticketModels(conn).Ticket,
    log,
    clock: () => new Date(),
    utcOffsetMinutes: utcOffsetOf(process.env.TIME_ZONE ?? 'Asia/Shanghai'),
  });
  // not complete any more: reports scan until the rebuild below marks it complete again
  await conn.db!.collection('kpi_rollup_meta').deleteOne({ _id: `v${ROLLUP_VERSION}` as never });
  const started = Date.now();
  await rollup.rebuild();
  console.log(`kpi:rebuild: roll-ups v${ROLLUP_VERSION} complete in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  redis.disconnect();
  await conn.close();
}
