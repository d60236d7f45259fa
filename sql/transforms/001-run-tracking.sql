-- Run tracking: the only way runs are started, logged and ended. Every function takes the run id
-- explicitly; none keeps a "current run". Called by the TypeScript withRun() and by any other tool.
--
-- Liveness: start_run takes a session-level advisory lock per pipeline on the caller's connection.
-- PostgreSQL releases it the moment that connection dies (kill -9, crash, network loss), so a new
-- start_run that gets the lock knows any `running` row of its pipeline has a dead owner and marks it
-- `abandoned` at once; a start_run that cannot get the lock is refused because the owner is alive.
-- Safe to re-run (create or replace only).
--
-- Our SQLSTATEs (class KR): KR001 run already in progress, KR002 run not running, KR003 unknown run,
-- KR004 invalid argument.

-- Advisory lock key of a pipeline: (class 'keap' as int, hash of the pipeline name).
create or replace function keap_meta.run_lock_key(p_pipeline text) returns bigint
language sql immutable parallel safe
as $$ select (1801807216::bigint << 32) | (hashtext(p_pipeline)::bigint & 4294967295) $$;
comment on function keap_meta.run_lock_key(text) is 'Advisory lock key held by the connection that owns the running run of a pipeline.';

-- Does some live session hold the pipeline's run lock?
create or replace function keap_meta.run_owner_alive(p_pipeline text) returns boolean
language sql stable
as $$
  select exists (
    select from pg_locks
    where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())
      and ((classid::bigint << 32) | objid::bigint) = keap_meta.run_lock_key(p_pipeline)
      and objsubid = 1)
$$;
comment on function keap_meta.run_owner_alive(text) is 'True while the connection that started the pipeline''s running run is alive.';

-- Live events: every run-tracking write below also publishes one JSON payload with pg_notify on
-- the channel keap_run_events, so any client (`npm run status -- --watch`, psql's LISTEN, a
-- dashboard) follows runs live without polling. NOTIFY is transactional: the run-tracking writes
-- are autocommitted on the run's tracking connection, so each payload goes out at once, in order.
-- One payload shape for every kind, every key always present (null when it does not apply):
--   {"v": 1, "kind": ..., "run_id": 42, "pipeline": "keap", "status": "running", "at": "<ISO>",
--    "entity": "contacts", "stage": "fetch", "level": "info", "message": "...", "event_id": 17,
--    "progress": {...}, "data": {...}}
-- kind: run_started | entity_started (the plan of an entity) | progress (a heartbeat with the
-- latest progress: entity, traversal, pages, records, records_per_second, quota_available,
-- throttle_available, expected_records) | log (any other event) | entity_done (an entity's final
-- event: data holds its pages, records and counts) | run_done (succeeded or partial) |
-- run_failed (failed, cancelled or abandoned). Payloads stay under NOTIFY's 8000-byte limit: data
-- is dropped (event_id still points to it) and the message cut when they would not fit.
create or replace function keap_meta.notify_run_event(
  p_kind     text,
  p_run_id   bigint,
  p_entity   text default null,
  p_stage    text default null,
  p_level    text default null,
  p_message  text default null,
  p_event_id bigint default null,
  p_progress jsonb default null,
  p_data     jsonb default null
) returns void
language plpgsql volatile
as $$
declare
  v_run     keap_meta.etl_run_log;
  v_payload jsonb;
begin
  select * into v_run from keap_meta.etl_run_log where run_id = p_run_id;
  v_payload := jsonb_build_object(
    'v', 1, 'kind', p_kind, 'run_id', p_run_id, 'pipeline', v_run.pipeline, 'status', v_run.status,
    'at', to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'entity', p_entity, 'stage', p_stage, 'level', p_level, 'message', left(p_message, 2000),
    'event_id', p_event_id, 'progress', p_progress, 'data', coalesce(p_data, '{}'::jsonb));
  if octet_length(v_payload::text) > 7900 then
    v_payload := v_payload || jsonb_build_object('data', jsonb_build_object('truncated', true), 'message', left(p_message, 500));
  end if;
  perform pg_notify('keap_run_events', v_payload::text);
