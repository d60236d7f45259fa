// Bench: the merge layer on the contact family. Per size (BENCH_SIZES): a sandbox tenant is synced
// once (contact model, tag categories, tags, companies, contacts) so its pages are staged; then,
// from empty tables, keap.merge_contacts is timed over the same pages in the engine's batches of
// KEAP_MERGE_EVERY_PAGES pages, each in its own transaction (the first merge: contacts with
// e-mails, phones, addresses, custom field values and tags), then again over the same, now
// unchanged, pages (the re-merge, after a vacuum of the loaded tables, as autovacuum does before the
// next full sync). The baseline is the write floor: inserting the same final rows
// into empty copies of the six tables (insert ... select from the merged tables, keys included).
// Goals: first merge within 3x of the write floor; re-merge at least 10x faster than the first.
// History (keap_history), measured side by side with it switched off (keap_meta.entities.has_history):
// the first merge and a merge of a page holding 1 % of the contacts changed (name, e-mail, update
// time), each with history on and off. Goals: a first merge closes no version, so history costs it
// at most 1.2x (noise); the 1 % merge with history costs at most the merge without it plus writing
// the changed rows once more (their write floor); a re-merge of unchanged pages writes no history row.
import { loadConfig } from '../scripts/lib/config.ts';
import { startSandbox } from '../scripts/lib/sandbox/index.ts';
import { runSync } from '../scripts/lib/sync/engine.ts';
import { emit, freshDatabase, sizes, UNLIMITED, type BenchDb } from './lib/report.ts';

const FAMILY = ['contacts', 'contact_emails', 'contact_phones', 'contact_addresses', 'contact_custom_fields', 'contact_tags'];
const BATCH = Number(process.env.KEAP_MERGE_EVERY_PAGES ?? 10);

const HISTORY = FAMILY.map((t) => `keap_history.${t}`);

async function setHistory(db: BenchDb, on: boolean): Promise<void> {
  await db.sql`update keap_meta.entities set has_history = ${on} where entity = 'contacts'`;
  await db.sql`select keap_meta.generate_merge('contacts')`;
}

async function historyRows(db: BenchDb): Promise<number> {
  const [r] = await db.sql.unsafe(`select ${HISTORY.map((t) => `(select count(*) from ${t})`).join(' + ')} as n`);
  return Number(r!.n);
}

/** Stages one page with every 100th contact changed (name, first e-mail, update time + 1 day), already marked merged. */
async function stageChangePage(db: BenchDb, runId: number): Promise<{ pageId: number; changed: number }> {
  const [p] = await db.sql`
    insert into keap_staging.contacts (run_id, page_no, traversal, payload, merged_at)
    select ${runId}, 1000000, 'incremental',
           jsonb_build_object('contacts', jsonb_agg(
             jsonb_set(jsonb_set(jsonb_set(c._raw, '{given_name}', to_jsonb(coalesce(c.given_name, '') || ' (changed)')),
                                 '{update_time}', to_jsonb(to_char((c.updated_at + interval '1 day') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
                       '{email_addresses,0,email}', to_jsonb('changed.' || c.contact_id || '@example.com'))
             order by c.contact_id), 'next_page_token', ''), now()
      from keap.contacts c where c.contact_id % 100 = 0
    returning page_id, jsonb_array_length(payload -> 'contacts') as n`;
  return { pageId: Number(p!.page_id), changed: Number(p!.n) };
}

async function timedChange(db: BenchDb, runId: number, pageId: number): Promise<number> {
  await db.sql`update keap_staging.contacts set merged_at = null where page_id = ${pageId}`;
  const t0 = performance.now();
  await db.sql.begin((tx) => tx`call keap.merge_contacts(${runId}, false)`);
  return (performance.now() - t0) / 1000;
}

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

