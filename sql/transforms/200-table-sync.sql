-- Table syncs (Postgres → Postgres): one shared mechanism for every declared sync.
-- A sync is declared once, as data, by analytics_staging.declare_table_sync (see
-- sql/transforms/210-table-sync-athletes.sql); the orchestrator (scripts/lib/table-sync) then, per run:
--   1. prepare_table_sync    empties the staging table, decides full or incremental, and returns the
--                            source SELECT (identifiers quoted here, from the declaration);
--   2. check_source_types    compares the source's column types with the declaration and the last run;
--   3. COPY (select …) TO STDOUT on the source, streamed into COPY staging FROM STDIN here;
--   4. merge_table_sync      one set-based merge in the caller's transaction: duplicate / null keys
--                            recorded as row issues, insert new, update changed, leave unchanged rows
--                            untouched, soft-delete rows gone from the source (full passes only),
--                            merge log, snapshot and state in the same transaction.
-- Every identifier that comes from a declaration is quoted with format('%I'), every value is a
-- literal (%L) or a parameter. Safe to re-run (create or replace only).
-- Our SQLSTATEs (class KT): KT001 source column type changed, KT002 invalid declaration,
-- KT003 unknown table sync, KT004 the run does not belong to this sync, KT005 source column missing.

-- The ETL columns every target table carries besides its declared columns.
create or replace function analytics_staging.target_etl_columns() returns text[]
language sql immutable parallel safe
as $$ select array['source_synced_at', '_first_seen_at', '_synced_at', '_deleted_at', '_run_id'] $$;
comment on function analytics_staging.target_etl_columns() is 'Columns a table sync''s target table must have besides the declared ones: source_synced_at, _first_seen_at, _synced_at, _deleted_at, _run_id.';

-- A declared type name as a type, or null when it names none (or is not a type name at all).
create or replace function analytics_staging.type_or_null(p_name text) returns regtype
language plpgsql stable
as $$
begin
  return to_regtype(p_name);
exception
  when syntax_error or invalid_name or invalid_parameter_value then
    return null;
end
$$;
comment on function analytics_staging.type_or_null(text) is 'to_regtype that also answers null for text that is not a type name (e.g. with a semicolon), for validating declarations.';

-- The staging column type for a target column type: its built-in base type, else text.
create or replace function analytics_staging.staging_type(p_type oid) returns text
language sql stable
as $$
  select case when n.nspname = 'pg_catalog' and b.typtype = 'b' then format_type(b.oid, null) else 'text' end
    from pg_type t
    join pg_type b on b.oid = case when t.typtype = 'd' then t.typbasetype else t.oid end
    join pg_namespace n on n.oid = b.typnamespace
   where t.oid = p_type
$$;
comment on function analytics_staging.staging_type(oid) is 'Staging column type of a table-sync target column: the built-in base type (domains unwrapped, typmod dropped), or text for other types.';

-- Can COPY parse every text value of a source type (named as format_type prints it) as p_staging_type?
create or replace function analytics_staging.copy_safe(p_source_type text, p_staging_type text) returns boolean
language sql immutable parallel safe
as $$
  select p_staging_type = 'text'
      or p_source_type = p_staging_type
      or (p_source_type, p_staging_type) in (
           ('smallint', 'integer'), ('smallint', 'bigint'), ('smallint', 'numeric'), ('integer', 'bigint'),
           ('integer', 'numeric'), ('bigint', 'numeric'), ('real', 'double precision'),
           ('character varying', 'text'), ('character', 'text'), ('name', 'text'), ('text', 'character varying'),
           ('character', 'character varying'), ('character varying', 'character'),
           ('timestamp without time zone', 'timestamp with time zone'), ('date', 'timestamp without time zone'),
           ('date', 'timestamp with time zone'), ('json', 'jsonb'), ('jsonb', 'json'))
$$;
comment on function analytics_staging.copy_safe(text, text) is 'True when every value of the source type, in text form, is valid input for the staging type (same type, text, or a widening such as integer -> bigint).';

create or replace function analytics_staging.table_sync(p_sync_name text) returns analytics_staging.table_syncs
language plpgsql stable
as $$
declare
  v_sync analytics_staging.table_syncs;
begin
  select * into v_sync from analytics_staging.table_syncs where sync_name = p_sync_name;
  if not found then
    raise exception 'no table sync named %', coalesce(quote_literal(p_sync_name), 'null')
      using errcode = 'KT003',
            hint = 'Declared table syncs: ' || coalesce((select string_agg(sync_name, ', ' order by sync_name) from analytics_staging.table_syncs), 'none');
  end if;
  return v_sync;
end
$$;
comment on function analytics_staging.table_sync(text) is 'The declaration of a table sync; raises KT003 naming the declared syncs when there is none of that name.';

