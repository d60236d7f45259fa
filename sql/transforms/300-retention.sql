-- Retention: keeps the bookkeeping from growing without bound. Deletes, in committed batches,
--   * staged pages that were merged more than p_staging_days ago (pages never merged, e.g. a body
--     that could not be parsed, are evidence and stay; so do the pages of a running run),
--   * request-log rows older than p_log_days (except those a remaining staged page still names),
--   * run events older than p_log_days.
-- Runs themselves (keap_meta.etl_run_log), merge log and row issues are kept: keap_ops.runs and
-- freshness history stay whole. keap_meta.cleanup_old_runs removes whole runs when that is wanted.
-- CALL it outside a transaction block (it commits between batches, so locks stay short and a
-- stopped retention keeps what it already freed). Safe to re-run (create or replace only).

create or replace procedure keap_meta.apply_retention(
  p_staging_days   integer default 14,
  p_log_days       integer default 90,
  p_batch_size     integer default 5000,
  inout p_staged_pages_deleted bigint default 0,
  inout p_staged_bytes_freed   bigint default 0,
  inout p_requests_deleted     bigint default 0,
  inout p_events_deleted       bigint default 0
)
language plpgsql
as $$
declare
  v_staging_cutoff timestamptz;
  v_log_cutoff     timestamptz;
  v_table          regclass;
  v_n              bigint;
  v_bytes          bigint;
  v_refs           text;
begin
  if p_staging_days is null or p_staging_days < 0 or p_log_days is null or p_log_days < 0 then
    raise exception 'apply_retention needs ages in days >= 0, got staging % and logs %',
      coalesce(p_staging_days::text, 'null'), coalesce(p_log_days::text, 'null')
      using errcode = 'KR004', hint = 'For example CALL keap_meta.apply_retention(14, 90).';
  end if;
  if p_batch_size is null or p_batch_size < 1 then
    raise exception 'apply_retention needs a batch size >= 1' using errcode = 'KR004';
  end if;
  v_staging_cutoff := now() - make_interval(days => p_staging_days);
  v_log_cutoff := now() - make_interval(days => p_log_days);
  p_staged_pages_deleted := 0;
  p_staged_bytes_freed := 0;
  p_requests_deleted := 0;
  p_events_deleted := 0;

  -- Staged pages of every staging table (any table in keap_staging with the standard page shape).
  for v_table in
    select c.oid::regclass
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'keap_staging' and c.relkind = 'r'
       and (select count(*) from pg_attribute a
             where a.attrelid = c.oid and not a.attisdropped and a.attname in ('run_id', 'merged_at', 'payload', 'raw_body')) = 4
     order by 1
  loop
    loop
      execute format($q$
        with doomed as (
          select s.ctid from %1$s s
           where s.merged_at < $1
             and not exists (select from keap_meta.etl_run_log r where r.run_id = s.run_id and r.status = 'running')
           limit $2),
        gone as (
          delete from %1$s s using doomed d where s.ctid = d.ctid
          returning coalesce(pg_column_size(s.payload), 0) + coalesce(octet_length(s.raw_body), 0) as bytes)
        select count(*), coalesce(sum(bytes), 0) from gone$q$, v_table)
        into v_n, v_bytes using v_staging_cutoff, p_batch_size;
      p_staged_pages_deleted := p_staged_pages_deleted + v_n;
      p_staged_bytes_freed := p_staged_bytes_freed + v_bytes;
      commit;
      exit when v_n < p_batch_size;
    end loop;
  end loop;

  -- Requests no remaining row points at (every single-column foreign key to the request log).
  select coalesce(string_agg(format('and not exists (select from %s x where x.%I = q.request_id)',
                                    c.conrelid::regclass, a.attname), ' '), '')
    into v_refs
    from pg_constraint c
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
   where c.contype = 'f' and c.confrelid = 'keap_meta.etl_request_log'::regclass and cardinality(c.conkey) = 1;
  loop
    execute format($q$
      delete from keap_meta.etl_request_log d
       where d.ctid = any (array(
         select q.ctid from keap_meta.etl_request_log q
          where q.requested_at < $1 %s
          limit $2))$q$, v_refs)
      using v_log_cutoff, p_batch_size;
    get diagnostics v_n = row_count;
    p_requests_deleted := p_requests_deleted + v_n;
    commit;
    exit when v_n < p_batch_size;
  end loop;

  loop
    delete from keap_meta.etl_run_events e
     where e.ctid = any (array(select q.ctid from keap_meta.etl_run_events q where q.at < v_log_cutoff limit p_batch_size));
    get diagnostics v_n = row_count;
    p_events_deleted := p_events_deleted + v_n;
    commit;
    exit when v_n < p_batch_size;
  end loop;
end
$$;
comment on procedure keap_meta.apply_retention(integer, integer, integer, bigint, bigint, bigint, bigint) is
  'CALL keap_meta.apply_retention(staging_days, log_days[, batch_size]) outside a transaction: deletes staged pages merged more than staging_days ago, request-log rows and run events older than log_days, in committed batches; keeps every run row. Returns pages, payload bytes, requests and events deleted.';
