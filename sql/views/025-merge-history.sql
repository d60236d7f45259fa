-- keap_ops.merge_history: every merge procedure call, newest first, with its counts and speed.
-- Grain: merge call (keap_meta.merge_log), several per run and entity (every
-- KEAP_MERGE_EVERY_PAGES pages and at the end of each traversal).
-- Cost: reads keap_meta.merge_log joined to its run; filter on merged_at (index merge_log_merged_at),
-- run_id (merge_log_run) or entity (merge_log_entity).
-- Example:
--   select merged_at, run_id, entity, pages_merged, inserted_count, updated_count, unchanged_count,
--          deleted_count, rejected_count, duration_ms, rows_per_second
--     from keap_ops.merge_history where merged_at > now() - interval '1 day' order by merge_id desc;
--   select entity, avg(duration_ms) from keap_ops.merge_history
--    where merged_at > now() - interval '7 days' group by entity;
drop view if exists keap_ops.merge_history;
create view keap_ops.merge_history as
select
  m.merge_id,
  m.merged_at,
  m.run_id,
  r.pipeline,
  r.status as run_status,
  m.entity,
  m.procedure_name,
  m.pages_merged,
  m.inserted_count + m.updated_count + m.unchanged_count as rows_received,
  m.inserted_count,
  m.updated_count,
  m.unchanged_count,
  m.deleted_count,
  m.rejected_count,
  m.duration_ms,
  case when m.duration_ms > 0
       then round((m.inserted_count + m.updated_count + m.unchanged_count) * 1000.0 / m.duration_ms, 1) end as rows_per_second
from keap_meta.merge_log m
join keap_meta.etl_run_log r on r.run_id = m.run_id;

comment on view keap_ops.merge_history is 'One row per merge procedure call: when, which run and entity, pages read, rows inserted / updated / unchanged / deleted / rejected, duration and rows per second. Filter on merged_at, run_id or entity.';
comment on column keap_ops.merge_history.merge_id is 'Merge call identifier (keap_meta.merge_log); increasing in time.';
comment on column keap_ops.merge_history.merged_at is 'When the merge finished.';
comment on column keap_ops.merge_history.run_id is 'Run whose staged pages were merged.';
comment on column keap_ops.merge_history.pipeline is 'Pipeline of that run.';
comment on column keap_ops.merge_history.run_status is 'Current status of that run.';
comment on column keap_ops.merge_history.entity is 'Entity merged.';
comment on column keap_ops.merge_history.procedure_name is 'Merge procedure called (\sf it in psql).';
comment on column keap_ops.merge_history.pages_merged is 'Staged pages read by this call.';
comment on column keap_ops.merge_history.rows_received is 'Distinct records the pages held: inserted + updated + unchanged.';
comment on column keap_ops.merge_history.inserted_count is 'Rows inserted.';
comment on column keap_ops.merge_history.updated_count is 'Rows whose tracked columns changed.';
comment on column keap_ops.merge_history.unchanged_count is 'Records identical to the warehouse (not written).';
comment on column keap_ops.merge_history.deleted_count is 'Rows soft-deleted (the call that finished a full traversal).';
comment on column keap_ops.merge_history.rejected_count is 'Row issues recorded (keap_ops.recent_row_issues).';
comment on column keap_ops.merge_history.duration_ms is 'Time spent in the merge, in milliseconds.';
comment on column keap_ops.merge_history.rows_per_second is 'rows_received per second of merge time.';
