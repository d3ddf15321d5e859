import type { Model } from 'mongoose';
import { hashPassword } from '../auth/password.js';
import { sipHa1 } from '../calls/sip-credentials.js';
import type { RoutingRuleDoc } from '../dispatch/model.js';
import type { ArticleDoc } from '../knowledge/model.js';
import { terms } from '../knowledge/tokenize.js';
import type { DirectoryModels } from './model.js';
import { DEMO_ARTICLES, DEMO_DEPARTMENTS, DEMO_PASSWORD, DEMO_RULES, DEMO_USERS } from './seed-data.js';

/**
 * Load the demo city. Idempotent: departments, rules and articles are upserted by key; users
 * are inserted only if absent, so a changed password is never reset by a re-seed.
 */
export async function seedDemo(
  m: DirectoryModels & { Rule: Model<RoutingRuleDoc>; Article: Model<ArticleDoc> },
  opts: { sipRealm?: string } = {},
): Promise<{ departments: number; users: number }> {
  const sipRealm = opts.sipRealm ?? 'hotline.local';
  for (const d of DEMO_DEPARTMENTS) {
    await m.Department.updateOne({ _id: d._id }, { $set: { ...d, active: true } }, { upsert: true });
  }
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  let users = 0;
  for (const u of DEMO_USERS) {
    const r = await m.User.updateOne(
      { _id: u.username },
      {
        $setOnInsert: {
          ...u,
          _id: u.username,
          passwordHash,
          // demo phones register with the demo password (agents and window clerks take calls)
          sip: u.role === 'agent' || u.role === 'window' ? { ha1: sipHa1(u.username, sipRealm, DEMO_PASSWORD), realm: sipRealm } : null,
          active: true,
          createdAt: new Date(),
        },
      },
      { upsert: true },
    );
    users += r.upsertedCount;
  }
  for (const rule of DEMO_RULES) {
    const key = { category: rule.category, districtId: rule.districtId, streetId: rule.streetId };
    await m.Rule.updateOne(key, { $set: { ...rule, priority: 0, active: true, updatedAt: new Date() } }, { upsert: true });
  }
  for (const a of DEMO_ARTICLES) {
    const now = new Date();
    await m.Article.updateOne(
      { title: a.title },
      {
        $set: { ...a, active: true, terms: terms([a.title, a.body, ...a.tags].join('\n')), titleTerms: terms(a.title), tagTerms: terms(a.tags.join(' ')), updatedBy: 'seed', updatedAt: now },
        $setOnInsert: { createdAt: now },
      },
      { upsert: true },
    );
  }
  return { departments: DEMO_DEPARTMENTS.length, users };
}
