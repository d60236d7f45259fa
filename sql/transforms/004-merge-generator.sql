-- The merge generator: turns an entity's declaration (keap_meta.entities, entity_columns,
-- entity_children; written by sql/transforms/0NN-declare-*.sql) into keap.merge_<entity>, a plain
-- plpgsql procedure a DBA reads with \sf. One generator serves every entity, so every merge does the
-- same things the same way, set-based, with no row loops:
--   recs      keap_meta.load_merge_records: the run's claimed pages, newest version of each key;
--   src       new, changed or undeleted records only (an unchanged one has the live row's
--             _raw_hash), flattened in one jsonb_to_record pass, cast with the keap_meta.try_*
--             functions, with a cheap "suspect" flag: a typed value null where the raw one is not,
--             an enum value outside its list, a container of the wrong JSON type;
--   upsert    plain insert of new rows, update of changed ones (tables with _raw); or insert ... on
--             conflict ... where changed, counted with xmax = 0 (tables without _raw);
--   issues    row issues only for suspect rows, field by field;
--   children  each written record's child rows replaced (slots, custom field values, id sets);
--   history   (keap_meta.entities.has_history, 005-history.sql) the update returns the rows it replaced
--             (a self-join in the same statement) and closes their versions in keap_history; each child
--             step is bracketed by a snapshot of the old rows and the closing of the ones that changed
--             or are gone; new rows get _valid_from (the history clock);
--   end       keap_meta.complete_entity_merge: cursor, pages merged, delete detection, merge log.
-- Every identifier is quoted with format('%I') and every literal with format('%L'); the declaration
-- tables also refuse names that are not plain lower-case identifiers or dotted JSON paths.
-- Safe to re-run: create or replace only; the declarations re-generate their procedures.

-- Starts (or restarts) an entity's declaration: sets its record layout in the registry and clears
-- its column and child declarations, which the declaration file then inserts.
create or replace function keap_meta.declare_entity(
  p_entity text, p_key_column text, p_collection text, p_listing text default 'keyset'
) returns void
language plpgsql volatile
as $$
begin
  update keap_meta.entities
     set key_column = p_key_column, collection_key = p_collection, listing = p_listing, declared_at = now()
   where entity = p_entity;
  if not found then
    raise exception 'entity % is not registered in keap_meta.entities', coalesce(p_entity, 'null')
      using errcode = 'KR005',
            hint = 'The entity''s migration registers it: insert into keap_meta.entities (entity, target_table, sync_order, description) values (...).';
  end if;
  delete from keap_meta.entity_columns where entity = p_entity;
  delete from keap_meta.entity_children where entity = p_entity;
end
$$;
comment on function keap_meta.declare_entity(text, text, text, text) is
  'Starts an entity declaration: records its key column, page collection and listing kind in keap_meta.entities and clears its entity_columns / entity_children rows (the declaration file inserts them next, then calls keap_meta.generate_merge).';

-- The SQL type a declared data type is stored as (the money types map to bigint / numeric).
create or replace function keap_meta.decl_sql_type(p_data_type text) returns text
language sql immutable parallel safe
as $$
  select case p_data_type when 'timestamptz' then 'timestamp with time zone' when 'minor_units' then 'bigint'
                          when 'currency_amount' then 'numeric' when 'money' then 'numeric' else p_data_type end
$$;
comment on function keap_meta.decl_sql_type(text) is 'Generator helper: the column type a declared data type is stored as (minor_units: bigint; currency_amount, money: numeric).';

-- Declared types whose raw value is read as JSON (a jsonb column, or a CurrencyValue object).
create or replace function keap_meta.decl_reads_json(p_data_type text) returns boolean
language sql immutable parallel safe
as $$ select p_data_type in ('jsonb', 'currency_amount') $$;
comment on function keap_meta.decl_reads_json(text) is 'Generator helper: true for declared types whose raw value is read as jsonb (jsonb, currency_amount).';