end
$$;
comment on function keap_meta.notify_run_event(text, bigint, text, text, text, text, bigint, jsonb, jsonb) is
  'Publishes one run event on the LISTEN/NOTIFY channel keap_run_events as JSON {v, kind, run_id, pipeline, status, at, entity, stage, level, message, event_id, progress, data}; kind is run_started, entity_started, progress, log, entity_done, run_done or run_failed. Called by the run-tracking functions; delivered when the caller commits.';

-- Which live-event kind a logged event is: the engine's plan of an entity starts it, its final
-- event (stage merge, with the records count) ends it; everything else is a log line.
create or replace function keap_meta.event_kind(p_stage text, p_data jsonb) returns text
language sql immutable parallel safe
as $$
  select case when p_stage = 'plan' then 'entity_started'
              when p_stage = 'merge' and p_data ? 'records' then 'entity_done'
              else 'log' end
$$;
comment on function keap_meta.event_kind(text, jsonb) is 'Live-event kind of a run event: entity_started (stage plan), entity_done (stage merge with a records count: an entity''s final event) or log.';

create or replace function keap_meta.start_run(
  p_pipeline text,
  p_trigger  text default 'manual',
  p_notes    text default null,
  p_host     text default null,
  p_pid      integer default null
) returns bigint
language plpgsql volatile
as $$
declare
  v_running  keap_meta.etl_run_log;
  v_my_start timestamptz;
  v_run_id   bigint;
begin
  if p_pipeline is null or p_pipeline !~ '^[a-z][a-z0-9_:.-]*$' then
    raise exception 'invalid pipeline name: %', coalesce(p_pipeline, 'null')
      using errcode = 'KR004', hint = 'Use lower-case letters, digits and _ : . -, starting with a letter.';
  end if;
  select backend_start into v_my_start from pg_stat_activity where pid = pg_backend_pid();

  select * into v_running from keap_meta.etl_run_log where pipeline = p_pipeline and status = 'running';
  if found and v_running.backend_pid = pg_backend_pid() and v_running.backend_start is not distinct from v_my_start then
    raise exception 'this connection already runs run % of pipeline %', v_running.run_id, p_pipeline
      using errcode = 'KR001', hint = 'End it with keap_meta.end_run() before starting another.';
  end if;

  if not pg_try_advisory_lock(keap_meta.run_lock_key(p_pipeline)) then
    -- The owner may have taken the lock a moment ago and not committed its row yet: look again
    -- (briefly) so the message can name the run.
    for i in 1..40 loop
      exit when v_running.run_id is not null;
      perform pg_sleep(0.05);
      select * into v_running from keap_meta.etl_run_log where pipeline = p_pipeline and status = 'running';
    end loop;
    raise exception 'pipeline % already has a running run (run_id %, started %, pid % on %)',
      p_pipeline, coalesce(v_running.run_id::text, '?'), coalesce(v_running.started_at::text, '?'),
      coalesce(v_running.pid::text, '?'), coalesce(v_running.host, '?')
      using errcode = 'KR001',
            detail = 'Its owner''s connection is alive and holds the pipeline lock.',
            hint = 'Wait for it to finish, or stop that process; a killed process releases the lock at once.';
  end if;

  -- We hold the lock, so any running row's owner is gone: it can never finish it.
  update keap_meta.etl_run_log
     set status = 'abandoned', ended_at = clock_timestamp(),
         error_message = coalesce(error_message, 'owner connection ended without ending the run (process killed or lost)')
   where pipeline = p_pipeline and status = 'running';
  if found then
    insert into keap_meta.etl_run_events (run_id, level, stage, message, data)
    values (v_running.run_id, 'warn', 'end', 'run abandoned: its process died without ending it',
            jsonb_build_object('detected_by_backend_pid', pg_backend_pid()));
    perform keap_meta.notify_run_event('run_failed', v_running.run_id, v_running.error_entity, 'end', 'warn',
                                       'run abandoned: its process died without ending it');
  end if;

  insert into keap_meta.etl_run_log (pipeline, trigger, notes, host, pid, backend_pid, backend_start)
  values (p_pipeline, coalesce(p_trigger, 'manual'), p_notes, p_host, p_pid, pg_backend_pid(), v_my_start)
  returning run_id into v_run_id;

  insert into keap_meta.etl_run_events (run_id, stage, message, data)
  values (v_run_id, 'start', 'run started',
          jsonb_build_object('pipeline', p_pipeline, 'trigger', p_trigger, 'host', p_host, 'pid', p_pid,
                             'abandoned_run_id', v_running.run_id));
  perform keap_meta.notify_run_event('run_started', v_run_id, null, 'start', 'info', 'run started',
                                     p_data => jsonb_build_object('trigger', p_trigger, 'host', p_host, 'pid', p_pid, 'notes', p_notes));
  return v_run_id;
