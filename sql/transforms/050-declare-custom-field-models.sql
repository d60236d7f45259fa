-- Declarations of the custom field models of companies, opportunities, notes and tasks: each
-- GET /rest/v2/<model>/model -> keap.custom_fields with model = '<model>', declared exactly as the
-- contact model (010-declare-contact-model.sql): a staged page is the whole ObjectModel body, its
-- custom_fields are the records, every page is a complete listing (snapshot) scoped to its model, so
-- a field the model no longer lists gets _deleted_at (unless the listing is incomplete or empty).
-- keap_meta.declare_custom_field_model holds the shared declaration; keap_meta.generate_merge
-- writes keap.merge_<entity> for each.

-- Declares <p_entity> as the custom field model read from /rest/v2/<p_model>/model.
create or replace function keap_meta.declare_custom_field_model(p_entity text, p_model text) returns regprocedure
language plpgsql volatile
as $$
begin
  perform keap_meta.declare_entity(p_entity, p_key_column => 'custom_field_id', p_collection => 'custom_fields', p_listing => 'snapshot');
  insert into keap_meta.entity_columns (entity, column_name, source, constant_value, data_type, size)
  values (p_entity, 'model', 'constant', p_model, 'text', 'short');
  insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape) values
    (p_entity, 'label',         'label',         'text',   'short', null, null),
    (p_entity, 'field_name',    'field_name',    'text',   'short', null, null),
    (p_entity, 'field_type',    'field_type',    'text',   'short',
     '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}', null),
    (p_entity, 'record_type',   'record_type',   'text',   'short',
     '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}', null),
    (p_entity, 'default_value', 'default_value', 'text',   'long',  null, null),
    (p_entity, 'group_id',      'group_id',      'bigint', null,    null, null),
    (p_entity, 'group_name',    'group_name',    'text',   'short', null, null),
    (p_entity, 'options',       'options',       'jsonb',  null,    null, 'array');
  return keap_meta.generate_merge(p_entity);
end
$$;
comment on function keap_meta.declare_custom_field_model(text, text) is
  'Declares an entity that loads a custom field model (GET /rest/v2/<p_model>/model) into keap.custom_fields with model = p_model (a snapshot scoped to that model), and generates its merge procedure.';

select keap_meta.declare_custom_field_model('company_model', 'companies');
select keap_meta.declare_custom_field_model('opportunity_model', 'opportunities');
select keap_meta.declare_custom_field_model('note_model', 'notes');
select keap_meta.declare_custom_field_model('task_model', 'tasks');
