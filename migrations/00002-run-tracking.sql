-- 00002: run tracking. Every run, every HTTP request, every event and every count is a row here,
-- keyed by an explicit run_id (no hidden "current run" state anywhere). The functions that write
-- these tables live in sql/transforms/001-run-tracking.sql.

create table keap_meta.etl_run_log (
  run_id          bigint generated always as identity primary key,
  pipeline        text not null check (pipeline ~ '^[a-z][a-z0-9_:.-]*$'),
  trigger         text not null default 'manual' check (trigger ~ '^[a-z][a-z0-9_]*$'),
  notes           text,
  status          text not null default 'running'
                  check (status in ('running', 'succeeded', 'failed', 'partial', 'cancelled', 'abandoned')),
  started_at      timestamptz not null default clock_timestamp(),
  heartbeat_at    timestamptz not null default clock_timestamp(),
  ended_at        timestamptz,
  error_sqlstate  text check (error_sqlstate ~ '^[0-9A-Z]{5}$'),
  error_message   text,
  error_entity    text,
  request_count   bigint not null default 0,
  record_count    bigint not null default 0,
  inserted_count  bigint not null default 0,
  updated_count   bigint not null default 0,
  unchanged_count bigint not null default 0,
  deleted_count   bigint not null default 0,
  rejected_count  bigint not null default 0,
  progress        jsonb not null default '{}',
  host            text,
  pid             integer,
  backend_pid     integer not null default pg_backend_pid(),
  backend_start   timestamptz,
  constraint etl_run_log_ended_iff_not_running check ((status = 'running') = (ended_at is null))
);
-- The database, not the code, guarantees one running run per pipeline.
create unique index etl_run_log_one_running_per_pipeline on keap_meta.etl_run_log (pipeline) where status = 'running';
create index etl_run_log_started_at on keap_meta.etl_run_log (started_at);
create index etl_run_log_pipeline_started on keap_meta.etl_run_log (pipeline, started_at desc);

comment on table keap_meta.etl_run_log is 'One row per sync run. Written by keap_meta.start_run / end_run / heartbeat; at most one running run per pipeline.';
comment on column keap_meta.etl_run_log.run_id is 'Run identifier; every other tracking row names it explicitly.';
comment on column keap_meta.etl_run_log.pipeline is 'Which pipeline ran, e.g. keap or pg:athlete_dim. One running run per pipeline.';
comment on column keap_meta.etl_run_log.trigger is 'What started the run: manual, schedule, demo, test, ...';
comment on column keap_meta.etl_run_log.notes is 'Free text given at start (command line, options).';
comment on column keap_meta.etl_run_log.status is 'running, succeeded, failed, partial (stopped early, resumable), cancelled (signal), abandoned (its process died).';
comment on column keap_meta.etl_run_log.started_at is 'When the run started.';
comment on column keap_meta.etl_run_log.heartbeat_at is 'Last sign of life from the running process; a stale value on a live run means it looks stuck.';
comment on column keap_meta.etl_run_log.ended_at is 'When the run ended; null exactly while running.';
comment on column keap_meta.etl_run_log.error_sqlstate is 'SQLSTATE of the error that failed the run (our own codes start with K).';
comment on column keap_meta.etl_run_log.error_message is 'Error message that failed the run; never contains secrets.';
comment on column keap_meta.etl_run_log.error_entity is 'The entity being synced when the run failed.';
comment on column keap_meta.etl_run_log.request_count is 'HTTP requests made, retries included (maintained by log_request).';
comment on column keap_meta.etl_run_log.record_count is 'Records received from the API (maintained by log_request).';
comment on column keap_meta.etl_run_log.inserted_count is 'Rows inserted by the merges of this run (sum of the merge log, set at end_run).';
comment on column keap_meta.etl_run_log.updated_count is 'Rows updated by the merges of this run.';
comment on column keap_meta.etl_run_log.unchanged_count is 'Rows received but identical to what the warehouse had.';
comment on column keap_meta.etl_run_log.deleted_count is 'Rows soft-deleted (_deleted_at set) by this run.';
comment on column keap_meta.etl_run_log.rejected_count is 'Values or rows recorded as row issues by this run.';
comment on column keap_meta.etl_run_log.progress is 'Latest progress report of the running process (entity, pages, records).';
comment on column keap_meta.etl_run_log.host is 'Host name of the process that ran it.';
comment on column keap_meta.etl_run_log.pid is 'OS process id of the process that ran it.';
comment on column keap_meta.etl_run_log.backend_pid is 'PostgreSQL backend pid of the connection holding the run''s advisory lock.';
comment on column keap_meta.etl_run_log.backend_start is 'Start time of that backend, so a reused pid is never mistaken for the owner.';

