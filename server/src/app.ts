/**
 * Composition root: wires config, MongoDB, Redis, BullMQ, HTTP and sockets. Everything else
 * receives what it needs from here, so tests can build a whole app on their own services.
 */
import { createServer, type Server } from 'node:http';
import { Queue, type Worker } from 'bullmq';
import express, { type Express } from 'express';
import mongoose, { type Connection } from 'mongoose';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { authenticate } from './auth/middleware.js';
import { RevocationList } from './auth/revocations.js';
import { authRoutes } from './auth/routes.js';
import { TokenService } from './auth/tokens.js';
import { AcdStore } from './calls/acd-store.js';
import { parseAcdConfig } from './calls/acd-config.js';
import { CallEngine, DEFAULT_GROUP, type CallerCard } from './calls/engine.js';
import { SipCredentials } from './calls/sip-credentials.js';
import {
  COMMAND_JOB_OPTIONS,
  commandsQueueName,
  ENGINE_HEARTBEAT_KEY,
  SIP_REGISTRATIONS_INDEX,
  type TelephonyCommand,
} from './calls/telephony-contract.js';
import { callKpiRoutes } from './calls/kpi-routes.js';
import { CallStore } from './calls/call-store.js';
import { callModel } from './calls/model.js';
import { CallbackDesk, callbackRoutes } from './calls/callbacks.js';
import { callRoutes } from './calls/routes.js';
import { startCallEventWorker } from './calls/worker.js';
import { UserStatus } from './auth/user-status.js';
import type { Env } from './config/env.js';
import { routingRuleModel } from './dispatch/model.js';
import { routingRoutes } from './dispatch/routes.js';
import { directoryModels } from './directory/model.js';
import { parseOfficeHours } from './deadlines/calendar.js';
import { deadlineRoutes } from './deadlines/routes.js';
import { DeadlineStore, deadlineModels, utcOffsetOf } from './deadlines/store.js';
import { DeadlineTimers } from './deadlines/timers.js';
import { directoryRoutes } from './directory/routes.js';
import { DirectoryService } from './directory/service.js';
import { errorHandler, notFoundHandler } from './http/onerror.js';
import { newRegistry, openApiDocument } from './http/openapi.js';
import { ApiRouter } from './http/router.js';
import { articleModel } from './knowledge/model.js';
import { knowledgeRoutes } from './knowledge/routes.js';
import { Notifications } from './notify/notifications.js';
import { FileSender, HttpSmsSender } from './notify/sender.js';
import { DefaultRatings } from './ratings/default-rating.js';
import { ratingLinkPage } from './ratings/link-page.js';
import { ratingModels } from './ratings/model.js';
import { ratingRoutes } from './ratings/routes.js';
import { RatingService } from './ratings/service.js';
import { RatingTokens } from './ratings/tokens.js';
import { parseRegulatorWebhooks } from './regulator/config.js';
import { deliveryModel } from './regulator/model.js';
import { RegulatorPush } from './regulator/push.js';
import { regulatorRoutes } from './regulator/routes.js';
import { redisConnection } from './queues/connection.js';
import { QUEUES } from './queues/names.js';
import { OutboxPublisher, type TicketEventJob } from './queues/outbox.js';
import { JOB_DEFAULTS, startTicketEventWorker, toMessage, type TicketEventHandler } from './queues/ticket-events.js';
import { createGateway, endSession, ticketRooms, type Io } from './realtime/gateway.js';
import { createLogger } from './shared/logger.js';
import { maskDeep } from './shared/phone.js';
import { KpiRollup } from './stats/kpi-rollup.js';
import { statsRoutes } from './stats/routes.js';
import { exportRoutes } from './exports/routes.js';
import { DuplicateIndex } from './duplicates/index.js';
import { duplicateRoutes } from './duplicates/routes.js';
import { ticketModels, type TicketDoc } from './tickets/model.js';
import { ticketRoutes } from './tickets/routes.js';
import { TicketService } from './tickets/service.js';
import { TicketNumberer } from './tickets/numbering.js';
import { DiskAttachmentStore, GridFsAttachmentStore, type AttachmentStore } from './intake/attachments.js';
import { allowEveryone, type VerifyHuman } from './intake/human.js';
import { PublicLimits } from './intake/limits.js';
import { parsePartners } from './intake/partners.js';
import { publicRoutes } from './intake/public-routes.js';
import { attachmentRoutes } from './intake/attachment-routes.js';
import { registerWebhookDoc, WEBHOOK_MOUNT, webhookRouter } from './intake/webhook.js';
import { OPEN311_MOUNT, open311Router, registerOpen311Doc } from './open311/routes.js';