-- Declares (or re-declares) a table sync. Validates the declaration against the target table's
-- catalogue, (re)creates the sync's unlogged staging table with the target's exact column types,
-- and forgets remembered source types when the columns changed. Idempotent: re-declaring the same
-- thing changes nothing.
create or replace function analytics_staging.declare_table_sync(
  p_sync_name         text,
  p_target_table      regclass,
  p_key_columns       text[],
  p_columns           jsonb,
  p_source_schema     text default null,
  p_source_table      text default null,
  p_source_query      text default null,
  p_updated_at_column text default null,
  p_full_every        interval default '24 hours',
  p_overlap           interval default '5 minutes',
  p_description       text default null
) returns regclass
language plpgsql volatile
as $$
declare
  v_old      analytics_staging.table_syncs;
  v_col      jsonb;
  v_targets  text[] := '{}';
  v_sources  text[] := '{}';
  v_att      record;
  v_defs     text[] := '{}';
  v_cols     jsonb := '[]';
  v_pk       text[];
  v_staging  text := 'staged_' || p_sync_name;
  v_reg      regclass;
  v_missing  text;
begin
  if p_sync_name is null or p_sync_name !~ '^[a-z][a-z0-9_]{0,40}$' or p_sync_name = 'keap' then
    raise exception 'invalid table sync name: %', coalesce(quote_literal(p_sync_name), 'null')
      using errcode = 'KT002', hint = 'Use lower-case letters, digits and _, starting with a letter (it is also the pipeline name); keap is taken.';
  end if;
  if (p_source_table is null) = (p_source_query is null) or (p_source_query is not null and p_source_schema is not null) then
    raise exception 'table sync %: declare either a source table (p_source_schema, p_source_table) or a source query (p_source_query)', p_sync_name
      using errcode = 'KT002';
  end if;
  if p_source_query is not null and p_source_query ~ ';\s*\S' then
    raise exception 'table sync %: the source query must be one SELECT statement', p_sync_name using errcode = 'KT002';
  end if;
  if p_columns is null or jsonb_typeof(p_columns) <> 'array' or jsonb_array_length(p_columns) = 0 then
    raise exception 'table sync %: p_columns must be a non-empty JSON array of {source, target, type}', p_sync_name using errcode = 'KT002';
  end if;

  for v_col in select * from jsonb_array_elements(p_columns) loop
    if jsonb_typeof(v_col) <> 'object' or jsonb_typeof(v_col -> 'source') <> 'string' or jsonb_typeof(v_col -> 'target') <> 'string'
       or jsonb_typeof(v_col -> 'type') <> 'string' or v_col ->> 'source' = '' then
      raise exception 'table sync %: every column needs "source", "target" and "type" strings, got %', p_sync_name, v_col using errcode = 'KT002';
    end if;
    if (v_col ->> 'target') = any (v_targets) or (v_col ->> 'source') = any (v_sources) then
      raise exception 'table sync %: column % is declared twice', p_sync_name, v_col using errcode = 'KT002';
    end if;
    if (v_col ->> 'target') = any (analytics_staging.target_etl_columns()) then
      raise exception 'table sync %: % is an ETL column of the target and cannot be a declared column', p_sync_name, v_col ->> 'target' using errcode = 'KT002';
    end if;
    if analytics_staging.type_or_null(v_col ->> 'type') is null then
      raise exception 'table sync %: unknown type % for column %', p_sync_name, quote_literal(v_col ->> 'type'), quote_ident(v_col ->> 'target') using errcode = 'KT002';
    end if;
    if v_col ? 'source_type' and analytics_staging.type_or_null(v_col ->> 'source_type') is null then
      raise exception 'table sync %: unknown source_type % for column %', p_sync_name, quote_literal(v_col ->> 'source_type'), quote_ident(v_col ->> 'source') using errcode = 'KT002';
    end if;
    select a.atttypid, format_type(a.atttypid, a.atttypmod) as typ into v_att
      from pg_attribute a where a.attrelid = p_target_table and a.attname = v_col ->> 'target' and a.attnum > 0 and not a.attisdropped;
    if not found then
      raise exception 'table sync %: target table % has no column %', p_sync_name, p_target_table, quote_ident(v_col ->> 'target') using errcode = 'KT002';
    end if;
    if v_att.atttypid <> analytics_staging.type_or_null(v_col ->> 'type') then
      raise exception 'table sync %: column %.% is %, the declaration says %', p_sync_name, p_target_table, quote_ident(v_col ->> 'target'),
        v_att.typ, v_col ->> 'type' using errcode = 'KT002';
    end if;
    v_targets := v_targets || (v_col ->> 'target');
    v_sources := v_sources || (v_col ->> 'source');
    -- Staging has the target's built-in base type (no typmod, no domain), so COPY parses values in C;
    -- check_source_types lets a run copy only source types whose text form that type always accepts
    -- (a COPY FROM that fails at its end cannot be told apart from a hung one by the driver). Other
    -- target types (enums, composites, extensions' types) are staged as text and cast by the merge.
    v_defs := v_defs || format('%I %s', v_col ->> 'target', analytics_staging.staging_type(v_att.atttypid));
    v_cols := v_cols || jsonb_strip_nulls(jsonb_build_object('source', v_col ->> 'source', 'target', v_col ->> 'target',
                'type', format_type(analytics_staging.type_or_null(v_col ->> 'type'), null),
                'source_type', format_type(analytics_staging.type_or_null(v_col ->> 'source_type'), null), 'comment', v_col ->> 'comment'));
  end loop;

  select string_agg(quote_ident(c), ', ') into v_missing from unnest(analytics_staging.target_etl_columns()) c
   where not exists (select from pg_attribute a where a.attrelid = p_target_table and a.attname = c and not a.attisdropped);
  if v_missing is not null then
    raise exception 'table sync %: target table % lacks the ETL columns %', p_sync_name, p_target_table, v_missing
      using errcode = 'KT002', hint = 'Add source_synced_at timestamptz not null, _first_seen_at timestamptz, _synced_at timestamptz, _deleted_at timestamptz, _run_id bigint.';
  end if;
  if p_key_columns is null or cardinality(p_key_columns) = 0 or not (p_key_columns <@ v_targets) then
    raise exception 'table sync %: key columns % must be declared target columns', p_sync_name, p_key_columns using errcode = 'KT002';
  end if;
  select array_agg(a.attname::text order by k.ord) into v_pk
    from pg_index i cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
   where i.indrelid = p_target_table and i.indisprimary;
  if v_pk is null or not (v_pk @> p_key_columns and v_pk <@ p_key_columns) then
    raise exception 'table sync %: key columns % must be the primary key of % (it is %)', p_sync_name, p_key_columns, p_target_table, coalesce(v_pk::text, 'missing')
      using errcode = 'KT002';
  end if;
  if p_updated_at_column is not null and p_updated_at_column = '' then
    raise exception 'table sync %: p_updated_at_column is empty', p_sync_name using errcode = 'KT002';
  end if;

  select * into v_old from analytics_staging.table_syncs where sync_name = p_sync_name;
  v_reg := to_regclass(format('analytics_staging.%I', v_staging));
  if found and v_reg is not null and v_old.target_table = p_target_table and v_old.key_columns = p_key_columns
     and v_old.columns = v_cols and v_old.source_schema is not distinct from p_source_schema
     and v_old.source_table is not distinct from p_source_table and v_old.source_query is not distinct from p_source_query
     and v_old.updated_at_column is not distinct from p_updated_at_column and v_old.full_every = coalesce(p_full_every, '24 hours')
     and v_old.overlap = coalesce(p_overlap, '5 minutes') and v_old.description = coalesce(p_description, '') then
    return v_reg;
  end if;

  -- The staging table follows the declaration: re-created whenever it changes (it holds one run's rows only).
  execute format('drop table if exists analytics_staging.%I', v_staging);
  execute format('create unlogged table analytics_staging.%I (%s%s)', v_staging, array_to_string(v_defs, ', '),
                 case when p_updated_at_column is not null then ', _source_updated_at timestamptz' else '' end);
  v_reg := format('analytics_staging.%I', v_staging)::regclass;
  execute format('comment on table %s is %L', v_reg,
                 format('Staging of table sync %s: the source rows copied by the current (or last) run; emptied at the start of each run.', p_sync_name));
  for v_col in select * from jsonb_array_elements(v_cols) loop
    execute format('comment on column %s.%I is %L', v_reg, v_col ->> 'target', format('Source column %s, as copied.', quote_ident(v_col ->> 'source')));
  end loop;
  if p_updated_at_column is not null then
    execute format('comment on column %s._source_updated_at is %L', v_reg, format('Source column %s (update time), for the incremental watermark.', quote_ident(p_updated_at_column)));
  end if;

  insert into analytics_staging.table_syncs as t (sync_name, source_schema, source_table, source_query, key_columns, columns,
         target_table, updated_at_column, full_every, overlap, staging_table, description, declared_at)
  values (p_sync_name, p_source_schema, p_source_table, p_source_query, p_key_columns, v_cols, p_target_table,
          p_updated_at_column, coalesce(p_full_every, '24 hours'), coalesce(p_overlap, '5 minutes'), v_reg, coalesce(p_description, ''), now())
  on conflict (sync_name) do update
    set source_schema = excluded.source_schema, source_table = excluded.source_table, source_query = excluded.source_query,
        key_columns = excluded.key_columns, columns = excluded.columns, target_table = excluded.target_table,
        updated_at_column = excluded.updated_at_column, full_every = excluded.full_every, overlap = excluded.overlap,
        staging_table = excluded.staging_table, description = excluded.description, declared_at = now();
  insert into analytics_staging.table_sync_state (sync_name) values (p_sync_name)
  on conflict (sync_name) do update
    -- A changed declaration starts afresh: types are learned again, the next run is a full pass.
    set source_types = '{}', watermark = null,
        last_full_read_at = case when v_old.columns is not distinct from v_cols and v_old.target_table = p_target_table
                                 then analytics_staging.table_sync_state.last_full_read_at end;
  return v_reg;
end
$$;
comment on function analytics_staging.declare_table_sync(text, regclass, text[], jsonb, text, text, text, text, interval, interval, text) is
  'Declares a table sync: source table (schema, name) or query, key, columns [{source, target, type[, source_type]}], target table, optional update-time column. Validates against the target''s catalogue (KT002) and (re)creates its staging table. Idempotent.';

-- Empties the staging table, decides the pass (full or incremental) and builds the source SELECT.
create or replace function analytics_staging.prepare_table_sync(p_run_id bigint, p_sync_name text, p_full boolean default false)
returns table (staging_table text, staging_columns text, source_select text, is_full boolean, read_at timestamptz, reason text,
               source_key_unique_sql text)
language plpgsql volatile
as $$
declare
  v_sync  analytics_staging.table_syncs := analytics_staging.table_sync(p_sync_name);
  v_run   keap_meta.etl_run_log := keap_meta.require_running(p_run_id);
  v_state analytics_staging.table_sync_state;
  v_list  text;
  v_from  text;
  v_where text := '';
begin
  if v_run.pipeline <> p_sync_name then
    raise exception 'run % belongs to pipeline %, not to table sync %', p_run_id, v_run.pipeline, p_sync_name using errcode = 'KT004';
  end if;
  select * into v_state from analytics_staging.table_sync_state s where s.sync_name = p_sync_name;
  execute format('truncate %s', v_sync.staging_table);

  is_full := true;
  if coalesce(p_full, false) then
    reason := 'full pass (requested)';
  elsif v_sync.updated_at_column is null then
    reason := 'full pass (no update-time column declared)';
  elsif v_state.last_full_read_at is null or v_state.watermark is null then
    reason := 'full pass (first run)';
  elsif v_state.last_full_read_at < now() - v_sync.full_every then
    reason := format('full pass (the last one was %s ago; due every %s)', date_trunc('second', now() - v_state.last_full_read_at), v_sync.full_every);
  else
    is_full := false;
    reason := format('incremental: %s >= %s', quote_ident(v_sync.updated_at_column), v_state.watermark - v_sync.overlap);
    v_where := format(' where %I >= %L::timestamptz', v_sync.updated_at_column, v_state.watermark - v_sync.overlap);
  end if;

  select string_agg(format('%I', c ->> 'source'), ', ' order by o), string_agg(format('%I', c ->> 'target'), ', ' order by o)
    into v_list, staging_columns
    from jsonb_array_elements(v_sync.columns) with ordinality as x(c, o);
  if v_sync.updated_at_column is not null then
    v_list := v_list || format(', %I::timestamptz as _source_updated_at', v_sync.updated_at_column);
    staging_columns := staging_columns || ', _source_updated_at';
  end if;
  v_from := case when v_sync.source_table is not null then format('%I.%I', coalesce(v_sync.source_schema, 'public'), v_sync.source_table)
                 else format('(%s) as source_query', v_sync.source_query) end;
  source_select := format('select %s from %s%s', v_list, v_from, v_where);
  -- Run on the source: is the key enforced unique and not null there? Then the merge can skip its
  -- duplicate-key check (a full hash aggregate of staging). Unknown for a query source.
  if v_sync.source_table is not null then
    select format($q$
      select count(*) = %2$s and bool_and(a.attnotnull) and exists (
               select from pg_index i
                where i.indrelid = %1$L::regclass and i.indisunique and i.indpred is null and i.indexprs is null
                  and (select bool_and(a2.attname = any (%3$L::text[])) from unnest(i.indkey) k(attnum)
                         join pg_attribute a2 on a2.attrelid = i.indrelid and a2.attnum = k.attnum)) as key_unique
        from pg_attribute a where a.attrelid = %1$L::regclass and a.attname = any (%3$L::text[]) and not a.attisdropped$q$,
      format('%I.%I', coalesce(v_sync.source_schema, 'public'), v_sync.source_table), cardinality(v_sync.key_columns),
      array_agg(c ->> 'source'))
      into source_key_unique_sql
      from jsonb_array_elements(v_sync.columns) c where (c ->> 'target') = any (v_sync.key_columns);
  end if;
  staging_table := v_sync.staging_table::text;
  read_at := clock_timestamp();
  return next;
end
$$;
comment on function analytics_staging.prepare_table_sync(bigint, text, boolean) is
  'Start of a table-sync run: empties the staging table, chooses a full or incremental pass (and why), and returns the source SELECT, the staging column list and the read time to pass to merge_table_sync.';

-- Compares the source's column types (name -> type, as the source's format_type prints them) with
-- the declaration's optional source_type and with the types the last successful run saw.
create or replace function analytics_staging.check_source_types(p_sync_name text, p_types jsonb) returns void
language plpgsql stable
as $$
declare
  v_sync  analytics_staging.table_syncs := analytics_staging.table_sync(p_sync_name);
  v_seen  jsonb;
  v_c     record;
begin
  select source_types into v_seen from analytics_staging.table_sync_state where sync_name = p_sync_name;
  for v_c in
    select c ->> 'source' as source, c ->> 'target' as target, c ->> 'source_type' as declared,
           p_types ->> (c ->> 'source') as now_type, v_seen ->> (c ->> 'source') as was_type,
           format_type(a.atttypid, null) as staging_type
      from jsonb_array_elements(v_sync.columns) c
      join pg_attribute a on a.attrelid = v_sync.staging_table and a.attname = c ->> 'target' and not a.attisdropped
  loop
    if v_c.now_type is null then
      raise exception 'table sync %: source column % is missing from the source', p_sync_name, quote_ident(v_c.source)
        using errcode = 'KT005', hint = 'The source table or query no longer has this column; fix the source or the declaration.';
    end if;
    if v_c.declared is not null and v_c.declared <> v_c.now_type then
      raise exception 'table sync %: source column % is %, the declaration expects %', p_sync_name, quote_ident(v_c.source), v_c.now_type, v_c.declared
        using errcode = 'KT001', detail = format('Target column %s.%I.', v_sync.target_table, v_c.target),
              hint = 'If the source changed on purpose, update the declaration (and the target column) to match.';
    end if;
    if v_c.was_type is not null and v_c.was_type <> v_c.now_type then
      raise exception 'table sync %: source column % changed type from % to %', p_sync_name, quote_ident(v_c.source), v_c.was_type, v_c.now_type
        using errcode = 'KT001', detail = format('Target column %s.%I. Nothing was copied.', v_sync.target_table, v_c.target),
              hint = format('If the change is intended and the target type still fits, run: select analytics_staging.accept_source_types(%L);', p_sync_name);
    end if;
    if not analytics_staging.copy_safe(v_c.now_type, v_c.staging_type) then
      raise exception 'table sync %: source column % is %, which does not fit target column %.% (%)', p_sync_name, quote_ident(v_c.source),
        v_c.now_type, v_sync.target_table, quote_ident(v_c.target), v_c.staging_type
        using errcode = 'KT001', detail = 'Nothing was copied.',
              hint = 'Change the target column''s type (and the declaration) to one that holds the source''s values, or cast in a source query.';
    end if;
  end loop;
end
$$;
comment on function analytics_staging.check_source_types(text, jsonb) is
  'Raises KT001 naming the column when a source column''s type differs from the declared source_type or from the type the last successful run saw; KT005 when a declared column is missing.';

-- The COPY format of a run: binary when every staged column has exactly the source's type (then
-- the bytes are valid as they are, and neither side formats or parses text: about 40 % faster),
-- otherwise text (which also carries widenings such as integer -> bigint). Call after check_source_types.
create or replace function analytics_staging.copy_format(p_sync_name text, p_types jsonb) returns text
language sql stable
as $$
  select case when bool_and(p_types ->> s.source = format_type(a.atttypid, null)) then 'binary' else 'text' end
    from analytics_staging.table_syncs d
   cross join lateral (select c ->> 'source', c ->> 'target' from jsonb_array_elements(d.columns) c
                       union all select '_source_updated_at', '_source_updated_at' where d.updated_at_column is not null) s(source, target)
    join pg_attribute a on a.attrelid = d.staging_table and a.attname = s.target and not a.attisdropped
   where d.sync_name = p_sync_name
