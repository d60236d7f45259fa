-- Declaration of contact_model: GET /rest/v2/contacts/model -> keap.custom_fields (model 'contacts').
-- A staged page is the whole ObjectModel body; its custom_fields are the records. The model is
-- unpaged, so every page is a complete listing (snapshot): fields it no longer lists get
-- _deleted_at (unless the listing is incomplete or empty), fields listed again are undeleted.
-- optional_properties is not stored (it stays in staging). keap_meta.generate_merge writes
-- keap.merge_contact_model from this.

select keap_meta.declare_entity('contact_model', p_key_column => 'custom_field_id', p_collection => 'custom_fields',
                                p_listing => 'snapshot');

insert into keap_meta.entity_columns (entity, column_name, source, constant_value, data_type, size) values
  ('contact_model', 'model', 'constant', 'contacts', 'text', 'short');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape) values
  ('contact_model', 'label',         'label',         'text',   'short', null, null),
  ('contact_model', 'field_name',    'field_name',    'text',   'short', null, null),
  ('contact_model', 'field_type',    'field_type',    'text',   'short',
   '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}', null),
  ('contact_model', 'record_type',   'record_type',   'text',   'short',
   '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}', null),
  ('contact_model', 'default_value', 'default_value', 'text',   'long',  null, null),
  ('contact_model', 'group_id',      'group_id',      'bigint', null,    null, null),
  ('contact_model', 'group_name',    'group_name',    'text',   'short', null, null),
  ('contact_model', 'options',       'options',       'jsonb',  null,    null, 'array');

select keap_meta.generate_merge('contact_model');