exception
  when unique_violation then
    -- Two starts racing on a pipeline whose lock we somehow both passed: the index decides.
    perform pg_advisory_unlock(keap_meta.run_lock_key(p_pipeline));
    raise exception 'pipeline % already has a running run', p_pipeline
      using errcode = 'KR001', hint = 'Another process started a run at the same moment.';
end
$$;
comment on function keap_meta.start_run(text, text, text, text, integer) is
  'Starts a run of a pipeline and returns its run_id. Takes the pipeline''s advisory lock on this connection (keep the connection for the run''s life); marks a dead owner''s running run abandoned; refuses (KR001) while a live run exists.';

-- Look up a run that must be running; clear errors for unknown and ended runs.
create or replace function keap_meta.require_running(p_run_id bigint) returns keap_meta.etl_run_log
language plpgsql stable
as $$
declare
  v_run keap_meta.etl_run_log;
begin
  select * into v_run from keap_meta.etl_run_log where run_id = p_run_id;
  if not found then
    raise exception 'run % does not exist', coalesce(p_run_id::text, 'null')
      using errcode = 'KR003', hint = 'Start a run with keap_meta.start_run() and pass the run_id it returns.';
  end if;
  if v_run.status <> 'running' then
    raise exception 'run % is not running (status %, ended %)', p_run_id, v_run.status, v_run.ended_at
      using errcode = 'KR002', hint = 'Requests and events can only be logged to a running run; start a new run with keap_meta.start_run().';
  end if;
  return v_run;
end
$$;
comment on function keap_meta.require_running(bigint) is 'Returns the run if it is running; raises KR003 (unknown) or KR002 (not running) with a hint otherwise.';

-- Removes secrets from a query-parameter object (keys that name keys, tokens, secrets, passwords).
create or replace function keap_meta.redact_params(p_params jsonb) returns jsonb
language sql immutable parallel safe
as $$
  select coalesce(jsonb_object_agg(key, case when key ~* '(token|secret|password|api_?key|access|authorization|signature)'
                                               and key <> 'page_token' then to_jsonb('[redacted]'::text) else value end), '{}')
  from jsonb_each(coalesce(p_params, '{}'))
$$;
comment on function keap_meta.redact_params(jsonb) is 'Replaces the values of secret-looking query parameters with [redacted].';

-- First (or only) integer of a rate-limit header; Keap's tenant headers are "minute|day".
create or replace function keap_meta.header_part(p_headers jsonb, p_name text, p_part integer default 1) returns bigint
language sql immutable parallel safe
as $$
  select case when split_part(p_headers ->> p_name, '|', p_part) ~ '^\s*-?\d+\s*$'
              then trim(split_part(p_headers ->> p_name, '|', p_part))::bigint end
$$;
comment on function keap_meta.header_part(jsonb, text, integer) is 'Integer in part N of a pipe-delimited rate-limit header, or null.';

create or replace function keap_meta.log_request(
  p_run_id       bigint,
  p_endpoint     text,
  p_method       text default 'GET',
  p_query_params jsonb default '{}',
  p_page_token   text default null,
  p_page_offset  bigint default null,
  p_page_size    integer default null,
  p_http_status  integer default null,
  p_record_count integer default null,
  p_bytes        bigint default null,
  p_duration_ms  integer default null,
  p_attempt      integer default 1,
  p_headers      jsonb default '{}',
  p_error        text default null,
  p_entity       text default null,
  p_requested_at timestamptz default null
) returns bigint
language plpgsql volatile
as $$
declare
  v_request_id bigint;
  v_headers    jsonb := coalesce(p_headers, '{}');
