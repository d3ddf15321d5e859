/**
 * Open311 GeoReport v2 (issue #6 item 2) at /open311/v2: services, service definitions, post a
 * request (form-encoded, as the spec says), list and get requests — in JSON or XML by the
 * resource's extension, errors in the spec's format. Mapped onto our categories and states
 * (mapping.ts); a posted request becomes a ticket through the same intake as every channel and
 * is answered only once stored. Confidential (保密) tickets are never listed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { Router, type ErrorRequestHandler, type Request } from 'express';
import type { Model } from 'mongoose';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { DepartmentDoc } from '../directory/model.js';
import { AppError } from '../errors.js';
import { channelActor, fileMatter } from '../intake/file.js';
import type { PublicLimits } from '../intake/limits.js';
import { citizenPhone, ticketNumber } from '../intake/schema.js';
import type { TicketDoc } from '../tickets/model.js';
import type { TicketService } from '../tickets/service.js';
import { CATEGORIES } from '../tickets/vocabulary.js';
import { FORMATS, sendErrors, sendList, sendObject, type Format } from './format.js';
import { CLOSED_STATES, isCategory, OPEN311_STATUSES, service, serviceRequest } from './mapping.js';

export const OPEN311_MOUNT = '/open311/v2';
/** Requests listed at most, and the default window (the spec's defaults). */
const MAX_LIST = 1000;
const DEFAULT_WINDOW_DAYS = 90;

export interface Open311Deps {
  tickets: TicketService;
  Ticket: Model<TicketDoc>;
  Department: Model<DepartmentDoc>;
  limits: PublicLimits;
  /** Accepted api_keys; empty: none needed. */
  apiKeys: string[];
  clock: () => Date;
  bodyLimit: string;
  log: Logger;
}

const formatParam = z.enum(FORMATS);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/, 'must be ISO 8601 with a time zone, e.g. 2026-01-05T08:00:00+08:00');
const csvOf = <T extends z.ZodType<string, string>>(item: T, max: number) =>
  z
    .string()
    .max(4000)
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).min(1).max(max));

const listQuery = z.object({
  jurisdiction_id: z.string().max(100).optional(),
  service_request_id: csvOf(ticketNumber, 100).optional(),
  service_code: csvOf(z.enum(CATEGORIES), CATEGORIES.length).optional(),
  start_date: isoDate.optional(),
  end_date: isoDate.optional(),
  status: csvOf(z.enum(OPEN311_STATUSES), 2).optional(),
});

const area = z.string().trim().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be an area code such as wenfeng');
/** POST /requests fields (the spec's names; phone and description are required by the hotline's intake rules). */
const postBody = z.object({
  api_key: z.string().max(128).optional(),
  jurisdiction_id: z.string().max(100).optional(),
  service_code: z.string().min(1).max(64),
  lat: z.coerce.number().min(-90).max(90).optional(),
  long: z.coerce.number().min(-180).max(180).optional(),
  address_string: z.string().trim().min(2).max(500).optional(),
  address_id: z.string().trim().min(1).max(100).optional(),
  email: z.string().trim().max(200).optional(),
  device_id: z.string().trim().max(200).optional(),
  account_id: z.string().trim().max(200).optional(),
  first_name: z.string().trim().min(1).max(25).optional(),
  last_name: z.string().trim().min(1).max(25).optional(),
  phone: citizenPhone,
  description: z.string().trim().min(5).max(4000),
  media_url: z.url({ protocol: /^https?$/ }).max(1000).optional(),
  'attribute[district]': area.optional(),
  'attribute[street]': area.optional(),
});

const ATTRIBUTES = [
  { variable: true, code: 'district', datatype: 'string', required: false, datatype_description: '区县代码 district code, e.g. wenfeng', order: 1, description: '区县 District' },
  { variable: true, code: 'street', datatype: 'string', required: false, datatype_description: '街道代码 street code, e.g. nanguan', order: 2, description: '街道 Street' },
];

/** zod issues as Open311 errors: "<field>: <message>". */
function check<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new AppError(
    'VALIDATION_FAILED',
    'invalid request',
    r.error.issues.map((i) => ({ description: `${i.path.map(String).join('.') || 'request'}: ${i.message}` })),
  );
}

const formatOf = (req: Request): Format => {
  const p = (req.params as Record<string, string | undefined>).format;
  if (p === 'xml' || p === 'json') return p;
  return /\.xml(\?|$)/.test(req.originalUrl) ? 'xml' : 'json';
};

