-- 00030: what the keap_ops monitoring views (sql/views/001-049) need to stay cheap, and one more
-- figure per table snapshot. Every index here is named after the view that reads it.

-- entity_freshness and run_entities: "the last time this entity finished a traversal" is the
-- newest per-entity final event (stage 'merge', logged by the engine when an entity is done).
create index etl_run_events_entity_done on keap_meta.etl_run_events (entity, event_id desc) where stage = 'merge';

-- reconciliation, entity_freshness, progress (expected records): the latest count per entity.
create index source_counts_entity on keap_meta.source_counts (entity, run_id desc);

-- table_snapshot: the latest snapshot per table.
create index table_snapshot_table on keap_meta.table_snapshot (table_name, run_id desc);

-- merge_history: filtered on time.
create index merge_log_merged_at on keap_meta.merge_log (merged_at);

-- api_quota: the newest request that carried Keap's rate-limit headers (failed requests carry none).
create index etl_request_log_with_quota on keap_meta.etl_request_log (requested_at desc)
  where quota_available is not null or throttle_available is not null;

-- table_snapshot: when a table was last written by a merge.
alter table keap_meta.table_snapshot add column last_synced_at timestamptz;
comment on column keap_meta.table_snapshot.last_synced_at is 'Newest _synced_at in the table when the snapshot was taken (null when the table has no _synced_at or no rows).';
