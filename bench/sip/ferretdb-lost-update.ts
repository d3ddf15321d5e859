/**
 * Reproduction of the lost CDR updates seen in bench/sip: FerretDB's SQLite handler (v1.24.2,
 * flags as in bench/sip/services.ts) loses one of two concurrent `$set`s on DIFFERENT fields of
 * the same document (MongoDB never does: each update is atomic on its document). In the engine
 * this is `dispatch()` setting {ringingAt, agentId} while `answered()` sets {outcome: 'answered',
 * …}: the record stays 'queued', `call.ended` then fails all its attempts ("ended before its
 * answer was recorded") and the call record is never closed.
 *
 *   npx tsx bench/sip/ferretdb-lost-update.ts [--docs 2000]
 */
import { MongoClient } from 'mongodb';
import { startFerretdb } from '../../test/helpers/services.js';

const i = process.argv.indexOf('--docs');
const N = i > 0 ? Number(process.argv[i + 1]) : 2000;
const svc = await startFerretdb();
try {
  const c = await MongoClient.connect(svc.url, { maxPoolSize: 20 });
  const col = c.db('race').collection<{ _id: number; a?: number; b?: number }>('d');
  await col.insertMany(Array.from({ length: N }, (_, k) => ({ _id: k })));
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: N }, (_, k) => Promise.all([col.updateOne({ _id: k }, { $set: { a: 1 } }), col.updateOne({ _id: k }, { $set: { b: 1 } })])),
  );
  const ms = Date.now() - t0;
  let lost = 0;
  for (const d of await col.find().toArray()) if (d.a !== 1 || d.b !== 1) lost++;
  // the same updates one after the other, for the rate without contention
  const col2 = c.db('race').collection<{ _id: number; a?: number; b?: number }>('e');
  await col2.insertMany(Array.from({ length: N }, (_, k) => ({ _id: k })));
  const t1 = Date.now();
  for (let k = 0; k < N; k++) {
    await col2.updateOne({ _id: k }, { $set: { a: 1 } });
    await col2.updateOne({ _id: k }, { $set: { b: 1 } });
  }
  const seqMs = Date.now() - t1;
  console.log(`${N} documents, two concurrent $set on distinct fields each: ${lost} documents lost one of them; ${fmt((2 * N * 1000) / ms)} updates/s concurrent (pool 20), ${fmt((2 * N * 1000) / seqMs)} updates/s one at a time`);
  await c.close();
} finally {
  await svc.stop();
}
function fmt(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