$$;
comment on function analytics_staging.copy_format(text, jsonb) is 'binary when every staged column of a table sync has exactly the source column''s type, else text: the COPY format its runs use.';

create or replace function analytics_staging.accept_source_types(p_sync_name text) returns void
language sql volatile
as $$
  update analytics_staging.table_sync_state set source_types = '{}'
   where sync_name = (analytics_staging.table_sync(p_sync_name)).sync_name
$$;
comment on function analytics_staging.accept_source_types(text) is 'Forgets the source column types a table sync remembered, so the next run accepts the source''s current types (after a deliberate type change).';

-- The grant a DBA runs on the source database so the sync's read-only role can read exactly the
-- declared columns (and the update-time column).
create or replace function analytics_staging.reader_grants_sql(p_sync_name text, p_role text default 'table_sync_reader') returns text
language plpgsql stable
as $$
declare
  v_sync analytics_staging.table_syncs := analytics_staging.table_sync(p_sync_name);
  v_cols text;
begin
  if v_sync.source_table is null then
    return format('-- table sync %s reads a query: grant select on the columns it reads to %I', p_sync_name, p_role);
  end if;
  select string_agg(format('%I', s), ', ' order by o) into v_cols
    from (select c ->> 'source', o from jsonb_array_elements(v_sync.columns) with ordinality x(c, o)
          union all select v_sync.updated_at_column, 1000 where v_sync.updated_at_column is not null) y(s, o);
  return format('grant usage on schema %I to %I;', coalesce(v_sync.source_schema, 'public'), p_role) || E'\n'
      || format('grant select (%s) on %I.%I to %I;', v_cols, coalesce(v_sync.source_schema, 'public'), v_sync.source_table, p_role);