-- The raw value at a dotted JSON path of a flattened record (alias.<first key>), as text (#>>) or
-- jsonb (#>). p_top_is_json: the first key was flattened as jsonb (it holds nested values).
create or replace function keap_meta.decl_raw_expr(p_alias text, p_json_path text, p_as_json boolean, p_top_is_json boolean)
returns text
language sql immutable parallel safe
as $$
  select case
    when strpos(p_json_path, '.') = 0 and (p_as_json or not p_top_is_json) then format('%s.%I', p_alias, p_json_path)
    when strpos(p_json_path, '.') = 0 then format('(%s.%I #>> %L)', p_alias, p_json_path, '{}')
    else format('(%s.%I %s %L)', p_alias, split_part(p_json_path, '.', 1), case when p_as_json then '#>' else '#>>' end,
                (string_to_array(p_json_path, '.'))[2:]::text)
  end
$$;
comment on function keap_meta.decl_raw_expr(text, text, boolean, boolean) is 'Generator helper: SQL expression of the raw value at a dotted JSON path of a flattened record.';

-- The typed value of a raw expression, per declared type and rule.
create or replace function keap_meta.decl_cast_expr(p_data_type text, p_size text, p_json_shape text, p_raw text)
returns text
language sql immutable parallel safe
as $$
  select case p_data_type
    when 'text' then format('keap_meta.try_text(%s, keap_meta.max_%s_text_chars())', p_raw, p_size)
    when 'jsonb' then case p_json_shape when 'array' then format('keap_meta.json_array(%s)', p_raw)
                                        when 'custom_field_map' then format('keap_meta.custom_field_values(%s)', p_raw)
                                        else p_raw end
    when 'currency_amount' then format('keap_meta.try_currency_amount(%s)', p_raw)
    else format('keap_meta.try_%s(%s)', p_data_type, p_raw)
  end
$$;
comment on function keap_meta.decl_cast_expr(text, text, text, text) is 'Generator helper: SQL expression casting a raw value to a declared type (keap_meta.try_*, json_array, custom_field_values; try_minor_units, try_money, try_currency_amount for the money types).';

-- The raw value as it counts for the "suspect" pre-check: blank strings are not values for the
-- casts (a blank date is simply absent), but they are for text.
create or replace function keap_meta.decl_present_expr(p_data_type text, p_raw text)
returns text
language sql immutable parallel safe
as $$
  select case when p_data_type = 'text' then p_raw
              when p_data_type = 'currency_amount' then format('nullif(%s, %L::jsonb)', p_raw, 'null')
              else format('nullif(btrim(%s), %L)', p_raw, '') end
$$;
comment on function keap_meta.decl_present_expr(text, text) is 'Generator helper: the raw value as the suspect pre-check counts it (blank counts as absent for the casts).';

-- Row-issue VALUES rows (field, raw text, problem) for one declared column. p_field: the field label
-- expression (a literal, or an expression for child items); p_typed: the typed value expression.
create or replace function keap_meta.decl_issue_rows(
  p_field text, p_raw text, p_typed text, p_data_type text, p_size text, p_enum text[]
) returns text
language sql immutable parallel safe
as $$
  select case
    when p_data_type = 'jsonb' then null
    when p_data_type = 'currency_amount' then
      format('(%s, %s::text, keap_meta.currency_value_problem(%s))', p_field, p_raw, p_raw)
    when p_data_type in ('minor_units', 'money') then
      format('(%s, %s, keap_meta.cast_problem(%s, %s is null, %L))', p_field, p_raw, p_raw, p_typed,
             case p_data_type when 'minor_units' then 'amount in minor units (a whole number)' else 'money amount (a number)' end)
    when p_data_type = 'text' then
      format('(%s, %s, keap_meta.oversize_problem(%s, keap_meta.max_%s_text_chars()))', p_field, p_raw, p_raw, p_size)
      || case when p_enum is not null
              then format(E',\n        (%s, %s, keap_meta.enum_problem(%s, %L))', p_field, p_raw, p_raw, p_enum::text) else '' end
    else format('(%s, %s, keap_meta.cast_problem(%s, %s is null, %L))', p_field, p_raw, p_raw, p_typed, p_data_type)
  end
$$;
comment on function keap_meta.decl_issue_rows(text, text, text, text, text, text[]) is 'Generator helper: the row-issue VALUES rows of one declared column (oversize and enum for text, cast problem otherwise).';

-- The text of keap.merge_<entity>, generated from its declaration (not executed: see generate_merge).
create or replace function keap_meta.merge_procedure_sql(p_entity text) returns text
language plpgsql stable
as $gen$
declare
  e              keap_meta.entities;
  v_target       text;
  v_proc         text;
  v_has_raw      boolean;
  v_has_hash     boolean;
  v_has_deleted  boolean;
  v_has_run      boolean;
  v_has_synced   boolean;
  v_history      boolean;       -- the merge writes keap_history (keap_meta.entities.has_history; 005-history.sql)
  v_hist         regclass;      -- the target's history table
  v_hist_cols    text[];        -- columns a version copies from the row
  v_from         text := '';    -- src: the new version's start (the history clock)
  v_valid_from   boolean;       -- the target has _valid_from (maintained when it keeps history)
  v_sql_child    text;
  v_ins_cols     text;          -- upsert pieces shared by the merges with and without history
  v_ins_vals     text;
  v_set_cols     text;
  v_set_vals     text;
  v_match        text;
  v_marker       text;          -- JSON path of the change marker, as a text[] literal
  v_parent_col   text;          -- column filled from parent_key (nested lists)
  v_keys         text[];        -- key columns (record id, parent, constants) in declared order
  v_key_exprs    text[];        -- their level-1 expressions
  v_x_def        text;          -- jsonb_to_record column definition list of the record
  v_json_keys    text[];        -- top-level keys flattened as jsonb
  v_cols         text[] := '{}'; -- non-key declared columns of the target, in order
  v_lvl1         text[] := '{}';
  v_lvl2         text[] := '{}';
  v_typed_cnt    text[] := '{}';
  v_raw_cnt      text[] := '{}';
  v_suspect      text[] := '{}';
  v_issue_rows   text[] := '{}';
  v_join         text;
  v_live         text;          -- lookup of the live row holding the same record (load_merge_records)
  v_marker_col   text;
  v_sql          text;
  v_pk           text[];
  c              record;
  ch             record;
  v_children     text := '';
  v_upsert       text;
  v_cf_issues    text := '';
  v_alias        text;
  v_raw          text;
  v_typed        text;
begin
  select * into e from keap_meta.entities where entity = p_entity;
  if not found or e.key_column is null or e.collection_key is null then
    raise exception 'entity % has no declaration', coalesce(p_entity, 'null')
      using errcode = 'KR005', hint = 'Call keap_meta.declare_entity(...) and insert its keap_meta.entity_columns first.';
  end if;
  perform keap_meta.check_entity_name(p_entity);
  v_target := e.target_table::text;
  v_proc := format('keap.%I', 'merge_' || p_entity);

  -- The target's shape: which ETL columns it has, its primary key, and that every declared column exists with its type.
  select bool_or(attname = '_raw'), bool_or(attname = '_raw_hash'), bool_or(attname = '_deleted_at'),
         bool_or(attname = '_run_id'), bool_or(attname = '_synced_at')
    into v_has_raw, v_has_hash, v_has_deleted, v_has_run, v_has_synced
    from pg_attribute where attrelid = e.target_table and attnum > 0 and not attisdropped;
  v_valid_from := exists (select from pg_attribute where attrelid = e.target_table and attname = '_valid_from' and not attisdropped);
  v_history := e.has_history;
  if v_history and not v_has_raw then
    raise exception 'entity % keeps history, but its table % has no _raw', p_entity, v_target
      using errcode = 'KR005', hint = 'History is written for tables merged from whole records (with _raw); set keap_meta.entities.has_history = false for this entity.';
  elsif v_history then
    v_hist := keap_meta.history_table(e.target_table, p_entity);
    v_hist_cols := keap_meta.history_columns(e.target_table);
  end if;
  select array_agg(a.attname::text order by a.attname)
    into v_pk
    from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
   where i.indrelid = e.target_table and i.indisprimary;
  for c in
    select dc.column_name, dc.data_type, format_type(a.atttypid, a.atttypmod) as actual
      from keap_meta.entity_columns dc
      left join pg_attribute a on a.attrelid = e.target_table and a.attname = dc.column_name and not a.attisdropped
     where dc.entity = p_entity and dc.child = ''
     union all
    select e.key_column, null, format_type(a.atttypid, a.atttypmod)
      from (select 1) one left join pg_attribute a on a.attrelid = e.target_table and a.attname = e.key_column and not a.attisdropped
  loop
    if c.actual is null then
      raise exception 'declared column %.% does not exist', v_target, c.column_name
        using errcode = 'KR005', hint = 'Add it in a migration, or fix the declaration.';
    elsif c.data_type is not null and c.actual <> keap_meta.decl_sql_type(c.data_type) then
      raise exception 'declared column %.% is % in the declaration but % in the table', v_target, c.column_name, c.data_type, c.actual
        using errcode = 'KR005';
    end if;
  end loop;

  select format('%L', string_to_array(c2.json_path, '.')::text) into v_marker
    from keap_meta.entity_columns c2 where c2.entity = p_entity and c2.child = '' and c2.change_marker;
  select c2.column_name into v_parent_col
    from keap_meta.entity_columns c2 where c2.entity = p_entity and c2.child = '' and c2.source = 'parent_key';

  -- keys: the record id, then parent and constant columns (declared order)
  v_keys := array[e.key_column];
  v_key_exprs := array['r.id'];
  for c in select * from keap_meta.entity_columns where entity = p_entity and child = '' and source <> 'record' order by declared_order loop
    v_keys := v_keys || c.column_name;
    v_key_exprs := v_key_exprs || case c.source when 'parent_key' then format('r.parent_id::%s', c.data_type)
                                                else format('%L::%s', c.constant_value, c.data_type) end;
  end loop;
  if v_pk is distinct from (select array_agg(k order by k) from unnest(v_keys) k) then
    raise exception 'the key of % declared for % (%) is not its primary key (%)', p_entity, v_target,
                    array_to_string(v_keys, ', '), coalesce(array_to_string(v_pk, ', '), 'none')
      using errcode = 'KR005', hint = 'The record id (key_column) plus the parent_key and constant columns must be the target''s primary key.';
  end if;

  -- x: the record flattened once; a first key is jsonb when it holds nested values, a jsonb column or a child list
  select string_agg(format('%I %s', k.key, case when k.is_json then 'jsonb' else 'text' end), ', ' order by k.ord),
         coalesce(array_agg(k.key) filter (where k.is_json), '{}')
    into v_x_def, v_json_keys
    from (select u.key, bool_or(u.is_json) as is_json, min(u.ord) as ord
            from (select split_part(dc.json_path, '.', 1) as key, (strpos(dc.json_path, '.') > 0 or keap_meta.decl_reads_json(dc.data_type)) as is_json,
                         dc.declared_order as ord
                    from keap_meta.entity_columns dc where dc.entity = p_entity and dc.child = '' and dc.source = 'record'
                  union all
                  select split_part(dch.json_path, '.', 1), true, 1000000000000 + dch.declared_order
                    from keap_meta.entity_children dch where dch.entity = p_entity) u
           group by u.key) k;
  v_x_def := coalesce(v_x_def, 'id text');

  -- Per declared record column: level 1 raw value, level 2 cast, pre-check terms, issue rows.
  for c in select * from keap_meta.entity_columns where entity = p_entity and child = '' and source = 'record' order by declared_order loop
    v_alias := '$.' || c.json_path;
    v_raw := keap_meta.decl_raw_expr('x', c.json_path, keap_meta.decl_reads_json(c.data_type), split_part(c.json_path, '.', 1) = any (v_json_keys));
    v_cols := v_cols || c.column_name;
    v_lvl1 := v_lvl1 || format('%s as %I', v_raw, v_alias);
    v_lvl2 := v_lvl2 || format('%s as %I', keap_meta.decl_cast_expr(c.data_type, c.size, c.json_shape, format('f.%I', v_alias)), c.column_name);
    if c.data_type <> 'jsonb' then
      v_typed_cnt := v_typed_cnt || format('c.%I', c.column_name);
      v_raw_cnt := v_raw_cnt || keap_meta.decl_present_expr(c.data_type, format('c.%I', v_alias));
      v_issue_rows := v_issue_rows || keap_meta.decl_issue_rows(format('%L', c.json_path), v_raw, format('s.%I', c.column_name),
                                                                 c.data_type, c.size, c.enum_values);
    end if;
    if c.enum_values is not null then
      v_suspect := v_suspect || format('not (c.%I = any (%L))', c.column_name, c.enum_values::text);
    end if;
    if c.json_shape = 'custom_field_map' then
      v_suspect := v_suspect || format('keap_meta.custom_fields_suspect(c.%I)', v_alias);
      v_cf_issues := v_cf_issues || format($f$
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, %L, s.%I::text, i.field, i.raw_value, i.problem, s.page_id
    from pg_temp.merge_src s
    cross join lateral keap_meta.custom_field_issues(s.rec #> %L) i
   where s.suspect;
$f$, p_entity, e.key_column, string_to_array(c.json_path, '.')::text);
    end if;
  end loop;

  -- containers: an object holding nested fields, a jsonb array column, a child list; of the wrong JSON type they read as empty
  for c in
    select k.field, k.expr, k.kind from (
      select split_part(dc.json_path, '.', 1) as field, format('x.%I', split_part(dc.json_path, '.', 1)) as expr, 'object' as kind,
             min(dc.declared_order) as ord
        from keap_meta.entity_columns dc
       where dc.entity = p_entity and dc.child = '' and dc.source = 'record' and strpos(dc.json_path, '.') > 0
       group by 1, 2
      union all
      select dc.json_path, keap_meta.decl_raw_expr('x', dc.json_path, true, true), 'array', 1000000000000 + dc.declared_order
        from keap_meta.entity_columns dc
       where dc.entity = p_entity and dc.child = '' and dc.json_shape in ('array', 'custom_field_map')
      union all
      select dch.json_path, keap_meta.decl_raw_expr('x', dch.json_path, true, true), 'array', 2000000000000 + dch.declared_order
        from keap_meta.entity_children dch where dch.entity = p_entity) k
    order by k.ord
  loop
    v_alias := '$.' || c.field || ' (' || c.kind || ')';
    v_lvl1 := v_lvl1 || format('%s as %I', c.expr, v_alias);
    v_lvl2 := v_lvl2 || format('f.%I', v_alias);
    v_suspect := v_suspect || format('jsonb_typeof(c.%I) not in (%L, %L)', v_alias, c.kind, 'null');
    v_issue_rows := v_issue_rows || format('(%L, %s #>> %L, case when jsonb_typeof(%s) not in (%L, %L) then %L end)',
                                           c.field, c.expr, '{}', c.expr, c.kind, 'null',
                                           format('not a JSON %s; read as empty, kept in _raw', c.kind));
  end loop;
  -- the raw values the pre-check compares
  for c in select * from keap_meta.entity_columns where entity = p_entity and child = '' and source = 'record' and data_type <> 'jsonb' order by declared_order loop
    v_lvl2 := v_lvl2 || format('f.%I', '$.' || c.json_path);
  end loop;
  for c in select * from keap_meta.entity_columns where entity = p_entity and child = '' and json_shape = 'custom_field_map' order by declared_order loop
    v_lvl2 := v_lvl2 || format('f.%I', '$.' || c.json_path);
  end loop;
  if cardinality(v_typed_cnt) > 0 then
    v_suspect := format('num_nonnulls(%s) < num_nonnulls(%s)', array_to_string(v_typed_cnt, ', '), array_to_string(v_raw_cnt, ', ')) || v_suspect;
  end if;

  -- The join to the live row: does the record exist, and is it unchanged (same _raw_hash)?
  select string_agg(format('t.%I = %s', k.key, k.expr), ' and ')
    into v_join from unnest(v_keys, v_key_exprs) k(key, expr);
  if v_has_raw then
    select c2.column_name into v_marker_col
      from keap_meta.entity_columns c2 where c2.entity = p_entity and c2.child = '' and c2.change_marker;
    select format('select true as unchanged, %s as marker_at from %s t where ', coalesce('t.' || quote_ident(v_marker_col), 'null::timestamptz'), v_target)
           || string_agg(format('t.%I = %s', k.key, replace(replace(k.expr, 'r.parent_id', 'keap_meta.try_bigint(s.parent_key)'), 'r.id', 'v.id')), ' and ')
           || case when v_has_deleted then ' and t._deleted_at is null' else '' end
           || case when v_has_hash then ' and t._raw_hash = jsonb_hash_extended(e.rec, 0)' else ' and t._raw = e.rec' end
      into v_live
      from unnest(v_keys, v_key_exprs) k(key, expr);
  end if;

  -- the history clock: the record's change time when it moved past the previous version's start,
  -- else the merge's now(); never before the previous start + 1 microsecond or its deletion
  if v_history then
    v_from := format(E',\n         case when not c.existed then coalesce(%1$s, now())\n'
                     '              else greatest(case when %1$s > c._prev_from then %1$s else now() end,\n'
                     '                            c._prev_from + interval ''1 microsecond'', c._prev_deleted) end as _valid_from',
                     coalesce('c.' || quote_ident(v_marker_col), 'null::timestamptz'));
  end if;

  -- src
  v_sql := format($f$
  -- src: %s records only, flattened once (jsonb_to_record) and cast; "suspect" marks the rows that
  -- may hold a bad value (a typed value null where the raw one is present, an unknown enum value, a
  -- container of the wrong JSON type): only those are checked field by field for row issues
  perform keap_meta.drop_temp_table('merge_src');
  create temporary table merge_src with (toast_tuple_target = 8160) on commit drop as
  select %s, c.page_id, c.rec, c.existed,
         %s,
         coalesce(%s, false) as suspect%s
    from (select %s, f.page_id, f.rec, f.existed,%s
                 %s
            from (select %s, r.page_id, r.rec, %s as existed,%s
                         %s
                    from pg_temp.merge_recs r
                    %s
                    cross join lateral jsonb_to_record(r.rec) as x(%s)
                   where r.rec is not null
                  offset 0) f
          offset 0) c;
$f$,
    case when v_has_raw then 'new, changed or undeleted' else 'all' end,
    (select string_agg(format('c.%I', k), ', ') from unnest(v_keys) k),
    (select string_agg(format('c.%I', k), ', ') from unnest(v_cols) k),
    coalesce(array_to_string(v_suspect, E'\n                  or '), 'false'),
    v_from,
    (select string_agg(format('f.%I', k), ', ') from unnest(v_keys) k),
    case when v_history then ' f._prev_from, f._prev_deleted,' else '' end,
    array_to_string(v_lvl2, E',\n                 '),
    (select string_agg(format('%s as %I', k.expr, k.key), ', ') from unnest(v_keys, v_key_exprs) k(key, expr)),
    case when v_has_raw then format('t.%I is not null', e.key_column) else 'null::boolean' end,
    case when v_history then format(' t._valid_from as _prev_from, %s as _prev_deleted,',
                                    case when v_has_deleted then 't._deleted_at' else 'null::timestamptz' end) else '' end,
    array_to_string(v_lvl1, E',\n                         '),
    -- (a lateral lookup by key: a hash join would scan the whole target for a small merge, the
    -- planner not knowing how few rows merge_recs holds)
    case when v_has_raw then format('left join lateral (select * from %s t where %s offset 0) t on true', v_target, v_join) else '' end,
    v_x_def);

  -- upsert
  if v_has_raw then
    -- the insert's columns and values, the update's set list and values, its match on the key
    v_ins_cols := (select string_agg(format('%I', k), ', ') from unnest(v_keys || v_cols) k)
                  || case when v_has_run then ', _run_id' else '' end || ', _raw';
    v_ins_vals := (select string_agg(format('s.%I', k), ', ') from unnest(v_keys || v_cols) k)
                  || case when v_has_run then ', p_run_id' else '' end || ', s.rec';
    v_set_cols := (select string_agg(format('%I', k), ', ') from unnest(v_cols || case when v_has_run then array['_run_id'] else '{}' end) k)
                  || case when cardinality(v_cols) > 0 or v_has_run then ', ' else '' end || '_raw'
                  || case when v_has_synced then ', _synced_at' else '' end || case when v_has_deleted then ', _deleted_at' else '' end;
    v_set_vals := coalesce((select string_agg(case when dc.keep_known then format('coalesce(s.%I, t.%I)', dc.column_name, dc.column_name)
                                                   else format('s.%I', dc.column_name) end, ', ' order by dc.declared_order)
                              from keap_meta.entity_columns dc where dc.entity = p_entity and dc.child = '' and dc.source = 'record') || ', ', '')
                  || case when v_has_run then 'p_run_id, ' else '' end || 's.rec'
                  || case when v_has_synced then ', now()' else '' end || case when v_has_deleted then ', null' else '' end;
    v_match := (select string_agg(format('t.%I = s.%I', k, k), ' and ') from unnest(v_keys) k);
  end if;
  if v_has_raw and v_history then
    -- with history: the update reads each changed row's old values through a self-join in the same
    -- statement (o sees the row as it was before the statement) and returns them, so the closed
    -- versions cost one insert of the changed rows, not a second scan; a row revived from a soft
    -- delete closed its version when it was deleted, so it adds none
    v_upsert := format($f$
  -- upsert: new rows are inserted; changed or undeleted ones updated (unchanged ones never reached src);
  -- history: the version each update replaced is closed in %8$s
  insert into %1$s (%2$s, _valid_from)
  select %3$s, s._valid_from
    from pg_temp.merge_src s
   where not s.existed;
  get diagnostics v_inserted = row_count;
  with up as (
    update %1$s t
       set (%4$s, _valid_from) = row(%5$s, s._valid_from)
      from pg_temp.merge_src s
      join %1$s o on %7$s
     where s.existed and %6$s
    returning %9$s, o._valid_from, %10$s as _old_deleted_at, t._valid_from as _new_from
  ),
  closed as (
    insert into %8$s (%11$s, _valid_from, _valid_to, _ended_by, _ended_run_id)
    select %12$s, u._valid_from, u._new_from, 'changed', p_run_id
      from up u
     where u._old_deleted_at is null
  )
  select count(*) into v_updated from up;
$f$,
      v_target, v_ins_cols, v_ins_vals, v_set_cols, v_set_vals, v_match,
      (select string_agg(format('o.%I = s.%I', k, k), ' and ') from unnest(v_keys) k), v_hist,
      (select string_agg(format('o.%I', k), ', ') from unnest(v_hist_cols) k),
      case when v_has_deleted then 'o._deleted_at' else 'null::timestamptz' end,
      (select string_agg(format('%I', k), ', ') from unnest(v_hist_cols) k),
      (select string_agg(format('u.%I', k), ', ') from unnest(v_hist_cols) k));
  elsif v_has_raw then
    v_upsert := format($f$
  -- upsert: new rows are inserted; changed or undeleted ones updated (unchanged ones never reached src)
  insert into %1$s (%2$s)
  select %3$s
    from pg_temp.merge_src s
   where not s.existed;
  get diagnostics v_inserted = row_count;
  update %1$s t
     set (%4$s) = row(%5$s)
    from pg_temp.merge_src s
   where s.existed and %6$s;
  get diagnostics v_updated = row_count;
$f$,
      v_target, v_ins_cols, v_ins_vals, v_set_cols, v_set_vals, v_match);
  else
    -- a table with _valid_from (a child collection of another entity, e.g. contact_tags) gets it on
    -- insert: the record's change time, or now(), never inside the key's last closed version
    if v_valid_from then
      v_from := format(', greatest(coalesce(%s, now())%s)',
        (select coalesce(format('s.%I', c2.column_name), 'null::timestamptz') from (select 1) one
           left join keap_meta.entity_columns c2 on c2.entity = p_entity and c2.child = '' and c2.change_marker),
        case when to_regclass(format('keap_history.%I', (select relname from pg_class where oid = e.target_table))) is not null
             then format(', (select max(h._valid_to) from keap_history.%I h where %s)', (select relname from pg_class where oid = e.target_table),
                         (select string_agg(format('h.%I = s.%I', k, k), ' and ') from unnest(v_keys) k))
             else '' end);
    end if;
    v_upsert := format($f$
  -- upsert: new rows, and rows whose values changed (xmax = 0 tells inserts from updates)
  with up as (
    insert into %s as t (%s, %s%s)
    select %s, %s%s
      from pg_temp.merge_src s
    on conflict (%s) do update
       set (%s%s%s) = row(%s%s%s)
     where row(%s) is distinct from row(%s)
    returning (t.xmax = 0) as inserted
  )
  select count(*) filter (where inserted), count(*) filter (where not inserted)
    into v_inserted, v_updated
    from up;
$f$,
      v_target,
      (select string_agg(format('%I', k), ', ') from unnest(v_keys) k),
      (select string_agg(format('%I', k), ', ') from unnest(v_cols) k),
      case when v_has_run then ', _run_id' else '' end || case when v_valid_from then ', _valid_from' else '' end,
      (select string_agg(format('s.%I', k), ', ') from unnest(v_keys) k),
      (select string_agg(format('s.%I', k), ', ') from unnest(v_cols) k),
      case when v_has_run then ', p_run_id' else '' end || v_from,
      (select string_agg(format('%I', k), ', ') from unnest(v_keys) k),
      (select string_agg(format('%I', k), ', ') from unnest(v_cols) k),
      case when v_has_run then ', _run_id' else '' end,
      case when v_has_synced then ', _synced_at' else '' end,
      (select string_agg(case when dc.keep_known then format('coalesce(excluded.%I, t.%I)', dc.column_name, dc.column_name)
                              else format('excluded.%I', dc.column_name) end, ', ' order by dc.declared_order)
         from keap_meta.entity_columns dc where dc.entity = p_entity and dc.child = '' and dc.source = 'record'),
      case when v_has_run then ', excluded._run_id' else '' end,
      case when v_has_synced then ', now()' else '' end,
      (select string_agg(format('t.%I', k), ', ') from unnest(v_cols) k),
      (select string_agg(case when dc.keep_known then format('coalesce(excluded.%I, t.%I)', dc.column_name, dc.column_name)
                              else format('excluded.%I', dc.column_name) end, ', ' order by dc.declared_order)
         from keap_meta.entity_columns dc where dc.entity = p_entity and dc.child = '' and dc.source = 'record'));
  end if;

  -- children (only for tables with _raw: the written rows are exactly merge_src)
  for ch in select * from keap_meta.entity_children where entity = p_entity order by declared_order loop
    if not v_has_raw then
      raise exception 'entity % declares child % but its table % has no _raw', p_entity, ch.child, v_target using errcode = 'KR005';
    end if;
    if v_history then
      v_sql_child := keap_meta.child_merge_sql(p_entity, e.key_column, ch.child, true);
      -- a child kind whose step does not give its rows the history clock gets it from a fix-up
      -- (correct, but a second write of the rows it inserted; the built-in kinds set it on insert)
      if strpos(v_sql_child, '_valid_from') = 0 then
        v_sql_child := v_sql_child || keap_meta.child_valid_from_fixup_sql(p_entity, e.key_column, ch.child);
      end if;
      v_children := v_children || keap_meta.child_history_sql(p_entity, e.key_column, ch.child, true)
                               || v_sql_child
                               || keap_meta.child_history_sql(p_entity, e.key_column, ch.child, false);
    else
      v_children := v_children || keap_meta.child_merge_sql(p_entity, e.key_column, ch.child);
    end if;
  end loop;

  return format($f$create or replace procedure %s(p_run_id bigint, p_finish_sweep boolean default false)
language plpgsql
set work_mem = '64MB'
set enable_memoize = off
as $merge$
-- Generated by keap_meta.generate_merge(%L) from the entity's declaration (keap_meta.entities,
-- keap_meta.entity_columns, keap_meta.entity_children; see sql/transforms/*-declare-*.sql).
-- Do not edit: change the declaration and run npm run migrate.
-- Grain in: the run's unmerged staged pages of keap_staging.%I (records under %L).
-- Grain out: one row per key (%s) in %s.
declare
  v_started  timestamptz := clock_timestamp();
  v_mark     bigint := keap_meta.issue_mark();
  v_pages    bigint[];
  v_received bigint;
  v_inserted bigint := 0;
  v_updated  bigint := 0;
begin
  v_pages := keap_meta.claim_pages(%L, p_run_id);

  -- recs: the newest version of each record of the claimed pages (unusable pages and records are row issues)
  v_received := keap_meta.load_merge_records(p_run_id, %L, v_pages, %L, %s, %L,
                                             %L);
%s%s
  -- issues: the suspect rows' values that were stored as null, kept despite a problem, or read as empty
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, %L, s.%I::text, i.field, left(i.raw_value, 10000), i.problem, s.page_id
    from pg_temp.merge_src s
    cross join lateral jsonb_to_record(s.rec) as x(%s)
    cross join lateral (values
        %s
    ) i(field, raw_value, problem)
   where s.suspect and i.problem is not null;
%s%s
  -- end: cursor (never past data that was not merged), pages marked merged, delete detection, merge log
  perform keap_meta.complete_entity_merge(p_run_id, %L, v_pages, p_finish_sweep, v_started, v_mark,
                                          v_inserted, v_updated, v_received);
end
$merge$$f$,
    v_proc, p_entity, p_entity, e.collection_key,
    array_to_string(v_keys, ', '), v_target,
    p_entity, p_entity, e.collection_key, coalesce(v_marker, 'null'), v_parent_col, v_live,
    v_sql, v_upsert,
    p_entity, e.key_column, v_x_def,
    coalesce(nullif(array_to_string(v_issue_rows, E',\n        '), ''), '(null::text, null::text, null::text)'),
    v_cf_issues, v_children,
    p_entity);
end
$gen$;
comment on function keap_meta.merge_procedure_sql(text) is 'The text of keap.merge_<entity> generated from the entity''s declaration (checked against its target table); keap_meta.generate_merge executes it.';

-- The child step of a generated merge: the written records' rows of one child collection are
-- replaced by what their arrays list now (delete + insert), with row issues for the items that
-- cannot be keyed or hold bad values.
--   slots          objects keyed by a slot field; missing, unknown or repeated slot: skipped + issue
--   custom_fields  [{id, content}]: null contents left out (Keap lists every field, mostly empty),
--                  no integer id or repeated id: skipped + issue, text over 65,535 characters: null + issue
--   keyed          objects keyed by an integer property (order items by id); missing, not an integer or
--                  repeated: skipped + issue
--   ordinal        objects keyed by their 1-based position (payment plan items, product options: no id)
--   id_set         an array of ids; pairs still listed keep their other columns (applied_at), pairs no
--                  longer listed are deleted, ids that are not integers: skipped + issue
drop function if exists keap_meta.child_merge_sql(text, text, text);
-- A child step finds the rows of the written records by key with `= any (array(select ...))`: the
-- unanalyzed pg_temp.merge_src would otherwise make the planner hash the whole child table (a 1 %
-- merge of 10,000 contacts spent 61 ms deleting 1,207 custom field values that way; now 1-2 ms).
-- The child step's delete and the history snapshot (keap_meta.child_history_sql) both use it.
create or replace function keap_meta.written_parents_match(p_parent_column text, p_parent_key text, p_alias text default 'c') returns text
language sql immutable
as $$
  select format('%I.%I = any (array(select s.%I from pg_temp.merge_src s where s.existed))', p_alias, p_parent_column, p_parent_key)
$$;
comment on function keap_meta.written_parents_match(text, text, text) is 'Generator helper: the condition matching the child rows of the records a merge writes (and that existed before it), by key.';
create or replace function keap_meta.child_merge_sql(p_entity text, p_parent_key text, p_child text, p_history boolean default false)
returns text
language plpgsql stable
as $gen$
declare
  -- with history (p_history): each inserted row gets _valid_from (keap_meta.child_valid_from_expr)
  -- from the parent's new version and the snapshot pg_temp.merge_old_<child> (005-history.sql)
  v_hist      regclass;
  v_pkey      text[];
  v_old       text := 'pg_temp.' || quote_ident('merge_old_' || p_child);
  v_parent_h  text := '';        -- the parent's columns the items carry
  v_from_col  text := '';
  v_from_val  text := '';
  ch          keap_meta.entity_children;
  c           record;
  v_json_keys text[];
  v_x_def     text;
  v_raw       text;
  v_cols      text[] := '{}';
  v_items     text[] := '{}';
  v_typed     text[] := '{}';
  v_present   text[] := '{}';
  v_enum      text[] := '{}';
  v_rows      text[] := '{}';
  v_label     text;
  v_has_run   boolean;
  v_key_expr  text;
  v_key_problem text;
  v_key_ok    text;
  v_delete    text;
begin
  select * into strict ch from keap_meta.entity_children where entity = p_entity and child = p_child;
  select bool_or(attname = '_run_id') into v_has_run
    from pg_attribute where attrelid = ch.target_table and attnum > 0 and not attisdropped;
  for c in select dc.column_name from keap_meta.entity_columns dc
            where dc.entity = p_entity and dc.child = p_child
              and not exists (select from pg_attribute a where a.attrelid = ch.target_table and a.attname = dc.column_name and not a.attisdropped) loop
    raise exception 'declared column %.% does not exist', ch.target_table, c.column_name using errcode = 'KR005';
  end loop;
  if p_history then
    v_hist := keap_meta.history_table(ch.target_table, p_entity);
    v_pkey := keap_meta.primary_key_columns(ch.target_table);
    if v_pkey is distinct from array[ch.parent_column, ch.key_column] and v_pkey is distinct from array[ch.key_column, ch.parent_column] then
      raise exception 'child table % of % keeps history but its primary key is not (%, %)', ch.target_table, p_entity, ch.parent_column, ch.key_column
        using errcode = 'KR005';
    end if;
    v_parent_h := ', s.existed as parent_existed, s._valid_from as parent_from';
    v_from_col := ', _valid_from';
  end if;
  -- The written records' rows are replaced whole: deleted first. With history, the snapshot before
  -- the step (keap_meta.child_history_sql) is that delete (delete ... returning), so the rows are
  -- read once.
  v_delete := case when p_history and ch.kind <> 'id_set'
                   then format('-- (the written records'' rows of %s were deleted by the history snapshot above)', ch.target_table)
                   else format('delete from %s c where %s;', ch.target_table, keap_meta.written_parents_match(ch.parent_column, p_parent_key)) end;

  if ch.kind = 'custom_fields' then
    return format($f$
  -- %1$s: %2$s, replaced for every written record (null contents left out; no integer id or a
  -- repeated id: skipped with a row issue; text over max_long_text_chars(): stored as null with one)
  %14$s
  with items as (
    select s.%4$I as parent_id, s.page_id, e.ord, e.cf, x.id, c.content%11$s,
           row_number() over (partition by s.%4$I, x.id order by e.ord) as nth,
           jsonb_typeof(c.content) = 'string' and length(c.content #>> '{}') > keap_meta.max_long_text_chars() as oversize
      from pg_temp.merge_src s
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec #> string_to_array(%5$L, '.'))) with ordinality e(cf, ord)
      cross join lateral (select e.cf -> 'content' as content offset 0) c
      cross join lateral (select keap_meta.try_bigint(e.cf ->> 'id') as id offset 0) x
     where jsonb_typeof(c.content) <> 'null'
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, %6$L, i.parent_id::text, %5$L || '[' || (i.ord - 1) || ']', left(i.cf::text, 10000),
           case when i.id is null then 'custom field entry without an integer id; skipped, kept in _raw'
                when i.nth > 1 then format('custom field %%s listed twice; first kept', i.id)
                else format('custom field %%s value longer than %%s characters (%%s); stored as null, kept in _raw',
                            i.id, keap_meta.max_long_text_chars(), length(i.cf ->> 'content')) end,
           i.page_id
      from items i
     where i.id is null or i.nth > 1 or i.oversize
  )
  insert into %2$s (%3$I, %7$I, %8$I%9$s%12$s)
  select i.parent_id, i.id, case when i.oversize then null else i.content end%10$s%13$s
    from items i
   where i.id is not null and i.nth = 1;
$f$, p_child, ch.target_table, ch.parent_column, p_parent_key, ch.json_path, p_entity, ch.key_column, ch.value_column,
     case when v_has_run then ', _run_id' else '' end, case when v_has_run then ', p_run_id' else '' end,
     v_parent_h, v_from_col,
     case when p_history then ', ' || keap_meta.child_valid_from_expr(v_old, v_hist, array[ch.parent_column, ch.key_column], array['i.parent_id', 'i.id'],
                                                                    array[ch.value_column], array['case when i.oversize then null else i.content end'],
                                                                    'i.parent_from', 'i.parent_existed') else '' end,
     v_delete);
  end if;

  if ch.kind = 'id_set' then
    return format($f$
  -- %1$s: %2$s, the set of each written record becomes its %5$s: pairs still listed keep their
  -- other columns, pairs no longer listed are deleted; an id that is not an integer is a row issue
  perform keap_meta.drop_temp_table(%11$L);
  create temporary table %11$I on commit drop as
  select s.%4$I as parent_id, s.page_id, t.ord, t.raw, keap_meta.try_bigint(t.raw) as item_id%12$s
    from pg_temp.merge_src s
    cross join lateral jsonb_array_elements_text(keap_meta.json_array(s.rec #> string_to_array(%5$L, '.'))) with ordinality t(raw, ord);
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, %6$L, m.parent_id::text, %5$L || '[' || (m.ord - 1) || ']', left(m.raw, 10000),
         %8$L, m.page_id
    from pg_temp.%11$I m
   where m.item_id is null
   order by m.parent_id, m.ord;
  delete from %2$s c
   where %15$s
     and not exists (select from pg_temp.%11$I m where m.parent_id = c.%3$I and m.item_id = c.%7$I);
  insert into %2$s (%3$I, %7$I%9$s%13$s)
  select distinct m.parent_id, m.item_id%10$s%14$s
    from pg_temp.%11$I m
   where m.item_id is not null
  on conflict (%3$I, %7$I) do nothing;
$f$, p_child, ch.target_table, ch.parent_column, p_parent_key, ch.json_path, p_entity, ch.key_column,
     format('%s is not an integer; skipped, kept in _raw', ch.noun),
     case when v_has_run then ', _run_id' else '' end, case when v_has_run then ', p_run_id' else '' end,
     'merge_child_' || p_child, v_parent_h, v_from_col,
     case when p_history then ', ' || keap_meta.child_valid_from_expr(v_old, v_hist, array[ch.parent_column, ch.key_column], array['m.parent_id', 'm.item_id'],
                                                                    '{}', '{}', 'm.parent_from', 'm.parent_existed') else '' end,
     keap_meta.written_parents_match(ch.parent_column, p_parent_key));
  end if;

  -- slots, keyed, ordinal: the item flattened once; its key (slot, item id or position) plus the declared columns
  select coalesce(array_agg(distinct split_part(dc.json_path, '.', 1))
                    filter (where strpos(dc.json_path, '.') > 0 or keap_meta.decl_reads_json(dc.data_type)), '{}')
    into v_json_keys
    from keap_meta.entity_columns dc where dc.entity = p_entity and dc.child = p_child and dc.source = 'record';
  select string_agg(format('%I %s', k.key, case when k.key = any (v_json_keys) then 'jsonb' else 'text' end), ', ' order by k.ord)
    into v_x_def
    from (select u.key, min(u.ord) as ord
            from (select ch.slot_path as key, 0::bigint as ord where ch.slot_path is not null
                  union all
                  select split_part(dc.json_path, '.', 1), dc.declared_order
                    from keap_meta.entity_columns dc where dc.entity = p_entity and dc.child = p_child and dc.source = 'record') u
           group by u.key) k;
  v_label := format('%L || ''['' || (i.ord - 1) || '']''', ch.json_path);
  -- the item's key, why it cannot be keyed (row issue), and which items are written
  if ch.kind = 'slots' then
    v_key_expr := format('x.%I', ch.slot_path);
    v_key_problem := format('keap_meta.slot_problem(i.slot, i.nth, %L, %L)', ch.slots::text, ch.noun);
    v_key_ok := format('i.slot = any (%L) and i.nth = 1', ch.slots::text);
  elsif ch.kind = 'keyed' then
    v_key_expr := format('keap_meta.try_bigint(x.%I)', ch.slot_path);
    v_key_problem := format('keap_meta.keyed_problem(i.slot, i.nth, %L)', ch.noun);
    v_key_ok := 'i.slot is not null and i.nth = 1';
  else
    v_key_expr := 'e.ord';
    v_key_problem := 'null::text';
    v_key_ok := 'true';
  end if;
  if ch.slot_path is not null then
    v_rows := v_rows || format('(%s || %L, i.item::text, %s)', v_label, '.' || ch.slot_path, v_key_problem);
  end if;
  for c in select * from keap_meta.entity_columns where entity = p_entity and child = p_child and source = 'record' order by declared_order loop
    v_raw := keap_meta.decl_raw_expr('x', c.json_path, keap_meta.decl_reads_json(c.data_type), split_part(c.json_path, '.', 1) = any (v_json_keys));
    v_cols := v_cols || c.column_name;
    v_items := v_items || format('%s as %I', v_raw, '$.' || c.json_path)
                       || format('%s as %I', keap_meta.decl_cast_expr(c.data_type, c.size, c.json_shape, v_raw), c.column_name);
    if c.data_type <> 'jsonb' then
      v_typed := v_typed || format('i.%I', c.column_name);
      v_present := v_present || keap_meta.decl_present_expr(c.data_type, format('i.%I', '$.' || c.json_path));
      v_rows := v_rows || keap_meta.decl_issue_rows(format('%s || %L', v_label, '.' || c.json_path), format('i.%I', '$.' || c.json_path),
                                                    format('i.%I', c.column_name), c.data_type, c.size, c.enum_values);
    end if;
    if c.enum_values is not null then
      v_enum := v_enum || format('not (i.%I = any (%L))', c.column_name, c.enum_values::text);
    end if;
  end loop;

  return format($f$
  -- %1$s: %2$s, one row per %20$s of each written record, replaced whole (an item that cannot be
  -- keyed is skipped with a row issue and stays in _raw)
  %24$s
  with items as (
    select s.%4$I as parent_id, s.page_id, e.item, e.ord, %5$s as slot%21$s,
           row_number() over (partition by s.%4$I, %5$s order by e.ord) as nth,
           %6$s
      from pg_temp.merge_src s
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec #> %7$L)) with ordinality e(item, ord)
      cross join lateral jsonb_to_record(keap_meta.json_object(e.item)) as x(%8$s)
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, %9$L, i.parent_id::text, x.field, left(x.raw_value, 10000), x.problem, i.page_id
      from items i
      cross join lateral (values
        %10$s
      ) x(field, raw_value, problem)
     -- cheap pre-check first (bad key, typed value null although the raw one is present, unknown enum)
     where (%11$s is not null%13$s%14$s)
       and x.problem is not null
  )
  insert into %2$s (%3$I, %15$I, %16$s%17$s%22$s)
  select i.parent_id, i.slot, %18$s%19$s%23$s
    from items i
   where %12$s;
$f$, p_child, ch.target_table, ch.parent_column, p_parent_key, v_key_expr,
     array_to_string(v_items, E',\n           '), string_to_array(ch.json_path, '.')::text, coalesce(v_x_def, 'id text'), p_entity,
     coalesce(nullif(array_to_string(v_rows, E',\n        '), ''), '(null::text, null::text, null::text)'), v_key_problem, v_key_ok,
     case when cardinality(v_typed) > 0
          then format(E'\n            or num_nonnulls(%s) < num_nonnulls(%s)', array_to_string(v_typed, ', '), array_to_string(v_present, ', '))
          else '' end,
     (select string_agg(E'\n            or ' || t, '') from unnest(v_enum) t),
     ch.key_column,
     (select string_agg(format('%I', k), ', ') from unnest(v_cols) k),
     case when v_has_run then ', _run_id' else '' end,
     (select string_agg(format('i.%I', k), ', ') from unnest(v_cols) k),
     case when v_has_run then ', p_run_id' else '' end,
     case ch.kind when 'slots' then 'slot' when 'keyed' then ch.noun else 'position' end,
     v_parent_h, v_from_col,
     case when p_history then ', ' || keap_meta.child_valid_from_expr(v_old, v_hist, array[ch.parent_column, ch.key_column], array['i.parent_id', 'i.slot'],
                                                                    v_cols, (select array_agg(format('i.%I', k)) from unnest(v_cols) k),
                                                                    'i.parent_from', 'i.parent_existed') else '' end,
     v_delete);
end
$gen$;
comment on function keap_meta.child_merge_sql(text, text, text, boolean) is 'Generator helper: the SQL of one child step of a generated merge (slots, custom_fields, id_set, keyed or ordinal).';

-- Generates (create or replace) keap.merge_<entity> from its declaration and comments it.
create or replace function keap_meta.generate_merge(p_entity text) returns regprocedure
language plpgsql volatile
as $$
declare
  e      keap_meta.entities;
  v_proc regprocedure;
begin
  execute keap_meta.merge_procedure_sql(p_entity);
  select * into e from keap_meta.entities where entity = p_entity;
  -- _raw compressed with lz4 where the server has it (the embedded build has not): the merge
  -- compresses every record it writes, and lz4 does that several times faster than pglz.
  if exists (select from pg_attribute a where a.attrelid = e.target_table and a.attname = '_raw'
                                          and not a.attisdropped and a.attcompression <> 'l') then
    begin
      execute format('alter table %s alter column _raw set compression lz4', e.target_table);
    exception when feature_not_supported then
      null;
    end;
  end if;
  v_proc := format('keap.%I(bigint, boolean)', 'merge_' || p_entity)::regprocedure;
  execute format('comment on procedure %s is %L', v_proc, format(
    'Generated from the declaration of %s (keap_meta.entity_columns / entity_children): merges the run''s unmerged staged pages of keap_staging.%s into %s: '
    'inserts new rows, updates changed or undeleted ones (unchanged records are recognized by _raw_hash and skipped before casting), '
    'replaces the written rows'' child rows, records row issues, advances the cursor, marks the pages merged and logs counts; %s Never commits.',
    p_entity, p_entity, e.target_table,
    case e.listing when 'keyset' then 'with p_finish_sweep, soft-deletes the records a completed full traversal did not list.'
                   when 'snapshot' then 'every page is a complete listing, so records it does not list are soft-deleted (p_finish_sweep changes nothing).'
                   else 'no delete detection (p_finish_sweep changes nothing).' end));
  return v_proc;
end
$$;
comment on function keap_meta.generate_merge(text) is 'Creates or replaces keap.merge_<entity>(p_run_id bigint, p_finish_sweep boolean) from the entity''s declaration and comments it (and compresses the target''s _raw with lz4 where the server supports it); called at the end of each declaration file.';