begin
  perform keap_meta.require_running(p_run_id);
  insert into keap_meta.etl_request_log (
    run_id, entity, endpoint, method, query_params, page_token, page_offset, page_size, http_status,
    record_count, bytes, duration_ms, attempt,
    throttle_limit, throttle_available, quota_limit, quota_available,
    tenant_throttle_available, tenant_quota_available, retry_after_seconds, rate_limit_headers,
    error, requested_at)
  values (
    p_run_id, p_entity, p_endpoint, coalesce(p_method, 'GET'), keap_meta.redact_params(p_query_params),
    p_page_token, p_page_offset, p_page_size, p_http_status, p_record_count, p_bytes, p_duration_ms,
    coalesce(p_attempt, 1),
    keap_meta.header_part(v_headers, 'x-keap-product-throttle-limit'),
    keap_meta.header_part(v_headers, 'x-keap-product-throttle-available'),
    keap_meta.header_part(v_headers, 'x-keap-product-quota-limit'),
    keap_meta.header_part(v_headers, 'x-keap-product-quota-available'),
    keap_meta.header_part(v_headers, 'x-keap-tenant-throttle-available', 1),
    keap_meta.header_part(v_headers, 'x-keap-tenant-throttle-available', 2),
    case when v_headers ->> 'retry-after' ~ '^\s*\d+(\.\d+)?\s*$' then (v_headers ->> 'retry-after')::numeric end,
    (select coalesce(jsonb_object_agg(key, value), '{}') from jsonb_each(v_headers)
      where key like 'x-keap-%' or key = 'retry-after'),
    left(p_error, 4000), coalesce(p_requested_at, clock_timestamp()))
  returning request_id into v_request_id;

  update keap_meta.etl_run_log
     set request_count = request_count + 1,
         record_count = record_count + coalesce(p_record_count, 0)
   where run_id = p_run_id;
  return v_request_id;
end
$$;
comment on function keap_meta.log_request(bigint, text, text, jsonb, text, bigint, integer, integer, integer, bigint, integer, integer, jsonb, text, text, timestamptz) is
  'Records one HTTP request of a running run (retries and failures too) and returns its request_id. Raises KR002/KR003 with a hint when the run is not running or unknown. Secrets in query parameters are redacted.';

create or replace function keap_meta.log_event(
  p_run_id  bigint,
  p_level   text,
  p_message text,
  p_stage   text default null,
  p_entity  text default null,
  p_data    jsonb default '{}'
) returns bigint
language plpgsql volatile
as $$
declare
  v_event_id bigint;
  v_data     jsonb := coalesce(p_data, '{}');
