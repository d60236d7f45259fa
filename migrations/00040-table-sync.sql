-- 00040: Postgres → Postgres table syncs ("pipelines" other than keap, e.g. athletes).
-- analytics          synced tables (written by analytics_staging.merge_table_sync only, read by everyone)
-- analytics_staging  the machinery: declarations, per-sync state, one unlogged staging table per sync
--                    (created by analytics_staging.declare_table_sync) - never readable by keap_reader
-- Runs, merge counts and row issues use keap_meta (etl_run_log with pipeline = the sync's name).

create schema if not exists analytics;
create schema if not exists analytics_staging;
comment on schema analytics is 'Tables kept in step with other PostgreSQL databases (table syncs such as athletes); written only by analytics_staging.merge_table_sync.';
comment on schema analytics_staging is 'Table-sync machinery: declarations (table_syncs), state (table_sync_state), one staging table per sync, the merge function.';

grant usage on schema analytics to keap_reader;
alter default privileges in schema analytics grant select on tables to keap_reader;
revoke all on schema analytics_staging from public;

create table analytics_staging.table_syncs (
  sync_name         text primary key
                    check (sync_name ~ '^[a-z][a-z0-9_]{0,40}$' and sync_name <> 'keap'),
  source_schema     text,
  source_table      text,
  source_query      text,
  key_columns       text[] not null check (cardinality(key_columns) between 1 and 8),
  columns           jsonb not null check (jsonb_typeof(columns) = 'array'),
  target_table      regclass not null,
  updated_at_column text,
  full_every        interval not null default '24 hours' check (full_every > interval '0'),
  overlap           interval not null default '5 minutes' check (overlap >= interval '0'),
  staging_table     regclass not null,
  description       text not null,
  declared_at       timestamptz not null default now(),
  constraint table_syncs_one_source check ((source_table is not null and source_query is null)
                                           or (source_table is null and source_query is not null and source_schema is null))
);
comment on table analytics_staging.table_syncs is 'One row per table sync, written only by analytics_staging.declare_table_sync (called from sql/transforms/2xx files). The sync name is also its pipeline name in keap_meta.etl_run_log.';
comment on column analytics_staging.table_syncs.sync_name is 'Name of the sync and of its pipeline (npm run sync -- --pipeline <name>).';
comment on column analytics_staging.table_syncs.source_schema is 'Schema of the source table in the source database (null for a query source).';
comment on column analytics_staging.table_syncs.source_table is 'Source table name exactly as in the source catalogue (case and spaces kept; quoted when read), or null for a query source.';
comment on column analytics_staging.table_syncs.source_query is 'A SELECT run in the source database instead of a table; the declared source columns name its output columns.';
comment on column analytics_staging.table_syncs.key_columns is 'Target names of the key columns (the target table''s primary key).';
comment on column analytics_staging.table_syncs.columns is 'Array of {source, target, type[, source_type][, comment]}: source column, target column, target type, optional expected source type.';
comment on column analytics_staging.table_syncs.target_table is 'The table the merge writes (it has the declared columns plus source_synced_at, _first_seen_at, _synced_at, _deleted_at, _run_id).';
comment on column analytics_staging.table_syncs.updated_at_column is 'Source column holding the row''s last update time (timestamp or timestamptz); null = every run is a full pass.';
comment on column analytics_staging.table_syncs.full_every is 'With an update-time column: a full pass (which also finds deleted rows) at least this often.';
comment on column analytics_staging.table_syncs.overlap is 'Incremental runs re-read rows updated this long before the saved watermark (late commits).';
comment on column analytics_staging.table_syncs.staging_table is 'Unlogged staging table the source rows are copied into each run.';
comment on column analytics_staging.table_syncs.description is 'What is synced, for DBAs.';
comment on column analytics_staging.table_syncs.declared_at is 'When the declaration was last changed.';

create table analytics_staging.table_sync_state (
  sync_name          text primary key references analytics_staging.table_syncs (sync_name) on delete cascade,
  watermark          timestamptz,
  last_full_read_at  timestamptz,
  last_full_run_id   bigint,
  last_read_at       timestamptz,
  last_run_id        bigint,
  source_types       jsonb not null default '{}'
);
comment on table analytics_staging.table_sync_state is 'Per table sync: incremental watermark, the last complete pass (which confirms every live row at once) and the source column types last seen.';
comment on column analytics_staging.table_sync_state.sync_name is 'The table sync.';
comment on column analytics_staging.table_sync_state.watermark is 'Greatest source update time copied so far; incremental runs read from it minus the overlap.';
comment on column analytics_staging.table_sync_state.last_full_read_at is 'When the source was read by the last successful full pass: every live target row was equal to the source then (the source_synced_at of rows not written since).';
comment on column analytics_staging.table_sync_state.last_full_run_id is 'Run of that full pass.';
comment on column analytics_staging.table_sync_state.last_read_at is 'When the source was read by the last successful run, full or incremental.';
comment on column analytics_staging.table_sync_state.last_run_id is 'Last successful run.';
comment on column analytics_staging.table_sync_state.source_types is 'Source column name -> type name seen by the last successful run; a different type on a later run stops the run (SQLSTATE KT001).';