function formatFrom(req: Request): Format {
  const r = formatParam.safeParse((req.params as Record<string, unknown>).format);
  if (!r.success) throw new AppError('NOT_FOUND', 'unknown format: use .json or .xml');
  return r.data;
}

const sameKey = (a: string, b: string): boolean => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

export function open311Router(d: Open311Deps): Router {
  const router = Router();
  const agencies = async (): Promise<Map<string, string>> => new Map((await d.Department.find({}, { name: 1 }).lean()).map((x) => [String(x._id), x.name]));

  router.get('/services.:format', (req, res) => {
    sendList(res, formatFrom(req), 200, 'services', 'service', CATEGORIES.map((c) => ({ ...service(c), metadata: true })));
  });

  router.get('/services/:code.:format', (req, res) => {
    const format = formatFrom(req);
    const code = req.params.code;
    if (!isCategory(code)) throw new AppError('NOT_FOUND', `service_code ${code.slice(0, 64)} not found`);
    sendObject(res, format, 'service_definition', { service_code: code, attributes: format === 'xml' ? { attribute: ATTRIBUTES } : ATTRIBUTES });
  });

  router.post('/requests.:format', express.urlencoded({ extended: false, limit: d.bodyLimit, parameterLimit: 50 }), async (req, res) => {
    const format = formatFrom(req);
    const body = check(postBody, req.body ?? {});
    if (d.apiKeys.length > 0 && !(body.api_key && d.apiKeys.some((k) => sameKey(k, body.api_key!)))) {
      throw new AppError('FORBIDDEN', 'api_key missing or invalid');
    }
    if (!isCategory(body.service_code)) throw new AppError('NOT_FOUND', `service_code ${body.service_code.slice(0, 64)} not found`);
    const hasLatLong = body.lat !== undefined && body.long !== undefined;
    if (!hasLatLong && !body.address_string && !body.address_id) {
      throw new AppError('VALIDATION_FAILED', 'invalid request', [{ description: 'location required: lat and long, address_string or address_id' }]);
    }
    await d.limits.consume(res, [
      ['filings_per_ip', req.ip ?? 'unknown'],
      ['filings_per_phone', body.phone],
    ]);
    const name = [body.last_name, body.first_name].filter(Boolean).join('') || undefined;
    const address = body.address_string ?? (hasLatLong ? `坐标 ${body.lat},${body.long}` : `地址编号 ${body.address_id}`);
    const content = body.media_url ? `${body.description}\n附件链接 media_url: ${body.media_url}` : body.description;
    const { ticket } = await fileMatter(
      d.tickets,
      {
        channel: 'web',
        category: body.service_code,
        content,
        address,
        districtId: body['attribute[district]'],
        streetId: body['attribute[street]'],
        phone: body.phone,
        name,
        anonymous: name === undefined,
        confidential: false,
        enterprise: false,
      },
      channelActor('web', 'open311'),
    );
    sendList(res, format, 201, 'service_requests', 'request', [
      { service_request_id: ticket.number, service_notice: '您的诉求已受理，请凭编号和手机号查询进度 / received: look it up with this number and your phone', account_id: null },
    ]);
  });

  router.get('/requests.:format', async (req, res) => {
    const format = formatFrom(req);
    const q = check(listQuery, req.query);
    const filter: Record<string, unknown> = { confidential: false };
    if (q.service_request_id) {
      filter.number = { $in: q.service_request_id }; // the spec: other parameters are then ignored
    } else {
      const end = q.end_date ? new Date(q.end_date) : d.clock();
      const start = q.start_date ? new Date(q.start_date) : new Date(end.getTime() - DEFAULT_WINDOW_DAYS * 86_400_000);
      if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw new AppError('VALIDATION_FAILED', 'invalid request', [{ description: 'start_date/end_date: not a date' }]);
      if (start > end) throw new AppError('VALIDATION_FAILED', 'invalid request', [{ description: 'start_date: after end_date' }]);
      filter.createdAt = { $gte: start, $lte: end };
      if (q.service_code) filter.category = { $in: q.service_code };
      if (q.status?.length === 1) filter.state = q.status[0] === 'closed' ? { $in: CLOSED_STATES } : { $nin: CLOSED_STATES };
    }
    const docs = await d.Ticket.find(filter, { timeline: 0 }).sort({ createdAt: -1 }).limit(MAX_LIST).lean<TicketDoc[]>();
    const names = await agencies();
    sendList(res, format, 200, 'service_requests', 'request', docs.map((doc) => serviceRequest(doc, doc.leadDepartmentId ? (names.get(doc.leadDepartmentId) ?? null) : null)));
  });

  router.get('/requests/:id.:format', async (req, res) => {
    const format = formatFrom(req);
    const id = ticketNumber.safeParse(req.params.id);
    if (!id.success) throw new AppError('NOT_FOUND', 'service_request_id not found');
    const doc = await d.Ticket.findOne({ number: id.data }, { timeline: 0 }).lean<TicketDoc>();
    if (!doc || doc.confidential) throw new AppError('NOT_FOUND', 'service_request_id not found');
    const names = await agencies();
    sendList(res, format, 200, 'service_requests', 'request', [serviceRequest(doc, doc.leadDepartmentId ? (names.get(doc.leadDepartmentId) ?? null) : null)]);
  });

  router.use((req, _res, next) => next(new AppError('NOT_FOUND', 'no such Open311 resource')));

  // Errors in the spec's format and the request's format.
  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    let status = 500;
    let errors: { description: string }[] = [{ description: 'internal error' }];
    if (err instanceof AppError) {
      status = err.status;
      errors = Array.isArray(err.details) && err.details.every((x) => typeof (x as { description?: unknown }).description === 'string') ? (err.details as { description: string }[]) : [{ description: err.message }];
    } else if (err instanceof URIError || (err as { message?: string } | null)?.message?.startsWith('Failed to decode param')) {
      status = 400;
      errors = [{ description: 'malformed percent-encoding in the URL' }];
    } else if (typeof (err as { status?: unknown } | null)?.status === 'number' && (err as { status: number }).status < 500) {
      status = (err as { status: number }).status;
      errors = [{ description: status === 413 ? 'request body too large' : 'request body could not be read' }];
    } else {
      ((req as { log?: Logger }).log ?? d.log).error({ err }, 'unhandled Open311 error');
    }
    if (res.headersSent) return;
    if (status === 429) errors = [{ description: (err as Error).message }];
    sendErrors(res, formatOf(req), status, errors);
  };
  router.use(onError);
  return router;
}

