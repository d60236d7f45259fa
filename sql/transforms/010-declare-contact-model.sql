-- Declaration of contact_model: GET /rest/v2/contacts/model -> keap.custom_fields (model 'contacts').
-- A staged page is the whole ObjectModel body; its custom_fields are the records. The model is
-- unpaged, so every page is a complete listing (snapshot): fields it no longer lists get
-- _deleted_at (unless the listing is incomplete or empty), fields listed again are undeleted.
-- optional_properties is not stored (it stays in staging). keap_meta.generate_merge writes
-- keap.merge_contact_model from this. Every custom field model (orders, subscriptions, companies,
-- opportunities, notes, tasks) is declared the same way, by keap_meta.declare_custom_field_model.

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

select keap_meta.declare_custom_field_model('contact_model', 'contacts');
