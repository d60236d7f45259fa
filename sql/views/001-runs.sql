-- keap_ops.runs: one row per sync run, newest first, with liveness for running runs.
-- Grain: run. Cost: reads keap_meta.etl_run_log (indexed on started_at) and, for running runs
-- only, pg_locks. Filter on started_at for long histories.
-- Example:
--   select run_id, pipeline, status, started_at, duration_seconds, request_count, error_message
--     from keap_ops.runs where started_at > now() - interval '1 day' order by run_id desc;
--   select * from keap_ops.runs where status = 'running' and (looks_stuck or not owner_alive);
drop view if exists keap_ops.runs;
create view keap_ops.runs as
select
  r.run_id,
  r.pipeline,
  r.trigger,
  r.status,
  r.started_at,
  r.ended_at,
  round(extract(epoch from coalesce(r.ended_at, clock_timestamp()) - r.started_at)::numeric, 3) as duration_seconds,
  r.heartbeat_at,
  case when r.status = 'running'
       then round(extract(epoch from clock_timestamp() - r.heartbeat_at)::numeric, 3) end as heartbeat_age_seconds,
  -- The owner is alive exactly while some session holds the pipeline's advisory lock.
  case when r.status = 'running' then exists (
         select from pg_locks l
          where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and l.database = (select oid from pg_database where datname = current_database())
            and ((l.classid::bigint << 32) | l.objid::bigint) = keap_meta.run_lock_key(r.pipeline)) end as owner_alive,
  coalesce(r.status = 'running'
           and r.heartbeat_at < clock_timestamp()
               - make_interval(secs => coalesce(nullif(current_setting('keap.stuck_after_seconds', true), '')::numeric, 300)::double precision),
           false) as looks_stuck,
  r.request_count,
  r.record_count,
  r.inserted_count,
  r.updated_count,
  r.unchanged_count,
  r.deleted_count,
  r.rejected_count,
  r.error_sqlstate,
  r.error_message,
  r.error_entity,
  r.progress,
  r.host,
  r.pid,
  r.notes
from keap_meta.etl_run_log r;

comment on view keap_ops.runs is 'One row per sync run with status, duration, liveness and totals. Running runs show whether their process is alive (owner_alive) and whether it looks hung (looks_stuck).';
comment on column keap_ops.runs.run_id is 'Run identifier (keap_meta.etl_run_log).';
comment on column keap_ops.runs.pipeline is 'Pipeline of the run, e.g. keap.';
comment on column keap_ops.runs.trigger is 'What started it: manual, schedule, demo, test.';
comment on column keap_ops.runs.status is 'running, succeeded, failed, partial, cancelled or abandoned.';
comment on column keap_ops.runs.started_at is 'When the run started.';
comment on column keap_ops.runs.ended_at is 'When it ended; null while running.';
comment on column keap_ops.runs.duration_seconds is 'Seconds from start to end (or to now while running).';
comment on column keap_ops.runs.heartbeat_at is 'Last heartbeat of the running process.';
comment on column keap_ops.runs.heartbeat_age_seconds is 'Seconds since the last heartbeat, for running runs.';
comment on column keap_ops.runs.owner_alive is 'For running runs: true while the process''s database connection is alive. False means the next run will mark it abandoned.';
comment on column keap_ops.runs.looks_stuck is 'Running, and no heartbeat for keap.stuck_after_seconds (default 300): alive but possibly hung.';
comment on column keap_ops.runs.request_count is 'HTTP requests made, retries included.';
comment on column keap_ops.runs.record_count is 'Records received from the API.';
comment on column keap_ops.runs.inserted_count is 'Rows inserted by the run''s merges.';
comment on column keap_ops.runs.updated_count is 'Rows updated by the run''s merges.';
comment on column keap_ops.runs.unchanged_count is 'Rows received that were already up to date.';
comment on column keap_ops.runs.deleted_count is 'Rows soft-deleted by the run.';
comment on column keap_ops.runs.rejected_count is 'Row issues recorded by the run (see keap_meta.row_issues).';
comment on column keap_ops.runs.error_sqlstate is 'SQLSTATE of the failure, if any.';
comment on column keap_ops.runs.error_message is 'Message of the failure, if any.';
comment on column keap_ops.runs.error_entity is 'Entity being synced when it failed.';
comment on column keap_ops.runs.progress is 'Latest progress reported by the running process.';
comment on column keap_ops.runs.host is 'Host that ran it.';
comment on column keap_ops.runs.pid is 'OS process id that ran it.';
comment on column keap_ops.runs.notes is 'Notes given at start (command line).';
