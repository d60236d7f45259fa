// Bench: the merge layer on the contact family. Per size (BENCH_SIZES): a sandbox tenant is synced
// once (contact model, tag categories, tags, companies, contacts) so its pages are staged; then,
// from empty tables, keap.merge_contacts is timed over the same pages in the engine's batches of
// KEAP_MERGE_EVERY_PAGES pages, each in its own transaction (the first merge: contacts with
// e-mails, phones, addresses, custom field values and tags), then again over the same, now
// unchanged, pages (the re-merge, after a vacuum of the loaded tables, as autovacuum does before the
// next full sync). The baseline is the write floor: inserting the same final rows
// into empty copies of the six tables (insert ... select from the merged tables, keys included).
// Goals: first merge within 3x of the write floor; re-merge at least 10x faster than the first.
import { loadConfig } from '../scripts/lib/config.ts';
import { startSandbox } from '../scripts/lib/sandbox/index.ts';
import { runSync } from '../scripts/lib/sync/engine.ts';
import { emit, freshDatabase, sizes, UNLIMITED, type BenchDb } from './lib/report.ts';

const FAMILY = ['contacts', 'contact_emails', 'contact_phones', 'contact_addresses', 'contact_custom_fields', 'contact_tags'];
const BATCH = Number(process.env.KEAP_MERGE_EVERY_PAGES ?? 10);

async function timedMerges(db: BenchDb, runId: number, pageIds: number[]): Promise<number> {
  let ms = 0;
  await db.sql`update keap_staging.contacts set merged_at = now() where run_id = ${runId}`;
  for (let i = 0; i < pageIds.length; i += BATCH) {
    await db.sql`update keap_staging.contacts set merged_at = null where page_id = any (${pageIds.slice(i, i + BATCH)})`;
    const t0 = performance.now();
    await db.sql.begin((tx) => tx`call keap.merge_contacts(${runId}, false)`);
    ms += performance.now() - t0;
  }
  return ms / 1000;
}

async function writeFloor(db: BenchDb): Promise<number> {
  await db.sql`drop schema if exists bench_floor cascade`;
  await db.sql`create schema bench_floor`;
  let ms = 0;
  for (const t of FAMILY) {
    await db.sql.unsafe(`create table bench_floor.${t} (like keap.${t} including all)`);
    const [c] = await db.sql`
      select string_agg(quote_ident(attname), ', ' order by attnum) as cols from pg_attribute
       where attrelid = ${`keap.${t}`}::regclass and attnum > 0 and not attisdropped and attgenerated = ''`;
    const t0 = performance.now();
    await db.sql.unsafe(`insert into bench_floor.${t} (${c!.cols}) select ${c!.cols} from keap.${t}`);
    ms += performance.now() - t0;
  }
  await db.sql`drop schema bench_floor cascade`;
  return ms / 1000;
}

async function main(): Promise<void> {
  for (const size of sizes()) {
    const sb = await startSandbox({ contacts: size, seed: 5, apiKeys: ['bench'], limits: UNLIMITED });
    const db = await freshDatabase('keap_bench_merge');
    try {
      const config = loadConfig({ KEAP_API_URL: sb.url, KEAP_API_KEY: 'bench', KEAP_MAX_RPS: '10000', KEAP_QUOTA_RESERVE: '0' }, { loadDotEnv: false });
      const staged = await runSync({ db, config }, { trigger: 'bench', full: true, entities: ['contact_model', 'tag_categories', 'tags', 'companies', 'contacts'] });
      await sb.close();
      const pageIds = (await db.sql`select page_id from keap_staging.contacts where run_id = ${staged.runId} order by page_id`).map((r) => Number(r.page_id));
      const reps = size <= 20_000 ? 3 : 1;
      let first = Infinity;
      let again = Infinity;
      let floor = Infinity;
      for (let rep = 0; rep < reps; rep++) {
        await db.sql.unsafe(`truncate ${FAMILY.map((t) => `keap.${t}`).join(', ')}`);
        await db.sql`vacuum analyze keap.contacts`.catch(() => {});
        first = Math.min(first, await timedMerges(db, staged.runId, pageIds));
        // The next full sync comes after autovacuum has visited the freshly loaded tables (hint bits,
        // statistics); without it the re-merge would pay the load's one-time hint-bit writes.
        for (const t of FAMILY) await db.sql.unsafe(`vacuum analyze keap.${t}`);
        again = Math.min(again, await timedMerges(db, staged.runId, pageIds));
        floor = Math.min(floor, await writeFloor(db));
      }
      const [n] = await db.sql`select count(*)::int as n from keap.contacts`;
      const [rows] = await db.sql.unsafe(`select ${FAMILY.map((t) => `(select count(*) from keap.${t})`).join(' + ')} as n`);
      if (Number(n!.n) !== size) throw new Error(`merged ${n!.n} contacts for a ${size}-contact tenant`);
      console.log(`size ${size}: ${rows!.n} rows in the six tables; first merge ${first.toFixed(2)} s, re-merge ${again.toFixed(3)} s, write floor ${floor.toFixed(2)} s`);
      emit({ bench: 'merge', size, figure: 'first merge of the contact family', value: +first.toFixed(3), unit: 's',
        baseline: 'write floor: the same final rows into empty copies', baseline_value: +floor.toFixed(3),
        ratio: +(first / floor).toFixed(2), goal: '<= 3x', pass: first / floor <= 3, note: `${rows!.n} rows` });
      emit({ bench: 'merge', size, figure: 're-merge of the same, unchanged pages', value: +again.toFixed(3), unit: 's',
        baseline: 'first merge', baseline_value: +first.toFixed(3),
        ratio: +(first / again).toFixed(1), goal: '>= 10x faster', pass: first / again >= 10 });
    } finally {
      await db.drop();
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