end
$$;
comment on function analytics_staging.reader_grants_sql(text, text) is 'The GRANT statements to run on the source database so a read-only role can read exactly the columns a table sync declares.';

-- True when p_value is valid input for p_type (the slow, per-value check used only after a set-based
-- cast failed, to find the values to record as row issues).
create or replace function analytics_staging.value_casts(p_value text, p_type regtype) returns boolean
language plpgsql stable
as $$
begin
  if p_value is null then
    return true;
  end if;
  if current_setting('server_version_num')::integer >= 160000 then
    return pg_input_is_valid(p_value, p_type::text);
  end if;
  execute format('select %L::%s', p_value, p_type);
  return true;
exception
  when data_exception then
    return false;
end
$$;
comment on function analytics_staging.value_casts(text, regtype) is 'True when a text value is valid input for a type (pg_input_is_valid on PostgreSQL 16+, a guarded cast before).';

-- Column name -> cast type (the target column's type without typmod) of a table sync, in declared order.
create or replace function analytics_staging.table_sync_columns(p_sync_name text)
returns table (target text, cast_type text, is_key boolean, col_no bigint)
language sql stable
as $$
  select c ->> 'target', format_type(a.atttypid, null), (c ->> 'target') = any (d.key_columns), o
    from analytics_staging.table_syncs d
   cross join lateral jsonb_array_elements(d.columns) with ordinality x(c, o)
    join pg_attribute a on a.attrelid = d.target_table and a.attname = c ->> 'target' and not a.attisdropped
   where d.sync_name = p_sync_name
   order by o
$$;
comment on function analytics_staging.table_sync_columns(text) is 'The declared target columns of a table sync with the type the merge casts staged text to, key flag and position.';

-- After a set-based cast failed: records every staged value that is not valid for its column's type
-- as a row issue, then nulls it (or, in a key column, skips the row). Returns the rows skipped.
create or replace function analytics_staging.reject_bad_values(p_run_id bigint, p_sync_name text, out p_rows_skipped bigint, out p_values_nulled bigint)
language plpgsql volatile
as $$
declare
  v_sync    analytics_staging.table_syncs := analytics_staging.table_sync(p_sync_name);
  v_c       record;
  v_keytext text;
  v_n       bigint;
begin
  p_rows_skipped := 0;
  p_values_nulled := 0;
  v_keytext := case when cardinality(v_sync.key_columns) = 1 then format('s.%I::text', v_sync.key_columns[1])
                    else format('row(%s)::text', (select string_agg(format('s.%I', k), ', ') from unnest(v_sync.key_columns) k)) end;
  -- Keys first: a row whose key is unusable is skipped whole.
  -- Only columns staged as text can hold a value their type rejects.
  for v_c in select c.* from analytics_staging.table_sync_columns(p_sync_name) c
               join pg_attribute a on a.attrelid = v_sync.staging_table and a.attname = c.target and a.atttypid = 'text'::regtype
              where c.cast_type <> 'text'
              order by c.is_key desc, c.col_no loop
    execute format($q$
      with bad as (
        select s.ctid as c, s.%1$I as v, %2$s as record_key from %3$s s
         where s.%1$I is not null and not analytics_staging.value_casts(s.%1$I, %4$L::regtype)
      ), issues as (
        insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem)
        select $1, $2, case when %5$L then null else record_key end, %6$L, left(v, 10000),
               case when %5$L then 'key is not a valid ' || %4$L || ': row skipped'
                    else 'not a valid ' || %4$L || ': stored as null' end
          from bad
      )
      %7$s
      select count(*) from bad$q$,
      v_c.target, v_keytext, v_sync.staging_table, v_c.cast_type, v_c.is_key, v_c.target,
      case when v_c.is_key then format(', gone as (delete from %s s using bad where s.ctid = bad.c)', v_sync.staging_table)
           else format(', fixed as (update %s s set %I = null from bad where s.ctid = bad.c)', v_sync.staging_table, v_c.target) end)
      using p_run_id, p_sync_name
      into v_n;
    if v_c.is_key then p_rows_skipped := p_rows_skipped + v_n; else p_values_nulled := p_values_nulled + v_n; end if;
  end loop;
