-- 00059: helpers for entity migrations (like keap_meta.create_staging_table): every entity table
-- carries the same ETL columns with the same meaning, and every custom-field value table the same
-- shape, so a migration declares its own columns and calls these for the rest (with their comments):
-- keap_meta.add_entity_etl_columns, keap_meta.add_child_etl_columns and
-- keap_meta.create_custom_field_values_table. Used by the entity migrations from 00061 on (sales, pipeline and activity).

create function keap_meta.add_entity_etl_columns(p_table regclass, p_record text) returns void
language plpgsql volatile
set search_path = pg_catalog
as $$
declare
  v_name text := (select c.relname from pg_class c where c.oid = p_table);
begin
  execute format($ddl$
    alter table %1$s
      add column _run_id        bigint,
      add column _synced_at     timestamptz not null default now(),
      add column _first_seen_at timestamptz not null default now(),
      add column _deleted_at    timestamptz,
      add column _raw           jsonb not null,
      add column _raw_hash      bigint generated always as (jsonb_hash_extended(_raw, 0)) stored;
    create index %2$I on %1$s (_deleted_at) where _deleted_at is not null;
    comment on column %1$s._run_id is 'Run whose merge last wrote the row.';
    comment on column %1$s._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
    comment on column %1$s._first_seen_at is 'When the row was first inserted.';
    comment on column %1$s._deleted_at is 'Soft delete: set when a complete listing (a completed full traversal) no longer had the record; cleared if it is listed again. Child rows are kept.';
    comment on column %1$s._raw is %3$L;
    comment on column %1$s._raw_hash is 'Hash of _raw (jsonb_hash_extended, computed by PostgreSQL): merges skip a re-read record whose hash is unchanged.';
  $ddl$, p_table, v_name || '_deleted',
    format('Last raw %s object received (NUL characters removed); holds every field, also those without a column.', p_record));
end
$$;
comment on function keap_meta.add_entity_etl_columns(regclass, text) is 'Adds the ETL columns of an entity table (_run_id, _synced_at, _first_seen_at, _deleted_at, _raw, _raw_hash), a partial index on the soft-deleted rows and their comments; p_record names Keap''s object in the _raw comment. Called by entity migrations.';

create function keap_meta.add_child_etl_columns(p_table regclass, p_parent text) returns void
language plpgsql volatile
set search_path = pg_catalog
as $$
begin
  execute format($ddl$
    alter table %1$s
      add column _run_id    bigint,
      add column _synced_at timestamptz not null default now();
    comment on column %1$s._run_id is 'Run whose merge wrote the row.';
    comment on column %1$s._synced_at is %2$L;
  $ddl$, p_table, format('When the row was written (children are replaced, so this is when the %s last changed).', p_parent));
end
$$;
comment on function keap_meta.add_child_etl_columns(regclass, text) is 'Adds the ETL columns of a child table (_run_id, _synced_at) and their comments; p_parent names the parent record (the child rows are replaced whenever it changes). Called by entity migrations.';

-- A record's custom field values: keap.<p_table> (<p_parent_column>, custom_field_id, value jsonb),
-- one row per field with a value, replaced whole by the parent's merge.
create function keap_meta.create_custom_field_values_table(p_table text, p_parent_table regclass, p_parent_column text, p_model text)
returns regclass
language plpgsql volatile
set search_path = pg_catalog
as $$
declare
  v_table  regclass;
  v_parent text := (select c.relname from pg_class c where c.oid = p_parent_table);
  v_noun   text := rtrim(replace(p_parent_column, '_id', ''), '_');
begin
  execute format('create table keap.%I (%I bigint not null, custom_field_id bigint not null, value jsonb, primary key (%I, custom_field_id))',
                 p_table, p_parent_column, p_parent_column);
  v_table := format('keap.%I', p_table)::regclass;
  perform keap_meta.add_child_etl_columns(v_table, replace(v_noun, '_', ' '));
  execute format('comment on table %s is %L', v_table, format(
    'Custom field values of %s, one row per field with a value (fields without one are left out). Definitions in keap.custom_fields where model = %L. Replaced whole whenever the record changes.',
    p_parent_table, p_model));
  execute format('comment on column %s.%I is %L', v_table, p_parent_column, format(
    'Record the value belongs to (%s.%s; kept consistent by keap.merge_%s, no foreign key).', p_parent_table, p_parent_column, v_parent));
  execute format('comment on column %s.custom_field_id is %L', v_table, format('Custom field id (keap.custom_fields.custom_field_id, model %s).', p_model));
  execute format('comment on column %s.value is %L', v_table,
    'The value (content) as untyped JSON; read it with the field''s field_type. A text over 65,535 characters is stored as null with a row issue.');
  return v_table;
end
$$;
comment on function keap_meta.create_custom_field_values_table(text, regclass, text, text) is 'Creates keap.<p_table> for the custom field values of an entity (parent id, custom_field_id, value jsonb, ETL columns), commented. Called by entity migrations.';
