-- keap_ops.table_sync_freshness: how current each Postgres → Postgres table sync is (athletes, …),
-- beside keap_ops.entity_freshness for Keap. Their runs are in keap_ops.runs (pipeline = sync name).
-- Grain: table sync (one row per declaration in analytics_staging.table_syncs).
-- Cost: per sync, its state row, its latest run (index etl_run_log_pipeline_started), its latest
-- merge (index merge_log_entity) and the snapshot of its last successful run (primary key). No
-- scan of the synced tables.
-- Example:
--   select sync_name, last_status, seconds_since_confirmed, live_count, deleted_count
--     from keap_ops.table_sync_freshness;
--   select sync_name from keap_ops.table_sync_freshness where seconds_since_confirmed > 2 * 86400;  -- stale
drop view if exists keap_ops.table_sync_freshness;
create view keap_ops.table_sync_freshness as
select
  d.sync_name,
  d.target_table::text as target_table,
  case when d.source_table is not null then format('%I.%I', coalesce(d.source_schema, 'public'), d.source_table)
       else 'query' end as source,
  case when d.updated_at_column is null then 'full' else 'incremental' end as mode,
  lr.run_id as last_run_id,
  lr.status as last_status,
  lr.started_at as last_started_at,
  lr.error_message as last_error_message,
  s.last_read_at as last_succeeded_read_at,
  s.last_full_read_at as confirmed_at,
  round(extract(epoch from clock_timestamp() - s.last_full_read_at)::numeric, 3) as seconds_since_confirmed,
  round(extract(epoch from clock_timestamp() - s.last_read_at)::numeric, 3) as lag_seconds,
  case when d.updated_at_column is not null then s.last_full_read_at + d.full_every end as next_full_due_at,
  s.watermark,
  m.inserted_count as last_inserted_count,
  m.updated_count as last_updated_count,
  m.unchanged_count as last_unchanged_count,
  m.deleted_count as last_deleted_count,
  m.rejected_count as last_rejected_count,
  snap.live_count,
  snap.row_count - snap.live_count as deleted_count
from analytics_staging.table_syncs d
left join analytics_staging.table_sync_state s on s.sync_name = d.sync_name
left join lateral (
  select r.run_id, r.status, r.started_at, r.error_message from keap_meta.etl_run_log r
   where r.pipeline = d.sync_name order by r.started_at desc limit 1) lr on true
left join lateral (
  select ml.* from keap_meta.merge_log ml where ml.entity = d.sync_name order by ml.merge_id desc limit 1) m on true
left join keap_meta.table_snapshot snap on snap.run_id = s.last_run_id and snap.table_name = d.target_table::text;

comment on view keap_ops.table_sync_freshness is 'One row per Postgres → Postgres table sync: last run and its counts, when the target was last confirmed equal to the source (last complete pass), incremental watermark, live and soft-deleted rows.';
comment on column keap_ops.table_sync_freshness.sync_name is 'Table sync name, also its pipeline name in keap_ops.runs.';
comment on column keap_ops.table_sync_freshness.target_table is 'Warehouse table the sync writes.';
comment on column keap_ops.table_sync_freshness.source is 'Source table in the source database (schema.table), or query.';
comment on column keap_ops.table_sync_freshness.mode is 'incremental (an update-time column is declared; periodic full passes find deletions) or full (every run is a full pass).';
comment on column keap_ops.table_sync_freshness.last_run_id is 'Latest run of this pipeline, whatever its status.';
comment on column keap_ops.table_sync_freshness.last_status is 'Status of that run: running, succeeded, failed, cancelled, abandoned.';
comment on column keap_ops.table_sync_freshness.last_started_at is 'When that run started.';
comment on column keap_ops.table_sync_freshness.last_error_message is 'Why that run failed, if it did.';
comment on column keap_ops.table_sync_freshness.last_succeeded_read_at is 'When the source was read by the last successful run (full or incremental).';
comment on column keap_ops.table_sync_freshness.confirmed_at is 'When the source was read by the last successful complete pass: every live target row was equal to the source then.';
comment on column keap_ops.table_sync_freshness.seconds_since_confirmed is 'Seconds since confirmed_at: the age of the oldest source_synced_at of a live row.';
comment on column keap_ops.table_sync_freshness.lag_seconds is 'Seconds since last_succeeded_read_at.';
comment on column keap_ops.table_sync_freshness.next_full_due_at is 'Incremental syncs: when the next run becomes a full pass (full_every after the last one).';
comment on column keap_ops.table_sync_freshness.watermark is 'Incremental syncs: greatest source update time copied so far.';
comment on column keap_ops.table_sync_freshness.last_inserted_count is 'Rows inserted by the latest merge.';
comment on column keap_ops.table_sync_freshness.last_updated_count is 'Rows changed (or revived) by the latest merge.';
comment on column keap_ops.table_sync_freshness.last_unchanged_count is 'Rows copied but equal to the target, not written, by the latest merge.';
comment on column keap_ops.table_sync_freshness.last_deleted_count is 'Rows soft-deleted by the latest merge.';
comment on column keap_ops.table_sync_freshness.last_rejected_count is 'Source rows skipped by the latest merge (null or duplicate keys; see keap_ops.recent_row_issues).';
comment on column keap_ops.table_sync_freshness.live_count is 'Live rows in the target after the last successful run.';
comment on column keap_ops.table_sync_freshness.deleted_count is 'Soft-deleted rows in the target after the last successful run.';
