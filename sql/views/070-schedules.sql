-- keap_ops.schedules: the jobs of `npm run schedule` — cron, next and last run, last status.
-- Grain: job (keap_meta.schedule_jobs), with its newest execution (keap_meta.job_executions).
-- Cost: one index lookup per job (job_executions_job_recent); a handful of rows.
-- next_run_at comes from the scheduler itself (node-cron); it is only meaningful while
-- scheduler_alive is true (a heartbeat in the last two minutes).
-- Example:
--   select job, cron, next_run_at, last_run_at, last_status, last_message from keap_ops.schedules;
--   select * from keap_ops.schedules where last_status in ('failed', 'skipped') or not scheduler_alive;
drop view if exists keap_ops.schedules;
create view keap_ops.schedules as
select
  j.job,
  j.pipeline,
  j.cron,
  j.timezone,
  j.enabled,
  case when j.enabled then j.next_run_at end as next_run_at,
  e.started_at as last_run_at,
  e.status as last_status,
  e.trigger as last_trigger,
  e.run_id as last_run_id,
  e.holding_run_id as last_holding_run_id,
  e.message as last_message,
  coalesce(a.failing, false) as is_failing,
  a.failing_since,
  j.scheduler,
  coalesce(j.seen_at > clock_timestamp() - interval '2 minutes', false) as scheduler_alive,
  j.description
from keap_meta.schedule_jobs j
left join lateral (
  select x.started_at, x.status, x.trigger, x.run_id, x.holding_run_id, x.message
    from keap_meta.job_executions x
   where x.job = j.job
   order by x.started_at desc
   limit 1) e on true
left join keap_meta.alert_state a on a.job = j.job;

comment on view keap_ops.schedules is 'One row per job of `npm run schedule`: its cron and time zone, the next tick, and what the last tick did (ran, failed, skipped because the pipeline was busy and by which run).';
comment on column keap_ops.schedules.job is 'Job name: keap-incremental, keap-full, retention, oauth-keepalive, pipeline:<name>.';
comment on column keap_ops.schedules.pipeline is 'Pipeline whose runs the job starts (keap_ops.runs.pipeline).';
comment on column keap_ops.schedules.cron is 'Cron expression in effect (5 fields, or 6 with seconds); null when the job is off.';
comment on column keap_ops.schedules.timezone is 'Time zone of the cron expression (UTC unless SCHEDULE_TIMEZONE says otherwise).';
comment on column keap_ops.schedules.enabled is 'False when switched off by configuration (description says why).';
comment on column keap_ops.schedules.next_run_at is 'Next tick, as the running scheduler computed it; stale when scheduler_alive is false.';
comment on column keap_ops.schedules.last_run_at is 'When the last tick was handled.';
comment on column keap_ops.schedules.last_status is 'running, succeeded, partial, failed, cancelled or skipped.';
comment on column keap_ops.schedules.last_trigger is 'tick (on time) or catch-up (a tick missed during downtime, run once at start).';
comment on column keap_ops.schedules.last_run_id is 'Run started by the last tick (keap_ops.runs.run_id).';
comment on column keap_ops.schedules.last_holding_run_id is 'When the last tick was skipped because the pipeline was busy: the run that held it.';
comment on column keap_ops.schedules.last_message is 'Error, skip reason or summary of the last tick.';
comment on column keap_ops.schedules.is_failing is 'True from a failed tick until the next successful one (an alert went out when it turned true).';
comment on column keap_ops.schedules.failing_since is 'When the current failure streak began.';
comment on column keap_ops.schedules.scheduler is 'host:pid of the scheduler that last declared or ticked the job.';
comment on column keap_ops.schedules.scheduler_alive is 'True while that scheduler''s heartbeat (every 30 s) is under two minutes old.';
comment on column keap_ops.schedules.description is 'What the job does, or why it is switched off.';
