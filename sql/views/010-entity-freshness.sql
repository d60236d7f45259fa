-- keap_ops.entity_freshness: is each synced Keap entity current, and how current?
-- Freshness is "the warehouse holds every change Keap made to this entity up to this instant":
-- the start of the entity's last successful traversal (full, incremental or snapshot) — the
-- engine's plan event of the newest run in which the entity's traversal reached its final event
-- and was merged. A resumed full traversal counts from the run where it began (sweep_started_at
-- on its plan event). lag_seconds = now - fresh_as_of: it stays below the schedule interval plus
-- a run's duration on a tenant that syncs regularly, however long ago Keap last changed a record.
-- The incremental watermark (updated_since, the newest update time merged) is a separate column:
-- on a quiet tenant it is old while the data is perfectly current, so never alert on it.
-- Grain: entity (one row per entity registered in keap_meta.entities, in the engine's order).
-- Cost: per entity, the newest final event (index etl_run_events_entity_done, checked against
-- merge_log by run), its run's plan event (etl_run_events_run), the latest merge_log row
-- (merge_log_entity), the sync_cursors row, the latest source_counts row (source_counts_entity),
-- pg_class for a row estimate and the soft-deleted counts of all entity tables in one statement
-- (keap_meta.soft_deleted_counts, each through its partial index). No scan
-- of staging, of the request log or of the live rows. Each "newest row of this entity" lookup says
-- `entity between e.entity and e.entity ... order by entity, id desc`: with `entity = e.entity` the
-- planner may walk the primary key backwards instead of probing the (entity, id desc) index, and
-- for an entity with no row yet, or none lately, that reads the whole table (24 entities made the
-- view 0.4-0.7x of a full request-log scan); the range keeps the order only that index gives.
-- Example:
--   select entity, fresh_as_of, lag_seconds, last_traversal, full_sweep_in_progress, deleted_count
--     from keap_ops.entity_freshness order by sync_order;
--   select entity, lag_seconds from keap_ops.entity_freshness
--    where lag_seconds is null or lag_seconds > 2 * 3600;  -- alert: not complete for 2 hours
drop view if exists keap_ops.entity_freshness;
create view keap_ops.entity_freshness as
with entities as (
  select entity, sync_order, target_table from keap_meta.entities
)
select
  e.entity,
  e.sync_order,
  e.target_table::text as target_table,
  f.fresh_as_of,
  round(extract(epoch from clock_timestamp() - f.fresh_as_of)::numeric, 3) as lag_seconds,
  f.run_id as fresh_run_id,
  f.traversal as last_traversal,
  f.done_at as last_traversal_done_at,
  m.merged_at as last_merged_at,
  m.run_id as last_merge_run_id,
  m.inserted_count as last_inserted_count,
  m.updated_count as last_updated_count,
  m.unchanged_count as last_unchanged_count,
  m.deleted_count as last_deleted_count,
  m.rejected_count as last_rejected_count,
  round(extract(epoch from clock_timestamp() - m.merged_at)::numeric, 3) as seconds_since_last_merge,
  c.updated_since,
  c.full_sweep_started_at is not null as full_sweep_in_progress,
  c.full_after_id,
  c.full_sweep_started_at,
  c.last_full_completed_at,
  nullif(greatest(t.reltuples, -1), -1)::bigint as approx_row_count,
  sd.deleted_count,
  s.source_count as last_source_count,
  s.warehouse_count as last_warehouse_count,
  s.counted_at as last_counted_at
from entities e
join pg_class t on t.oid = e.target_table
left join keap_meta.sync_cursors c on c.entity = e.entity
left join keap_meta.soft_deleted_counts() sd on sd.target_table = e.target_table
-- The newest successful traversal: the entity's final event in a run that also merged it (a dry
-- run logs the events but merges nothing), and the plan event that began it in the same run.
left join lateral (
  select d.run_id, d.at as done_at, p.traversal,
         least(p.at, (p.data ->> 'sweep_started_at')::timestamptz) as fresh_as_of
    from keap_meta.etl_run_events d
    cross join lateral (
      select pe.at, pe.data, pe.data ->> 'traversal' as traversal
        from keap_meta.etl_run_events pe
       where pe.run_id = d.run_id and pe.entity = d.entity and pe.stage = 'plan' and pe.event_id < d.event_id
       order by pe.event_id desc limit 1) p
   where d.entity between e.entity and e.entity and d.stage = 'merge' and d.data ? 'records'
     and exists (select from keap_meta.merge_log ml where ml.run_id = d.run_id and ml.entity = d.entity)
   order by d.entity, d.event_id desc limit 1) f on true
