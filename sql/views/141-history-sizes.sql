-- keap_ops.history_sizes: how big each keap table's history is beside the table itself, and which
-- entity's merge writes it, so a DBA sees what history costs and where it grows.
-- Grain: one row per keap table that has a history table (keap_history.<same name>).
-- Cost: catalogue only (pg_class statistics and relation sizes, no table scan); counts are the
-- planner's estimates (exact after ANALYZE).
-- Example:
--   select table_name, row_estimate, version_estimate, history_size from keap_ops.history_sizes order by history_bytes desc;
drop view if exists keap_ops.history_sizes;
create view keap_ops.history_sizes as
select
  'keap.' || k.relname as table_name,
  'keap_history.' || h.relname as history_table,
  w.entities,
  coalesce(w.has_history, false) as has_history,
  greatest(k.reltuples, 0)::bigint as row_estimate,
  greatest(h.reltuples, 0)::bigint as version_estimate,
  pg_total_relation_size(k.oid) as table_bytes,
  pg_total_relation_size(h.oid) as history_bytes,
  pg_size_pretty(pg_total_relation_size(h.oid)) as history_size
from pg_class h
join pg_namespace hn on hn.oid = h.relnamespace and hn.nspname = 'keap_history'
join pg_class k on k.relname = h.relname and k.relkind in ('r', 'p')
join pg_namespace kn on kn.oid = k.relnamespace and kn.nspname = 'keap'
left join lateral (
  select string_agg(x.entity, ', ' order by x.entity) as entities, bool_or(x.has_history) as has_history
    from (select e.entity, e.has_history from keap_meta.entities e
           where e.target_table = k.oid and not exists (select from keap_meta.entity_children c where c.target_table = k.oid)
          union
          select e.entity, e.has_history from keap_meta.entity_children c join keap_meta.entities e using (entity)
           where c.target_table = k.oid) x
) w on true
where h.relkind in ('r', 'p');

comment on view keap_ops.history_sizes is 'Size of each keap table''s history (keap_history.<table>: one row per closed version) beside the table, with the entity whose merge writes it. Catalogue only; counts are planner estimates.';
comment on column keap_ops.history_sizes.table_name is 'The keap table (current versions).';
comment on column keap_ops.history_sizes.history_table is 'Its history table (closed versions); keap_history.<table>_versions shows both.';
comment on column keap_ops.history_sizes.entities is 'Entity whose merge writes the history: the table''s own entity, or the parent entity of a child collection (keap.contact_tags: contacts; the tagged_contacts listing only fills applied_at).';
comment on column keap_ops.history_sizes.has_history is 'Whether that merge writes history (keap_meta.entities.has_history).';
comment on column keap_ops.history_sizes.row_estimate is 'Rows of the keap table (pg_class.reltuples; exact after ANALYZE).';
comment on column keap_ops.history_sizes.version_estimate is 'Closed versions in the history table (pg_class.reltuples; exact after ANALYZE).';
comment on column keap_ops.history_sizes.table_bytes is 'Bytes of the keap table with indexes and TOAST.';
comment on column keap_ops.history_sizes.history_bytes is 'Bytes of the history table with its indexes.';
comment on column keap_ops.history_sizes.history_size is 'history_bytes, human-readable.';
