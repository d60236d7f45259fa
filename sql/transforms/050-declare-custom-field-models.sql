-- Declarations of the custom field models of companies, opportunities, notes and tasks: each
-- GET /rest/v2/<model>/model -> keap.custom_fields with model = '<model>', exactly as the contact
-- model (010-declare-contact-model.sql): a staged page is the whole ObjectModel body, its
-- custom_fields are the records, every page is a complete listing (snapshot) scoped to its model, so
-- a field the model no longer lists gets _deleted_at (unless the listing is incomplete or empty).
-- keap_meta.generate_merge writes keap.merge_<entity> from each.

-- company_model: GET /rest/v2/companies/model
select keap_meta.declare_entity('company_model', p_key_column => 'custom_field_id', p_collection => 'custom_fields',
                                p_listing => 'snapshot');

insert into keap_meta.entity_columns (entity, column_name, source, constant_value, data_type, size) values
  ('company_model', 'model', 'constant', 'companies', 'text', 'short');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape) values
  ('company_model', 'label',         'label',         'text',   'short', null, null),
  ('company_model', 'field_name',    'field_name',    'text',   'short', null, null),
  ('company_model', 'field_type',    'field_type',    'text',   'short',
   '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}', null),
  ('company_model', 'record_type',   'record_type',   'text',   'short',
   '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}', null),
  ('company_model', 'default_value', 'default_value', 'text',   'long',  null, null),
  ('company_model', 'group_id',      'group_id',      'bigint', null,    null, null),
  ('company_model', 'group_name',    'group_name',    'text',   'short', null, null),
  ('company_model', 'options',       'options',       'jsonb',  null,    null, 'array');

select keap_meta.generate_merge('company_model');

-- opportunity_model: GET /rest/v2/opportunities/model
select keap_meta.declare_entity('opportunity_model', p_key_column => 'custom_field_id', p_collection => 'custom_fields',
                                p_listing => 'snapshot');

insert into keap_meta.entity_columns (entity, column_name, source, constant_value, data_type, size) values
  ('opportunity_model', 'model', 'constant', 'opportunities', 'text', 'short');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape) values
  ('opportunity_model', 'label',         'label',         'text',   'short', null, null),
  ('opportunity_model', 'field_name',    'field_name',    'text',   'short', null, null),
  ('opportunity_model', 'field_type',    'field_type',    'text',   'short',
   '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}', null),
  ('opportunity_model', 'record_type',   'record_type',   'text',   'short',
   '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}', null),
  ('opportunity_model', 'default_value', 'default_value', 'text',   'long',  null, null),
  ('opportunity_model', 'group_id',      'group_id',      'bigint', null,    null, null),
  ('opportunity_model', 'group_name',    'group_name',    'text',   'short', null, null),
  ('opportunity_model', 'options',       'options',       'jsonb',  null,    null, 'array');

select keap_meta.generate_merge('opportunity_model');

-- note_model: GET /rest/v2/notes/model
select keap_meta.declare_entity('note_model', p_key_column => 'custom_field_id', p_collection => 'custom_fields',
                                p_listing => 'snapshot');

insert into keap_meta.entity_columns (entity, column_name, source, constant_value, data_type, size) values
  ('note_model', 'model', 'constant', 'notes', 'text', 'short');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape) values
  ('note_model', 'label',         'label',         'text',   'short', null, null),
  ('note_model', 'field_name',    'field_name',    'text',   'short', null, null),
  ('note_model', 'field_type',    'field_type',    'text',   'short',
   '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}', null),
  ('note_model', 'record_type',   'record_type',   'text',   'short',
   '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}', null),
  ('note_model', 'default_value', 'default_value', 'text',   'long',  null, null),
  ('note_model', 'group_id',      'group_id',      'bigint', null,    null, null),
  ('note_model', 'group_name',    'group_name',    'text',   'short', null, null),
  ('note_model', 'options',       'options',       'jsonb',  null,    null, 'array');

select keap_meta.generate_merge('note_model');

-- task_model: GET /rest/v2/tasks/model
select keap_meta.declare_entity('task_model', p_key_column => 'custom_field_id', p_collection => 'custom_fields',
                                p_listing => 'snapshot');

insert into keap_meta.entity_columns (entity, column_name, source, constant_value, data_type, size) values
  ('task_model', 'model', 'constant', 'tasks', 'text', 'short');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape) values
  ('task_model', 'label',         'label',         'text',   'short', null, null),
  ('task_model', 'field_name',    'field_name',    'text',   'short', null, null),
  ('task_model', 'field_type',    'field_type',    'text',   'short',
   '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}', null),
  ('task_model', 'record_type',   'record_type',   'text',   'short',
   '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}', null),
  ('task_model', 'default_value', 'default_value', 'text',   'long',  null, null),
  ('task_model', 'group_id',      'group_id',      'bigint', null,    null, null),
  ('task_model', 'group_name',    'group_name',    'text',   'short', null, null),
  ('task_model', 'options',       'options',       'jsonb',  null,    null, 'array');

select keap_meta.generate_merge('task_model');
