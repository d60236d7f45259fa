-- Table sync "athletes": the app database's public."User" → analytics.athlete_dim_rows (read it
-- through the view analytics.athlete_dim). Reads only the declared columns, so it works on a "User"
-- table that has nothing but uuid and name. No update-time column is declared (the ORM's
-- "updatedAt" may not exist), so every run is a full pass: cheap, since unchanged rows are not
-- written. Run it with `npm run sync -- --pipeline athletes`.
-- To declare another table sync: a migration creating its target table (declared columns plus
-- source_synced_at, _first_seen_at, _synced_at, _deleted_at, _run_id) and a file like this one.
select analytics_staging.declare_table_sync(
  p_sync_name    => 'athletes',
  p_source_schema => 'public',
  p_source_table => 'User',
  p_key_columns  => array['athlete_uuid'],
  p_columns      => '[
    {"source": "uuid", "target": "athlete_uuid", "type": "uuid"},
    {"source": "name", "target": "full_name",    "type": "text"}
  ]',
  p_target_table => 'analytics.athlete_dim_rows',
  p_description  => 'Athletes: app database public."User" (uuid, name)'
);
