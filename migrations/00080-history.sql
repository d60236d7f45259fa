-- 00080: history. Keap keeps no history, so the warehouse does: schema keap_history holds the closed
-- versions of the rows of every keap table (an entity's table and each of its child collections),
-- written by the generated merge in the same transaction as the change. The current version stays
-- in the keap table, which gains _valid_from (when that version began). Versions of one key are
-- half-open intervals [_valid_from, _valid_to) that never overlap (an exclusion constraint).
--
-- keap_meta.create_history_table(<keap table>) is the one line an entity's migration adds for each
-- of its tables; it is idempotent (a later migration that adds a column to the keap table calls it
-- again to add the column to the history table). Here it runs for every table of schema keap that
-- exists now, which on a fresh database includes every entity migration numbered below 00080.
-- keap_meta.entities.has_history (on by default) says which merges write history.

-- Exclusion constraints on (bigint key with =, time range with &&) need btree_gist's operator
-- classes (a trusted extension: the database owner may create it). In a schema of its own: not in
-- public (CONVENTIONS), and not among our documented routines. Nothing needs it on the search path
-- (an exclusion constraint finds the default operator class of a type by catalogue lookup).
create schema if not exists keap_extensions;
comment on schema keap_extensions is 'Extensions the warehouse uses (btree_gist, for the no-overlap constraints of keap_history); nothing of ours.';
create extension if not exists btree_gist with schema keap_extensions;

create schema if not exists keap_history;
comment on schema keap_history is 'Closed versions of the keap tables'' rows (one row per version that ended: changed or deleted), the <table>_versions views (closed + current) and the <table>_as_of(timestamptz) functions. Written only by the merge procedures.';
grant usage on schema keap_history to keap_reader;
alter default privileges in schema keap_history grant select on tables to keap_reader;

alter table keap_meta.entities add column has_history boolean not null default true;
comment on column keap_meta.entities.has_history is 'The entity''s merge writes history (keap_history.<table> for its table and each child collection; needs keap_meta.create_history_table in a migration). On by default; after changing it, regenerate the merge (select keap_meta.generate_merge(entity)). Off, the merge no longer maintains _valid_from either.';

-- The per-tag listing (tagged_contacts) only fills applied_at of keap.contact_tags pairs: the pairs'
-- history (a tag applied, a tag removed) is written by keap.merge_contacts, which owns the tag set.
update keap_meta.entities set has_history = false where entity = 'tagged_contacts';

create function keap_meta.create_history_table(p_table regclass) returns regclass
language plpgsql volatile
set search_path = pg_catalog
as $$
declare
  v_schema  text;
  v_name    text;
  v_hist    regclass;
  v_key     text[];
  v_cols    text := '';
  v_marker  text;
  c         record;
begin
  select n.nspname, c2.relname into v_schema, v_name
    from pg_class c2 join pg_namespace n on n.oid = c2.relnamespace
   where c2.oid = p_table and c2.relkind in ('r', 'p');
  if v_schema is distinct from 'keap' then
    raise exception 'keap_meta.create_history_table: % is not a table of schema keap', p_table
      using errcode = 'KR005', hint = 'History mirrors the keap tables: pass keap.<table>.';
  end if;
  select array_agg(a.attname::text order by array_position(i.indkey::int2[], a.attnum))
    into v_key
    from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
   where i.indrelid = p_table and i.indisprimary;
  if v_key is null then
    raise exception 'keap_meta.create_history_table: % has no primary key', p_table
      using errcode = 'KR005', hint = 'A version is keyed by the table''s primary key plus its validity interval.';
  end if;

  -- The current version's start, kept in the keap table. Existing rows: the record's change time
  -- when the entity declares one (its clock), else when the warehouse last wrote the row.
  if not exists (select from pg_attribute where attrelid = p_table and attname = '_valid_from' and not attisdropped) then
    execute format('alter table %s add column _valid_from timestamptz', p_table);
    select quote_ident(dc.column_name) into v_marker
      from keap_meta.entity_columns dc join keap_meta.entities e on e.entity = dc.entity
     where e.target_table = p_table and dc.child = '' and dc.change_marker
     limit 1;
    execute format('update %s set _valid_from = coalesce(%s, %s, now())', p_table, coalesce(v_marker, 'null'),
                   case when exists (select from pg_attribute where attrelid = p_table and attname = '_synced_at' and not attisdropped)
                        then '_synced_at' else 'null' end);
    execute format('alter table %s alter column _valid_from set default now(), alter column _valid_from set not null', p_table);
    execute format('comment on column %s._valid_from is %L', p_table,
      'When the current version of this row began (history clock: the record''s update time in Keap when it moved forward, else when the warehouse saw the change; always after the previous version''s start). Its earlier versions are in keap_history.' || v_name || '.');
  end if;

  v_hist := to_regclass(format('keap_history.%I', v_name));
  if v_hist is null then
    -- The typed columns (not _raw and what derives from it, not the keap-only bookkeeping columns)
    for c in
      select a.attname, format_type(a.atttypid, a.atttypmod) as typ, a.attnotnull
        from pg_attribute a
       where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
         and a.attname not in ('_raw', '_raw_hash', '_synced_at', '_first_seen_at', '_deleted_at', '_valid_from')
       order by a.attnum
    loop
      v_cols := v_cols || format('%I %s%s, ', c.attname, c.typ, case when c.attname = any (v_key) then ' not null' else '' end);
    end loop;
    execute format($t$
      create table keap_history.%1$I (
        %2$s
        _valid_from   timestamptz not null,
        _valid_to     timestamptz not null,
        _ended_by     text not null check (_ended_by in ('changed', 'deleted')),
        _ended_run_id bigint,
        check (_valid_from < _valid_to),
        constraint %3$I exclude using gist (%4$s, tstzrange(_valid_from, _valid_to) with &&)
      )$t$, v_name, v_cols, v_name || '_no_overlap',
      (select string_agg(format('%I with =', k), ', ') from unnest(v_key) k));
    v_hist := format('keap_history.%I', v_name)::regclass;
    -- a whole table as of an instant: the versions whose interval contains it
    execute format('create index %I on %s using gist (tstzrange(_valid_from, _valid_to))', v_name || '_during', v_hist);
    execute format('comment on table %s is %L', v_hist, format(
      'Closed versions of %s rows, one per version that ended (changed or deleted), written by the merge in the same transaction as the change. '
      'The current version is the row in %s (from its _valid_from); keap_history.%s_versions shows both, keap_history.%s_as_of(instant) the rows at an instant.',
      p_table, p_table, v_name, v_name));
    execute format('comment on column %s._valid_from is %L', v_hist, 'When this version began (inclusive).');
    execute format('comment on column %s._valid_to is %L', v_hist, 'When this version ended (exclusive): the next version''s _valid_from, or when it was deleted. Intervals of one key never overlap (constraint ' || v_name || '_no_overlap).');
    execute format('comment on column %s._ended_by is %L', v_hist, 'What ended the version: changed (a newer version follows at _valid_to) or deleted (soft-deleted in Keap, or removed from its parent''s list for a child row).');
    execute format('comment on column %s._ended_run_id is %L', v_hist, 'Run whose merge (or sweep) closed the version (keap_ops.runs).');
  end if;

  -- Columns the keap table has and the history table lacks (added by a later migration)
  for c in
    select a.attname, format_type(a.atttypid, a.atttypmod) as typ
      from pg_attribute a
     where a.attrelid = p_table and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
       and a.attname not in ('_raw', '_raw_hash', '_synced_at', '_first_seen_at', '_deleted_at', '_valid_from')
       and not exists (select from pg_attribute h where h.attrelid = v_hist and h.attname = a.attname and not h.attisdropped)
     order by a.attnum
  loop
    execute format('alter table %s add column %I %s', v_hist, c.attname, c.typ);
  end loop;
  -- Column comments follow the keap table's
  for c in
    select h.attname, col_description(p_table, a.attnum) as descr
      from pg_attribute h join pg_attribute a on a.attrelid = p_table and a.attname = h.attname and not a.attisdropped
     where h.attrelid = v_hist and h.attnum > 0 and not h.attisdropped
       and h.attname not in ('_valid_from', '_valid_to', '_ended_by', '_ended_run_id')
  loop
    execute format('comment on column %s.%I is %L', v_hist, c.attname,
                   coalesce(c.descr, c.attname) || case when c.attname = '_run_id' then ' (the run that wrote this version)' else '' end);
  end loop;
  return v_hist;
end
$$;
comment on function keap_meta.create_history_table(regclass) is
  'Creates keap_history.<table> for a keap table (its typed columns, _valid_from, _valid_to, _ended_by, _ended_run_id; no overlapping intervals per key; GiST indexes for as-of queries) and adds _valid_from to the keap table. Idempotent: called again, it adds the columns the keap table gained since. The one line an entity''s migration adds per table: select keap_meta.create_history_table(''keap.<table>'');';

-- Every table of schema keap that exists now (with a primary key: a version is keyed by it; a table
-- without one has no entity merge to write its history, and its entity's merge would say so).
select keap_meta.create_history_table(c.oid::regclass)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'keap' and c.relkind in ('r', 'p')
   and exists (select from pg_index i where i.indrelid = c.oid and i.indisprimary)
 order by c.relname;