begin
  -- Events of ended runs are allowed (e.g. "cleanup done"), unknown runs are not.
  if not exists (select from keap_meta.etl_run_log where run_id = p_run_id) then
    raise exception 'run % does not exist', coalesce(p_run_id::text, 'null')
      using errcode = 'KR003', hint = 'Pass the run_id returned by keap_meta.start_run().';
  end if;
  -- The plan of a full traversal records when that traversal really started: a resumed one (a
  -- crashed or stopped run's) started with the earlier run. entity_freshness reads it.
  if p_stage = 'plan' and p_entity is not null and v_data ->> 'traversal' = 'full' then
    v_data := v_data || jsonb_strip_nulls(jsonb_build_object('sweep_started_at',
      (select c.full_sweep_started_at from keap_meta.sync_cursors c where c.entity = p_entity)));
  end if;
  insert into keap_meta.etl_run_events (run_id, level, stage, entity, message, data)
  values (p_run_id, coalesce(p_level, 'info'), p_stage, p_entity, p_message, v_data)
  returning event_id into v_event_id;
  perform keap_meta.notify_run_event(keap_meta.event_kind(p_stage, v_data), p_run_id, p_entity, p_stage,
                                     coalesce(p_level, 'info'), p_message, v_event_id, null, v_data);
  return v_event_id;
end
$$;
comment on function keap_meta.log_event(bigint, text, text, text, text, jsonb) is
  'Appends an event (level, message, stage, entity, data) to a run''s trace and publishes it on the keap_run_events channel (kind entity_started, entity_done or log). A full traversal''s plan event gets sweep_started_at, the start of the traversal it continues.';

create or replace function keap_meta.heartbeat(p_run_id bigint, p_progress jsonb default null) returns timestamptz
language plpgsql volatile
as $$
declare
  v_at       timestamptz := clock_timestamp();
  v_progress jsonb;
begin
  perform keap_meta.require_running(p_run_id);
  if p_progress is not null then
    v_progress := keap_meta.enrich_progress(p_run_id, p_progress);
  end if;
  update keap_meta.etl_run_log
     set heartbeat_at = v_at, progress = coalesce(v_progress, progress)
   where run_id = p_run_id
  returning progress into v_progress;
  perform keap_meta.notify_run_event('progress', p_run_id, v_progress ->> 'entity', 'fetch', null, null, null,
                                     v_progress, null);
  return v_at;
end
$$;
comment on function keap_meta.heartbeat(bigint, jsonb) is
  'Marks a running run alive, stores its latest progress (completed by keap_meta.enrich_progress) and publishes it on the keap_run_events channel (kind progress). A live run whose heartbeat is stale looks stuck in keap_ops.runs.';

-- Completes a progress report from what the database already knows, so the orchestrator only
-- reports entity, traversal, pages and records: the rate since the entity's plan event, the quota
-- figures of the run's newest request that carried them, and, for a full traversal, the records
-- Keap listed at the entity's last count (a progress bar's 100 %). Values the caller sent win.
-- Cost: three index lookups (events by run, requests by run, source_counts by entity).
create or replace function keap_meta.enrich_progress(p_run_id bigint, p_progress jsonb) returns jsonb
language sql volatile -- clock_timestamp(): the rate is as of the call, not of the transaction start
as $$
  with e as (
    select ev.at from keap_meta.etl_run_events ev
     where ev.run_id = p_run_id and ev.entity = p_progress ->> 'entity' and ev.stage = 'plan'
     order by ev.event_id desc limit 1
  ), q as (
    select r.quota_available, r.throttle_available from keap_meta.etl_request_log r
     where r.run_id = p_run_id and (r.quota_available is not null or r.throttle_available is not null)
     order by r.request_id desc limit 1
  ), c as (
    select sc.source_count from keap_meta.source_counts sc
     where sc.entity = p_progress ->> 'entity' and sc.source_count is not null
     order by sc.run_id desc limit 1
  )
  select jsonb_strip_nulls(jsonb_build_object(
           'entity_started_at', (select at from e),
           'records_per_second',
             (select round((p_progress ->> 'records')::numeric / greatest(extract(epoch from clock_timestamp() - e.at), 0.001)::numeric, 1)
                from e where (p_progress ->> 'records') ~ '^\d+$'),
           'quota_available', (select quota_available from q),
           'throttle_available', (select throttle_available from q),
           'expected_records', case when p_progress ->> 'traversal' = 'full' then (select source_count from c) end))
         || p_progress
$$;
comment on function keap_meta.enrich_progress(bigint, jsonb) is
  'Completes a run''s progress report with entity_started_at, records_per_second, quota_available, throttle_available and (full traversals) expected_records from the last count; keys the caller sent are kept as sent.';

create or replace function keap_meta.end_run(
  p_run_id        bigint,
  p_status        text,
  p_error_sqlstate text default null,
  p_error_message text default null,
  p_error_entity  text default null
) returns keap_meta.etl_run_log
language plpgsql volatile
as $$
declare
  v_run      keap_meta.etl_run_log;
  v_event_id bigint;
