import { loadConfig } from '../scripts/lib/config.ts';
import { startSandbox } from '../scripts/lib/sandbox/index.ts';
import { runSync } from '../scripts/lib/sync/engine.ts';
import { freshDatabase, UNLIMITED } from '../bench/lib/report.ts';
import postgres from 'postgres';

const sb = await startSandbox({ contacts: 10000, seed: 5, apiKeys: ['bench'], limits: UNLIMITED });
const db = await freshDatabase('keap_probe');
try {
  const config = loadConfig({ KEAP_API_URL: sb.url, KEAP_API_KEY: 'bench', KEAP_MAX_RPS: '10000', KEAP_QUOTA_RESERVE: '0' }, { loadDotEnv: false });
  const staged = await runSync({ db, config }, { trigger: 'bench', full: true, entities: ['contact_model', 'tag_categories', 'tags', 'companies', 'contacts'] });
  await sb.close();
  for (const t of ['contacts','contact_emails','contact_phones','contact_addresses','contact_custom_fields','contact_tags']) await db.sql.unsafe(`vacuum analyze keap.${t}`);
  const [p] = await db.sql`
    insert into keap_staging.contacts (run_id, page_no, traversal, payload, merged_at)
    select ${staged.runId}, 1000000, 'incremental',
           jsonb_build_object('contacts', jsonb_agg(
             jsonb_set(jsonb_set(jsonb_set(c._raw, '{given_name}', to_jsonb(coalesce(c.given_name, '') || ' (changed)')),
                                 '{update_time}', to_jsonb(to_char((c.updated_at + interval '1 day') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
                       '{email_addresses,0,email}', to_jsonb('changed.' || c.contact_id || '@example.com'))
             order by c.contact_id), 'next_page_token', ''), now()
      from keap.contacts c where c.contact_id % 100 = 0
    returning page_id`;
  const s2 = postgres(db.url, { max: 1, onnotice: (n) => { const m = String(n.message); if (/duration: ([0-9.]+) ms/.test(m)) console.log(m.slice(0, 6000) + '\n----'); } });
  await s2.unsafe(`load 'auto_explain'`);
  await s2.unsafe(`set auto_explain.log_min_duration = 3; set auto_explain.log_nested_statements = on; set auto_explain.log_analyze = on; set auto_explain.log_level = 'notice'; set auto_explain.log_timing = on`);
  for (const mode of [process.env.MODE ?? 'on']) {
    await s2`update keap_meta.entities set has_history = ${mode === 'on'} where entity = 'contacts'`;
    await s2`select keap_meta.generate_merge('contacts')`;
    await s2`update keap_staging.contacts set merged_at = null where page_id = ${p!.page_id}`;
    const t0 = performance.now();
    await s2.begin((tx) => tx`call keap.merge_contacts(${staged.runId}, false)`);
    console.log(`MODE ${mode}: ${(performance.now() - t0).toFixed(0)} ms`);
    await s2.unsafe(`set auto_explain.log_min_duration = -1`);
    for (const t of ['contacts','contact_emails','contact_phones','contact_addresses','contact_custom_fields','contact_tags']) {
      const [r] = await s2.unsafe(`select (select count(*) from keap_history.${t})::int as hist_rows, pg_total_relation_size('keap_history.${t}') as hist_bytes,
          pg_relation_size('keap_history.${t}') as heap_bytes, (select avg(pg_column_size(h.*))::int from keap_history.${t} h) as avg_row,
          (select count(*) from keap.${t})::int as rows, pg_total_relation_size('keap.${t}') as bytes, (select avg(pg_column_size(k.*))::int from keap.${t} k) as keap_avg_row`);
      console.log('SIZE', t, JSON.stringify(r));
    }
    await s2`analyze`;
    for (const q of [`explain analyze select * from keap_history.contacts_as_of(now() - interval '1 second') where contact_id = 500`,
                     `explain analyze select count(*) from keap_history.contacts_as_of(now() - interval '1 second')`,
                     `explain analyze select * from keap_history.contact_emails_as_of(now() - interval '1 second') where contact_id = 500`]) {
      const rows = await s2.unsafe(q);
      console.log('PLAN', q, '\n' + rows.map((r) => r['QUERY PLAN']).join('\n'));
    }
  }
  await s2.end();
} finally {
  await db.drop();
}
process.exit(0);
