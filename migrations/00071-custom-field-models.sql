-- 00071: custom field definitions of every other record type the sync reads whose /model endpoint
-- exists: companies, opportunities, notes and tasks. They share keap.custom_fields with the contact
-- model (00010), told apart by the model column (companies, opportunities, notes, tasks), which is
-- part of the key; each is its own snapshot entity, so a model no longer listing a field
-- soft-deletes only that model's row. Notes and tasks both report Keap's shared
-- TASK_NOTE_APPOINTMENT fields; each model keeps its own copy, as each endpoint lists them.
-- Merges: keap.merge_<entity> generated from sql/transforms/050-declare-custom-field-models.sql.

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('company_model', 'keap.custom_fields', 700, 'GET /rest/v2/companies/model: company custom field definitions (unpaged snapshot, model companies)'),
  ('opportunity_model', 'keap.custom_fields', 710, 'GET /rest/v2/opportunities/model: opportunity custom field definitions (unpaged snapshot, model opportunities)'),
  ('note_model', 'keap.custom_fields', 720, 'GET /rest/v2/notes/model: note custom field definitions (unpaged snapshot, model notes; TASK_NOTE_APPOINTMENT fields)'),
  ('task_model', 'keap.custom_fields', 730, 'GET /rest/v2/tasks/model: task custom field definitions (unpaged snapshot, model tasks; TASK_NOTE_APPOINTMENT fields)');

select keap_meta.create_staging_table('company_model');
select keap_meta.create_staging_table('opportunity_model');
select keap_meta.create_staging_table('note_model');
select keap_meta.create_staging_table('task_model');

comment on column keap.custom_fields.model is 'Model (endpoint) the definition was read from: contacts, companies, opportunities, notes or tasks (GET /rest/v2/<model>/model). Values of a record type reference the fields of its own model.';
comment on table keap.custom_fields is 'Custom field definitions from Keap''s model endpoints (GET /rest/v2/<model>/model), one row per model and field. Values in keap.contact_custom_fields, opportunity_custom_fields, note_custom_fields and task_custom_fields (and keap.companies.custom_fields) reference custom_field_id within their model. A field no longer listed by its model gets _deleted_at.';
