-- keap_ops.run_entities: what each run did to each entity — the old system's etl_metadata table.
-- Grain: run x entity (every entity a run planned, merged or was working on when it ended).
-- Sources: the engine's plan event (traversal, start) and final event (pages, records, end) in
-- keap_meta.etl_run_events, the sums of keap_meta.merge_log, and, only for an entity that never
-- reached its final event (failed, stopped, running), its requests in keap_meta.etl_request_log.
-- Cost: per run, index scans of that run's events (etl_run_events_run) and merge-log rows
-- (merge_log_run); the request-log fallback reads only that run's requests (etl_request_log_run).
-- Filter on run_id: the predicate reaches etl_run_log's primary key and every lateral scan is for
-- that run only. No staging scan.
-- Example:
--   select entity, traversal, pages, fetched, inserted, updated, unchanged, deleted, rejected,
--          duration_seconds, status
--     from keap_ops.run_entities where run_id = 42 order by first_event_id;
--   select run_id, entity, status from keap_ops.run_entities
--    where run_id in (select run_id from keap_ops.runs where started_at > now() - interval '1 day')
--      and status <> 'done';
drop view if exists keap_ops.run_entities;
create view keap_ops.run_entities as
select
  r.run_id,
  r.pipeline,
  p.entity,
  coalesce(pl.data ->> 'traversal', 'unknown') as traversal,
  pl.message as plan,
  pl.at as started_at,
  coalesce(dn.at, ml.last_merged_at) as ended_at,
  round(extract(epoch from coalesce(dn.at, case when r.status = 'running' then clock_timestamp() end, ml.last_merged_at, r.ended_at) - pl.at)::numeric, 3) as duration_seconds,
  coalesce((dn.data ->> 'pages')::bigint, rq.pages) as pages,
  coalesce((dn.data ->> 'records')::bigint, rq.records) as fetched,
  coalesce(ml.inserted, 0)::bigint as inserted,
  coalesce(ml.updated, 0)::bigint as updated,
  coalesce(ml.unchanged, 0)::bigint as unchanged,
  coalesce(ml.deleted, 0)::bigint as deleted,
  coalesce(ml.rejected, 0)::bigint as rejected,
  coalesce(ml.merge_calls, 0)::bigint as merge_calls,
  coalesce(ml.pages_merged, 0)::bigint as pages_merged,
  coalesce(ml.merge_ms, 0)::bigint as merge_ms,
  case when dn.event_id is not null and ml.merge_calls > 0 then 'done'
       when dn.event_id is not null then 'checked'
       when r.status = 'running' then 'running'
       when r.error_entity = p.entity and r.status = 'failed' then 'failed'
       when r.status = 'failed' then 'not finished'
       when r.status = 'partial' then 'stopped'
       else r.status end as status,
  p.first_event_id
from keap_meta.etl_run_log r
-- The entities of the run: those with events (plan, final, warnings) or merge-log rows.
cross join lateral (
  select x.entity, min(x.event_id) as first_event_id, max(x.plan_id) as plan_event_id, max(x.done_id) as done_event_id
    from (
      select e.entity, e.event_id,
             case when e.stage = 'plan' then e.event_id end as plan_id,
             case when e.stage = 'merge' and e.data ? 'records' then e.event_id end as done_id
        from keap_meta.etl_run_events e
       where e.run_id = r.run_id and e.entity is not null
      union all
      select m.entity, null, null, null from keap_meta.merge_log m where m.run_id = r.run_id
    ) x
   group by x.entity) p
left join keap_meta.etl_run_events pl on pl.event_id = p.plan_event_id
left join keap_meta.etl_run_events dn on dn.event_id = p.done_event_id
left join lateral (
  select count(*) as merge_calls,
         sum(m.inserted_count) as inserted, sum(m.updated_count) as updated, sum(m.unchanged_count) as unchanged,
         sum(m.deleted_count) as deleted, sum(m.rejected_count) as rejected, sum(m.pages_merged) as pages_merged,
         sum(m.duration_ms) as merge_ms, max(m.merged_at) as last_merged_at
    from keap_meta.merge_log m
   where m.run_id = r.run_id and m.entity = p.entity) ml on true
-- Only an entity without its final event needs its pages and records counted from the requests.
left join lateral (
  select count(*) filter (where q.http_status between 200 and 299) as pages,
         coalesce(sum(q.record_count) filter (where q.http_status between 200 and 299), 0) as records
    from keap_meta.etl_request_log q
   where p.done_event_id is null and q.run_id = r.run_id and q.entity = p.entity) rq on true;

comment on view keap_ops.run_entities is 'One row per run and entity: traversal, pages, records fetched, rows inserted / updated / unchanged / deleted / rejected, duration and status. Filter on run_id. What etl_metadata used to be.';
comment on column keap_ops.run_entities.run_id is 'The run (keap_ops.runs).';
comment on column keap_ops.run_entities.pipeline is 'Pipeline of the run.';
comment on column keap_ops.run_entities.entity is 'Entity synced (keap_meta.entities).';
comment on column keap_ops.run_entities.traversal is 'full (keyset, with delete detection), incremental (from the watermark), snapshot (unpaged) or unknown (no plan event).';
comment on column keap_ops.run_entities.plan is 'The engine''s plan for the entity, e.g. "contacts: incremental since 2026-…".';
comment on column keap_ops.run_entities.started_at is 'When the entity''s traversal started (its plan event).';
comment on column keap_ops.run_entities.ended_at is 'When it finished (final event), else its last merge; null if neither happened.';
comment on column keap_ops.run_entities.duration_seconds is 'Seconds from started_at to the end (to now while the run is running).';
comment on column keap_ops.run_entities.pages is 'Pages fetched (from the final event; from the request log when the entity did not finish).';
comment on column keap_ops.run_entities.fetched is 'Records received from Keap, as the engine counted them (the unpaged contact_model snapshot counts as 1: the model object).';
comment on column keap_ops.run_entities.inserted is 'Rows inserted by the entity''s merges in this run.';
comment on column keap_ops.run_entities.updated is 'Rows updated.';
comment on column keap_ops.run_entities.unchanged is 'Records received identical to the warehouse (not written).';
comment on column keap_ops.run_entities.deleted is 'Rows soft-deleted (full traversals only).';
comment on column keap_ops.run_entities.rejected is 'Row issues recorded (see keap_ops.recent_row_issues).';
comment on column keap_ops.run_entities.merge_calls is 'Merge procedure calls (every KEAP_MERGE_EVERY_PAGES pages and at the end).';
comment on column keap_ops.run_entities.pages_merged is 'Staged pages the merges read.';
comment on column keap_ops.run_entities.merge_ms is 'Milliseconds spent in the merges.';
comment on column keap_ops.run_entities.status is 'done (fetched and merged), checked (dry run), running, failed (the run failed on this entity), not finished (the run failed elsewhere first), stopped (partial run), cancelled or abandoned.';
comment on column keap_ops.run_entities.first_event_id is 'First event of the entity in the run: order by it for the processing order.';
