-- 00001: schemas, the keap_reader role and the deploy log of repeatable SQL.
-- keap          typed current state (merge procedures write, everyone reads)
-- keap_staging  raw API pages (orchestrator writes, merges read) - never readable by keap_reader
-- keap_meta     ETL bookkeeping, cursors, OAuth tokens - never readable by keap_reader
-- keap_ops      monitoring views, the stable interface for DBAs

create schema if not exists keap;
create schema if not exists keap_staging;
create schema if not exists keap_meta;
create schema if not exists keap_ops;

comment on schema keap is 'Keap CRM data as typed current state; written only by the merge procedures in sql/transforms.';
comment on schema keap_staging is 'Raw Keap API pages, one row per page, kept as fetched; read by the merge procedures.';
comment on schema keap_meta is 'ETL bookkeeping: runs, requests, counts, snapshots, cursors, merge log, OAuth tokens, SQL deploys.';
comment on schema keap_ops is 'Monitoring views for DBAs: the stable, documented interface to the sync''s health.';

-- Roles are cluster-wide: create only when missing, so every database of the cluster shares one.
do $$
begin
  if not exists (select from pg_roles where rolname = 'keap_reader') then
    create role keap_reader nologin;
  end if;
end
$$;
comment on role keap_reader is 'Read-only access to the keap data and keap_ops monitoring views; never to tokens or staging.';

grant usage on schema keap, keap_ops to keap_reader;
grant usage on schema keap_ops to pg_monitor;
-- Default privileges make tables and views created later (by this role, i.e. migrations and
-- repeatable SQL) readable too, without a grant in every file.
alter default privileges in schema keap grant select on tables to keap_reader;
alter default privileges in schema keap_ops grant select on tables to keap_reader, pg_monitor;
grant select on all tables in schema keap to keap_reader;
grant select on all tables in schema keap_ops to keap_reader, pg_monitor;
revoke all on schema keap_meta, keap_staging from public;

create table keap_meta.sql_deploys (
  file        text primary key,
  sha256      text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  applied_at  timestamptz not null default now()
);
comment on table keap_meta.sql_deploys is 'Repeatable SQL files (sql/transforms, sql/views) live in this database: one row per file with the hash of the version applied.';
comment on column keap_meta.sql_deploys.file is 'Path of the file relative to the project root, e.g. sql/transforms/001-run-tracking.sql.';
comment on column keap_meta.sql_deploys.sha256 is 'SHA-256 of the file content that was applied.';
comment on column keap_meta.sql_deploys.applied_at is 'When this version of the file was applied.';
