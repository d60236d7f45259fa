-- 00003: one shape for every staging table. Each entity migration calls
-- keap_meta.create_staging_table('<entity>') so adding an entity never re-invents staging.
-- A page is written as it arrives (one short transaction per page) before anything is mapped.

create function keap_meta.create_staging_table(p_name text) returns regclass
language plpgsql volatile
set search_path = pg_catalog
as $$
declare
  v_table text := format('keap_staging.%I', p_name);
begin
  if p_name !~ '^[a-z][a-z0-9_]*$' then
    raise exception 'invalid staging table name %', p_name using errcode = '22023';
  end if;
  execute format($f$
    create table %1$s (
      page_id     bigint generated always as identity primary key,
      run_id      bigint not null references keap_meta.etl_run_log (run_id),
      request_id  bigint references keap_meta.etl_request_log (request_id),
      page_no     integer not null,
      parent_key  text,
      traversal   text not null default 'full' check (traversal in ('full', 'incremental', 'snapshot')),
      fetched_at  timestamptz not null default clock_timestamp(),
      merged_at   timestamptz,
      payload     jsonb,
      raw_body    text,
      parse_error text,
      constraint %2$I check (payload is not null or raw_body is not null)
    )$f$, v_table, p_name || '_payload_or_raw');
  execute format('create index %I on %s (run_id, page_no)', p_name || '_run_page', v_table);
  -- Merges read "the pages of my run not merged yet".
  execute format('create index %I on %s (run_id, page_id) where merged_at is null', p_name || '_unmerged', v_table);
  -- Delete detection reads the pages fetched since a full sweep started.
  execute format('create index %I on %s (fetched_at)', p_name || '_fetched_at', v_table);
  execute format('comment on table %s is %L', v_table,
    format('Raw Keap API pages for %s, one row per page as received; merge procedures read the pages of their run.', p_name));
  execute format('comment on column %s.page_id is %L', v_table, 'Page identifier (staging order).');
  execute format('comment on column %s.run_id is %L', v_table, 'Run that fetched the page.');
  execute format('comment on column %s.request_id is %L', v_table, 'Request (keap_meta.etl_request_log) that returned the page.');
  execute format('comment on column %s.page_no is %L', v_table, 'Page number within the run''s traversal of this entity, from 1.');
  execute format('comment on column %s.parent_key is %L', v_table, 'Parent record of a nested list (e.g. the tag id of /tags/{id}/contacts), else null.');
  execute format('comment on column %s.traversal is %L', v_table, 'How the page was fetched: full (keyset over all records), incremental (changed since the cursor) or snapshot (unpaged list).');
  execute format('comment on column %s.fetched_at is %L', v_table, 'When the page arrived.');
  execute format('comment on column %s.merged_at is %L', v_table, 'When a merge procedure consumed the page; null while waiting to be merged.');
  execute format('comment on column %s.payload is %L', v_table, 'Response body as JSON; null when the body was not valid JSON.');
  execute format('comment on column %s.raw_body is %L', v_table, 'Response body as text when it could not be parsed as JSON (kept, never lost).');
  execute format('comment on column %s.parse_error is %L', v_table, 'Why the body could not be parsed.');
  return v_table::regclass;
end
$$;
comment on function keap_meta.create_staging_table(text) is 'Creates keap_staging.<name> with the standard page shape; called by entity migrations.';