begin
  if p_status is null or p_status not in ('succeeded', 'failed', 'partial', 'cancelled', 'abandoned') then
    raise exception 'invalid end status: %', coalesce(p_status, 'null')
      using errcode = 'KR004', hint = 'Use succeeded, failed, partial, cancelled or abandoned.';
  end if;
  select * into v_run from keap_meta.etl_run_log where run_id = p_run_id for update;
  if not found then
    raise exception 'run % does not exist', coalesce(p_run_id::text, 'null')
      using errcode = 'KR003', hint = 'Pass the run_id returned by keap_meta.start_run().';
  end if;
  if v_run.status = 'running' and v_run.pipeline = 'keap' and p_status in ('succeeded', 'partial') then
    perform keap_meta.snapshot_warehouse(p_run_id, 'keap');
  end if;
  if v_run.status = 'running' then
    update keap_meta.etl_run_log r
       set status = p_status,
           ended_at = clock_timestamp(),
           heartbeat_at = clock_timestamp(),
           error_sqlstate = case when p_error_sqlstate ~ '^[0-9A-Z]{5}$' then p_error_sqlstate end,
           error_message = left(p_error_message, 4000),
           error_entity = p_error_entity,
           inserted_count = m.inserted, updated_count = m.updated, unchanged_count = m.unchanged,
           deleted_count = m.deleted, rejected_count = m.rejected
      from (select coalesce(sum(inserted_count), 0) as inserted, coalesce(sum(updated_count), 0) as updated,
                   coalesce(sum(unchanged_count), 0) as unchanged, coalesce(sum(deleted_count), 0) as deleted,
                   coalesce(sum(rejected_count), 0) as rejected
              from keap_meta.merge_log where run_id = p_run_id) m
     where r.run_id = p_run_id
    returning r.* into v_run;
    insert into keap_meta.etl_run_events (run_id, level, stage, message, data)
    values (p_run_id, case when p_status in ('succeeded', 'partial') then 'info' else 'error' end, 'end',
            'run ' || p_status, jsonb_strip_nulls(jsonb_build_object('sqlstate', p_error_sqlstate,
              'message', left(p_error_message, 4000), 'entity', p_error_entity)))
    returning event_id into v_event_id;
    perform keap_meta.notify_run_event(
      case when p_status in ('succeeded', 'partial') then 'run_done' else 'run_failed' end, p_run_id, p_error_entity, 'end',
      case when p_status in ('succeeded', 'partial') then 'info' else 'error' end,
      coalesce('run ' || p_status || ': ' || left(p_error_message, 1000), 'run ' || p_status), v_event_id, null,
      jsonb_strip_nulls(jsonb_build_object(
        'duration_seconds', round(extract(epoch from v_run.ended_at - v_run.started_at)::numeric, 3),
        'request_count', v_run.request_count, 'record_count', v_run.record_count,
        'inserted_count', v_run.inserted_count, 'updated_count', v_run.updated_count,
        'unchanged_count', v_run.unchanged_count, 'deleted_count', v_run.deleted_count,
        'rejected_count', v_run.rejected_count, 'error_sqlstate', v_run.error_sqlstate,
        'error_message', left(v_run.error_message, 1000), 'error_entity', v_run.error_entity)));
  end if;
  -- Idempotent: an ended run is returned as it is. Release the lock if this session owns it.
  if v_run.backend_pid = pg_backend_pid() and exists (
       select from pg_locks where locktype = 'advisory' and pid = pg_backend_pid() and granted
          and ((classid::bigint << 32) | objid::bigint) = keap_meta.run_lock_key(v_run.pipeline) and objsubid = 1) then
    perform pg_advisory_unlock(keap_meta.run_lock_key(v_run.pipeline));
  end if;
  return v_run;
end
$$;
comment on function keap_meta.end_run(bigint, text, text, text, text) is
  'Ends a run with a final status (and error SQLSTATE/message/entity), totals its merge counts and releases its lock. Idempotent: ending an ended run changes nothing.';

create or replace function keap_meta.log_source_count(
  p_run_id          bigint,
  p_entity          text,
  p_source_count    bigint,
  p_warehouse_count bigint default null
) returns void
language plpgsql volatile
as $$
begin
  perform keap_meta.require_running(p_run_id);
  insert into keap_meta.source_counts (run_id, entity, source_count, warehouse_count)
  values (p_run_id, p_entity, p_source_count, p_warehouse_count)
  on conflict (run_id, entity) do update
    set source_count = excluded.source_count, warehouse_count = excluded.warehouse_count, counted_at = clock_timestamp();
end
$$;
comment on function keap_meta.log_source_count(bigint, text, bigint, bigint) is 'Records how many records Keap listed for an entity and how many live rows the warehouse holds.';