create table keap_meta.etl_request_log (
  request_id          bigint generated always as identity primary key,
  run_id              bigint not null references keap_meta.etl_run_log (run_id),
  entity              text,
  endpoint            text not null,
  method              text not null default 'GET',
  query_params        jsonb not null default '{}',
  page_token          text,
  page_offset         bigint,
  page_size           integer,
  http_status         integer,
  record_count        integer,
  bytes               bigint,
  duration_ms         integer,
  attempt             integer not null default 1 check (attempt >= 1),
  throttle_limit      integer,
  throttle_available  integer,
  quota_limit         bigint,
  quota_available     bigint,
  tenant_throttle_available integer,
  tenant_quota_available    bigint,
  retry_after_seconds numeric,
  rate_limit_headers  jsonb not null default '{}',
  error               text,
  requested_at        timestamptz not null default clock_timestamp()
);
create index etl_request_log_run on keap_meta.etl_request_log (run_id, request_id);
create index etl_request_log_requested_at on keap_meta.etl_request_log (requested_at);

comment on table keap_meta.etl_request_log is 'One row per HTTP request to Keap, retries and failures included. Written outside data transactions, so a rolled-back merge never erases it.';
comment on column keap_meta.etl_request_log.request_id is 'Request identifier; staged pages point to the request that fetched them.';
comment on column keap_meta.etl_request_log.run_id is 'The run that made the request (required).';
comment on column keap_meta.etl_request_log.entity is 'Entity being fetched (contacts, tags, ...), or null for auth calls.';
comment on column keap_meta.etl_request_log.endpoint is 'Path of the endpoint, e.g. /rest/v2/contacts.';
comment on column keap_meta.etl_request_log.method is 'HTTP method.';
comment on column keap_meta.etl_request_log.query_params is 'Query parameters sent, with secrets removed.';
comment on column keap_meta.etl_request_log.page_token is 'page_token sent (v2 cursor paging), if any.';
comment on column keap_meta.etl_request_log.page_offset is 'Offset sent (v1 offset paging), if any.';
comment on column keap_meta.etl_request_log.page_size is 'Page size requested.';
comment on column keap_meta.etl_request_log.http_status is 'HTTP status received; null when no response arrived (network error, timeout).';
comment on column keap_meta.etl_request_log.record_count is 'Records in the response page.';
comment on column keap_meta.etl_request_log.bytes is 'Size of the response body in bytes.';
comment on column keap_meta.etl_request_log.duration_ms is 'Time from sending the request to reading the whole body, in milliseconds.';
comment on column keap_meta.etl_request_log.attempt is 'Attempt number for this page: 1 for the first try, 2+ for retries.';
comment on column keap_meta.etl_request_log.throttle_limit is 'x-keap-product-throttle-limit: requests allowed per rolling minute.';
comment on column keap_meta.etl_request_log.throttle_available is 'x-keap-product-throttle-available: requests left in the current minute.';
comment on column keap_meta.etl_request_log.quota_limit is 'x-keap-product-quota-limit: requests allowed per day.';
comment on column keap_meta.etl_request_log.quota_available is 'x-keap-product-quota-available: requests left today.';
comment on column keap_meta.etl_request_log.tenant_throttle_available is 'Per-minute part of x-keap-tenant-throttle-available (tenant-wide, shared with other integrations).';
comment on column keap_meta.etl_request_log.tenant_quota_available is 'Per-day part of x-keap-tenant-throttle-available.';
comment on column keap_meta.etl_request_log.retry_after_seconds is 'Retry-After header value, when Keap sent one.';
comment on column keap_meta.etl_request_log.rate_limit_headers is 'All x-keap-* and Retry-After headers as received.';
comment on column keap_meta.etl_request_log.error is 'Error text for a failed request (network error, HTTP error body); never contains secrets.';
comment on column keap_meta.etl_request_log.requested_at is 'When the request was sent.';

create table keap_meta.etl_run_events (
  event_id  bigint generated always as identity primary key,
  run_id    bigint not null references keap_meta.etl_run_log (run_id),
  at        timestamptz not null default clock_timestamp(),
  level     text not null default 'info' check (level in ('debug', 'info', 'warn', 'error')),
  stage     text,
  entity    text,
  message   text not null,
  data      jsonb not null default '{}'
);
create index etl_run_events_run on keap_meta.etl_run_events (run_id, event_id);
create index etl_run_events_at on keap_meta.etl_run_events (at);

comment on table keap_meta.etl_run_events is 'What happened during a run, in order: the material for a trace of a run.';
comment on column keap_meta.etl_run_events.event_id is 'Event identifier, increasing in time.';
comment on column keap_meta.etl_run_events.run_id is 'The run the event belongs to.';
comment on column keap_meta.etl_run_events.at is 'When it happened.';
comment on column keap_meta.etl_run_events.level is 'debug, info, warn or error.';
comment on column keap_meta.etl_run_events.stage is 'Stage of the run: start, fetch, merge, count, end, ...';
comment on column keap_meta.etl_run_events.entity is 'Entity concerned, if any.';
comment on column keap_meta.etl_run_events.message is 'Readable description.';
comment on column keap_meta.etl_run_events.data is 'Structured details.';

