// The telephony adapter as one unit: one UDP SIP stack shared by the registrar (REGISTER) and the
// call relay (everything else), call events out to the engine (BullMQ `call-events`), commands in
// from it (BullMQ `telephony-commands-<instance>`), agents' credentials and bindings in Redis so
// several engine and telephony instances share them.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { SipMessage } from 'sip';
import {
  COMMAND_SCHEMAS,
  commandsQueueName,
  ENGINE_HEARTBEAT_KEY,
  INSTANCE_ID,
  SIP_BINDINGS_PREFIX,
  SIP_CREDENTIALS_KEY,
  type CommandName,
} from '../../server/src/calls/telephony-contract.js';
import { CallRelay, type RelayOptions } from './b2bua.js';
import type { BindingStore } from './binding-store.js';
import { createBullmqPublisher, type CallEventPublisher } from './call-events.js';
import { assertGatewaysNotOwnAddress } from './gateways.js';
import type { CredentialLookup } from './digest.js';
import { createRegistrar, type RegistrarHandler, type RegistrarOptions } from './registrar.js';
import { RedisBindingStore } from './redis-binding-store.js';
import { silentLogger, startSipStack, type RunningStack, type SipLogger } from './sip-stack.js';
import { RedisDialogSnapshots } from './snapshots.js';

export interface TelephonyOptions extends Omit<RelayOptions, 'contactHost' | 'port' | 'bindings' | 'realm' | 'engineHealthy' | 'snapshots' | 'sendStateless'> {
  address: string;
  port: number;
  /** host in our Contact/From (default `address`); set it when binding 0.0.0.0 or behind NAT */
  contactHost?: string;
  realm: string;
  redisUrl: string;
  /** BullMQ / key prefix, `{hotline}` by default */
  queuePrefix?: string;
  /** default: the HA1 hash the engine mirrors from the directory (`<prefix>:sip:ha1`) */
  lookupCredentials?: CredentialLookup;
  /** default: Redis (shared by every instance) */
  bindings?: BindingStore;
  registrar?: Partial<Omit<RegistrarOptions, 'address' | 'port' | 'realm' | 'lookupCredentials' | 'store' | 'logger'>>;
  /** answer 503 unless the engine's heartbeat key exists (default true) */
  requireEngineHeartbeat?: boolean;
  /** replaces the heartbeat check (tests) */
  engineHealthy?: () => boolean | Promise<boolean>;
  maxMessageSize?: number;
  /** a CANCELled INVITE with no final response after this is given up (ms, default 64*T1 = 32 000) */
  inviteCancelTimeout?: number;
  commandConcurrency?: number;
  publisher?: CallEventPublisher;
  logger?: SipLogger;
}

export interface TelephonyAdapter {
  readonly address: string;
  readonly port: number;
  readonly instance: string;
  readonly relay: CallRelay;
  readonly registrar: RegistrarHandler;
  readonly bindings: BindingStore;
  /** live SIP transactions (none may leak: TELEPHONY-NOTES defect 4) */
  transactionCount(): { client: number; server: number };
  stop(): Promise<void>;
}

