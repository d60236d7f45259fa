-- Role script (run once by the DBA, not applied by npm run migrate): on the APP database, a login role
-- for the athletes table sync that can read exactly the columns it declares - "User".uuid and
-- "User".name - and nothing else, in read-only sessions. No password here: set it interactively.
--   psql "postgres://admin@app-host/appdb" -f sql/roles/app-reader-athletes.sql
--   psql "postgres://admin@app-host/appdb" -c '\password athletes_reader'
-- then APP_DATABASE_URL=postgres://athletes_reader@app-host/appdb (password in APP_PASSWORD or ~/.pgpass).
-- Safe to re-run. For another table sync, the warehouse prints its grants:
--   select analytics_staging.reader_grants_sql('<sync name>', 'athletes_reader');
do $$
begin
  if not exists (select from pg_roles where rolname = 'athletes_reader') then
    create role athletes_reader login;
  end if;
  execute format('grant connect on database %I to athletes_reader', current_database());
end
$$;
comment on role athletes_reader is 'Read-only login of the warehouse''s athletes table sync: select on "User"(uuid, name) only.';
alter role athletes_reader set default_transaction_read_only = on;
grant usage on schema public to athletes_reader;
revoke all on public."User" from athletes_reader;
grant select (uuid, name) on public."User" to athletes_reader;
