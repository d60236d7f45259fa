-- analytics.athlete_dim: the athletes dimension, one row per athlete (soft-deleted ones included).
-- Grain: athlete. Cost: a scan of analytics.athlete_dim_rows plus one state row.
-- source_synced_at means: the last time this row was confirmed equal to the app database — the run
-- that last wrote it, or the last complete pass that saw it unchanged, whichever is later. The
-- complete pass is kept once per sync (analytics_staging.table_sync_state), not written per row.
-- Example (the old tool's monitoring query, now true):
--   select count(*) from analytics.athlete_dim
--    where _deleted_at is null and source_synced_at < now() - interval '2 days';
drop view if exists analytics.athlete_dim;
create view analytics.athlete_dim as
select
  r.athlete_uuid,
  r.full_name,
  case when r._deleted_at is null then greatest(r.source_synced_at, s.last_full_read_at)
       else r.source_synced_at end as source_synced_at,
  r._first_seen_at,
  r._synced_at,
  r._deleted_at
from analytics.athlete_dim_rows r
left join analytics_staging.table_sync_state s on s.sync_name = 'athletes';

comment on view analytics.athlete_dim is 'Athletes from the app database''s public."User", kept in step by the athletes table sync (npm run sync -- --pipeline athletes). Soft-deleted athletes stay, with _deleted_at set.';
comment on column analytics.athlete_dim.athlete_uuid is 'The athlete''s id: "User".uuid in the app database.';
comment on column analytics.athlete_dim.full_name is 'The athlete''s name: "User".name in the app database.';
comment on column analytics.athlete_dim.source_synced_at is 'Last time this row was confirmed equal to the app database: written by a run, or seen unchanged by a later complete pass. For a soft-deleted row, the last pass that still saw it.';
comment on column analytics.athlete_dim._first_seen_at is 'When the sync first inserted this athlete.';
comment on column analytics.athlete_dim._synced_at is 'When the sync last wrote this row (insert, change, soft delete or revival).';
comment on column analytics.athlete_dim._deleted_at is 'When a complete pass found the athlete gone from the app database; null = live.';
