/** `npm run seed` — load the demo city. `--if-empty` skips when users already exist. */
import mongoose from 'mongoose';
import { routingRuleModel } from '../dispatch/model.js';
import { articleModel } from '../knowledge/model.js';
import { directoryModels } from './model.js';
import { DEMO_PASSWORD, DEMO_USERS } from './seed-data.js';
import { seedDemo } from './seed.js';

const url = process.env.MONGODB_URL;
if (!url) {
  console.error('MONGODB_URL is required (e.g. mongodb://127.0.0.1:27027/hotline)');
  process.exit(1);
}
const conn = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 10_000 }).asPromise();
try {
  const dir = directoryModels(conn);
  if (process.argv.includes('--if-empty') && (await dir.User.estimatedDocumentCount()) > 0) {
    console.log('seed: users exist, skipping (run without --if-empty to top up the demo data)');
  } else {
    const r = await seedDemo({ ...dir, Rule: routingRuleModel(conn), Article: articleModel(conn) }, { sipRealm: process.env.SIP_REALM ?? 'hotline.local' });
    console.log(`seed: ${r.departments} departments, ${r.users} new users. Demo logins (password ${DEMO_PASSWORD}):`);
    for (const u of DEMO_USERS) console.log(`  ${u.username.padEnd(10)} ${u.role.padEnd(11)} ${u.name}`);
  }
} finally {
  await conn.close();
}
