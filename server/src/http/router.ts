/**
 * One declaration per route: the same zod schemas validate the request and describe it in the
 * OpenAPI document, so the docs cannot drift from the code.
 */
import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z, type ZodType } from 'zod';
import { requireRoles } from '../auth/middleware.js';
import type { UserRole } from '../directory/model.js';
import { AppError } from '../errors.js';
import type { Actor } from '../tickets/types.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteInput<B, Q, P> {
  req: Request;
  res: Response;
  actor: Actor;
  body: B;
  query: Q;
  params: P;
}

export interface RouteDef<B extends ZodType, Q extends ZodType, P extends ZodType> {
  method: Method;
  path: string; // express style, e.g. /tickets/:id
  summary: string;
  tag: string;
  /** Roles allowed; omit for a public route (no authentication). */
  roles?: readonly UserRole[];
  body?: B;
  query?: Q;
  params?: P;
  /** Extra request headers documented (e.g. Idempotency-Key). */
  headers?: z.ZodObject;
  status?: number;
  handler: (input: RouteInput<z.output<B>, z.output<Q>, z.output<P>>) => Promise<unknown>;
}

/** Parse with zod, turning failures into 400 VALIDATION_FAILED with the issues as details. */
export function parse<T extends ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new AppError(
    'VALIDATION_FAILED',
    `invalid ${where}`,
    r.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message, code: i.code })),
  );
}

const EMPTY = z.object({});
const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) });

export class ApiRouter {
  readonly router = Router();
  constructor(
    readonly registry: OpenAPIRegistry,
    private readonly authenticate: RequestHandler,
    private readonly basePath = '/api',
  ) {}

  add<B extends ZodType = typeof EMPTY, Q extends ZodType = typeof EMPTY, P extends ZodType = typeof EMPTY>(def: RouteDef<B, Q, P>): void {
    const bodySchema = (def.body ?? EMPTY) as ZodType;
    const querySchema = (def.query ?? EMPTY) as ZodType;
    const paramsSchema = (def.params ?? EMPTY) as ZodType;
    this.registry.registerPath({
      method: def.method,
      path: this.basePath + def.path.replace(/:([A-Za-z]+)/g, '{$1}'),
      summary: def.summary,
      tags: [def.tag],
      ...(def.roles ? { security: [{ bearerAuth: [] }, { cookieAuth: [] }], description: `Roles: ${def.roles.join(', ')}` } : {}),
      request: {
        ...(def.body ? { body: { content: { 'application/json': { schema: def.body } } } } : {}),
        ...(def.query ? { query: def.query as unknown as z.ZodObject } : {}),
        ...(def.params ? { params: def.params as unknown as z.ZodObject } : {}),
        ...(def.headers ? { headers: def.headers } : {}),
      },
      responses: {
        [def.status ?? 200]: { description: 'OK' },
        400: { description: 'Invalid input', content: { 'application/json': { schema: errorSchema } } },
        ...(def.roles
          ? {
              401: { description: 'Not authenticated', content: { 'application/json': { schema: errorSchema } } },
              403: { description: 'Role not allowed', content: { 'application/json': { schema: errorSchema } } },
            }
          : {}),
      },
    });
    const chain: RequestHandler[] = def.roles ? [this.authenticate, requireRoles(...def.roles)] : [];
    this.router[def.method](def.path, ...chain, async (req: Request, res: Response) => {
      const params = parse(paramsSchema, req.params, 'params');
      const query = parse(querySchema, req.query, 'query');
      const body = def.method === 'get' || def.method === 'delete' ? {} : parse(bodySchema, req.body ?? {}, 'body');
      const actor: Actor = req.actor ?? { id: 'anonymous', name: 'anonymous', role: 'system', departmentId: null };
      const result = await def.handler({ req, res, actor, body, query, params } as RouteInput<z.output<B>, z.output<Q>, z.output<P>>);
      if (res.headersSent) return;
      if (result === undefined) res.status(def.status ?? 204).end();
      else res.status(def.status ?? 200).json(result);
    });
  }
}