async function writeFloor(db: BenchDb, where = 'true'): Promise<number> {
  await db.sql`drop schema if exists bench_floor cascade`;
  await db.sql`create schema bench_floor`;
  let ms = 0;
  for (const t of FAMILY) {
    await db.sql.unsafe(`create table bench_floor.${t} (like keap.${t} including all)`);
    const [c] = await db.sql`
      select string_agg(quote_ident(attname), ', ' order by attnum) as cols from pg_attribute
       where attrelid = ${`keap.${t}`}::regclass and attnum > 0 and not attisdropped and attgenerated = ''`;
    const t0 = performance.now();
    await db.sql.unsafe(`insert into bench_floor.${t} (${c!.cols}) select ${c!.cols} from keap.${t} where ${where}`);
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
      let firstOff = Infinity;
      let changeOn = Infinity;
      let changeOff = Infinity;
      let floorChanged = Infinity;
      let againHistory = 0;
      let changeHistory = 0;
      let change = { pageId: 0, changed: 0 };
      let historyMb = 0;
      const reset = async () => {
        await db.sql.unsafe(`truncate ${[...FAMILY.map((t) => `keap.${t}`), ...HISTORY].join(', ')}`);
        await db.sql`vacuum analyze keap.contacts`.catch(() => {});
      };
      // The next full sync comes after autovacuum has visited the freshly loaded tables (hint bits,
      // statistics); without it the re-merge would pay the load's one-time hint-bit writes.
      const vacuum = async () => {
        for (const t of FAMILY) await db.sql.unsafe(`vacuum analyze keap.${t}`);
      };
      for (let rep = 0; rep < reps; rep++) {
        // history off: first merge, then the 1 % page
        await setHistory(db, false);
        await reset();
        firstOff = Math.min(firstOff, await timedMerges(db, staged.runId, pageIds));
        await vacuum();
        if (!change.pageId) change = await stageChangePage(db, staged.runId);
        changeOff = Math.min(changeOff, await timedChange(db, staged.runId, change.pageId));
        // history on (the product's default): first merge, re-merge of the same pages, the 1 % page
        await setHistory(db, true);
        await reset();
        first = Math.min(first, await timedMerges(db, staged.runId, pageIds));
        await vacuum();
        const h0 = await historyRows(db);
        again = Math.min(again, await timedMerges(db, staged.runId, pageIds));
        againHistory = Math.max(againHistory, (await historyRows(db)) - h0);
        changeOn = Math.min(changeOn, await timedChange(db, staged.runId, change.pageId));
        changeHistory = (await historyRows(db)) - h0;
        const [b] = await db.sql.unsafe(`select ${HISTORY.map((t) => `pg_total_relation_size('${t}')`).join(' + ')} as bytes`);
        historyMb = Number(b!.bytes) / 1024 / 1024;
        floorChanged = Math.min(floorChanged, await writeFloor(db, 'contact_id % 100 = 0'));
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
      console.log(`size ${size}: history off: first merge ${firstOff.toFixed(2)} s, 1 % merge ${(changeOff * 1000).toFixed(0)} ms; on: ${(changeOn * 1000).toFixed(0)} ms, `
        + `${changeHistory} history rows for ${change.changed} changed contacts (${historyMb.toFixed(2)} MB of keap_history); write floor of the changed rows ${(floorChanged * 1000).toFixed(0)} ms`);
      emit({ bench: 'merge', size, figure: 'first merge, history on', value: +first.toFixed(3), unit: 's',
        baseline: 'the same, history off', baseline_value: +firstOff.toFixed(3),
        ratio: +(first / firstOff).toFixed(2), goal: '<= 1.2x (closes nothing)', pass: first / firstOff <= 1.2 });
      emit({ bench: 'merge', size, figure: `merge of 1 % changed (${change.changed} contacts), history on`, value: +changeOn.toFixed(3), unit: 's',
        baseline: 'history off + writing the changed rows once more', baseline_value: +(changeOff + floorChanged).toFixed(3),
        ratio: +(changeOn / (changeOff + floorChanged)).toFixed(2), goal: '<= 1x', pass: changeOn <= changeOff + floorChanged,
        note: `history off ${(changeOff * 1000).toFixed(0)} ms, write floor of the changed rows ${(floorChanged * 1000).toFixed(0)} ms; ${changeHistory} history rows` });
      emit({ bench: 'merge', size, figure: 'history rows written by the re-merge of unchanged pages', value: againHistory, unit: 'rows',
        baseline: 'none', goal: '0', pass: againHistory === 0 });
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
