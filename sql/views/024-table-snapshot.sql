-- keap_ops.table_snapshot: size and key range of every warehouse table, to spot a table that
-- shrinks, stalls or jumps between runs.
-- Every table of schema keap with a primary key, with its real key read from the catalogue:
-- composite keys are shown by their key columns (contact_tags: contact_id, tag_id), never by a
-- made-up id. Figures come from the latest keap_meta.table_snapshot, taken at the end of every
-- successful or partial keap run (keap_meta.snapshot_warehouse): the merges are the only writers
-- of these tables, so between runs that is their state.
-- Grain: warehouse table.
-- Cost: the catalogue, and one probe per table into keap_meta.table_snapshot (index
-- table_snapshot_table); the tables themselves are never scanned here.
-- Example:
--   select table_name, key_columns, live_rows, deleted_rows, min_key, max_key, last_synced_at
--     from keap_ops.table_snapshot;
--   select table_name, min_key ->> 'contact_id' as first_contact from keap_ops.table_snapshot
--    where table_name = 'keap.contact_tags';
drop view if exists keap_ops.table_snapshot;
create view keap_ops.table_snapshot as
select
  t.oid::regclass::text as table_name,
  k.key_columns,
  s.live_count as live_rows,
  s.row_count - s.live_count as deleted_rows,
  s.row_count as total_rows,
  exists (select from pg_attribute a where a.attrelid = t.oid and a.attname = '_deleted_at' and not a.attisdropped) as soft_deletes,
  (select json_object_agg(c.col, s.min_key -> (c.ord::integer - 1) order by c.ord) from unnest(s.key_columns) with ordinality c(col, ord)) as min_key,
  (select json_object_agg(c.col, s.max_key -> (c.ord::integer - 1) order by c.ord) from unnest(s.key_columns) with ordinality c(col, ord)) as max_key,
  s.last_synced_at,
  s.run_id as snapshot_run_id,
  s.taken_at,
  nullif(greatest(t.reltuples, -1), -1)::bigint as approx_rows_now
from pg_class t
join pg_namespace n on n.oid = t.relnamespace
cross join lateral (
  select array_agg(a.attname::text order by x.ord) as key_columns
    from pg_index i
    cross join lateral unnest(i.indkey) with ordinality x(attnum, ord)
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = x.attnum
   where i.indrelid = t.oid and i.indisprimary) k
left join lateral (
  select ts.run_id, ts.row_count, ts.live_count, ts.key_columns, ts.min_key, ts.max_key, ts.last_synced_at, ts.taken_at
    from keap_meta.table_snapshot ts
   where ts.table_name = t.oid::regclass::text
   order by ts.run_id desc limit 1) s on true
where n.nspname = 'keap' and t.relkind in ('r', 'p') and not t.relispartition and k.key_columns is not null
order by 1;

comment on view keap_ops.table_snapshot is 'Per warehouse table (schema keap): live and soft-deleted rows, the smallest and largest primary key by its real key columns (composite keys included) and the newest _synced_at, as of the snapshot taken at the end of the last successful keap run.';
comment on column keap_ops.table_snapshot.table_name is 'Schema-qualified table name.';
comment on column keap_ops.table_snapshot.key_columns is 'The table''s primary key columns in key order, from the catalogue (e.g. {contact_id,tag_id}).';
comment on column keap_ops.table_snapshot.live_rows is 'Rows with _deleted_at null (all rows for a table without soft deletes) at the snapshot; null before the first snapshot.';
comment on column keap_ops.table_snapshot.deleted_rows is 'Soft-deleted rows (_deleted_at set) at the snapshot; 0 for a table without soft deletes.';
comment on column keap_ops.table_snapshot.total_rows is 'All rows at the snapshot.';
comment on column keap_ops.table_snapshot.soft_deletes is 'True when the table has _deleted_at (rows are soft-deleted, not removed).';
comment on column keap_ops.table_snapshot.min_key is 'Smallest primary key (in key order) as a JSON object of its key columns in key order, e.g. {"contact_id": 1, "tag_id": 91}.';
comment on column keap_ops.table_snapshot.max_key is 'Largest primary key as a JSON object of its key columns.';
comment on column keap_ops.table_snapshot.last_synced_at is 'Newest _synced_at in the table at the snapshot: when a merge last wrote it.';
comment on column keap_ops.table_snapshot.snapshot_run_id is 'Run that took the snapshot.';
comment on column keap_ops.table_snapshot.taken_at is 'When the snapshot was taken.';
comment on column keap_ops.table_snapshot.approx_rows_now is 'Current row estimate from pg_class.reltuples (as of the last ANALYZE); null before it.';
