-- Declarations of the custom field models of companies, opportunities, notes and tasks: each
-- GET /rest/v2/<model>/model -> keap.custom_fields with model = '<model>', declared exactly as the
-- contact model (010-declare-contact-model.sql): a staged page is the whole ObjectModel body, its
-- custom_fields are the records, every page is a complete listing (snapshot) scoped to its model, so
-- a field the model no longer lists gets _deleted_at (unless the listing is incomplete or empty).
-- keap_meta.declare_custom_field_model (010-declare-contact-model.sql) holds the shared declaration;
-- keap_meta.generate_merge writes keap.merge_<entity> for each.

select keap_meta.declare_custom_field_model('company_model', 'companies');
select keap_meta.declare_custom_field_model('opportunity_model', 'opportunities');
select keap_meta.declare_custom_field_model('note_model', 'notes');
select keap_meta.declare_custom_field_model('task_model', 'tasks');
