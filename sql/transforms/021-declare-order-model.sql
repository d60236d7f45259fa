-- Declaration of order_model: GET /rest/v2/orders/model -> keap.custom_fields (model 'orders'), the
-- definitions of the order custom fields whose values are in keap.order_custom_fields. Like
-- contact_model: every page is a complete listing (snapshot), scoped to model 'orders', so fields it
-- no longer lists get _deleted_at. keap_meta.generate_merge writes keap.merge_order_model from this.

select keap_meta.declare_entity('order_model', p_key_column => 'custom_field_id', p_collection => 'custom_fields',
                                p_listing => 'snapshot');

insert into keap_meta.entity_columns (entity, column_name, source, constant_value, data_type, size) values
  ('order_model', 'model', 'constant', 'orders', 'text', 'short');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape) values
  ('order_model', 'label',         'label',         'text',   'short', null, null),
  ('order_model', 'field_name',    'field_name',    'text',   'short', null, null),
  ('order_model', 'field_type',    'field_type',    'text',   'short',
   '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}', null),
  ('order_model', 'record_type',   'record_type',   'text',   'short',
   '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}', null),
  ('order_model', 'default_value', 'default_value', 'text',   'long',  null, null),
  ('order_model', 'group_id',      'group_id',      'bigint', null,    null, null),
  ('order_model', 'group_name',    'group_name',    'text',   'short', null, null),
  ('order_model', 'options',       'options',       'jsonb',  null,    null, 'array');

select keap_meta.generate_merge('order_model');
