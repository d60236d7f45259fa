-- 00050: operations. `npm run schedule` declares its jobs in keap_meta.schedule_jobs and records
-- every tick it handled in keap_meta.job_executions (one row per job and scheduled instant: the
-- unique key is what lets two schedulers side by side run each tick once). Alerts are sent once
-- when a job starts failing and once when it recovers (keap_meta.alert_state), and every delivery
-- attempt is recorded (keap_meta.alert_deliveries), so a webhook that is down is visible, never fatal.

create table keap_meta.schedule_jobs (
  job            text primary key check (job ~ '^[a-z][a-z0-9_:.-]*$'),
  kind           text not null,
  pipeline       text,
  cron           text,
  timezone       text not null default 'UTC',
  enabled        boolean not null default true,
  description    text,
  next_run_at    timestamptz,
  first_registered_at timestamptz not null default clock_timestamp(),
  registered_at  timestamptz not null default clock_timestamp(),
  scheduler      text,
  seen_at        timestamptz
);
comment on table keap_meta.schedule_jobs is 'The jobs of `npm run schedule` as the last scheduler started declared them (cron, time zone, on/off). Read keap_ops.schedules instead.';
comment on column keap_meta.schedule_jobs.job is 'Job name, e.g. keap-incremental, keap-full, retention, oauth-keepalive, pipeline:athletes.';
comment on column keap_meta.schedule_jobs.kind is 'What the job does: keap-incremental, keap-full, retention, oauth-keepalive or pipeline.';
comment on column keap_meta.schedule_jobs.pipeline is 'Pipeline whose runs the job starts (its run lock keeps two runs apart).';
comment on column keap_meta.schedule_jobs.cron is 'Cron expression (node-cron; 5 fields, or 6 with seconds); null when switched off.';
comment on column keap_meta.schedule_jobs.timezone is 'Time zone the cron expression is read in (SCHEDULE_TIMEZONE, default UTC).';
comment on column keap_meta.schedule_jobs.enabled is 'False when the job is switched off by configuration.';
comment on column keap_meta.schedule_jobs.description is 'What the job does, and why it is off when it is.';
comment on column keap_meta.schedule_jobs.next_run_at is 'Next tick as computed by the running scheduler (node-cron).';
comment on column keap_meta.schedule_jobs.first_registered_at is 'When a scheduler first declared the job (the start of catch-up for a job that never ran).';
comment on column keap_meta.schedule_jobs.registered_at is 'When a scheduler last declared the job (at its start).';
comment on column keap_meta.schedule_jobs.scheduler is 'host:pid of the scheduler that last declared or ticked the job.';
comment on column keap_meta.schedule_jobs.seen_at is 'Last heartbeat of that scheduler (every 30 seconds while it runs).';

create table keap_meta.job_executions (
  execution_id   bigint generated always as identity primary key,
  job            text not null,
  scheduled_for  timestamptz not null,
  trigger        text not null check (trigger in ('tick', 'catch-up', 'manual')),
  status         text not null check (status in ('running', 'succeeded', 'partial', 'failed', 'cancelled', 'skipped')),
  run_id         bigint references keap_meta.etl_run_log (run_id) on delete set null,
  holding_run_id bigint references keap_meta.etl_run_log (run_id) on delete set null,
  message        text,
  exit_code      integer,
  started_at     timestamptz not null default clock_timestamp(),
  ended_at       timestamptz,
  host           text,
  pid            integer,
  constraint job_executions_one_per_tick unique (job, scheduled_for)
);
create index job_executions_job_recent on keap_meta.job_executions (job, started_at desc);
comment on table keap_meta.job_executions is 'One row per job tick a scheduler handled (ran, skipped or cancelled). Unique per job and scheduled instant, so two schedulers never both run a tick.';
comment on column keap_meta.job_executions.execution_id is 'Execution identifier.';
comment on column keap_meta.job_executions.job is 'Job (keap_meta.schedule_jobs.job).';
comment on column keap_meta.job_executions.scheduled_for is 'The cron instant this execution belongs to.';
comment on column keap_meta.job_executions.trigger is 'tick (on time), catch-up (a tick missed while no scheduler ran, run once at start) or manual (npm run schedule -- --run <job>).';
comment on column keap_meta.job_executions.status is 'running, succeeded, partial, failed, cancelled (scheduler stopped) or skipped (pipeline busy, or schema not migrated).';
comment on column keap_meta.job_executions.run_id is 'The run the execution started (keap_ops.runs), when it got that far.';
comment on column keap_meta.job_executions.holding_run_id is 'For a skipped execution: the running run that held the pipeline.';
comment on column keap_meta.job_executions.message is 'Error, skip reason or summary.';
comment on column keap_meta.job_executions.exit_code is 'Exit code the same work would have as a command (README, exit codes).';
comment on column keap_meta.job_executions.started_at is 'When the scheduler began handling the tick.';
comment on column keap_meta.job_executions.ended_at is 'When it finished; null while running.';
comment on column keap_meta.job_executions.host is 'Host of the scheduler.';
comment on column keap_meta.job_executions.pid is 'Process id of the scheduler.';

