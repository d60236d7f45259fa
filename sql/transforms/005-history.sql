-- History: what the merge generator (004) needs to write keap_history, and the generator of the
-- reading side (the <table>_versions views and <table>_as_of functions, applied for every history
-- table by sql/views/140-history.sql).
--
-- The clock (documented once, here and in the README "History"): a version of a row begins at
--   - the record's change time in Keap (the declared change_marker, e.g. update_time) when the
--     record carries one and it moved past the start of the version it replaces;
--   - otherwise when the warehouse saw the change (the merge transaction's now());
--   - and never before the previous version's start + 1 microsecond, nor before the moment the
--     previous version was deleted (so an update time going backwards or staying equal can never
--     make intervals overlap or be empty).
-- A child row's version (an e-mail slot, a tag of a contact) begins with the parent version that
-- introduced its value, and ends with the parent version that changed or removed it.
-- Versions are half-open [_valid_from, _valid_to); the current one is the keap row (open-ended,
-- _valid_to = 'infinity' in the views); a soft delete closes it (ended by 'deleted'); a revival opens
-- a new one; a sweep that finds the row deleted again writes nothing.
-- Safe to re-run: create or replace only.

-- The history table of a keap table, checked: it exists, the keap table has _valid_from, and every
-- typed column of the keap table has its place in the history table. Raises KR005 otherwise.
create or replace function keap_meta.history_table(p_table regclass, p_entity text) returns regclass
language plpgsql stable
as $$
declare
  v_name    text;
  v_hist    regclass;
  v_missing text;
begin
  select c.relname into v_name from pg_class c where c.oid = p_table;
  v_hist := to_regclass(format('keap_history.%I', v_name));
  if v_hist is null or not exists (select from pg_attribute where attrelid = p_table and attname = '_valid_from' and not attisdropped) then
    raise exception 'entity % keeps history but keap_history.% does not exist', p_entity, v_name
      using errcode = 'KR005',
            detail = format('keap_meta.entities.has_history is true for %s, and %s has no history table.', p_entity, p_table),
            hint = format('Add select keap_meta.create_history_table(%L); to the migration that creates %s, or set has_history = false for the entity.', p_table::text, p_table);
  end if;
  select string_agg(a.attname, ', ' order by a.attnum) into v_missing
    from pg_attribute a
   where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
     and a.attname not in ('_raw', '_raw_hash', '_synced_at', '_first_seen_at', '_deleted_at', '_valid_from')
     and not exists (select from pg_attribute h where h.attrelid = v_hist and h.attname = a.attname and not h.attisdropped);
  if v_missing is not null then
    raise exception 'keap_history.% lacks column(s) % of %', v_name, v_missing, p_table
      using errcode = 'KR005',
            hint = format('Call select keap_meta.create_history_table(%L); in the migration that added them (it adds what is missing).', p_table::text);
  end if;
  return v_hist;
end
$$;
comment on function keap_meta.history_table(regclass, text) is 'The keap_history table of a keap table, after checking it exists and has every typed column of the keap table (KR005 with the fix otherwise). Used by the merge generator and the sweeps.';

-- Columns a version copies from the keap row (keap order), without the validity columns.
create or replace function keap_meta.history_columns(p_table regclass) returns text[]
language sql stable
as $$
  select coalesce(array_agg(a.attname::text order by a.attnum), '{}')
    from pg_attribute a join pg_class c on c.oid = a.attrelid
   where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped
     and a.attname not in ('_valid_from', '_valid_to', '_ended_by', '_ended_run_id')
     and exists (select from pg_attribute h
                  where h.attrelid = to_regclass(format('keap_history.%I', c.relname)) and h.attname = a.attname and not h.attisdropped)
$$;
comment on function keap_meta.history_columns(regclass) is 'Columns of a keap table that its history table keeps (typed columns and _run_id), in table order; the validity columns are not included.';

create or replace function keap_meta.primary_key_columns(p_table regclass) returns text[]
language sql stable
as $$
  select array_agg(a.attname::text order by array_position(i.indkey::int2[], a.attnum))
    from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
   where i.indrelid = p_table and i.indisprimary
$$;
comment on function keap_meta.primary_key_columns(regclass) is 'Primary key columns of a table, in key order (null without a primary key).';

-- The start of a child row's new version (SQL text for the generated merge): an unchanged value
-- keeps the start of the version it continues; a changed one starts with the parent's new version
-- (never before its own previous start + 1 microsecond); a key new to an existing parent starts no
-- earlier than the end of the key's last closed version (a tag removed and applied again).
--   p_old     the snapshot of the parent's child rows before the merge replaced them
--   p_hist    the child's history table
--   p_key     child key columns => their new-value expressions; p_vals the same for value columns
create or replace function keap_meta.child_valid_from_expr(
  p_old text, p_hist regclass, p_keys text[], p_key_exprs text[], p_vals text[], p_val_exprs text[],
  p_parent_from text, p_existed text
) returns text
language sql stable
as $$
  select format($e$case when not %1$s then %2$s
            else coalesce((select case when %3$s then o._valid_from else greatest(%2$s, o._valid_from + interval '1 microsecond') end
                             from %4$s o where %5$s),
                          greatest(%2$s, (select max(h._valid_to) from %6$s h where %7$s))) end$e$,
    p_existed, p_parent_from,
    case when cardinality(p_vals) = 0 then 'true'
         else format('row(%s) is not distinct from row(%s)',
                     (select string_agg(format('o.%I', v), ', ') from unnest(p_vals) v),
                     array_to_string(p_val_exprs, ', ')) end,
    p_old,
    (select string_agg(format('o.%I = %s', k, x), ' and ') from unnest(p_keys, p_key_exprs) u(k, x)),
    p_hist,
    (select string_agg(format('h.%I = %s', k, x), ' and ') from unnest(p_keys, p_key_exprs) u(k, x)))
$$;
comment on function keap_meta.child_valid_from_expr(text, regclass, text[], text[], text[], text[], text, text) is
  'Generator helper: SQL expression of a child row''s _valid_from as the merge inserts it (unchanged value: the old start; changed: the parent version''s start; a key new to an existing parent: not before the end of its last closed version).';

-- The two statements around a child step of a merge with history: before, a snapshot of the
-- written parents'' child rows (pg_temp.merge_old_<child>); after, one closed version per old row
-- whose value changed (its new row starts later) or that is gone (ended by deleted).
create or replace function keap_meta.child_history_sql(p_entity text, p_parent_key text, p_child text, p_before boolean) returns text
language plpgsql stable
as $gen$
declare
  ch     keap_meta.entity_children;
  v_hist regclass;
  v_key  text[];
  v_cols text[];
  v_old  text := 'merge_old_' || p_child;
  v_match text;
begin
  select * into strict ch from keap_meta.entity_children where entity = p_entity and child = p_child;
  v_hist := keap_meta.history_table(ch.target_table, p_entity);
  v_key := keap_meta.primary_key_columns(ch.target_table);
  if v_key is null then
    raise exception 'child table % of % has no primary key', ch.target_table, p_entity using errcode = 'KR005';
  end if;
  if p_before then
    -- A kind whose step replaces the written records' rows whole: the snapshot is their delete (one
    -- read of them; the step then inserts them anew). id_set keeps its still-listed pairs: a read.
    v_match := keap_meta.written_parents_match(ch.parent_column, p_parent_key);
    return format($f$
  -- %1$s history: the written records' rows of %2$s as they were (compared after the step)%4$s; by
  -- key (= any of an array: the planner cannot misjudge the unanalyzed merge_src into a scan)
  perform keap_meta.drop_temp_table(%3$L);
  create temporary table %3$I on commit drop as
  %5$s;
  create index on pg_temp.%3$I (%6$s);
$f$, p_child, ch.target_table, v_old,
     case when ch.kind <> 'id_set' then ', deleted here for the step to insert them anew' else '' end,
     case when ch.kind <> 'id_set'
          then format('with gone as (delete from %s c where %s returning c.*) select * from gone', ch.target_table, v_match)
          else format('select c.* from %s c where %s', ch.target_table, v_match) end,
     (select string_agg(format('%I', k), ', ') from unnest(v_key) k));
  end if;
  v_cols := keap_meta.history_columns(ch.target_table);
  return format($f$
  -- %1$s history: each old row whose value changed or that is gone becomes a closed version of %2$s
  insert into %2$s (%3$s, _valid_from, _valid_to, _ended_by, _ended_run_id)
  select %4$s, o._valid_from,
         coalesce(n._valid_from, greatest(s._valid_from, o._valid_from + interval '1 microsecond')),
         case when n._valid_from is null then 'deleted' else 'changed' end, p_run_id
    from pg_temp.%5$I o
    join pg_temp.merge_src s on s.%6$I = o.%7$I
    left join lateral (select n._valid_from from %8$s n where %9$s offset 0) n on true
   where n._valid_from is distinct from o._valid_from;
$f$, p_child, v_hist,
     (select string_agg(format('%I', k), ', ') from unnest(v_cols) k),
     (select string_agg(format('o.%I', k), ', ') from unnest(v_cols) k),
     v_old, p_parent_key, ch.parent_column, ch.target_table,
     (select string_agg(format('n.%I = o.%I', k, k), ' and ') from unnest(v_key) k));