export async function startTelephony(o: TelephonyOptions): Promise<TelephonyAdapter> {
  if (!INSTANCE_ID.test(o.instance)) throw new Error(`telephony instance id ${JSON.stringify(o.instance)} must match ${INSTANCE_ID}`);
  const log = o.logger ?? silentLogger;
  // our own SIP address(es): no gateway or registered contact may name them (defect 1, a loop)
  const ownAddresses = [...new Set([`${o.address}:${o.port}`, `${o.contactHost ?? o.address}:${o.port}`])];
  if (o.gateways) assertGatewaysNotOwnAddress(o.gateways, ownAddresses);
  const prefix = o.queuePrefix ?? '{hotline}';
  const onRedisError = (err: unknown): void => log.warn({ event: 'telephony.redis_error', err: String(err) }, 'redis error');
  // maxRetriesPerRequest 1: during a Redis outage commands fail fast (→ 503) instead of piling up
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on('error', onRedisError);
  const workerConn = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  workerConn.on('error', onRedisError);
  const publisher = o.publisher ?? createBullmqPublisher({ redis, prefix, onError: onRedisError });
  const bindings = o.bindings ?? new RedisBindingStore(redis, `${prefix}:${SIP_BINDINGS_PREFIX}`);
  const lookupCredentials: CredentialLookup =
    o.lookupCredentials ??
    (async (username) => {
      const ha1 = await redis.hget(`${prefix}:${SIP_CREDENTIALS_KEY}`, username);
      return ha1 ? { ha1 } : null;
    });

  let healthy = { at: 0, value: false };
  const engineHealthy = async (): Promise<boolean> => {
    if (o.engineHealthy) return o.engineHealthy();
    if (o.requireEngineHeartbeat === false) return true;
    if (Date.now() - healthy.at < 500) return healthy.value;
    const value = (await redis.exists(`${prefix}:${ENGINE_HEARTBEAT_KEY}`)) === 1;
    healthy = { at: Date.now(), value };
    return value;
  };

  let stack: RunningStack | undefined;
  const send = (m: SipMessage, cb?: (rs: SipMessage) => void): void => stack?.send(m, cb);
  // REGISTER gets the same per-source flood limit as the relay's out-of-dialog requests, before
  // any digest or Redis work (the relay's limiter only sees what is not REGISTER)
  const registrar = createRegistrar(
    {
      flood: o.flood,
      ...o.registrar,
      ownAddresses: [...ownAddresses, ...(o.registrar?.ownAddresses ?? [])],
      realm: o.realm,
      lookupCredentials,
      store: bindings,
      logger: log,
    },
    send,
  );
  const relay = new CallRelay(
    {
      ...o,
      contactHost: o.contactHost ?? o.address,
      port: o.port,
      bindings,
      realm: o.realm,
      engineHealthy,
      snapshots: new RedisDialogSnapshots(redis, `${prefix}:telephony:${o.instance}:calls`, onRedisError),
      // a previous run's caller gets its final answer from our own address and port
      sendStateless: (rs, target) => stack?.sendStateless(rs, target),
      logger: log,
    },
    publisher,
    send,
  );
  try {
    stack = await startSipStack(
      {
        address: o.address,
        port: o.port,
        maxMessageSize: o.maxMessageSize ?? 8192,
        inviteCancelTimeout: o.inviteCancelTimeout,
        onOversize: () => {
          relay.stats.oversizeDropped++;
        },
        logger: log,
        name: 'telephony',
      },
      (rq, remote) => {
        if (rq.method === 'REGISTER') void registrar.handle(rq, remote);
        else relay.handle(rq, remote);
      },
    );
  } catch (e) {
    await publisher.close();
    redis.disconnect();
    workerConn.disconnect();
    throw e;
  }
  // calls a crashed previous run of this instance left behind are ended before new work comes in
  await relay.reconcile().catch((err: unknown) => log.error({ event: 'telephony.reconcile_failed', err: String(err) }, 'could not reconcile calls of the previous run'));

  const worker = new Worker(
    commandsQueueName(o.instance),
    async (job: Job) => {
      const schema = COMMAND_SCHEMAS[job.name as CommandName];
      const parsed = schema?.safeParse(job.data);
      if (!schema || !parsed?.success) throw new UnrecoverableError(`malformed telephony command ${job.name}`);
      switch (job.name as CommandName) {
        case 'ring':
          return relay.ring(COMMAND_SCHEMAS.ring.parse(job.data));
        case 'stop-ring':
          return relay.stopRing(COMMAND_SCHEMAS['stop-ring'].parse(job.data));
        case 'transfer':
          return relay.transfer(COMMAND_SCHEMAS.transfer.parse(job.data));
        case 'end':
          return relay.endCall(COMMAND_SCHEMAS.end.parse(job.data));
      }
    },
    { connection: workerConn, prefix, concurrency: o.commandConcurrency ?? 64 },
  );
  worker.on('error', onRedisError);
  worker.on('failed', (job, err) => log.warn({ event: 'telephony.command_failed', name: job?.name, err: String(err) }, 'command failed'));

  log.info({ event: 'telephony.listening', address: o.address, port: o.port, instance: o.instance, realm: o.realm }, 'telephony listening');
  return {
    address: o.address,
    port: o.port,
    instance: o.instance,
    relay,
    registrar,
    bindings,
    transactionCount: () => stack?.transactionCount() ?? { client: 0, server: 0 },
    async stop() {
      // bounded: closing waits for a Redis connection that may never come back
      await Promise.race([worker.close().catch(() => {}), new Promise((r) => setTimeout(r, 1_000).unref())]);
      await relay.shutdown();
      await new Promise((r) => setTimeout(r, 20)); // let the last messages leave the socket
      stack?.destroy();
      stack = undefined;
      if (!o.publisher) await publisher.close();
      redis.disconnect();
      workerConn.disconnect();
    },
  };
}
