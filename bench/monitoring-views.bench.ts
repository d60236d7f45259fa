// Benchmark: the keap_ops monitoring views on a long history — BENCH_VIEWS_RUNS runs (default
// 2,000, about 90 days of a 65-minute schedule) with 500 requests each (1,000,000 request-log rows),
// their events, merge log, counts and snapshots. Each view is timed (median of 5) beside a baseline
// measured in the same run: one full scan of the request log (select count(*)). The views must stay
// cheap as history grows, so each must take under 10 % of that baseline — request_stats, which reads
// and sorts the last 24 hours' requests (about 1 % of this history) for its percentiles, under 25 %;
// the bench fails otherwise.
// Env: BENCH_VIEWS_RUNS; DATABASE_URL's server, else the embedded one.
import { emit } from './lib/report.ts';
import { connect } from '../scripts/lib/db.ts';
import { migrate } from '../scripts/lib/migrate.ts';

const RUNS = Number(process.env.BENCH_VIEWS_RUNS ?? 2000);
const REQUESTS_PER_RUN = 500;
const MAX_RATIO: Record<string, number> = { request_stats: 0.25 };
const DEFAULT_MAX_RATIO = 0.1;

async function main(): Promise<void> {
  const base = await connect({ applicationName: 'keap-sync bench', max: 1 });
  const name = `keap_bench_views_${process.pid}`;
  await base.sql.unsafe(`create database ${name}`);
  const u = new URL(process.env.DATABASE_URL ?? base.embedded!.url);
  u.pathname = `/${name}`;
  const db = await connect({ applicationName: 'keap-sync bench', url: u.toString(), max: 2 });
  const sql = db.sql;
  try {
    await migrate(sql);
    const t0 = performance.now();
    // A synthetic but realistic history, newest run just now.
    await sql`
      insert into keap_meta.etl_run_log (pipeline, trigger, status, started_at, heartbeat_at, ended_at, request_count, record_count)
      select 'keap', 'schedule', 'succeeded', now() - (${RUNS} - i) * interval '65 minutes' - interval '2 minutes',
             now() - (${RUNS} - i) * interval '65 minutes', now() - (${RUNS} - i) * interval '65 minutes', ${REQUESTS_PER_RUN}, 1000
        from generate_series(1, ${RUNS}) i`;
    await sql`
      insert into keap_meta.etl_request_log (run_id, entity, endpoint, http_status, record_count, bytes, duration_ms, attempt,
                                             throttle_limit, throttle_available, quota_limit, quota_available, requested_at)
      select r.run_id, (array['tags','companies','contacts','tagged_contacts'])[1 + q % 4],
             case when q % 4 = 3 then '/rest/v2/tags/' || (q % 97) || '/contacts' else '/rest/v2/contacts' end,
             case when q % 250 = 0 then 503 else 200 end, 2, 2000, 20 + q % 80, 1 + (q % 250 = 1)::int,
             1500, 1500 - q % 100, 150000, 150000 - q, r.started_at + q * interval '200 milliseconds'
        from keap_meta.etl_run_log r cross join generate_series(1, ${REQUESTS_PER_RUN}) q`;
    await sql`
      insert into keap_meta.etl_run_events (run_id, at, stage, entity, message, data)
      select r.run_id, r.started_at + e.n * interval '10 seconds', s.stage, e.entity,
             e.entity || case when s.stage = 'plan' then ': incremental' else ': done' end,
             case when s.stage = 'plan' then '{"traversal": "incremental"}'::jsonb else '{"pages": 2, "records": 3}'::jsonb end
        from keap_meta.etl_run_log r
       cross join unnest(array['contact_model','tag_categories','tags','companies','contacts','tagged_contacts']) with ordinality e(entity, n)
       cross join (values ('plan'), ('merge')) s(stage)`;
    await sql`
      insert into keap_meta.merge_log (run_id, entity, procedure_name, inserted_count, updated_count, unchanged_count, pages_merged, duration_ms, merged_at)
      select r.run_id, e.entity, 'keap.merge_' || e.entity, 1, 2, 3, 2, 15, r.started_at + e.n * interval '10 seconds' + interval '5 seconds'
        from keap_meta.etl_run_log r
       cross join unnest(array['contact_model','tag_categories','tags','companies','contacts','tagged_contacts']) with ordinality e(entity, n)`;
    await sql`
      insert into keap_meta.source_counts (run_id, entity, source_count, warehouse_count)
      select r.run_id, e, 1000, 1000 from keap_meta.etl_run_log r cross join unnest(array['contacts','tags','companies']) e where r.run_id % 24 = 0`;
    await sql`
      insert into keap_meta.table_snapshot (run_id, table_name, row_count, live_count, key_columns, min_key, max_key)
      select r.run_id, t, 1000, 990, '{contact_id}', '[1]', '[1000]' from keap_meta.etl_run_log r
       cross join unnest(array['keap.contacts','keap.tags','keap.companies','keap.contact_tags']) t`;
    await sql`analyze`;
    console.log(`history of ${RUNS} runs, ${RUNS * REQUESTS_PER_RUN} requests built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const time = async (q: string, n = 5): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await sql.unsafe(q);
        ms.push(performance.now() - t);
      }
      return ms.sort((a, b) => a - b)[Math.floor(n / 2)]!;
    };
    const baseline = await time('select count(*) from keap_meta.etl_request_log', 3);
    const [w] = await sql`select count(*)::int as n from keap_meta.etl_request_log where requested_at > now() - interval '24 hours'`;
    console.log(`baseline: one full scan of the request log ${baseline.toFixed(1)} ms; the last 24 hours hold ${w!.n} requests`);
    const queries: Record<string, string> = {
      runs: 'select * from keap_ops.runs order by run_id desc limit 20',
      run_entities: 'select * from keap_ops.run_entities where run_id = (select max(run_id) from keap_meta.etl_run_log)',
      entity_freshness: 'select * from keap_ops.entity_freshness',
      request_stats: 'select * from keap_ops.request_stats',
      api_quota: 'select * from keap_ops.api_quota',
      reconciliation: 'select * from keap_ops.reconciliation',
      table_snapshot: 'select * from keap_ops.table_snapshot',
      recent_row_issues: 'select * from keap_ops.recent_row_issues',
      merge_history: "select * from keap_ops.merge_history where merged_at > now() - interval '1 day'",
    };
    const result: Record<string, number> = { runs_in_history: RUNS, request_log_rows: RUNS * REQUESTS_PER_RUN, baseline_full_scan_ms: +baseline.toFixed(1) };
    const slow: string[] = [];
    for (const [view, q] of Object.entries(queries)) {
      const ms = await time(q);
      const ratio = ms / baseline;
      console.log(`${view.padEnd(18)} ${ms.toFixed(1).padStart(8)} ms   ${ratio.toFixed(3)} x baseline`);
      result[`${view}_ms`] = +ms.toFixed(1);
      result[`${view}_ratio`] = +ratio.toFixed(3);
      const max = MAX_RATIO[view] ?? DEFAULT_MAX_RATIO;
      emit({ bench: 'monitoring', size: RUNS * REQUESTS_PER_RUN, figure: `select from keap_ops.${view}`, value: +ms.toFixed(1), unit: 'ms',
        baseline: 'one full scan of the request log', baseline_value: +baseline.toFixed(1), ratio: +ratio.toFixed(3),
        goal: `<= ${max}x`, pass: ratio <= max });
      if (ratio > max) slow.push(`${view} ${ratio.toFixed(3)} (limit ${max})`);
    }
    console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
    if (slow.length) throw new Error(`views slower than their limit (x a full request-log scan): ${slow.join(', ')}`);
  } finally {
    await db.close();
    await base.sql.unsafe(`drop database if exists ${name} with (force)`);
    await base.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
