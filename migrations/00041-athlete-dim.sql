-- 00041: the athletes table sync's target: app database public."User" (uuid, name) →
-- analytics.athlete_dim_rows. Readers use the view analytics.athlete_dim (sql/views/050), which adds
-- source_synced_at as of the last complete pass without rewriting rows. Declared in
-- sql/transforms/210-table-sync-athletes.sql.

create table analytics.athlete_dim_rows (
  athlete_uuid     uuid primary key,
  full_name        text,
  source_synced_at timestamptz not null,
  _first_seen_at   timestamptz not null default now(),
  _synced_at       timestamptz not null default now(),
  _deleted_at      timestamptz,
  _run_id          bigint not null
);
create index athlete_dim_rows_deleted on analytics.athlete_dim_rows (_deleted_at) where _deleted_at is not null;

comment on table analytics.athlete_dim_rows is 'Athletes from the app database''s public."User", one row per uuid, as written by the athletes table sync. Read analytics.athlete_dim instead: its source_synced_at includes the last complete pass.';
comment on column analytics.athlete_dim_rows.athlete_uuid is 'The athlete''s id: "User".uuid in the app database.';
comment on column analytics.athlete_dim_rows.full_name is 'The athlete''s name: "User".name in the app database.';
comment on column analytics.athlete_dim_rows.source_synced_at is 'When the source was read by the run that last wrote this row (or, for a soft-deleted row, by the last pass that still saw it).';
comment on column analytics.athlete_dim_rows._first_seen_at is 'When the sync first inserted this athlete.';
comment on column analytics.athlete_dim_rows._synced_at is 'When the sync last wrote this row (insert, change, soft delete or revival).';
comment on column analytics.athlete_dim_rows._deleted_at is 'When a full pass found the athlete gone from the source (soft delete); null = live.';
comment on column analytics.athlete_dim_rows._run_id is 'The run that last wrote this row (keap_meta.etl_run_log).';