/** OpenAPI entries (documentation of the Open311 surface; errors follow the spec, not `{error}`). */
export function registerOpen311Doc(registry: OpenAPIRegistry): void {
  const format = z.object({ format: formatParam });
  const ok = { 200: { description: 'OK (JSON array or XML by the extension)' }, 400: { description: 'Open311 errors: [{code, description}] / <errors><error>' }, 404: { description: 'Not found (Open311 errors)' } };
  const tags = ['open311'];
  registry.registerPath({ method: 'get', path: `${OPEN311_MOUNT}/services.{format}`, tags, summary: 'Open311 GeoReport v2: the service list (our categories)', request: { params: format }, responses: ok });
  registry.registerPath({
    method: 'get',
    path: `${OPEN311_MOUNT}/services/{code}.{format}`,
    tags,
    summary: 'Open311: a service definition (attributes: district, street)',
    request: { params: format.extend({ code: z.enum(CATEGORIES) }) },
    responses: ok,
  });
  registry.registerPath({
    method: 'post',
    path: `${OPEN311_MOUNT}/requests.{format}`,
    tags,
    summary: 'Open311: post a service request (application/x-www-form-urlencoded, the spec’s field names; api_key when OPEN311_API_KEYS is set). 201 only once the ticket is stored',
    request: { params: format, body: { content: { 'application/x-www-form-urlencoded': { schema: postBody } } } },
    responses: { ...ok, 201: { description: '[{service_request_id, service_notice, account_id}]' }, 403: { description: 'api_key missing or invalid' }, 429: { description: 'rate limited' } },
  });
  registry.registerPath({
    method: 'get',
    path: `${OPEN311_MOUNT}/requests.{format}`,
    tags,
    summary: 'Open311: service requests (default: the last 90 days, at most 1000, newest first; confidential tickets never listed)',
    request: { params: format, query: listQuery },
    responses: ok,
  });
  registry.registerPath({
    method: 'get',
    path: `${OPEN311_MOUNT}/requests/{id}.{format}`,
    tags,
    summary: 'Open311: one service request by service_request_id (the ticket number)',
    request: { params: format.extend({ id: ticketNumber }) },
    responses: ok,
  });
}