end
$$;
comment on function analytics_staging.reject_bad_values(bigint, text) is
  'Table-sync merge fallback: records staged values that are not valid for their column''s type as row issues and nulls them; rows with an unusable key are skipped. Returns rows skipped and values nulled.';

-- The merge: see the file header. p_read_at is prepare_table_sync's read_at (taken before the
-- source was read), p_source_types the types check_source_types accepted. Runs in the caller's
-- transaction; counts go to keap_meta.merge_log. The fast path casts staged text set-based; only
-- if a value does not cast does it look value by value (reject_bad_values) and merge again.
create or replace function analytics_staging.merge_table_sync(
  p_run_id       bigint,
  p_sync_name    text,
  p_is_full      boolean,
  p_read_at      timestamptz,
  p_source_types jsonb default '{}',
  p_source_key_unique boolean default false
) returns table (staged_count bigint, inserted_count bigint, updated_count bigint, unchanged_count bigint,
                 deleted_count bigint, rejected_count bigint, vacuum_table text)
language plpgsql volatile
set work_mem = '256MB'
as $$
declare
  v_sync     analytics_staging.table_syncs := analytics_staging.table_sync(p_sync_name);
  v_run      keap_meta.etl_run_log := keap_meta.require_running(p_run_id);
  v_state    analytics_staging.table_sync_state;
  v_started  timestamptz := clock_timestamp();
  v_stg      regclass := v_sync.staging_table;
  v_tgt      regclass := v_sync.target_table;
  v_k1       text := v_sync.key_columns[1];
  v_cols     text;   -- "a", "b" (all declared target columns)
  v_keys_x   text;   -- s.k1::uuid, … (keys cast)
  v_join     text;   -- t.k1 = s.k1::uuid and …
  v_keynull  text;   -- s.k1 is null or …
  v_keytext  text;   -- the key as text, for row issues
  v_changed  text;
  v_select   text;   -- the d CTE's columns: keys (from the target for gone rows), other columns cast
  v_insert   text;   -- columns of d to insert
  v_set      text;   -- "b" = s."b", …
  v_bad      bigint;
  v_dup_rows bigint;
  v_skipped  bigint := 0;
  v_nulled   bigint := 0;
  v_attempt  integer;
  v_check_keys boolean;
  v_snap     keap_meta.table_snapshot;
  v_wm       timestamptz;
