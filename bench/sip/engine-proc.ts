/**
 * bench/sip: the engine (server/src/app.ts createApp) in its own process with RUN_WORKERS=true, so
 * it consumes `call-events`, runs the ACD and sends `ring` commands to telephony. N agents
 * `bagent0…` are made available directly through app.calls (no HTTP login). IPC:
 *   parent → { cmd: 'stats' }  ⇒  child → { type: 'stats', loop, logs, heapMB }
 *   parent → { cmd: 'stop' }   ⇒  app closed, then exit
 */
import { Writable } from 'node:stream';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../../server/src/app.js';
import { loadEnv } from '../../server/src/config/env.js';
import { createLogger } from '../../server/src/shared/logger.js';

const agents = Number(process.env.BENCH_AGENTS ?? 1000);
const env = loadEnv({
  NODE_ENV: 'production',
  MONGODB_URL: process.env.MONGODB_URL,
  REDIS_URL: process.env.REDIS_URL,
  QUEUE_PREFIX: process.env.QUEUE_PREFIX,
  JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
  LOG_LEVEL: 'warn',
  RUN_WORKERS: 'true',
  ACD_WRAP_UP: 'false',
  RING_TIMEOUT_MS: '5000',
  ACD_PRESENCE_CHECK: 'false',
  ...(process.env.CALL_EVENT_CONCURRENCY ? { CALL_EVENT_CONCURRENCY: process.env.CALL_EVENT_CONCURRENCY } : {}),
  ...(process.env.CDR_FLUSH_DELAY_MS ? { CDR_FLUSH_DELAY_MS: process.env.CDR_FLUSH_DELAY_MS } : {}),
});

// warn/error lines are counted by message; the first ones are kept for the report
const counts: Record<string, number> = {};
const samples: string[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    for (const line of String(chunk).split('\n').filter(Boolean)) {
      try {
        const j = JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } };
        const key = `${j.level >= 50 ? 'error' : 'warn'}:${j.msg ?? '?'}`;
        counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        counts['unparsed'] = (counts['unparsed'] ?? 0) + 1;
      }
      if (samples.length < 20) samples.push(line.slice(0, 600));
    }
    cb();
  },
});

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const app = await createApp(env, { logger: createLogger('warn', sink) });
await app.listen(0, '127.0.0.1');
for (let i = 0; i < agents; i++) {
  const id = `bagent${i}`;
  await app.calls.ensureAgent(id);
  await app.calls.changeState(id, 'available', 'supervisor');
}

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    process.send!({
      type: 'stats',
      loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      logs: { counts: { ...counts }, samples: samples.slice() },
      heapMB: process.memoryUsage().heapUsed / 1048576,
    });
    loop.reset();
  } else if (m.cmd === 'stop') {
    void app.close().finally(() => process.exit(0));
  }
});
process.on('SIGTERM', () => void app.close().finally(() => process.exit(0)));
process.send!({ type: 'ready' });
