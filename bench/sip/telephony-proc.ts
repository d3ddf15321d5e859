/**
 * bench/sip: the telephony adapter (telephony/src/adapter.ts) in its own process, configured from
 * the environment by bench/sip/run.ts. Talks to the parent over IPC:
 *   parent → { cmd: 'stats' }  ⇒  child → { type: 'stats', stats, active, loop, logs }
 *   parent → { cmd: 'stop' }   ⇒  adapter stopped, then exit
 * Warn/error log events are counted by event name (the first samples are kept) so a failed run
 * can say which side complained and about what.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startTelephony } from '../../telephony/src/adapter.js';
import type { SipLogger } from '../../telephony/src/sip-stack.js';

const env = process.env;
const counts: Record<string, number> = {};
const samples: object[] = [];
const note = (level: string) => (obj: object, msg?: string) => {
  const ev = `${level}:${String((obj as { event?: string }).event ?? msg ?? '?')}`;
  counts[ev] = (counts[ev] ?? 0) + 1;
  if (samples.length < 20) samples.push({ level, ...obj, msg });
};
const logger: SipLogger = { info() {}, warn: note('warn'), error: note('error') };

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

const adapter = await startTelephony({
  address: env.SIP_ADDRESS ?? '127.0.0.1',
  port: Number(env.SIP_PORT),
  realm: 'hotline.local',
  instance: env.TELEPHONY_INSTANCE ?? 'bench1',
  redisUrl: env.REDIS_URL!,
  queuePrefix: env.QUEUE_PREFIX!,
  requireEngineHeartbeat: true,
  maxRingMs: 60_000,
  // every caller arrives from one SIPp address, as from a carrier's SBC: exempt it from the
  // per-source flood limit (the relay's `flood` option; ignored by versions without it)
  ...({ flood: { perSecond: 50, trustedSources: (env.TRUSTED_SOURCES ?? '').split(',').filter(Boolean) } } as object),
  logger,
});

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    const out = {
      type: 'stats',
      stats: { ...adapter.relay.stats },
      active: adapter.relay.activeCalls.length,
      loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      logs: { counts: { ...counts }, samples: samples.slice() },
      heapMB: process.memoryUsage().heapUsed / 1048576,
    };
    loop.reset();
    process.send!(out);
  } else if (m.cmd === 'stop') {
    void adapter.stop().finally(() => process.exit(0));
  }
});
process.on('SIGTERM', () => void adapter.stop().finally(() => process.exit(0)));
process.send!({ type: 'ready' });