create table keap_meta.source_counts (
  run_id          bigint not null references keap_meta.etl_run_log (run_id),
  entity          text not null,
  source_count    bigint,
  warehouse_count bigint,
  counted_at      timestamptz not null default clock_timestamp(),
  primary key (run_id, entity)
);
comment on table keap_meta.source_counts is 'Per run and entity: how many records Keap listed and how many live rows the warehouse holds.';
comment on column keap_meta.source_counts.run_id is 'The run that counted.';
comment on column keap_meta.source_counts.entity is 'Entity counted.';
comment on column keap_meta.source_counts.source_count is 'Records Keap listed (a full traversal), or null when not counted.';
comment on column keap_meta.source_counts.warehouse_count is 'Live (not soft-deleted) rows in the warehouse table at the same moment.';
comment on column keap_meta.source_counts.counted_at is 'When the counts were taken.';

create table keap_meta.table_snapshot (
  run_id      bigint not null references keap_meta.etl_run_log (run_id),
  table_name  text not null,
  row_count   bigint not null,
  live_count  bigint not null,
  key_columns text[] not null,
  min_key     jsonb,
  max_key     jsonb,
  taken_at    timestamptz not null default clock_timestamp(),
  primary key (run_id, table_name)
);
comment on table keap_meta.table_snapshot is 'Per run and table: size and key range, to spot tables that shrink, stall or jump between runs.';
comment on column keap_meta.table_snapshot.run_id is 'The run that took the snapshot.';
comment on column keap_meta.table_snapshot.table_name is 'Schema-qualified table name.';
comment on column keap_meta.table_snapshot.row_count is 'All rows, soft-deleted included.';
comment on column keap_meta.table_snapshot.live_count is 'Rows whose _deleted_at is null (all rows when the table has no _deleted_at).';
comment on column keap_meta.table_snapshot.key_columns is 'The table''s primary key columns, in key order.';
comment on column keap_meta.table_snapshot.min_key is 'Smallest primary key as a JSON array of its column values (composite keys included).';
comment on column keap_meta.table_snapshot.max_key is 'Largest primary key as a JSON array of its column values.';
comment on column keap_meta.table_snapshot.taken_at is 'When the snapshot was taken.';

create table keap_meta.merge_log (
  run_id          bigint not null references keap_meta.etl_run_log (run_id),
  entity          text not null,
  procedure_name  text not null,
  inserted_count  bigint not null default 0,
  updated_count   bigint not null default 0,
  unchanged_count bigint not null default 0,
  deleted_count   bigint not null default 0,
  rejected_count  bigint not null default 0,
  pages_merged    integer not null default 0,
  duration_ms     integer,
  merged_at       timestamptz not null default clock_timestamp(),
  merge_id        bigint generated always as identity primary key
);
create index merge_log_run on keap_meta.merge_log (run_id, entity);
comment on table keap_meta.merge_log is 'One row per merge procedure call: rows inserted / updated / unchanged / deleted / rejected. Written in the merge''s own transaction.';
comment on column keap_meta.merge_log.merge_id is 'Merge call identifier.';
comment on column keap_meta.merge_log.run_id is 'The run whose staged pages were merged.';
comment on column keap_meta.merge_log.entity is 'Entity (or child collection) merged.';
comment on column keap_meta.merge_log.procedure_name is 'Merge procedure that wrote this row.';
comment on column keap_meta.merge_log.inserted_count is 'Rows inserted.';
comment on column keap_meta.merge_log.updated_count is 'Rows whose tracked columns changed.';
comment on column keap_meta.merge_log.unchanged_count is 'Rows received identical to the warehouse (not written).';
comment on column keap_meta.merge_log.deleted_count is 'Rows soft-deleted.';
comment on column keap_meta.merge_log.rejected_count is 'Row issues recorded (bad values stored as null, unusable records kept in staging).';
comment on column keap_meta.merge_log.pages_merged is 'Staged pages read.';
comment on column keap_meta.merge_log.duration_ms is 'Time spent in the merge, in milliseconds.';
comment on column keap_meta.merge_log.merged_at is 'When the merge ran.';

create table keap_meta.row_issues (
  issue_id    bigint generated always as identity primary key,
  run_id      bigint not null references keap_meta.etl_run_log (run_id),
  entity      text not null,
  record_key  text,
  field       text,
  raw_value   text,
  problem     text not null,
  staged_page_id bigint,
  recorded_at timestamptz not null default clock_timestamp()
);
create index row_issues_run on keap_meta.row_issues (run_id, entity);
comment on table keap_meta.row_issues is 'Values the merges could not use: the row is kept with that field null (or the record kept in staging), and the problem recorded here.';
comment on column keap_meta.row_issues.issue_id is 'Issue identifier.';
comment on column keap_meta.row_issues.run_id is 'Run whose merge found the problem.';
comment on column keap_meta.row_issues.entity is 'Entity of the record.';
comment on column keap_meta.row_issues.record_key is 'Key of the record (e.g. the Keap id), when it has one.';
comment on column keap_meta.row_issues.field is 'Field that could not be used.';
comment on column keap_meta.row_issues.raw_value is 'The raw value as received (truncated to 10,000 characters).';
comment on column keap_meta.row_issues.problem is 'What is wrong with it.';
comment on column keap_meta.row_issues.staged_page_id is 'Staged page holding the raw record.';
comment on column keap_meta.row_issues.recorded_at is 'When it was recorded.';
