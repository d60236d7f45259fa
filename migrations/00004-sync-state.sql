-- 00004: where each entity's sync stands. Advanced only by merge procedures (through
-- keap_meta.advance_cursor), inside the merge's transaction, so a crash can never move a cursor
-- past data that was not merged.

create table keap_meta.sync_cursors (
  entity                 text primary key,
  updated_since          timestamptz,
  full_after_id          bigint,
  full_sweep_started_at  timestamptz,
  full_sweep_run_id      bigint references keap_meta.etl_run_log (run_id) on delete set null,
  last_full_completed_at timestamptz,
  last_run_id            bigint references keap_meta.etl_run_log (run_id) on delete set null,
  updated_at             timestamptz not null default clock_timestamp()
);
comment on table keap_meta.sync_cursors is 'Per entity: the incremental watermark and the position of a full (keyset) traversal in progress, so a crashed run resumes where it stopped.';
comment on column keap_meta.sync_cursors.entity is 'Entity name (as in the entity list and the staging table name).';
comment on column keap_meta.sync_cursors.updated_since is 'Incremental watermark: the next incremental run fetches records updated at or after this minus the overlap window. Never later than the start of the run that set it.';
comment on column keap_meta.sync_cursors.full_after_id is 'Keyset position of the full traversal in progress: the largest id merged so far; null when no full traversal is in progress.';
comment on column keap_meta.sync_cursors.full_sweep_started_at is 'When the full traversal in progress started; delete detection considers every page fetched since then.';
comment on column keap_meta.sync_cursors.full_sweep_run_id is 'Run that started the full traversal in progress.';
comment on column keap_meta.sync_cursors.last_full_completed_at is 'When the last full traversal (with delete detection) completed.';
comment on column keap_meta.sync_cursors.last_run_id is 'Last run that moved this cursor.';
comment on column keap_meta.sync_cursors.updated_at is 'When the cursor last moved.';