create table keap_meta.alert_state (
  job            text primary key,
  failing        boolean not null,
  failing_since  timestamptz,
  last_run_id    bigint references keap_meta.etl_run_log (run_id) on delete set null,
  last_error     text,
  updated_at     timestamptz not null default clock_timestamp()
);
comment on table keap_meta.alert_state is 'Whether each job is currently failing: an alert goes out only when this flips (failure, then recovery), not on every failed tick.';
comment on column keap_meta.alert_state.job is 'Job name.';
comment on column keap_meta.alert_state.failing is 'True from a failed execution until the next successful one.';
comment on column keap_meta.alert_state.failing_since is 'When the current failure streak began.';
comment on column keap_meta.alert_state.last_run_id is 'Run of the execution that last changed the state.';
comment on column keap_meta.alert_state.last_error is 'Error of the failure that opened the streak.';
comment on column keap_meta.alert_state.updated_at is 'When the state last changed.';

create table keap_meta.alert_deliveries (
  delivery_id    bigint generated always as identity primary key,
  job            text not null,
  kind           text not null check (kind in ('failure', 'recovery')),
  run_id         bigint references keap_meta.etl_run_log (run_id) on delete set null,
  target         text not null,
  ok             boolean not null,
  http_status    integer,
  error          text,
  attempts       integer not null,
  sent_at        timestamptz not null default clock_timestamp()
);
create index alert_deliveries_sent_at on keap_meta.alert_deliveries (sent_at);
comment on table keap_meta.alert_deliveries is 'Every alert the scheduler tried to send to ALERT_WEBHOOK_URL, delivered or not.';
comment on column keap_meta.alert_deliveries.delivery_id is 'Delivery identifier.';
comment on column keap_meta.alert_deliveries.job is 'Job the alert is about.';
comment on column keap_meta.alert_deliveries.kind is 'failure (the job started failing) or recovery (it succeeded again).';
comment on column keap_meta.alert_deliveries.run_id is 'Run the alert names.';
comment on column keap_meta.alert_deliveries.target is 'Webhook host (the URL path may hold a secret and is not stored).';
comment on column keap_meta.alert_deliveries.ok is 'True when the webhook answered 2xx.';
comment on column keap_meta.alert_deliveries.http_status is 'HTTP status of the last attempt, null when none arrived.';
comment on column keap_meta.alert_deliveries.error is 'Why delivery failed (status text, timeout, network error).';
comment on column keap_meta.alert_deliveries.attempts is 'Attempts made (a failed attempt is retried once).';
comment on column keap_meta.alert_deliveries.sent_at is 'When the (last) attempt ended.';

-- Deleting an old request makes PostgreSQL check every table whose foreign key points at it; without
-- an index on the referencing column that check scans the whole staging table once per row.
do $$
declare
  v record;
begin
  for v in
    select c.conrelid::regclass as tbl, a.attname as col, c.conrelid::regclass::text as tname
      from pg_constraint c
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
     where c.contype = 'f' and c.confrelid = 'keap_meta.etl_request_log'::regclass and cardinality(c.conkey) = 1
       and not exists (select from pg_index i where i.indrelid = c.conrelid and i.indkey[0] = c.conkey[1])
  loop
    execute format('create index %I on %s (%I) where %I is not null',
                   split_part(v.tname, '.', 2) || '_' || v.col, v.tbl, v.col, v.col);
  end loop;
end
$$;

-- `npm run connect` stores the pair of an authorization-code exchange in the same row a refresh uses.
alter table keap_meta.oauth_tokens drop constraint oauth_tokens_source_check;
alter table keap_meta.oauth_tokens add constraint oauth_tokens_source_check check (source in ('env', 'refresh', 'authorize'));
comment on column keap_meta.oauth_tokens.source is 'Where the current refresh token came from: env (seeded from KEAP_REFRESH_TOKEN, not yet used), authorize (npm run connect: the authorization-code exchange) or refresh (returned by the token endpoint).';
