/**
 * Access control for EVERY route: authentication, role gates and department isolation.
 *
 * The route list comes from the live /api/openapi.json (each protected operation's description
 * reads `Roles: a, b, c`; operations without it are public), so a route added later through
 * ApiRouter.add is covered without touching this file. Checks loop over all routes and collect
 * every mismatch, so one failing assertion lists all offending routes at once.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../server/src/errors.js';
import { DEMO, intake, JWT_SECRET, startTestApp, type TestApp } from '../helpers/app.js';

// ---------------------------------------------------------------------------------------------
// Routes from the OpenAPI document

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  nullable?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
}

interface ParamSpec {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

interface Operation {
  method: string; // lower case
  path: string; // OpenAPI style: /api/tickets/{id}/sign
  label: string; // "POST /api/tickets/{id}/sign"
  roles: string[] | null; // null = public
  params: ParamSpec[];
  body: JsonSchema | null;
}

interface OpenApiDoc {
  paths: Record<string, Record<string, { description?: string; parameters?: ParamSpec[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>;
}

function operationsOf(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const m = /Roles:\s*(.+)$/.exec(op.description ?? '');
      ops.push({
        method,
        path,
        label: `${method.toUpperCase()} ${path}`,
        roles: m?.[1] ? m[1].split(',').map((r) => r.trim()).filter(Boolean) : null,
        params: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
      });
    }
  }
  return ops;
}

/** Candidate string values tried (in order) against a schema's pattern. */
const PATTERN_CANDIDATES = ['city-urban', '000000000000000000000000', '13812345678', 'key-0001-abcdef', 'abc123', '"v1"', 'x'];

/** A minimal value the schema accepts: required properties only. */
function sample(s: JsonSchema): unknown {
  if (s.enum && s.enum.length > 0) return s.enum[0];
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) out[k] = sample(s.properties?.[k] ?? {});
      return out;
    }
    case 'array':
      return [];
    case 'boolean':
      return true;
    case 'integer':
    case 'number':
      return Math.max(s.minimum ?? 1, 1);
    case 'string': {
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.pattern) {
        const rx = new RegExp(s.pattern);
        const hit = PATTERN_CANDIDATES.find((c) => rx.test(c));
        if (hit !== undefined) return hit;
      }
      const n = Math.max(s.minLength ?? 0, 6);
      return '测试内容abcdefgh'.padEnd(n, 'x').slice(0, Math.min(n, s.maxLength ?? n));
    }
    default:
      return null;
  }
}

/** The placeholder used for every path parameter: valid for all id patterns, never present. */
const ABSENT_ID = '000000000000000000000000';
const urlOf = (op: Operation, id: string): string => op.path.replace(/\{[^}]+\}/g, encodeURIComponent(id));
const isTicketScoped = (op: Operation): boolean => op.path.startsWith('/api/tickets/{id}');

// ---------------------------------------------------------------------------------------------
// Users and tokens

/** One demo user per role. */
const USER_OF_ROLE: Record<string, string> = { agent: 'agent1', window: 'window1', department: 'urban1', supervisor: 'super1', admin: 'admin' };
const ALL_ROLES = Object.keys(USER_OF_ROLE);
const ISSUER = 'hotline-12345';
const key = new TextEncoder().encode(JWT_SECRET);
const now = (): number => Math.floor(Date.now() / 1000);

interface Claims {
  sub?: string;
  name?: string;
  role?: string;
  dept?: string | null;
  iss?: string;
  iat?: number;
  exp?: number;
}

async function forge(c: Claims, secret: Uint8Array = key): Promise<string> {
  const { sub, iss, iat, exp, ...payload } = c;
  let jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256' });
  if (sub !== undefined) jwt = jwt.setSubject(sub);
  if (iss !== undefined) jwt = jwt.setIssuer(iss);
  if (iat !== undefined) jwt = jwt.setIssuedAt(iat);
  if (exp !== undefined) jwt = jwt.setExpirationTime(exp);
  return jwt.sign(secret);
}