begin
  if v_run.pipeline <> p_sync_name then
    raise exception 'run % belongs to pipeline %, not to table sync %', p_run_id, v_run.pipeline, p_sync_name using errcode = 'KT004';
  end if;
  select * into v_state from analytics_staging.table_sync_state s where s.sync_name = p_sync_name for update;

  select string_agg(format('%I', target), ', ' order by col_no),
         string_agg(format('s.%I::%s', target, cast_type), ', ' order by col_no) filter (where is_key),
         string_agg(format('t.%1$I = s.%1$I::%2$s', target, cast_type), ' and ' order by col_no) filter (where is_key),
         string_agg(format('s.%I is null', target), ' or ' order by col_no) filter (where is_key),
         coalesce(format('row(%s) is distinct from row(%s)',
                         string_agg(format('s.%I::%s', target, cast_type), ', ' order by col_no) filter (where not is_key),
                         string_agg(format('t.%I', target), ', ' order by col_no) filter (where not is_key)), 'false'),
         string_agg(case when is_key then format('coalesce(s.%1$I::%2$s, t.%1$I) as %1$I', target, cast_type)
                         else format('s.%1$I::%2$s as %1$I', target, cast_type) end, ', ' order by col_no),
         coalesce(string_agg(format('%1$I = s.%1$I, ', target), '' order by col_no) filter (where not is_key), '')
    into v_cols, v_keys_x, v_join, v_keynull, v_changed, v_select, v_set
    from analytics_staging.table_sync_columns(p_sync_name);
  v_keytext := case when cardinality(v_sync.key_columns) = 1 then format('s.%I::text', v_k1)
                    else format('row(%s)::text', (select string_agg(format('s.%I', k), ', ') from unnest(v_sync.key_columns) k)) end;

  execute format('select count(*) from %s', v_stg) into staged_count;
  -- Duplicate and null keys are impossible when the source enforces the key and its values reach
  -- staging unchanged (same type): then the check (a hash aggregate of all staged rows) is skipped.
  v_check_keys := not coalesce(p_source_key_unique, false) or exists (
    select from jsonb_array_elements(v_sync.columns) c
      join pg_attribute a on a.attrelid = v_stg and a.attname = c ->> 'target'
     where (c ->> 'target') = any (v_sync.key_columns)
       and (p_source_types ->> (c ->> 'source')) is distinct from format_type(a.atttypid, null));

  for v_attempt in 1 .. 2 loop
    begin
      inserted_count := 0; updated_count := 0; deleted_count := 0; v_dup_rows := 0;

      -- Null and duplicate keys: one issue per key, the extra rows skipped (the first row copied is kept).
      v_bad := 0;
      if v_check_keys then
        execute format('select count(*), coalesce(sum(n) filter (where not is_null), 0) - count(*) filter (where not is_null)
                                          + coalesce(sum(n) filter (where is_null), 0)
                          from (select count(*) as n, bool_or(%s) as is_null from %s s group by %s
                                having count(*) > 1 or bool_or(%s)) b',
                       v_keynull, v_stg, v_keys_x, v_keynull)
          into v_bad, v_dup_rows;
      end if;
      if v_bad > 0 then
        execute format($q$
          insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem)
          select $1, $2, case when is_null then null else record_key end, $3, n::text || ' rows',
                 case when is_null then format('key %%s is null in %%s source row(s): skipped', $3, n)
                      else format('duplicate key in the source: %%s rows have it; the first row copied was kept, %%s skipped', n, n - 1) end
            from (select min(%s) as record_key, count(*) as n, bool_or(%s) as is_null from %s s group by %s
                   having count(*) > 1 or bool_or(%s)) b$q$, v_keytext, v_keynull, v_stg, v_keys_x, v_keynull)
          using p_run_id, p_sync_name, array_to_string(v_sync.key_columns, ', ');
        execute format('delete from %s s where %s', v_stg, v_keynull);
        execute format('delete from %1$s s using (
                          select ctid as c, row_number() over (partition by %2$s order by ctid) as rn
                            from %1$s s where (%2$s) in (select %2$s from %1$s s group by %2$s having count(*) > 1)) d
                         where s.ctid = d.c and d.rn > 1', v_stg, v_keys_x);
      end if;

      -- One pass over staging joined to the target finds what to insert, update and (full passes
      -- only) soft-delete; unchanged rows are never written.
      execute format($q$
        with d as materialized (
          select %1$s, case when t.%2$I is null then 'i' when s.%2$I is null then 'd' else 'u' end as _action
            from %3$s s %4$s join %5$s t on %6$s
           where t.%2$I is null
              or (s.%2$I is not null and (%7$s or t._deleted_at is not null))
              %8$s
        ), ins as (
          insert into %5$s (%9$s, source_synced_at, _first_seen_at, _synced_at, _deleted_at, _run_id)
          -- In key order: the primary key's btree fills page by page instead of at random.
          select %9$s, $1, $2, $2, null, $3 from d where _action = 'i' order by %12$s
          returning 1
        ), upd as (
          update %5$s t set %10$s source_synced_at = $1, _synced_at = $2, _deleted_at = null, _run_id = $3
            from d s where s._action = 'u' and %11$s
          returning 1
        ), del as (
          update %5$s t set _deleted_at = $2, _synced_at = $2, _run_id = $3,
                            source_synced_at = greatest(t.source_synced_at, $4)
            from d s where s._action = 'd' and %11$s
          returning 1
        )
        select (select count(*) from ins), (select count(*) from upd), (select count(*) from del)$q$,
        v_select, v_k1, v_stg, case when p_is_full then 'full' else 'left' end, v_tgt, v_join, v_changed,
        case when p_is_full then format('or (s.%I is null and t._deleted_at is null)', v_k1) else '' end,
        v_cols, v_set,
        -- d's key columns are already cast: join on them directly
        (select string_agg(format('t.%1$I = s.%1$I', k), ' and ') from unnest(v_sync.key_columns) k),
        (select string_agg(format('%I', k), ', ') from unnest(v_sync.key_columns) k))
        into inserted_count, updated_count, deleted_count
        using p_read_at, now(), p_run_id, v_state.last_full_read_at;
      exit;
    exception
      when data_exception then
        if v_attempt = 2 then
          raise;
        end if;
        -- Some staged value does not cast to its column's type: find, record and neutralise them, retry.
        select r.p_rows_skipped, r.p_values_nulled into v_skipped, v_nulled from analytics_staging.reject_bad_values(p_run_id, p_sync_name) r;
    end;
  end loop;

  rejected_count := v_skipped + v_nulled + v_dup_rows;
  unchanged_count := staged_count - v_skipped - v_dup_rows - inserted_count - updated_count;

  if v_sync.updated_at_column is not null then
    execute format('select max(_source_updated_at) from %s', v_stg) into v_wm;
  end if;
  update analytics_staging.table_sync_state s
     set watermark = greatest(s.watermark, v_wm),
         last_read_at = p_read_at, last_run_id = p_run_id,
         last_full_read_at = case when p_is_full then p_read_at else s.last_full_read_at end,
         last_full_run_id = case when p_is_full then p_run_id else s.last_full_run_id end,
         source_types = coalesce(p_source_types, '{}')
   where s.sync_name = p_sync_name;

  insert into keap_meta.merge_log (run_id, entity, procedure_name, inserted_count, updated_count, unchanged_count,
                                   deleted_count, rejected_count, pages_merged, duration_ms)
  values (p_run_id, p_sync_name, 'analytics_staging.merge_table_sync', inserted_count, updated_count, unchanged_count,
          deleted_count, rejected_count, 0, round(extract(epoch from clock_timestamp() - v_started) * 1000)::integer);
  v_snap := keap_meta.take_table_snapshot(p_run_id, v_tgt);
  perform keap_meta.log_source_count(p_run_id, p_sync_name, case when p_is_full then staged_count end, v_snap.live_count);
  -- After writing a large share of the target (a first load, a mass change), the caller should
  -- VACUUM (ANALYZE) it once committed: the next run's scan then finds rows already marked
  -- committed and all-visible, and the planner knows the table's size, instead of waiting for autovacuum.
  vacuum_table := case when inserted_count + updated_count + deleted_count >= greatest(10000, v_snap.row_count / 10)
                       then v_tgt::text end;
  return next;
end
$$;
comment on function analytics_staging.merge_table_sync(bigint, text, boolean, timestamptz, jsonb, boolean) is
  'Merges a table sync''s staged rows into its target in one set-based statement: inserts new keys, updates changed rows, leaves unchanged rows untouched, soft-deletes keys gone from the source (full passes only); null, duplicate and uncastable keys and uncastable values become row issues. Records merge_log, snapshot, source count and state in the caller''s transaction; vacuum_table names the target when the caller should VACUUM (ANALYZE) it after commit.';
