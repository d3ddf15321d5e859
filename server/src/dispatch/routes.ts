import { Types, type Model } from 'mongoose';
import { z } from 'zod';
import { HOTLINE_ROLES } from '../auth/policies.js';
import type { DirectoryModels } from '../directory/model.js';
import { departmentId } from '../directory/schema.js';
import { AppError, notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { CATEGORIES } from '../tickets/vocabulary.js';
import type { RoutingRuleDoc } from './model.js';
import { rankRules, suggestDepartment, type RoutingRule } from './routing.js';

const areaCode = z.string().trim().min(1).max(64).nullable().default(null);
const ruleBody = z.object({
  category: z.enum(CATEGORIES).nullable().default(null),
  districtId: areaCode,
  streetId: areaCode,
  departmentId,
  priority: z.number().int().min(-1000).max(1000).default(0),
  active: z.boolean().default(true),
  note: z.string().trim().max(500).nullable().default(null),
});
const ruleParams = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, 'must be a rule id') });
const suggestQuery = z.object({
  category: z.enum(CATEGORIES),
  districtId: z.string().trim().min(1).max(64).optional(),
  streetId: z.string().trim().min(1).max(64).optional(),
});

const present = (r: RoutingRuleDoc): RoutingRule & { note: string | null } => ({
  id: String(r._id),
  category: r.category,
  districtId: r.districtId,
  streetId: r.streetId,
  departmentId: r.departmentId,
  priority: r.priority,
  active: r.active,
  note: r.note,
});

export function routingRoutes(api: ApiRouter, Rule: Model<RoutingRuleDoc>, dir: DirectoryModels): void {
  const assertDepartment = async (id: string): Promise<void> => {
    if (!(await dir.Department.exists({ _id: id, active: true }))) throw new AppError('UNKNOWN_DEPARTMENT', 'unknown or inactive department');
  };

  api.add({
    method: 'get',
    path: '/routing/suggest',
    tag: 'routing',
    summary: 'Suggest the responsible department for a category and area (归口)',
    roles: HOTLINE_ROLES,
    query: suggestQuery,
    async handler({ query }) {
      const q = { category: query.category, districtId: query.districtId ?? null, streetId: query.streetId ?? null };
      const [rules, owners] = await Promise.all([Rule.find({ active: true }).lean<RoutingRuleDoc[]>(), dir.Department.find({ active: true, kind: 'government' }).lean()]);
      const all = rules.map(present);
      const suggestion = suggestDepartment(
        all,
        owners.map((o) => ({ id: o._id, level: o.level, parentId: o.parentId, districtId: o.districtId, streetId: o.streetId, active: o.active })),
        q,
      );
      return { suggestion, alternatives: rankRules(all, q).slice(1, 6) };
    },
  });
  api.add({
    method: 'get',
    path: '/routing/rules',
    tag: 'routing',
    summary: 'Routing rules',
    roles: [...HOTLINE_ROLES, 'admin'],
    async handler() {
      return { items: (await Rule.find({}).sort({ departmentId: 1 }).lean<RoutingRuleDoc[]>()).map(present) };
    },
  });
  api.add({
    method: 'post',
    path: '/routing/rules',
    tag: 'routing',
    summary: 'Add a routing rule',
    roles: ['admin'],
    body: ruleBody,
    status: 201,
    async handler({ body }) {
      await assertDepartment(body.departmentId);
      const doc = await Rule.create({ ...body, updatedAt: new Date() });
      return present(doc.toObject());
    },
  });
  api.add({
    method: 'put',
    path: '/routing/rules/:id',
    tag: 'routing',
    summary: 'Replace a routing rule',
    roles: ['admin'],
    params: ruleParams,
    body: ruleBody,
    async handler({ params, body }) {
      if (!(await Rule.exists({ _id: new Types.ObjectId(params.id) }))) throw notFound('routing rule');
      await assertDepartment(body.departmentId);
      const doc = await Rule.findOneAndUpdate({ _id: new Types.ObjectId(params.id) }, { $set: { ...body, updatedAt: new Date() } }, { returnDocument: 'after' }).lean<RoutingRuleDoc>();
      if (!doc) throw notFound('routing rule');
      return present(doc);
    },
  });
  api.add({
    method: 'delete',
    path: '/routing/rules/:id',
    tag: 'routing',
    summary: 'Delete a routing rule',
    roles: ['admin'],
    params: ruleParams,
    async handler({ params }) {
      const r = await Rule.deleteOne({ _id: new Types.ObjectId(params.id) });
      if (r.deletedCount === 0) throw notFound('routing rule');
      return undefined;
    },
  });
}