const b64url = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const adminClaims = (): Claims => ({ sub: 'admin', name: '系统管理员', role: 'admin', dept: null, iss: ISSUER, iat: now() - 60, exp: now() + 3600 });

// ---------------------------------------------------------------------------------------------
// Response checks

interface Expect {
  status: number;
  code: string;
}

/** null when the response is the expected JSON error, else a description of the mismatch. */
function mismatch(res: Response, want: Expect): string | null {
  const code = (res.body as { error?: { code?: unknown } } | undefined)?.error?.code;
  const message = (res.body as { error?: { message?: unknown } } | undefined)?.error?.message;
  if (res.status !== want.status || code !== want.code) return `expected ${want.status} ${want.code}, got ${res.status} ${String(code)} ${JSON.stringify(res.body).slice(0, 160)}`;
  if (!/application\/json/.test(String(res.headers['content-type']))) return `error is not JSON (${String(res.headers['content-type'])})`;
  if (typeof message !== 'string' || message.length === 0) return 'error.message missing';
  if (ERROR_CODES[code as keyof typeof ERROR_CODES] !== res.status) return `code ${String(code)} does not belong to status ${res.status}`;
  return null;
}

let t: TestApp;
let ops: Operation[];
let protectedOps: Operation[];
const auth = async (u: string): Promise<{ authorization: string }> => ({ authorization: `Bearer ${await t.token(u)}` });

/** Send one request for an operation with raw headers; body only for methods that take one. */
function send(op: Operation, url: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
  const m = op.method as 'get' | 'post' | 'put' | 'patch' | 'delete';
  let req = t.api[m](url);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  if (body !== undefined && m !== 'get' && m !== 'delete') return req.send(body as object);
  return req;
}

beforeAll(async () => {
  t = await startTestApp();
  const res = await t.api.get('/api/openapi.json');
  expect(res.status).toBe(200);
  ops = operationsOf(res.body as OpenApiDoc);
  protectedOps = ops.filter((o) => o.roles !== null);
  // log everyone in once; tokens are cached by the helper
  await Promise.all(Object.keys(DEMO).map((u) => t.token(u)));
});

afterAll(async () => {
  await t?.close();
});

// ---------------------------------------------------------------------------------------------

