-- Helpers over keap_meta.entities for the monitoring views. Safe to re-run (create or replace).

-- Exact number of soft-deleted rows of a table, through its partial index on _deleted_at (deleted
-- rows are few); null when the table has no _deleted_at (its rows are removed, not soft-deleted).
-- Security definer, so keap_ops views work for pg_monitor (which cannot read keap tables); it only
-- counts, and only for tables registered in keap_meta.entities.
create or replace function keap_meta.soft_deleted_count(p_table regclass) returns bigint
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_count bigint;
begin
  if not exists (select from keap_meta.entities where target_table = p_table) then
    raise exception 'table % is not a registered entity table', p_table
      using errcode = 'KR004', hint = 'Register it in keap_meta.entities (in the entity''s migration).';
  end if;
  if not exists (select from pg_attribute where attrelid = p_table and attname = '_deleted_at' and not attisdropped) then
    return null;
  end if;
  execute format('select count(*) from %s where _deleted_at is not null', p_table) into v_count;
  return v_count;
end
$$;
comment on function keap_meta.soft_deleted_count(regclass) is 'Soft-deleted rows of a table (_deleted_at set), or null when the table has no _deleted_at; cheap with a partial index on _deleted_at.';

-- The same for every registered entity table at once: one statement (a union of one count per
-- table) instead of one function call, check and plan per entity - keap_ops.entity_freshness reads
-- ~25 entities, and per-entity calls cost it more than the rest of the view.
create or replace function keap_meta.soft_deleted_counts()
returns table (target_table regclass, deleted_count bigint)
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sql text;
begin
  select string_agg(format('select %s::regclass, count(*) from %s where _deleted_at is not null', quote_literal(e.target_table::text), e.target_table), ' union all ')
    into v_sql
    from (select distinct en.target_table from keap_meta.entities en
           where exists (select from pg_attribute a where a.attrelid = en.target_table and a.attname = '_deleted_at' and not a.attisdropped)) e;
  if v_sql is not null then
    return query execute v_sql;
  end if;
end
$$;
comment on function keap_meta.soft_deleted_counts() is 'Soft-deleted rows (_deleted_at set) of every registered entity table that has _deleted_at, in one statement; cheap with their partial indexes on _deleted_at. Tables without _deleted_at are left out.';
