-- 00010: custom field definitions (GET /rest/v2/contacts/model) and their staging table, plus the
-- bookkeeping indexes the merge procedures and keap_ops views read (merge_log by entity, recent
-- row issues). Merge: keap.merge_contact_model in sql/transforms/010-merge-contact-model.sql.
--
-- Key: (model, custom_field_id). Values reference a custom field by id only, and the id is only
-- meaningful within the record type's model, so the model the definition came from is part of the
-- key; company / order models can share this table later without a migration.

create table keap.custom_fields (
  model           text not null check (model ~ '^[a-z][a-z_]*$'),
  custom_field_id bigint not null,
  label           text,
  field_name      text,
  field_type      text,
  record_type     text,
  default_value   text,
  group_id        bigint,
  group_name      text,
  options         jsonb not null default '[]',
  _run_id         bigint,
  _synced_at      timestamptz not null default now(),
  _first_seen_at  timestamptz not null default now(),
  _deleted_at     timestamptz,
  _raw            jsonb not null,
  primary key (model, custom_field_id)
);
create index custom_fields_live on keap.custom_fields (model) where _deleted_at is null;

comment on table keap.custom_fields is 'Custom field definitions from Keap''s model endpoints (GET /rest/v2/<model>/model), one row per field. Values in keap.contact_custom_fields reference custom_field_id. A field no longer listed by its model gets _deleted_at.';
comment on column keap.custom_fields.model is 'Model (endpoint) the definition was read from: contacts for GET /rest/v2/contacts/model.';
comment on column keap.custom_fields.custom_field_id is 'Keap custom field id (CustomFieldMetaData.id); values reference it.';
comment on column keap.custom_fields.label is 'Display label shown in Keap (CustomFieldMetaData.label).';
comment on column keap.custom_fields.field_name is 'Keap''s database name of the field, used in list filters (CustomFieldMetaData.field_name).';
comment on column keap.custom_fields.field_type is 'Data type of the values: CURRENCY, DATE, DATE_TIME, DECIMAL_NUMBER, DROPDOWN, TEXT, WHOLE_NUMBER, YES_NO, ... Kept as received; a value outside the spec''s enum is kept and recorded as a row issue.';
comment on column keap.custom_fields.record_type is 'Record type the field belongs to (CONTACT, COMPANY, ...), as received; unknown values are kept and recorded as a row issue.';
comment on column keap.custom_fields.default_value is 'Default value configured for the field, as text.';
comment on column keap.custom_fields.group_id is 'Id of the custom field group (layout section) the field is in.';
comment on column keap.custom_fields.group_name is 'Name of that group.';
comment on column keap.custom_fields.options is 'Choices of dropdown / radio / list-box / drilldown fields: JSON array of {id, label}; empty for other types.';
comment on column keap.custom_fields._run_id is 'Run whose merge last wrote the row.';
comment on column keap.custom_fields._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.custom_fields._first_seen_at is 'When the row was first inserted.';
comment on column keap.custom_fields._deleted_at is 'Soft delete: when the model stopped listing the field; null while listed. Cleared if it is listed again.';
comment on column keap.custom_fields._raw is 'Last raw CustomFieldMetaData object received (NUL characters removed).';

select keap_meta.create_staging_table('contact_model');

-- The freshness view reads "the last merge of each entity"; merge_log is otherwise indexed by run.
create index merge_log_entity on keap_meta.merge_log (entity, merge_id desc);
-- The recent-issues view filters on time.
create index row_issues_recorded_at on keap_meta.row_issues (recorded_at);