describe('the route list comes from /api/openapi.json', () => {
  it('lists every known route with its roles; only login, logout and the citizen rating link are public', () => {
    expect(ops.length).toBeGreaterThan(30);
    const labels = ops.map((o) => o.label);
    for (const known of [
      'POST /api/auth/login',
      'GET /api/auth/me',
      'POST /api/tickets',
      'GET /api/tickets',
      'GET /api/tickets/{id}',
      'POST /api/tickets/{id}/dispatch',
      'POST /api/tickets/{id}/sign',
      'POST /api/tickets/{id}/reply',
      'POST /api/tickets/{id}/co-note',
      'POST /api/tickets/{id}/verify-rating',
      'GET /api/departments',
      'PATCH /api/users/{id}',
      'DELETE /api/routing/rules/{id}',
      'PUT /api/knowledge/{id}',
    ]) {
      expect(labels).toContain(known);
    }
    // public: login, logout, the rating link, the citizen API, the signed partner webhook and Open311 (issue #6)
    const open311 = ['GET /open311/v2/requests.{format}', 'GET /open311/v2/requests/{id}.{format}', 'GET /open311/v2/services.{format}', 'GET /open311/v2/services/{code}.{format}', 'POST /open311/v2/requests.{format}'];
    const intake = ['POST /api/intake/webhook/{partner}', 'POST /api/public/complaints', 'POST /api/public/tickets/lookup'];
    expect(ops.filter((o) => o.roles === null).map((o) => o.label).sort()).toEqual(
      ['GET /api/rate/{token}', 'POST /api/auth/login', 'POST /api/auth/logout', 'POST /api/rate/{token}', ...open311, ...intake].sort(),
    );
    for (const o of protectedOps) {
      expect(o.roles!.length, o.label).toBeGreaterThan(0);
      for (const r of o.roles!) expect(ALL_ROLES, `${o.label} names an unknown role`).toContain(r);
    }
    // spot-check roles against the rules we know
    const roles = (label: string) => ops.find((o) => o.label === label)?.roles;
    expect(roles('POST /api/tickets/{id}/dispatch')).toEqual(['agent', 'window', 'supervisor']);
    expect(roles('POST /api/tickets/{id}/sign')).toEqual(['department']);
    expect(roles('POST /api/tickets/{id}/decide-extension')).toEqual(['supervisor']);
    expect(roles('POST /api/departments')).toEqual(['admin']);
  });

  it('every /api route the express app serves is in the document (nothing bypasses ApiRouter)', () => {
    interface Layer {
      rawPath?: string;
      route?: { path: string; methods: Record<string, boolean> };
      handle?: { stack?: Layer[] };
    }
    const top = (t.app.express as unknown as { router: { stack: Layer[] } }).router.stack;
    const served: string[] = [];
    const walk = (stack: Layer[], prefix: string): void => {
      for (const l of stack) {
        if (l.route) {
          for (const [m, on] of Object.entries(l.route.methods)) {
            if (on && m !== '_all') served.push(`${m.toUpperCase()} ${prefix}${l.route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
          }
        } else if (l.handle?.stack) {
          walk(l.handle.stack, prefix + (typeof l.rawPath === 'string' ? l.rawPath : ''));
        }
      }
    };
    walk(top, '');
    const documented = new Set(ops.map((o) => o.label));
    // GET /: the page saying to build the console, when agent-console/dist is missing (app.ts);
    // GET /rate/{token}: the SMS rating link's redirect to the console page (ratings/link-page.ts)
    const infrastructure = new Set(['GET /healthz', 'GET /readyz', 'GET /api/openapi.json', 'GET /', 'GET /rate/{token}']);
    const undocumented = served.filter((s) => !infrastructure.has(s) && !documented.has(s));
    expect(served.length).toBeGreaterThanOrEqual(ops.length);
    expect(undocumented).toEqual([]);
  });
});

describe('authentication on every protected route', () => {
  it('no token → 401 UNAUTHENTICATED', async () => {
    const bad: string[] = [];
    for (const op of protectedOps) {
      const res = await send(op, urlOf(op, ABSENT_ID), {}, {});
      const m = mismatch(res, { status: 401, code: 'UNAUTHENTICATED' });
      if (m) bad.push(`${op.label}: ${m}`);
    }
    expect(bad).toEqual([]);
  });

  it('malformed, tampered, forged, expired tokens → 401 UNAUTHENTICATED', async () => {
    const real = await t.token('agent1');
    const [h, p, s] = real.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const flip = (c: string): string => (c === 'A' ? 'B' : 'A');

    // Control: a token forged with the right secret and valid claims IS accepted, so the
    // rejections below are caused by exactly the defect each one carries.
    const control = await forge(adminClaims());
    expect((await t.api.get('/api/auth/me').set({ authorization: `Bearer ${control}` })).status).toBe(200);

    const variants: Record<string, string> = {
      'empty Bearer': 'Bearer ',
      'Bearer only': 'Bearer',
      'not a JWT': 'Bearer not-a-jwt',
      'three garbage parts': 'Bearer aaa.bbb.ccc',
      'Basic scheme': `Basic ${Buffer.from('admin:Hotline@12345').toString('base64')}`,
      'token without scheme': real,
      'two tokens': `Bearer ${real} ${real}`,
      'payload changed to admin, old signature': `Bearer ${h}.${b64url({ ...payload, role: 'admin' })}.${s}`,
      'payload changed to another department, old signature': `Bearer ${h}.${b64url({ ...payload, role: 'department', dept: 'city-water' })}.${s}`,
      'signature altered': `Bearer ${h}.${p}.${flip(s[0]!)}${s.slice(1)}`,
      'signature removed': `Bearer ${h}.${p}.`,
      'alg none': `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...adminClaims() })}.`,
      'expired (signed with the real secret)': `Bearer ${await forge({ ...adminClaims(), iat: now() - 7200, exp: now() - 3600 })}`,
      'expired one second ago': `Bearer ${await forge({ ...adminClaims(), iat: now() - 7200, exp: now() - 1 })}`,
      'wrong secret': `Bearer ${await forge(adminClaims(), new TextEncoder().encode('another-secret-another-secret-0000'))}`,
      'wrong issuer': `Bearer ${await forge({ ...adminClaims(), iss: 'someone-else' })}`,
      'no issuer': `Bearer ${await forge({ ...adminClaims(), iss: undefined })}`,
      'unknown role': `Bearer ${await forge({ ...adminClaims(), role: 'root' })}`,
      'system role (not a user role)': `Bearer ${await forge({ ...adminClaims(), role: 'system' })}`,
      'no role': `Bearer ${await forge({ ...adminClaims(), role: undefined })}`,
      'no subject': `Bearer ${await forge({ ...adminClaims(), sub: undefined })}`,
    };
    const bad: string[] = [];
    for (const op of protectedOps) {
      for (const [name, header] of Object.entries(variants)) {
        const res = await send(op, urlOf(op, ABSENT_ID), { authorization: header }, {});
        const m = mismatch(res, { status: 401, code: 'UNAUTHENTICATED' });
        if (m) bad.push(`${op.label} [${name}]: ${m}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('role gates on every protected route', () => {
  it('each demo role not in the allowed list → 403 FORBIDDEN', async () => {
    const bad: string[] = [];
    let checked = 0;
    for (const op of protectedOps) {
      for (const role of ALL_ROLES.filter((r) => !op.roles!.includes(r))) {
        const res = await send(op, urlOf(op, ABSENT_ID), await auth(USER_OF_ROLE[role]!), op.body ? sample(op.body) : undefined);
        checked++;
        const m = mismatch(res, { status: 403, code: 'FORBIDDEN' });
        if (m) bad.push(`${op.label} as ${role}: ${m}`);
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(bad).toEqual([]);
  });

  it('every allowed role passes the gate (not 401/403, never 5xx)', async () => {
    const bad: string[] = [];
    for (const op of protectedOps) {
      for (const role of op.roles!) {
        // absent id and an empty body: the request reaches the handler and fails there (404/400),
        // without changing any data
        const res = await send(op, urlOf(op, ABSENT_ID), await auth(USER_OF_ROLE[role]!), op.body ? {} : undefined);
        if (res.status === 401 || res.status === 403 || res.status >= 500) {
          bad.push(`${op.label} as ${role}: got ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Department isolation

const PHONE_A = '13812345678';
const PHONE_B = '13987654321';
const PHONE_C = '13711112222';
const NAME_A = '张三丰';
const NAME_B = '李保密';
const PHONE_D = '13600001111';
const PHONE_E = '13500002222';
const mask = (p: string): string => `${p.slice(0, 3)}****${p.slice(-4)}`;

/** JSON paths (a.b.0.c) of every string in `value` that contains `needle`. */
function pathsContaining(value: unknown, needle: string, at = ''): string[] {
  if (typeof value === 'string') return value.includes(needle) ? [at || '(root)'] : [];
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => pathsContaining(v, needle, at ? `${at}.${k}` : k));
  }
  return [];
}

/** Ticket ids by role in the scenario. */
const T = { A: '', B: '', C: '', D: '', E: '' };
/** Who may see which ticket. */
const VISIBLE: Record<string, (keyof typeof T)[]> = {
  urban1: ['A', 'B', 'E'], // lead of A, B; co-handler of E
  nanguan1: ['A'], // co-handler of A
  housing1: ['C', 'E'], // lead of C, E
  water1: [],
  market1: [],
};
const DEPT_OF: Record<string, string> = { urban1: 'city-urban', nanguan1: 'wenfeng-nanguan', housing1: 'city-housing', water1: 'city-water', market1: 'city-market' };

async function createTicket(over: Record<string, unknown>): Promise<string> {
  const res = await t.api.post('/api/tickets').set(await auth('agent1')).send(intake(over));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}
async function act(user: string, id: string, action: string, body: Record<string, unknown> = {}): Promise<Response> {
  return t.api.post(`/api/tickets/${id}/${action}`).set(await auth(user)).send(body);
}
async function actOk(user: string, id: string, action: string, body: Record<string, unknown> = {}): Promise<void> {
  const res = await act(user, id, action, body);
  expect(res.status, `${user} ${action}: ${JSON.stringify(res.body)}`).toBe(200);
}

/** Department-callable ticket-scoped routes: GET /api/tickets/{id} and POST actions with `department` in roles. */
const deptTicketOps = (): Operation[] => protectedOps.filter((o) => isTicketScoped(o) && o.roles!.includes('department'));

describe('department isolation', () => {
  beforeAll(async () => {
    // A: lead city-urban, co-handler wenfeng-nanguan, signed (handling); phone in content and notes
    T.A = await createTicket({
      caller: { name: NAME_A, phone: PHONE_A, anonymous: false },
      content: `南关街道工地夜间施工扰民，来电人手机${PHONE_A}，请回电。`,
    });
    await actOk('agent1', T.A, 'dispatch', { leadDepartmentId: 'city-urban', coDepartmentIds: ['wenfeng-nanguan'], note: `请尽快联系来电人${PHONE_A}` });
    await actOk('urban1', T.A, 'sign', { note: '已签收' });
    await actOk('agent1', T.A, 'urge', { message: `市民${PHONE_A}再次来电催促` });
    // B: confidential, lead city-urban, still dispatched
    T.B = await createTicket({
      caller: { name: NAME_B, phone: PHONE_B, anonymous: false },
      confidential: true,
      content: `反映单位违规排污，保密件，回电${PHONE_B}。`,
    });
    await actOk('agent1', T.B, 'dispatch', { leadDepartmentId: 'city-urban', note: `保密件，回访电话${PHONE_B}` });
    // C: lead city-housing
    T.C = await createTicket({ caller: { name: '王五', phone: PHONE_C, anonymous: false }, category: 'help', content: '楼道灯坏了一个月没人修。' });
    await actOk('agent1', T.C, 'dispatch', { leadDepartmentId: 'city-housing' });
    // D: received, not dispatched: no department sees it
    T.D = await createTicket({ caller: { name: '孙七', phone: PHONE_D, anonymous: false }, content: '尚未派单的工单，咨询事项。' });
    // E: lead city-housing, co-handler city-urban
    T.E = await createTicket({ caller: { name: '周八', phone: PHONE_E, anonymous: false }, content: '老旧小区改造占道施工，需住建与城管协同。' });
    await actOk('agent1', T.E, 'dispatch', { leadDepartmentId: 'city-housing', coDepartmentIds: ['city-urban'] });
  });

  it('an unrelated department gets exactly the 404 of a non-existent id on every ticket route it may call (never 403)', async () => {
    const routes = deptTicketOps();
    expect(routes.map((o) => o.label)).toEqual(expect.arrayContaining(['GET /api/tickets/{id}', 'POST /api/tickets/{id}/sign', 'POST /api/tickets/{id}/reply', 'POST /api/tickets/{id}/return']));
    const bad: string[] = [];
    for (const op of routes) {
      const body = op.body ? sample(op.body) : undefined;
      for (const user of ['water1', 'market1', 'hrss1', 'wenfeng1']) {
        const h = await auth(user);
        const absent = await send(op, urlOf(op, randomBytes(12).toString('hex')), h, body);
        const m = mismatch(absent, { status: 404, code: 'NOT_FOUND' });
        if (m) bad.push(`${op.label} as ${user} on a random id: ${m}`);
        for (const [name, id] of Object.entries(T)) {
          // which departments may see which ticket is fixed by the scenario
          if ((VISIBLE[user] ?? []).includes(name as keyof typeof T)) continue;
          const res = await send(op, urlOf(op, id), h, body);
          if (res.status !== absent.status || JSON.stringify(res.body) !== JSON.stringify(absent.body)) {
            bad.push(`${op.label} as ${user} on ticket ${name}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)} ≠ absent-id ${absent.status} ${JSON.stringify(absent.body)}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('lead and co-handling departments read exactly their own tickets; others answer the absent-id 404', async () => {
    const bad: string[] = [];
    for (const user of ['urban1', 'nanguan1', 'housing1']) {
      const h = await auth(user);
      const absent = await t.api.get(`/api/tickets/${randomBytes(12).toString('hex')}`).set(h);
      for (const [name, id] of Object.entries(T)) {
        const res = await t.api.get(`/api/tickets/${id}`).set(h);
        const visible = VISIBLE[user]!.includes(name as keyof typeof T);
        if (visible && res.status !== 200) bad.push(`${user} GET ${name}: expected 200, got ${res.status}`);
        if (!visible && (res.status !== 404 || JSON.stringify(res.body) !== JSON.stringify(absent.body))) {
          bad.push(`${user} GET ${name}: expected the absent-id 404, got ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('the co-handler can read the ticket but not sign, reply, return or request an extension (403 ACTION_FORBIDDEN)', async () => {
    const h = await auth('nanguan1');
    const detail = await t.api.get(`/api/tickets/${T.A}`).set(h);
    expect(detail.status).toBe(200);
    expect(detail.body.coDepartmentIds).toContain('wenfeng-nanguan');
    expect(detail.body.availableCommands).toEqual(['coNote']);
    const attempts: [string, Record<string, unknown>][] = [
      ['sign', {}],
      ['reply', { text: '协办单位擅自答复' }],
      ['return', { reason: '协办单位不能退单' }],
      ['request-extension', { days: 1, reason: '协办单位不能申请延期' }],
    ];
    const bad: string[] = [];
    for (const [action, body] of attempts) {
      const res = await act('nanguan1', T.A, action, body);
      const m = mismatch(res, { status: 403, code: 'ACTION_FORBIDDEN' });
      if (m) bad.push(`nanguan1 ${action}: ${m}`);
    }
    // the lead cannot write the co-handler's opinion; the co-handler can
    const leadCoNote = await act('urban1', T.A, 'co-note', { text: '主办单位冒充协办意见' });
    const m = mismatch(leadCoNote, { status: 403, code: 'ACTION_FORBIDDEN' });
    if (m) bad.push(`urban1 co-note: ${m}`);
    expect(bad).toEqual([]);
    expect((await act('nanguan1', T.A, 'co-note', { text: '街道已配合现场核查' })).status).toBe(200);
    // nothing the co-handler tried changed the ticket beyond its own note
    const after = await t.api.get(`/api/tickets/${T.A}`).set(await auth('super1'));
    expect(after.body.state).toBe('handling');
    expect(after.body.reply).toBeNull();
    expect(after.body.pendingExtension).toBeNull();
    // the same for a co-handler of a ticket still awaiting 签收 (E: urban1 is co-handler)
    const signE = await act('urban1', T.E, 'sign');
    expect(mismatch(signE, { status: 403, code: 'ACTION_FORBIDDEN' })).toBeNull();
  });

  it('GET /api/tickets returns a department only tickets it leads or co-handles, whatever the filters', async () => {
    const bad: string[] = [];
    for (const [user, dept] of Object.entries(DEPT_OF)) {
      const h = await auth(user);
      const want = new Set(VISIBLE[user]!.map((n) => T[n]));
      const hidden = (Object.keys(T) as (keyof typeof T)[]).filter((n) => !VISIBLE[user]!.includes(n)).map((n) => T[n]);
      const queries = [
        '',
        '?pageSize=200',
        ...Object.values(DEPT_OF)
          .filter((d) => d !== dept)
          .map((d) => `?pageSize=200&departmentId=${d}`),
        '?pageSize=200&state=received,dispatched,handling',
        '?pageSize=200&q=施工',
        '?pageSize=200&category=complaint,help',
        '?pageSize=200&page=1&urgency=normal',
      ];
      for (const q of queries) {
        const res = await t.api.get(`/api/tickets${q}`).set(h);
        if (res.status !== 200) {
          bad.push(`${user} ${q}: status ${res.status} ${JSON.stringify(res.body)}`);
          continue;
        }
        const items = res.body.items as { id: string; leadDepartmentId: string | null; coDepartmentIds: string[] }[];
        for (const it of items) {
          if (it.leadDepartmentId !== dept && !it.coDepartmentIds.includes(dept)) bad.push(`${user} ${q}: sees ${it.id} (lead ${it.leadDepartmentId}, co ${it.coDepartmentIds.join('/')})`);
        }
        const ids = new Set(items.map((i) => i.id));
        for (const id of hidden) if (ids.has(id)) bad.push(`${user} ${q}: sees hidden ticket ${id}`);
        if (res.body.total !== items.length && items.length < res.body.pageSize) bad.push(`${user} ${q}: total ${res.body.total} counts tickets it cannot see (${items.length} items)`);
        if (q === '' || q === '?pageSize=200') {
          for (const id of want) if (!ids.has(id)) bad.push(`${user} ${q}: misses its own ticket ${id}`);
        }
      }
    }
    expect(bad).toEqual([]);
    // an unrelated department filtering by another department gets nothing at all
    const none = await t.api.get('/api/tickets?departmentId=city-urban&pageSize=200').set(await auth('water1'));
    expect(none.status).toBe(200);
    expect(none.body.items).toEqual([]);
    expect(none.body.total).toBe(0);
    // the hotline sees everything
    const all = await t.api.get('/api/tickets?pageSize=200').set(await auth('agent1'));
    expect(new Set((all.body.items as { id: string }[]).map((i) => i.id))).toEqual(new Set(Object.values(T)));
  });

  it('department users see masked phones and no confidential caller name: detail, list and timeline notes', async () => {
    const h = await auth('urban1');
    const a = await t.api.get(`/api/tickets/${T.A}`).set(h);
    expect(a.status).toBe(200);
    expect(a.body.caller).toEqual({ name: NAME_A, phone: mask(PHONE_A), anonymous: false });
    expect(a.body.content).toContain(mask(PHONE_A));
    const notes = (a.body.timeline as { action: string; note: string | null }[]).map((e) => e.note ?? '');
    expect(notes.some((n) => n.includes(`请尽快联系来电人${mask(PHONE_A)}`))).toBe(true);
    expect(notes.some((n) => n.includes(`市民${mask(PHONE_A)}再次来电催促`))).toBe(true);
    expect(pathsContaining(a.body, PHONE_A)).toEqual([]);

    const b = await t.api.get(`/api/tickets/${T.B}`).set(h);
    expect(b.status).toBe(200);
    expect(b.body.confidential).toBe(true);
    expect(b.body.caller).toEqual({ name: null, phone: mask(PHONE_B), anonymous: false });
    expect(pathsContaining(b.body, PHONE_B)).toEqual([]);
    expect(pathsContaining(b.body, NAME_B)).toEqual([]);

    const list = await t.api.get('/api/tickets?pageSize=200').set(h);
    const byId = new Map((list.body.items as { id: string; caller: unknown }[]).map((i) => [i.id, i]));
    expect(byId.get(T.A)?.caller).toEqual({ name: NAME_A, phone: mask(PHONE_A), anonymous: false });
    expect(byId.get(T.B)?.caller).toEqual({ name: null, phone: mask(PHONE_B), anonymous: false });
    expect(byId.get(T.E)?.caller).toEqual({ name: '周八', phone: mask(PHONE_E), anonymous: false });
    for (const secret of [PHONE_A, PHONE_B, PHONE_E, NAME_B]) expect(pathsContaining(list.body, secret), secret).toEqual([]);

    // the co-handler gets the same masking
    const co = await t.api.get(`/api/tickets/${T.A}`).set(await auth('nanguan1'));
    expect(co.body.caller.phone).toBe(mask(PHONE_A));
    expect(pathsContaining(co.body, PHONE_A)).toEqual([]);
  });

  it('hotline users see full phones and names', async () => {
    for (const user of ['agent1', 'window1', 'super1']) {
      const h = await auth(user);
      const a = await t.api.get(`/api/tickets/${T.A}`).set(h);
      expect(a.body.caller.phone, user).toBe(PHONE_A);
      expect(a.body.content).toContain(PHONE_A);
      expect((a.body.timeline as { note: string | null }[]).some((e) => e.note?.includes(`请尽快联系来电人${PHONE_A}`))).toBe(true);
      const b = await t.api.get(`/api/tickets/${T.B}`).set(h);
      expect(b.body.caller).toEqual({ name: NAME_B, phone: PHONE_B, anonymous: false });
      const list = await t.api.get(`/api/tickets?pageSize=200&phone=${PHONE_A}`).set(h);
      expect(list.status).toBe(200);
      expect((list.body.items as { id: string; caller: { phone: string } }[]).map((i) => [i.id, i.caller.phone])).toEqual([[T.A, PHONE_A]]);
    }
  });

  it('department users get 403 FORBIDDEN when searching by ?phone=', async () => {
    const bad: string[] = [];
    for (const user of Object.keys(DEPT_OF)) {
      for (const phone of [PHONE_A, mask(PHONE_A).replace(/\*/g, '') /* partial digits */, '138']) {
        const res = await t.api.get(`/api/tickets?phone=${encodeURIComponent(phone)}`).set(await auth(user));
        const m = mismatch(res, { status: 403, code: 'FORBIDDEN' });
        if (m) bad.push(`${user} ?phone=${phone}: ${m}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no full caller phone reaches a department through any free-text field (rating comments included)', async () => {
    const id = await createTicket({ caller: { name: '赵六', phone: PHONE_A, anonymous: false } });
    await actOk('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban' });
    await actOk('urban1', id, 'sign');
    await actOk('urban1', id, 'reply', { text: '已处理。' });
    await actOk('agent1', id, 'review-reply', { accept: true });
    // an anonymous bad rating closes the ticket; the agent typed the caller's number into the comment
    await actOk('agent1', id, 'return-visit', { contacted: true, rating: 'dissatisfied', realName: false, comment: `回访${PHONE_A}，市民仍不满意` });
    const h = await auth('urban1');
    const detail = await t.api.get(`/api/tickets/${id}`).set(h);
    expect(detail.status).toBe(200);
    const list = await t.api.get('/api/tickets?pageSize=200').set(h);
    // the timeline note of the visit is masked; every other copy of the text must be too
    expect((detail.body.timeline as { action: string; note: string | null }[]).find((e) => e.action === 'returnVisit')?.note).toBe(`回访${mask(PHONE_A)}，市民仍不满意`);
    const leaks = [
      ...pathsContaining(detail.body, PHONE_A).map((p) => `detail ${p}`),
      ...pathsContaining((list.body.items as { id: string }[]).find((i) => i.id === id), PHONE_A).map((p) => `list item ${p}`),
    ];
    expect(leaks, `full phone ${PHONE_A} visible to a department`).toEqual([]);
  });

  it('the name of a confidential caller typed into free text is not shown to departments', async () => {
    const secretName = '钱保密';
    const id = await createTicket({
      caller: { name: secretName, phone: PHONE_C, anonymous: false },
      confidential: true,
      content: `${secretName}反映：单位拖欠工资三个月。`,
    });
    await actOk('agent1', id, 'dispatch', { leadDepartmentId: 'city-urban', note: `来电人${secretName}要求保密` });
    const detail = await t.api.get(`/api/tickets/${id}`).set(await auth('urban1'));
    expect(detail.status).toBe(200);
    expect(detail.body.caller.name).toBeNull();
    expect(pathsContaining(detail.body, secretName), 'confidential caller name visible to the department').toEqual([]);
    const list = await t.api.get('/api/tickets?pageSize=200').set(await auth('urban1'));
    expect(pathsContaining(list.body, secretName), 'confidential caller name visible in the list').toEqual([]);
  });
});

describe('no request of this file crashed the server', () => {
  it('no 5xx in the server log', () => {
    const crashes = t.logs
      .map((l) => {
        try {
          return JSON.parse(l) as { req?: { method?: string; url?: string }; res?: { statusCode?: number } };
        } catch {
          return null;
        }
      })
      .filter((e) => e !== null && (e.res?.statusCode ?? 0) >= 500)
      .map((e) => `${e!.req?.method} ${e!.req?.url} → ${e!.res?.statusCode}`);
    expect(crashes).toEqual([]);
  });
});
