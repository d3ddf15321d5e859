// Telephony entry point (`npx tsx telephony/src/main.ts`): one adapter instance from the
// environment. Its own process, so the SIP event loop never waits for HTTP or database work
// (TELEPHONY-NOTES: event-loop stalls are what overflow the UDP receive buffer).
import { hostname } from 'node:os';
import pino from 'pino';
import { startTelephony } from './adapter.js';
import { gatewaysFromEnv } from './gateways.js';
import { linesFromEnv } from './lines.js';

const env = process.env;
const log = pino({ level: env.LOG_LEVEL ?? 'info', base: { service: 'telephony' } });

function num(name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name}: must be a non-negative integer`);
    process.exit(1);
  }
  return n;
}

if (!env.REDIS_URL) {
  console.error('REDIS_URL: is required');
  process.exit(1);
}
let gateways;
let lines;
try {
  lines = linesFromEnv(env.TELEPHONY_LINES);
  gateways = gatewaysFromEnv(
    env.TELEPHONY_GATEWAYS ??
      // local demo: 110/119/120/122 point at a gateway address that nothing answers until one is configured
      JSON.stringify(['110', '119', '120', '122'].map((k) => ({ key: k, name: k, uri: `sip:${k}@127.0.0.9:5070`, inboundSources: k === '110' ? ['127.0.0.9'] : [] }))),
  );
} catch (e) {
  console.error(String(e instanceof Error ? e.message : e));
  process.exit(1);
}

const adapter = await startTelephony({
  address: env.SIP_ADDRESS ?? '127.0.0.1',
  port: num('SIP_PORT', 5060),
  ...(env.SIP_CONTACT_HOST ? { contactHost: env.SIP_CONTACT_HOST } : {}),
  realm: env.SIP_REALM ?? 'hotline.local',
  instance: env.TELEPHONY_INSTANCE ?? hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64),
  redisUrl: env.REDIS_URL,
  queuePrefix: env.QUEUE_PREFIX ?? '{hotline}',
  gateways,
  lines,
  maxRingMs: num('MAX_RING_MS', 300_000),
  transferTimeoutMs: num('TRANSFER_TIMEOUT_MS', 20_000),
  ringingEvents: env.TELEPHONY_RINGING_EVENTS === 'true',
  flood: {
    perSecond: num('TELEPHONY_FLOOD_PER_SECOND', 50),
    trustedSources: (env.TELEPHONY_TRUSTED_SOURCES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  },
  logger: log,
});
console.log(`\n  12345 telephony (SIP/UDP) on ${adapter.address}:${adapter.port}, instance ${adapter.instance}\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log.info({ sig }, 'shutting down');
    adapter
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      });
  });
}