left join lateral (
  select ml.merged_at, ml.run_id, ml.inserted_count, ml.updated_count, ml.unchanged_count, ml.deleted_count, ml.rejected_count
    from keap_meta.merge_log ml where ml.entity between e.entity and e.entity order by ml.entity, ml.merge_id desc limit 1) m on true
left join lateral (
  select sc.source_count, sc.warehouse_count, sc.counted_at
    from keap_meta.source_counts sc where sc.entity between e.entity and e.entity order by sc.entity, sc.run_id desc limit 1) s on true
order by e.sync_order;

comment on view keap_ops.entity_freshness is 'One row per synced entity: how current it is (fresh_as_of = start of its last successful traversal; lag_seconds = now minus that), the last merge and its counts, the incremental watermark and full-traversal state, and row / deleted / source counts. Cheap: no staging, request-log or full-table scans.';
comment on column keap_ops.entity_freshness.entity is 'Entity name (staging table and sync_cursors key): contact_model, tag_categories, tags, companies, contacts, tagged_contacts.';
comment on column keap_ops.entity_freshness.sync_order is 'Position in the engine''s processing order (lower first), from keap_meta.entities.';
comment on column keap_ops.entity_freshness.target_table is 'Warehouse table the entity is merged into.';
comment on column keap_ops.entity_freshness.fresh_as_of is 'The warehouse holds every change Keap made to this entity up to this instant: the start of its last successful traversal (full, incremental or snapshot; a resumed full traversal counts from the run where it began). Null before the first successful sync.';
comment on column keap_ops.entity_freshness.lag_seconds is 'Seconds from fresh_as_of to now: how far behind Keap the entity can be. Stays below the schedule interval plus a run''s duration while syncs succeed, however quiet the account. Alert on this, not on the watermark.';
comment on column keap_ops.entity_freshness.fresh_run_id is 'Run of that last successful traversal (see keap_ops.run_entities, npm run trace).';
comment on column keap_ops.entity_freshness.last_traversal is 'Kind of that traversal: full, incremental or snapshot.';
comment on column keap_ops.entity_freshness.last_traversal_done_at is 'When that traversal finished (its final merge).';
comment on column keap_ops.entity_freshness.last_merged_at is 'When the entity''s merge procedure last ran (keap_meta.merge_log), even if it had nothing to merge.';
comment on column keap_ops.entity_freshness.last_merge_run_id is 'Run of that last merge.';
comment on column keap_ops.entity_freshness.last_inserted_count is 'Rows inserted by the last merge call.';
comment on column keap_ops.entity_freshness.last_updated_count is 'Rows updated by the last merge call.';
comment on column keap_ops.entity_freshness.last_unchanged_count is 'Rows received unchanged by the last merge call.';
comment on column keap_ops.entity_freshness.last_deleted_count is 'Rows soft-deleted by the last merge call.';
comment on column keap_ops.entity_freshness.last_rejected_count is 'Row issues recorded by the last merge call (see keap_ops.recent_row_issues).';
comment on column keap_ops.entity_freshness.seconds_since_last_merge is 'Seconds since the last merge call.';
comment on column keap_ops.entity_freshness.updated_since is 'Incremental watermark (sync_cursors.updated_since): the newest Keap update time merged, capped at the start of the run that merged it; the next incremental run reads from it minus KEAP_OVERLAP_SECONDS. Old on a quiet account even when the data is current: not a freshness measure (see fresh_as_of).';
comment on column keap_ops.entity_freshness.full_sweep_in_progress is 'True while a full traversal has started and not completed (a crashed run resumes it).';
comment on column keap_ops.entity_freshness.full_after_id is 'Keyset position of the full traversal in progress (largest id merged).';
comment on column keap_ops.entity_freshness.full_sweep_started_at is 'When the full traversal in progress started.';
comment on column keap_ops.entity_freshness.last_full_completed_at is 'When the last full traversal with delete detection (or model snapshot) completed.';
comment on column keap_ops.entity_freshness.approx_row_count is 'Estimated rows in the target table (pg_class.reltuples, as of the last ANALYZE); null before the first ANALYZE.';
comment on column keap_ops.entity_freshness.deleted_count is 'Exact number of soft-deleted rows (_deleted_at set); null for tagged_contacts (pairs are hard-deleted when a contact''s tag set shrinks).';
comment on column keap_ops.entity_freshness.last_source_count is 'Records Keap listed at the last count (end of a full traversal or model snapshot).';
comment on column keap_ops.entity_freshness.last_warehouse_count is 'Live warehouse rows at that same count; compare with last_source_count.';
comment on column keap_ops.entity_freshness.last_counted_at is 'When those counts were taken.';
