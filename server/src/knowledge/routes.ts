import { Types, type Model } from 'mongoose';
import { z } from 'zod';
import { ALL_ROLES } from '../auth/policies.js';
import { notFound } from '../errors.js';
import type { ApiRouter } from '../http/router.js';
import { CATEGORIES } from '../tickets/vocabulary.js';
import type { ArticleDoc } from './model.js';
import { rank, terms } from './tokenize.js';

const articleBody = z.object({
  title: z.string().trim().min(2).max(200),
  body: z.string().trim().min(2).max(50_000),
  categories: z.array(z.enum(CATEGORIES)).max(CATEGORIES.length).default([]),
  tags: z.array(z.string().trim().min(1).max(30)).max(20).default([]),
  active: z.boolean().default(true),
});
const articleParams = z.object({ id: z.string().regex(/^[0-9a-f]{24}$/, 'must be an article id') });
const searchQuery = z.object({
  q: z.string().trim().min(1).max(200).optional(),
  category: z.enum(CATEGORIES).optional(),
  limit: z.coerce.number().int().min(1).max(50).default(10),
});

const searchable = (a: z.output<typeof articleBody>) => ({
  terms: terms([a.title, a.body, ...a.tags].join('\n')),
  titleTerms: terms(a.title),
  tagTerms: terms(a.tags.join(' ')),
});

const present = (a: ArticleDoc, score?: number) => ({
  id: String(a._id),
  title: a.title,
  body: a.body,
  categories: a.categories,
  tags: a.tags,
  active: a.active,
  updatedAt: a.updatedAt,
  ...(score === undefined ? {} : { score: Math.round(score * 100) / 100 }),
});

export function knowledgeRoutes(api: ApiRouter, Article: Model<ArticleDoc>): void {
  api.add({
    method: 'get',
    path: '/knowledge',
    tag: 'knowledge',
    summary: 'Search the knowledge base (知识库); Chinese text matched by character bigrams',
    roles: ALL_ROLES,
    query: searchQuery,
    async handler({ query }) {
      const filter: Record<string, unknown> = { active: true };
      if (query.category) filter.categories = query.category;
      if (!query.q) {
        const items = await Article.find(filter).sort({ updatedAt: -1 }).limit(query.limit).lean<ArticleDoc[]>();
        return { items: items.map((a) => present(a)) };
      }
      const q = terms(query.q);
      if (q.length === 0) return { items: [] };
      const candidates = await Article.find({ ...filter, terms: { $in: q } })
        .limit(1000)
        .lean<ArticleDoc[]>();
      return { items: rank(q, candidates).slice(0, query.limit).map((s) => present(s.item, s.score)) };
    },
  });
  api.add({
    method: 'get',
    path: '/knowledge/:id',
    tag: 'knowledge',
    summary: 'One knowledge article',
    roles: ALL_ROLES,
    params: articleParams,
    async handler({ params }) {
      const a = await Article.findById(new Types.ObjectId(params.id)).lean<ArticleDoc>();
      if (!a) throw notFound('article');
      return present(a);
    },
  });
  api.add({
    method: 'post',
    path: '/knowledge',
    tag: 'knowledge',
    summary: 'Add a knowledge article',
    roles: ['supervisor', 'admin'],
    body: articleBody,
    status: 201,
    async handler({ body, actor }) {
      const now = new Date();
      const doc = await Article.create({ ...body, ...searchable(body), updatedBy: actor.id, updatedAt: now, createdAt: now });
      return present(doc.toObject());
    },
  });
  api.add({
    method: 'put',
    path: '/knowledge/:id',
    tag: 'knowledge',
    summary: 'Replace a knowledge article',
    roles: ['supervisor', 'admin'],
    params: articleParams,
    body: articleBody,
    async handler({ params, body, actor }) {
      const a = await Article.findOneAndUpdate(
        { _id: new Types.ObjectId(params.id) },
        { $set: { ...body, ...searchable(body), updatedBy: actor.id, updatedAt: new Date() } },
        { returnDocument: 'after' },
      ).lean<ArticleDoc>();
      if (!a) throw notFound('article');
      return present(a);
    },
  });
  api.add({
    method: 'delete',
    path: '/knowledge/:id',
    tag: 'knowledge',
    summary: 'Delete a knowledge article',
    roles: ['supervisor', 'admin'],
    params: articleParams,
    async handler({ params }) {
      const r = await Article.deleteOne({ _id: new Types.ObjectId(params.id) });
      if (r.deletedCount === 0) throw notFound('article');
      return undefined;
    },
  });
}