-- Snapshot of a table's size and key range; the key is read from the catalogue, so composite
-- keys work (min/max compare the key columns in order, as a row).
create or replace function keap_meta.take_table_snapshot(p_run_id bigint, p_table regclass) returns keap_meta.table_snapshot
language plpgsql volatile
as $$
declare
  v_cols    text[];
  v_row     text;
  v_order   text;
  v_has_del boolean;
  v_snap    keap_meta.table_snapshot;
  v_rows    bigint;
  v_live    bigint;
  v_min     jsonb;
  v_max     jsonb;
  v_synced  timestamptz;
  v_has_syn boolean;
begin
  perform keap_meta.require_running(p_run_id);
  select array_agg(a.attname::text order by k.ord) into v_cols
    from pg_index i
    cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
   where i.indrelid = p_table and i.indisprimary;
  if v_cols is null then
    raise exception 'table % has no primary key', p_table using errcode = 'KR004';
  end if;
  select exists (select from pg_attribute where attrelid = p_table and attname = '_deleted_at' and not attisdropped)
    into v_has_del;
  select exists (select from pg_attribute where attrelid = p_table and attname = '_synced_at' and not attisdropped)
    into v_has_syn;
  select string_agg(format('%I', c), ', '), string_agg(format('%I', c), ', ') into v_row, v_order from unnest(v_cols) c;
  execute format('select count(*), %s, %s from %s',
                 case when v_has_del then 'count(*) filter (where _deleted_at is null)' else 'count(*)' end,
                 case when v_has_syn then 'max(_synced_at)' else 'null::timestamptz' end, p_table)
    into v_rows, v_live, v_synced;
  execute format('select jsonb_build_array(%s) from %s order by %s limit 1', v_row, p_table, v_order) into v_min;
  execute format('select jsonb_build_array(%s) from %s order by %s limit 1', v_row, p_table,
                 (select string_agg(format('%I desc', c), ', ') from unnest(v_cols) c)) into v_max;
  insert into keap_meta.table_snapshot (run_id, table_name, row_count, live_count, key_columns, min_key, max_key, last_synced_at)
  values (p_run_id, p_table::text, v_rows, v_live, v_cols, v_min, v_max, v_synced)
  on conflict (run_id, table_name) do update
    set row_count = excluded.row_count, live_count = excluded.live_count, key_columns = excluded.key_columns,
        min_key = excluded.min_key, max_key = excluded.max_key, last_synced_at = excluded.last_synced_at,
        taken_at = clock_timestamp()
  returning * into v_snap;
  return v_snap;
end
$$;
comment on function keap_meta.take_table_snapshot(bigint, regclass) is 'Records a table''s row count, live count, newest _synced_at and min/max primary key (composite keys as JSON arrays) for a run.';

-- Snapshots every table of a warehouse schema that has a primary key, at the end of a run that
-- wrote it (end_run calls it for the keap pipeline). Merges are the only writers of these tables,
-- so between runs the snapshot is the tables' state. Cost: one pass over each table (counts and the
-- newest _synced_at) and two primary-key index probes. A table that cannot be snapshotted gets a
-- warning event instead of failing the run's end.
create or replace function keap_meta.snapshot_warehouse(p_run_id bigint, p_schema text) returns integer
language plpgsql volatile
as $$
declare
  v_table regclass;
  v_n     integer := 0;
begin
  for v_table in
    select c.oid::regclass from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = p_schema and c.relkind in ('r', 'p') and not c.relispartition
       and exists (select from pg_index i where i.indrelid = c.oid and i.indisprimary)
     order by c.relname
  loop
    begin
      perform keap_meta.take_table_snapshot(p_run_id, v_table);
      v_n := v_n + 1;
    exception when others then
      insert into keap_meta.etl_run_events (run_id, level, stage, message, data)
      values (p_run_id, 'warn', 'snapshot', format('table snapshot of %s failed: %s', v_table, sqlerrm),
              jsonb_build_object('table', v_table::text, 'sqlstate', sqlstate));
    end;
  end loop;
  return v_n;
end
$$;
comment on function keap_meta.snapshot_warehouse(bigint, text) is
  'Takes keap_meta.take_table_snapshot of every table with a primary key in a schema for a running run (called by end_run for the keap pipeline); returns the tables snapshotted. Failures become warning events.';

