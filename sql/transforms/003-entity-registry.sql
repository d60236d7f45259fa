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
