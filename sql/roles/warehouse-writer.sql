-- Role script (run once by the DBA, not applied by npm run migrate): in the WAREHOUSE database, as the
-- role that runs `npm run migrate` (it owns the schemas), a login role that runs the table syncs -
-- `npm run sync -- --pipeline athletes --no-migrate` - with the least it needs: run tracking in
-- keap_meta, the staging tables and state in analytics_staging, and writing the analytics tables.
-- It cannot change the schema: deploys stay with the owner (npm run migrate). No password here:
--   psql "$DATABASE_URL" -f sql/roles/warehouse-writer.sql
--   psql "$DATABASE_URL" -c '\password analytics_writer'
-- Safe to re-run; default privileges cover staging and analytics tables created by later deploys.
do $$
begin
  if not exists (select from pg_roles where rolname = 'analytics_writer') then
    create role analytics_writer login;
  end if;
  execute format('grant connect on database %I to analytics_writer', current_database());
end
$$;
comment on role analytics_writer is 'Login that runs the Postgres -> Postgres table syncs: run tracking, staging, analytics tables; no DDL.';

-- Run tracking (keap_meta.start_run / end_run / heartbeat / log_event, merge log, row issues, counts).
grant usage on schema keap_meta to analytics_writer;
grant select, insert, update on keap_meta.etl_run_log, keap_meta.etl_run_events, keap_meta.merge_log,
  keap_meta.row_issues, keap_meta.source_counts, keap_meta.table_snapshot to analytics_writer;
grant usage on all sequences in schema keap_meta to analytics_writer;
grant select on keap_meta.sql_deploys to analytics_writer;
-- A run's heartbeat completes its progress from the request log (keap_meta.enrich_progress).
grant select on keap_meta.etl_request_log to analytics_writer;

-- Declarations (read), state (read/write), staging tables (load and empty).
grant usage on schema analytics_staging to analytics_writer;
grant select on analytics_staging.table_syncs to analytics_writer;
grant select, insert, update on analytics_staging.table_sync_state to analytics_writer;
grant select, insert, delete, truncate on all tables in schema analytics_staging to analytics_writer;
alter default privileges in schema analytics_staging grant select, insert, delete, truncate on tables to analytics_writer;

-- The synced tables.
grant usage on schema analytics to analytics_writer;
grant select, insert, update on all tables in schema analytics to analytics_writer;
alter default privileges in schema analytics grant select, insert, update on tables to analytics_writer;