-- Deletes tracking rows and staged pages of runs that ended more than p_days ago, p_batch_size rows
-- per statement and a commit after each batch (call it outside a transaction block), so it never
-- holds long locks or builds a huge transaction. Running runs are never touched.
create or replace procedure keap_meta.cleanup_old_runs(
  p_days        integer,
  p_batch_size  integer default 10000,
  inout p_deleted_runs bigint default 0,
  inout p_deleted_rows bigint default 0
)
language plpgsql
as $$
declare
  v_cutoff  timestamptz;
  v_table   regclass;
  v_n       bigint;
  v_max_run bigint;
begin
  if p_days is null or p_days < 0 then
    raise exception 'cleanup_old_runs needs a number of days >= 0, got %', coalesce(p_days::text, 'null')
      using errcode = 'KR004';
  end if;
  if p_batch_size is null or p_batch_size < 1 then
    raise exception 'cleanup_old_runs needs a batch size >= 1' using errcode = 'KR004';
  end if;
  v_cutoff := now() - make_interval(days => p_days);
  p_deleted_runs := 0;
  p_deleted_rows := 0;
  -- The runs to delete, fixed once so a run ending meanwhile does not move the target.
  create temporary table if not exists pg_temp.cleanup_runs (run_id bigint primary key) on commit preserve rows;
  truncate pg_temp.cleanup_runs;
  insert into pg_temp.cleanup_runs
    select run_id from keap_meta.etl_run_log where status <> 'running' and coalesce(ended_at, started_at) < v_cutoff;
  select max(run_id) into v_max_run from pg_temp.cleanup_runs;
  if v_max_run is null then
    return;
  end if;

  -- Children first: every staging table and every tracking table that names a run.
  for v_table in
    select c.oid::regclass
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'keap_staging' and c.relkind = 'r'
       and exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'run_id' and not a.attisdropped)
    union all
    select t::regclass from unnest(array['keap_meta.row_issues', 'keap_meta.merge_log', 'keap_meta.etl_run_events',
                                         'keap_meta.source_counts', 'keap_meta.table_snapshot']) t
    union all
    select 'keap_meta.etl_request_log'::regclass
  loop
    loop
      execute format('delete from %s where ctid = any (array(select ctid from %s where run_id in (select run_id from pg_temp.cleanup_runs) limit %s))',
                     v_table, v_table, p_batch_size);
      get diagnostics v_n = row_count;
      p_deleted_rows := p_deleted_rows + v_n;
      commit;
      exit when v_n < p_batch_size;
    end loop;
  end loop;

  loop
    delete from keap_meta.etl_run_log
     where run_id in (select run_id from pg_temp.cleanup_runs order by run_id limit p_batch_size)
       and status <> 'running';
    get diagnostics v_n = row_count;
    delete from pg_temp.cleanup_runs where run_id in (select run_id from pg_temp.cleanup_runs order by run_id limit p_batch_size);
    p_deleted_runs := p_deleted_runs + v_n;
    commit;
    exit when not exists (select from pg_temp.cleanup_runs);
  end loop;
end
$$;
comment on procedure keap_meta.cleanup_old_runs(integer, integer, bigint, bigint) is
  'CALL keap_meta.cleanup_old_runs(days[, batch_size]) outside a transaction: deletes runs that ended more than N days ago with their requests, events, counts, snapshots, merge log, row issues and staged pages, in committed batches. Returns the runs and rows deleted.';

-- A page whose body the sync engine handed to PostgreSQL unparsed is logged before its records are
-- counted; the staging statement sets the count afterwards: on the request, and added to the run's.
create or replace function keap_meta.set_request_record_count(p_request_id bigint, p_record_count integer) returns void
language sql volatile
as $$
  with r as (
    update keap_meta.etl_request_log q set record_count = p_record_count
     where q.request_id = p_request_id and q.record_count is null
    returning q.run_id
  )
  update keap_meta.etl_run_log l set record_count = l.record_count + coalesce(p_record_count, 0)
    from r where l.run_id = r.run_id
$$;
comment on function keap_meta.set_request_record_count(bigint, integer) is
  'Sets the record count of a logged request that had none yet (the engine counts a page once PostgreSQL has parsed it) and adds it to its run''s record_count.';
