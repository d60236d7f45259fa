-- keap_ops.reconciliation: does the warehouse hold as many live rows as Keap lists?
-- Counts are taken at the end of each complete full traversal (the delete-detection sweep):
-- the records Keap listed and the live warehouse rows at that same moment, so they must agree.
-- An incremental run cannot count (it sees only changes), so the figures are as of the last sweep.
-- Grain: entity (keap_meta.entities), with its latest count.
-- Cost: one probe per entity into keap_meta.source_counts (index source_counts_entity).
-- Example:
--   select entity, source_count, warehouse_count, difference, ok, counted_at from keap_ops.reconciliation;
--   select entity, verdict from keap_ops.reconciliation where not ok;  -- alert
drop view if exists keap_ops.reconciliation;
create view keap_ops.reconciliation as
select
  e.entity,
  e.target_table::text as target_table,
  s.run_id,
  s.counted_at,
  s.source_count,
  s.warehouse_count,
  s.warehouse_count - s.source_count as difference,
  s.warehouse_count = s.source_count as ok,
  case when s.run_id is null then 'never counted (no complete full traversal yet)'
       when s.source_count is null or s.warehouse_count is null then 'not counted'
       when s.warehouse_count = s.source_count then 'ok'
       when s.warehouse_count > s.source_count then 'warehouse has more live rows than Keap lists (deletions not detected?)'
       else 'warehouse has fewer live rows than Keap lists (records rejected or not merged?)' end as verdict
from keap_meta.entities e
left join lateral (
  select sc.run_id, sc.counted_at, sc.source_count, sc.warehouse_count
    from keap_meta.source_counts sc where sc.entity = e.entity
   order by sc.run_id desc limit 1) s on true
order by e.sync_order;

comment on view keap_ops.reconciliation is 'Per entity: how many records Keap listed and how many live rows the warehouse held at the last complete full traversal, the difference and whether they agree.';
comment on column keap_ops.reconciliation.entity is 'Entity (keap_meta.entities).';
comment on column keap_ops.reconciliation.target_table is 'Warehouse table of the entity.';
comment on column keap_ops.reconciliation.run_id is 'Run that took the latest count (null: never counted).';
comment on column keap_ops.reconciliation.counted_at is 'When the count was taken (end of that full traversal).';
comment on column keap_ops.reconciliation.source_count is 'Records Keap listed in the complete full traversal.';
comment on column keap_ops.reconciliation.warehouse_count is 'Live (not soft-deleted) warehouse rows at the same moment.';
comment on column keap_ops.reconciliation.difference is 'warehouse_count - source_count: positive means rows Keap no longer lists, negative rows missing.';
comment on column keap_ops.reconciliation.ok is 'True when the counts agree, false when they differ, null when the entity was never counted.';
comment on column keap_ops.reconciliation.verdict is 'The comparison in words, with the likely cause of a difference.';