end
$gen$;
comment on function keap_meta.child_history_sql(text, text, text, boolean) is
  'Generator helper: the SQL around one child step of a merge with history: the snapshot of the written parents'' child rows (p_before), or the closed versions of the rows that changed or are gone.';

-- For a child kind whose step inserts rows without _valid_from (a kind added to
-- keap_meta.child_merge_sql without the history clock): after the step, the written parents' rows
-- get the start keap_meta.child_valid_from_expr gives them (the old start for an unchanged value).
-- Compared on the declared child columns and the value column; keyed on the child's primary key.
create or replace function keap_meta.child_valid_from_fixup_sql(p_entity text, p_parent_key text, p_child text) returns text
language plpgsql stable
as $gen$
declare
  ch     keap_meta.entity_children;
  v_key  text[];
  v_vals text[];
  v_expr text;
begin
  select * into strict ch from keap_meta.entity_children where entity = p_entity and child = p_child;
  v_key := keap_meta.primary_key_columns(ch.target_table);
  select coalesce(array_agg(dc.column_name::text order by dc.declared_order), '{}') into v_vals
    from keap_meta.entity_columns dc where dc.entity = p_entity and dc.child = p_child and dc.column_name <> all (v_key);
  if ch.value_column is not null and ch.value_column <> all (v_vals) then
    v_vals := v_vals || ch.value_column;
  end if;
  v_expr := keap_meta.child_valid_from_expr(
    format('pg_temp.%I', 'merge_old_' || p_child), keap_meta.history_table(ch.target_table, p_entity),
    v_key, (select array_agg(format('n.%I', k)) from unnest(v_key) k),
    v_vals, coalesce((select array_agg(format('n.%I', k)) from unnest(v_vals) k), '{}'),
    's._valid_from', 's.existed');
  return format($f$
  -- %1$s history clock: this kind's step inserts its rows without it, so the written records' rows
  -- get it here (an unchanged value keeps its start)
  update %2$s n
     set _valid_from = %3$s
    from pg_temp.merge_src s
   where n.%4$I = s.%5$I and n.%4$I = any (array(select s2.%5$I from pg_temp.merge_src s2))
     and n._valid_from is distinct from (%3$s);
$f$, p_child, ch.target_table, v_expr, ch.parent_column, p_parent_key);
end
$gen$;
comment on function keap_meta.child_valid_from_fixup_sql(text, text, text) is
  'Generator helper: for a child kind whose step does not set _valid_from, the update that gives the written records'' child rows their history clock after the step.';

