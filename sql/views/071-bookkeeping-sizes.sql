-- keap_ops.bookkeeping_sizes: how big each bookkeeping and staging table is, so growth is seen
-- before it hurts (the retention job keeps staging, request log and events bounded).
-- Grain: table of keap_meta and keap_staging. Cost: catalogue only (pg_class statistics and
-- relation sizes, no table scan); row counts are the planner's estimates (exact after ANALYZE).
-- Example:
--   select table_name, row_estimate, total_size from keap_ops.bookkeeping_sizes order by total_bytes desc;
drop view if exists keap_ops.bookkeeping_sizes;
create view keap_ops.bookkeeping_sizes as
select
  n.nspname || '.' || c.relname as table_name,
  n.nspname as schema_name,
  greatest(c.reltuples, 0)::bigint as row_estimate,
  pg_total_relation_size(c.oid) as total_bytes,
  pg_size_pretty(pg_total_relation_size(c.oid)) as total_size,
  pg_relation_size(c.oid) as table_bytes,
  pg_indexes_size(c.oid) as index_bytes,
  case n.nspname || '.' || c.relname
    when 'keap_meta.etl_request_log' then 'requests older than RETENTION_LOG_DAYS (default 90)'
    when 'keap_meta.etl_run_events' then 'events older than RETENTION_LOG_DAYS (default 90)'
    else case when n.nspname = 'keap_staging' then 'pages merged more than RETENTION_STAGING_DAYS ago (default 14)' end
  end as retention
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname in ('keap_meta', 'keap_staging') and c.relkind in ('r', 'p');

comment on view keap_ops.bookkeeping_sizes is 'Size of every keap_meta and keap_staging table (rows estimated, bytes with indexes and TOAST), and what the retention job deletes from it.';
comment on column keap_ops.bookkeeping_sizes.table_name is 'Schema-qualified table name.';
comment on column keap_ops.bookkeeping_sizes.schema_name is 'keap_meta (bookkeeping) or keap_staging (raw pages).';
comment on column keap_ops.bookkeeping_sizes.row_estimate is 'Planner estimate of the row count (pg_class.reltuples; exact after ANALYZE, 0 when never analysed).';
comment on column keap_ops.bookkeeping_sizes.total_bytes is 'Bytes on disk: table, indexes and TOAST.';
comment on column keap_ops.bookkeeping_sizes.total_size is 'total_bytes for a human (e.g. 12 MB).';
comment on column keap_ops.bookkeeping_sizes.table_bytes is 'Bytes of the table''s main fork alone.';
comment on column keap_ops.bookkeeping_sizes.index_bytes is 'Bytes of its indexes.';
comment on column keap_ops.bookkeeping_sizes.retention is 'What the retention job deletes from this table; null when it keeps everything (runs, merge log, cursors).';