/** Repository root, from server/src (tsx) or dist/server/src (built). */
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = [resolve(HERE, '../..'), resolve(HERE, '../../..')].find((d) => existsSync(resolve(d, 'package.json'))) ?? process.cwd();

/**
 * Journal entries younger than this may belong to a request still in flight (here or on another
 * instance); the sweeper leaves them to their writer.
 */
const SWEEP_GRACE_MS = 3000;

export interface AppOptions {
  logger?: Logger;
  clock?: () => Date;
  /** Extra side-effect handlers (tests, later modules). */
  handlers?: TicketEventHandler[];
  /** The public API's CAPTCHA hook (intake/human.ts); default: everyone passes. */
  verifyHuman?: VerifyHuman;
  /** Where citizens' attachments are kept; default: files under DATA_DIR/attachments. */
  attachmentStore?: AttachmentStore;
}

export interface App {
  env: Env;
  log: Logger;
  express: Express;
  http: Server;
  io: Io;
  mongo: Connection;
  redis: Redis;
  queue: Queue<TicketEventJob>;
  worker: Worker<TicketEventJob> | null;
  /** the call-event worker (null unless RUN_WORKERS) */
  callWorker: Worker | null;
  calls: CallEngine;
  tickets: TicketService;
  outbox: OutboxPublisher;
  timers: DeadlineTimers;
  store: DeadlineStore;
  /** the daily KPI roll-ups (null with KPI_ROLLUPS=false) */
  kpis: KpiRollup | null;
  models: ReturnType<typeof ticketModels> & ReturnType<typeof directoryModels>;
  listen(port?: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export async function createApp(env: Env, opts: AppOptions = {}): Promise<App> {
  const log = opts.logger ?? createLogger(env.LOG_LEVEL);
  const clock = opts.clock ?? (() => new Date());

  const mongo = mongoose.createConnection(env.MONGODB_URL, { serverSelectionTimeoutMS: 10_000 });
  await mongo.asPromise();
  const dir = directoryModels(mongo);
  const tm = ticketModels(mongo);
  const Rule = routingRuleModel(mongo);
  const Article = articleModel(mongo);
  const dm = deadlineModels(mongo);
  const Call = callModel(mongo);
  const rm = ratingModels(mongo);
  const Delivery = deliveryModel(mongo);
  await Promise.all([dir.Department, dir.User, tm.Ticket, tm.Idempotency, tm.Journal, Rule, Article, dm.Override, dm.Policy, Call, rm.RatingToken, rm.RatingClaim, Delivery].map((m) => m.init()));
  const store = new DeadlineStore(dm, dir, { utcOffsetMinutes: utcOffsetOf(env.TIME_ZONE), officeHours: parseOfficeHours(env.OFFICE_HOURS) });
  await store.start();

  const redis = redisConnection(env.REDIS_URL, 'client');
  const workerConn = redisConnection(env.REDIS_URL, 'worker');
  const pub = redisConnection(env.REDIS_URL, 'client');
  const sub = pub.duplicate();

  const queue = new Queue<TicketEventJob>(QUEUES.ticketEvents, { connection: redis, prefix: env.QUEUE_PREFIX, defaultJobOptions: JOB_DEFAULTS });
  const outbox = new OutboxPublisher(tm.Journal, queue, log);
  const numberer = new TicketNumberer(redis, env.QUEUE_PREFIX, tm.Ticket, env.TICKET_NUMBER_PREFIX, env.TIME_ZONE);
  const buildInfo = await mongo.db!.admin().command({ buildInfo: 1 });
  const ferretdb = 'ferretdbVersion' in buildInfo;
  // call records: live in Redis, written behind to MongoDB (on FerretDB only finished calls: call-store.ts)
  const records = new CallStore({ redis, prefix: env.QUEUE_PREFIX, Call, log, flushDelayMs: env.CDR_FLUSH_DELAY_MS, flushLive: !ferretdb });
  // daily KPI roll-ups (issue #6 item 5): kept by the ticket-events worker, read by the KPI routes
  const kpiRollup = env.KPI_ROLLUPS ? new KpiRollup({ db: mongo.db!, redis, prefix: env.QUEUE_PREFIX, Ticket: tm.Ticket, log, clock, utcOffsetMinutes: utcOffsetOf(env.TIME_ZONE) }) : null;
  const tickets = new TicketService({
    models: tm,
    directory: dir,
    outbox,
    numberer,
    clock,
    context: () => store.context(),
    idOnlyFilters: ferretdb,
    callLookup: (callId) => records.get(callId).then((c) => (c ? { fromGateway: c.fromGateway ?? null, gatewayReference: c.gatewayReference ?? null } : null)),
  });
  // Citizen notifications, rating links and 审管 push (issue #6 items 3, 4, 7): side effects of ticket events.
  const ratingTokens = new RatingTokens(rm, env.RATING_LINK_TTL_HOURS * 3600_000);
  const notifications = new Notifications({
    connection: redis,
    workerConnection: workerConn,
    prefix: env.QUEUE_PREFIX,
    sender: env.SMS_GATEWAY_URL
      ? new HttpSmsSender(env.SMS_GATEWAY_URL, { timeoutMs: env.SMS_TIMEOUT_MS, token: env.SMS_GATEWAY_TOKEN })
      : new FileSender(resolve(env.DATA_DIR, 'notifications.jsonl')),
    tokens: ratingTokens,
    Department: dir.Department,
    log,
    clock,
    attempts: env.NOTIFY_ATTEMPTS,
    backoffMs: env.NOTIFY_BACKOFF_MS,
    linkBase: env.RATING_LINK_BASE,
    linkTtlHours: env.RATING_LINK_TTL_HOURS,
    duplicatesOf: async (masterId) =>
      (await tm.Ticket.find({ mergedInto: masterId }, { number: 1, caller: 1 }).lean<Pick<TicketDoc, '_id' | 'number' | 'caller'>[]>()).map((d) => ({ id: String(d._id), number: d.number, phone: d.caller?.phone ?? null })),
  });
  // 好差评 default after the rating window (HOTLINE-RULES; DEFAULT_RATING, default none: off)
  const defaultRatings =
    env.DEFAULT_RATING === 'none'
      ? null
      : new DefaultRatings({ connection: redis, Ticket: tm.Ticket, workerConnection: workerConn, prefix: env.QUEUE_PREFIX, tickets, level: env.DEFAULT_RATING, afterMs: env.DEFAULT_RATING_AFTER_HOURS * 3600_000, log });
  const regulatorPush = new RegulatorPush({
    connection: redis,
    workerConnection: workerConn,
    prefix: env.QUEUE_PREFIX,
    webhooks: parseRegulatorWebhooks(env.REGULATOR_WEBHOOKS),
    Delivery,
    log,
    clock,
    attempts: env.REGULATOR_PUSH_ATTEMPTS,
    backoffMs: env.REGULATOR_PUSH_BACKOFF_MS,
    timeoutMs: env.REGULATOR_PUSH_TIMEOUT_MS,
  });
  const timers = new DeadlineTimers({ redis, workerConnection: workerConn, prefix: env.QUEUE_PREFIX, Ticket: tm.Ticket, User: dir.User, tickets, store, log, clock });
  outbox.setRepairer((j) => tickets.repair(j));
  // logout revokes a token until it would have expired (deny-list in Redis, shared by instances)
  const tokens = new TokenService(env.JWT_SECRET, env.JWT_TTL_SECONDS, new RevocationList(redis, env.QUEUE_PREFIX));
  // one command queue per telephony instance (the one holding the call's dialog state)
  const commandQueues = new Map<string, Queue<TelephonyCommand>>();
  const commands = (instance: string): Queue<TelephonyCommand> => {
    let q = commandQueues.get(instance);
    if (!q) {
      q = new Queue<TelephonyCommand>(commandsQueueName(instance), { connection: redis, prefix: env.QUEUE_PREFIX, defaultJobOptions: COMMAND_JOB_OPTIONS });
      commandQueues.set(instance, q);
    }
    return q;
  };
  const acdConfig = parseAcdConfig(env.ACD_GROUPS, DEFAULT_GROUP, env.ACD_MAX_WAIT_SECONDS);
  const sipCredentials = new SipCredentials(dir.User, redis, env.QUEUE_PREFIX, env.SIP_REALM);
  let ioRef: Io | null = null;
  /** call events to consoles (`call.event`), once the socket server exists */
  const callNotify = (rooms: string[], event: string, payload: Record<string, unknown>): void =>
    void ioRef?.to(rooms).emit('call.event', { type: event, at: new Date().toISOString(), data: payload });
  const calls = new CallEngine({
    records,
    acd: new AcdStore(redis, `${env.QUEUE_PREFIX}:acd`),
    commands,
    log,
    clock,
    ringTimeoutMs: env.RING_TIMEOUT_MS,
    wrapUp: env.ACD_WRAP_UP,
    presenceGraceMs: env.ACD_PRESENCE_GRACE_MS,
    staleCallMs: env.CALL_STALE_MS,
    elderly: new Set(env.ELDERLY_NUMBERS.split(',').map((n) => n.trim()).filter(Boolean)),
    transferTargets: env.TRANSFER_TARGETS.split(',').map((kv) => {
      const i = kv.indexOf(':');
      return { key: kv.slice(0, i), name: kv.slice(i + 1) };
    }),
    strategy: acdConfig.strategy,
    routeOf: acdConfig.routeOf,
    overflow: acdConfig.hasOverflow ? acdConfig.policyOf : undefined,
    sipUserOf: async (agentId) => agentId, // user ids are usernames, which are the SIP users
    history: async (phone): Promise<CallerCard['earlierTickets']> => {
      const docs = await tm.Ticket.find({ 'caller.phone': phone }, { number: 1, state: 1, category: 1, createdAt: 1, content: 1 }).sort({ createdAt: -1 }).limit(10).lean();
      return docs.map((d) => ({ id: String(d._id), number: d.number, state: d.state, category: d.category, createdAt: new Date(d.createdAt).toISOString(), summary: d.content.slice(0, 80) }));
    },
    notify: callNotify,
    presence: env.ACD_PRESENCE_CHECK
      ? async (agentId) => {
          const score = await redis.zscore(`${env.QUEUE_PREFIX}:${SIP_REGISTRATIONS_INDEX}`, `sip:${agentId}@${env.SIP_REALM}`);
          const phone = score !== null && Number(score) > Date.now();
          const sockets = ioRef ? await ioRef.in(`agent:${agentId}`).fetchSockets().catch(() => [1]) : [1];
          return { phone, console: sockets.length > 0 };
        }
      : undefined,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('query parser', 'simple'); // no nested objects from query strings: `?a[$gt]=` stays a plain key
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      // URLs carry query strings (?phone=…): mask phone numbers in the serialized request too.
      serializers: { req: (req: unknown) => maskDeep(req) },
    }),
  );
  // Online intake that reads its own body: the partner webhook (signature over the raw bytes)
  // and Open311 (form-encoded, errors in the spec's format). Before the JSON parser.
  const publicLimits = new PublicLimits(redis, env.QUEUE_PREFIX, {
    filingsPerIpPerHour: env.PUBLIC_FILINGS_PER_IP,
    filingsPerPhonePerDay: env.PUBLIC_FILINGS_PER_PHONE,
    lookupsPerIpPerHour: env.PUBLIC_LOOKUPS_PER_IP,
  });
  app.use(WEBHOOK_MOUNT, webhookRouter({ tickets, partners: parsePartners(env.WEBHOOK_PARTNERS), clock, bodyLimit: env.BODY_LIMIT }));
  app.use(
    OPEN311_MOUNT,
    open311Router({
      tickets,
      Ticket: tm.Ticket,
      Department: dir.Department,
      limits: publicLimits,
      apiKeys: env.OPEN311_API_KEYS.split(',').filter(Boolean),
      clock,
      bodyLimit: env.BODY_LIMIT,
      log,
    }),
  );
  app.use(express.json({ limit: env.BODY_LIMIT, strict: true }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.allSettled([mongo.db!.admin().ping(), redis.ping()]);
    const [m, r] = checks.map((c) => c.status === 'fulfilled');
    res.status(m && r ? 200 : 503).json({ status: m && r ? 'ready' : 'unavailable', mongodb: m ? 'ok' : 'down', redis: r ? 'ok' : 'down' });
  });

  const registry = newRegistry();
  const userStatus = new UserStatus(dir.User);
  const api = new ApiRouter(registry, authenticate(tokens, userStatus));
  authRoutes(api, dir, tokens, {
    redis: { client: redis, prefix: env.QUEUE_PREFIX },
    cookieSecure: env.COOKIE_SECURE,
    onRevoked: (tokenId) => {
      if (ioRef) endSession(ioRef, tokenId);
    },
  });
  directoryRoutes(api, new DirectoryService(dir, userStatus, () => store.refresh()));
  ticketRoutes(api, tickets);
  const attachmentStore =
    opts.attachmentStore ?? (env.ATTACHMENT_STORE === 'gridfs' ? new GridFsAttachmentStore(mongo.db!) : new DiskAttachmentStore(resolve(env.DATA_DIR, 'attachments')));
  publicRoutes(api, {
    tickets,
    Ticket: tm.Ticket,
    Department: dir.Department,
    limits: publicLimits,
    verifyHuman: opts.verifyHuman ?? allowEveryone,
    store: attachmentStore,
    attachmentLimits: { maxBytes: env.ATTACHMENT_MAX_BYTES, maxFiles: env.ATTACHMENT_MAX_FILES },
    clock,
  });
  attachmentRoutes(api, tickets, attachmentStore);
  registerWebhookDoc(registry);
  registerOpen311Doc(registry);
  routingRoutes(api, Rule, dir);
  knowledgeRoutes(api, Article);
  deadlineRoutes(api, { store, tickets, clock });
  callRoutes(api, { engine: calls, User: dir.User, sipCredentials, ticketCallIds: async (id, actor) => (await tickets.get(id, actor)).callIds });
  callKpiRoutes(api, { Call, utcOffsetMinutes: utcOffsetOf(env.TIME_ZONE), clock });
  const callbackDesk = new CallbackDesk({
    acd: calls.acd,
    db: mongo.db!,
    clock,
    ticketVisible: async (id, actor) => void (await tickets.get(id, actor)),
    groupOf: (line) => acdConfig.routeOf(line).group,
    notify: callNotify,
  });
  await callbackDesk.ensureIndexes();
  callbackRoutes(api, callbackDesk);
  const duplicates = new DuplicateIndex(redis, env.QUEUE_PREFIX, tm.Ticket);
  duplicateRoutes(api, { tickets, index: duplicates });
  exportRoutes(api, { tickets, Ticket: tm.Ticket, rollup: kpiRollup, Department: dir.Department, utcOffsetMinutes: utcOffsetOf(env.TIME_ZONE), clock });
  ratingRoutes(api, { ratings: new RatingService({ tokens: ratingTokens, tickets, clock }), ivrApiKey: env.IVR_API_KEY, limits: publicLimits });
  regulatorRoutes(api, { Delivery, resend: (id, by) => regulatorPush.resend(id, by) });
  statsRoutes(api, { Ticket: tm.Ticket, rollup: kpiRollup, User: dir.User, listAgents: () => calls.acd.listAgents(), utcOffsetMinutes: utcOffsetOf(env.TIME_ZONE), clock });
  const doc = openApiDocument(registry);
  app.get('/api/openapi.json', (_req, res) => {
    res.json(doc);
  });
  app.use('/api/docs', swaggerUi.serve, swaggerUi.setup(doc));
  app.use('/api', api.router);
  // the SMS rating link (RATING_LINK_BASE/<token>): public 302 to the console's /#/rate/<token>
  ratingLinkPage(app);
  // The console's built assets (agent-console/dist after issue #5), else its placeholder page.
  // The console's production build (`npm run build:console`; npm start and the Docker image
  // build it). Never the source folder: its index.html is Vite's entry and its sources are not
  // for the public. Without a build, `/` says how to make one.
  const consoleDir = resolve(ROOT, 'agent-console/dist');
  if (existsSync(resolve(consoleDir, 'index.html'))) app.use(express.static(consoleDir, { index: 'index.html', dotfiles: 'deny' }));
  else
    app.get('/', (_req, res) => {
      res
        .status(503)
        .type('html')
        .send('<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>12345</title><p>坐席工作台尚未构建：请运行 <code>npm run build:console</code>（或 <code>npm start</code>）。</p><p lang="en">The console is not built: run <code>npm run build:console</code> (or <code>npm start</code>).</p><p><a href="/api/docs">API</a></p></html>');
    });
  app.use(notFoundHandler);
  app.use(errorHandler(log));

  const http = createServer(app);
  const io = createGateway(http, tokens, userStatus, { pub, sub, key: `${env.QUEUE_PREFIX}:socket.io` }, { sessionCheckMs: env.SESSION_CHECK_MS });
  ioRef = io;

  const notify: TicketEventHandler = async (job, ticket) => {
    const msg = toMessage(job, ticket);
    io.to(ticketRooms(msg)).emit('ticket.event', msg);
  };
  // A ticket filed from a call: the call record lists it (at least once, $addToSet is idempotent).
  const linkCalls: TicketEventHandler = async (job, ticket) => {
    if (job.type !== 'ticket.created' || !ticket || ticket.callIds.length === 0) return;
    for (const callId of ticket.callIds) await calls.linkTicket(callId, String(ticket._id));
  };
  // A new ticket joins the duplicate index of its address (idempotent).
  const indexDuplicates: TicketEventHandler = async (job, ticket) => {
    if (job.type === 'ticket.created' && ticket) await duplicates.add(ticket);
  };
  // Every transition re-plans the ticket's deadline timers (idempotent by job id).
  const syncTimers: TicketEventHandler = async (_job, ticket) => {
    if (ticket) await timers.sync(ticket);
  };
  const worker = env.RUN_WORKERS
    ? startTicketEventWorker({
        queue,
        connection: workerConn,
        prefix: env.QUEUE_PREFIX,
        Ticket: tm.Ticket,
        handlers: [
          syncTimers,
          // every event marks the ticket for the KPI roll-ups' drain (stats/kpi-rollup.ts)
          ...(kpiRollup ? [kpiRollup.handler] : []),
          notify,
          linkCalls,
          indexDuplicates,
          notifications.handler,
          regulatorPush.handler,
          ...(defaultRatings ? [defaultRatings.handler] : []),
          ...(opts.handlers ?? []),
        ],
        log,
        lockMs: env.WORKER_LOCK_MS,
      })
    : null;
  if (env.RUN_WORKERS) {
    notifications.start({ lockMs: env.WORKER_LOCK_MS });
    regulatorPush.start({ lockMs: env.WORKER_LOCK_MS });
    defaultRatings?.start({ lockMs: env.WORKER_LOCK_MS });
  }
  const callWorker = env.RUN_WORKERS ? startCallEventWorker({ engine: calls, connection: workerConn, prefix: env.QUEUE_PREFIX, log, lockMs: env.WORKER_LOCK_MS, concurrency: env.CALL_EVENT_CONCURRENCY }) : null;

  let sweeper: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  let acdTicker: NodeJS.Timeout | null = null;
  let staleSweeper: NodeJS.Timeout | null = null;
  let callbackWatch: NodeJS.Timeout | null = null;
  let sipSync: NodeJS.Timeout | null = null;
  const sweep = async (): Promise<void> => {
    try {
      const n = await outbox.sweep(SWEEP_GRACE_MS);
      if (n > 0) log.info({ published: n }, 'outbox sweep published pending side effects');
    } catch (err) {
      log.warn({ err }, 'outbox sweep failed');
    }
  };

  return {
    env,
    log,
    express: app,
    http,
    io,
    mongo,
    redis,
    queue,
    worker,
    callWorker,
    calls,
    tickets,
    outbox,
    timers,
    store,
    kpis: kpiRollup,
    models: { ...tm, ...dir },
    async listen(port = env.PORT, host = env.HOST) {
      // Start-up pass: side effects a crashed process wrote but never published go out now.
      await outbox.sweep(SWEEP_GRACE_MS);
      sweeper = setInterval(() => void sweep(), env.OUTBOX_SWEEP_MS);
      sweeper.unref();
      await sipCredentials.sync();
      // the ACD's idle index, for agent records written before it existed (cheap, idempotent)
      await calls.acd.reindexAll();
      // Redis lost its data: the callback list comes back from the call records, the default-rating
      // jobs from the tickets in the return visit (each checks its marker key first: cheap)
      const redisLossCheck = async (): Promise<void> => {
        const n = await callbackDesk.restoreAfterRedisLoss();
        if (n > 0) log.warn({ restored: n }, 'callback tasks rebuilt from the call records (Redis had lost them)');
        const d = (await defaultRatings?.reconcile()) ?? 0;
        if (d > 0) log.warn({ scheduled: d }, 'default-rating jobs rebuilt from the tickets in the return visit (Redis had lost them)');
      };
      await redisLossCheck();
      if (env.RUN_WORKERS) {
        // telephony answers 503 unless this heartbeat is fresh: no engine, no ringing forever
        const beat = (): void => void redis.set(`${env.QUEUE_PREFIX}:${ENGINE_HEARTBEAT_KEY}`, String(Date.now()), 'PX', 3 * env.ENGINE_HEARTBEAT_MS).catch(() => {});
        beat();
        heartbeat = setInterval(beat, env.ENGINE_HEARTBEAT_MS);
        heartbeat.unref();
        acdTicker = setInterval(() => void calls.tick().catch((err: unknown) => log.warn({ err }, 'ACD sweep failed')), env.ACD_TICK_MS);
        // a deactivated user's phone stops registering, a new agent's starts, within a minute
        sipSync = setInterval(() => void sipCredentials.sync().catch((err: unknown) => log.warn({ err }, 'SIP credential sync failed')), 60_000);
        sipSync.unref();
        acdTicker.unref();
        staleSweeper = setInterval(() => void calls.sweepStale().catch((err: unknown) => log.warn({ err }, 'stale call sweep failed')), 10 * 60_000);
        staleSweeper.unref();
        // ...and while this process runs, within a minute
        callbackWatch = setInterval(() => void redisLossCheck().catch((err: unknown) => log.warn({ err }, 'Redis loss check failed')), 60_000);
        callbackWatch.unref();
        records.start();
        // roll-ups of this definition version never completed (first start, new version): rebuilt in the background
        await kpiRollup?.start();
        // Start-up reconciliation: timers lost with Redis (or never set) are rebuilt from MongoDB.
        await timers.reconcile();
        timers.start({ reconcileMs: env.DEADLINE_RECONCILE_MS, lockMs: env.WORKER_LOCK_MS, concurrency: env.TIMER_CONCURRENCY });
      }
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => resolve());
      });
      const addr = http.address();
      return typeof addr === 'object' && addr ? addr.port : port;
    },
    async close() {
      if (sweeper) clearInterval(sweeper);
      if (heartbeat) clearInterval(heartbeat);
      if (acdTicker) clearInterval(acdTicker);
      if (staleSweeper) clearInterval(staleSweeper);
      if (callbackWatch) clearInterval(callbackWatch);
      if (sipSync) clearInterval(sipSync);
      await new Promise<void>((resolve) => {
        io.close(() => resolve());
      });
      if (http.listening) await new Promise<void>((resolve) => http.close(() => resolve()));
      await worker?.close();
      await callWorker?.close();
      await kpiRollup?.close();
      calls.close(); // no call events any more: drop a coalesced acd.changed still waiting
      await Promise.all([notifications.close(), regulatorPush.close(), defaultRatings?.close()]);
      await records.stop();
      await timers.close();
      store.stop();
      await queue.close();
      await Promise.all([...commandQueues.values()].map((q) => q.close()));
      await Promise.allSettled([redis.quit(), workerConn.quit(), pub.quit(), sub.quit()]);
      await mongo.close();
    },
  };
}