-- The reading side of one history table: keap_history.<table>_versions (every version: the closed
-- ones, and the current rows of the keap table with _valid_to = infinity) and
-- keap_history.<table>_as_of(instant) (the rows as they were at that instant; an inlined SQL
-- function, so a filter on the key reaches the indexes). Re-created when the columns change.
create or replace function keap_meta.generate_history_views(p_history regclass) returns void
language plpgsql volatile
as $gen$
declare
  v_name    text;
  v_table   regclass;
  v_cols    text[];
  v_sel_t   text;
  v_sel_h   text;
  v_live    text;
  v_view    text;
  v_func    text;
  v_def     text;
  c         record;
begin
  select c2.relname into v_name from pg_class c2 where c2.oid = p_history;
  v_table := to_regclass(format('keap.%I', v_name));
  if v_table is null then
    return;
  end if;
  v_cols := keap_meta.history_columns(v_table);
  v_sel_t := (select string_agg(format('t.%I', k), ', ') from unnest(v_cols) k);
  v_sel_h := (select string_agg(format('h.%I', k), ', ') from unnest(v_cols) k);
  v_live := case when exists (select from pg_attribute where attrelid = v_table and attname = '_deleted_at' and not attisdropped)
                 then 't._deleted_at is null' else 'true' end;
  v_view := format('keap_history.%I', v_name || '_versions');
  v_func := format('keap_history.%I(timestamptz)', v_name || '_as_of');
  v_def := format($v$
select %1$s, t._valid_from, 'infinity'::timestamptz as _valid_to, null::text as _ended_by, null::bigint as _ended_run_id, true as _is_current
  from %2$s t
 where %3$s
union all
select %4$s, h._valid_from, h._valid_to, h._ended_by, h._ended_run_id, false
  from %5$s h$v$, v_sel_t, v_table, v_live, v_sel_h, p_history);
  begin
    execute format('create or replace view %s as %s', v_view, v_def);
  exception when invalid_table_definition or feature_not_supported or datatype_mismatch then
    -- columns removed, renamed or retyped: create or replace cannot do it
    execute format('drop view %s cascade', v_view);
    execute format('create view %s as %s', v_view, v_def);
  end;
  execute format($f$
create or replace function %1$s returns setof %2$s
language sql stable
as $body$
select %3$s, t._valid_from, 'infinity'::timestamptz, null::text, null::bigint, true
  from %4$s t
 where %5$s and t._valid_from <= p_at
union all
select %6$s, h._valid_from, h._valid_to, h._ended_by, h._ended_run_id, false
  from %7$s h
 where tstzrange(h._valid_from, h._valid_to) @> p_at
$body$$f$, replace(v_func, '(timestamptz)', '(p_at timestamptz)'), v_view, v_sel_t, v_table, v_live, v_sel_h, p_history);

  execute format('comment on view %s is %L', v_view, format(
    'Every version of the rows of %s: the closed ones (keap_history.%s) and the current ones (the live rows of %s, _valid_to = infinity). One row per key and interval [_valid_from, _valid_to); intervals of a key never overlap. Generated by keap_meta.generate_history_views.',
    v_table, v_name, v_table));
  for c in
    select a.attname, col_description(p_history, a.attnum) as descr
      from pg_attribute a where a.attrelid = p_history and a.attnum > 0 and not a.attisdropped and a.attname = any (v_cols || array['_valid_from', '_ended_by', '_ended_run_id'])
  loop
    execute format('comment on column %s.%I is %L', v_view, c.attname, c.descr);
  end loop;
  execute format('comment on column %s._valid_to is %L', v_view, 'When the version ended (exclusive); infinity for the current version.');
  execute format('comment on column %s._is_current is %L', v_view, 'True for the current version (the live row of the keap table).');
  execute format('comment on function %s is %L', v_func, format(
    'The rows of %s as they were at the instant p_at (the versions whose [_valid_from, _valid_to) contains it), e.g. select * from %s where ...; rows deleted at p_at are absent. Generated by keap_meta.generate_history_views.',
    v_table, replace(v_func, '(timestamptz)', '(''2026-06-30'')')));
end
$gen$;
comment on function keap_meta.generate_history_views(regclass) is
  'Creates or replaces keap_history.<table>_versions (closed and current versions) and keap_history.<table>_as_of(timestamptz) for a history table, with comments; sql/views/140-history.sql runs it for every history table.';
