-- Declaration of subscriptions: GET /rest/v2/subscriptions -> keap.subscriptions, one row per
-- subscription, the shipping address flattened, with custom field values (keap.subscription_custom_fields).
-- billing_amount is a double in Keap: data type money (numeric without float artefacts). The change
-- marker is modification_time. keap_meta.generate_merge writes keap.merge_subscriptions from this.

select keap_meta.declare_entity('subscriptions', p_key_column => 'subscription_id', p_collection => 'subscriptions');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, change_marker) values
  ('subscriptions', 'contact_id',            'contact_id',                    'bigint',      null,    null, false),
  ('subscriptions', 'product_id',            'product_id',                    'bigint',      null,    null, false),
  ('subscriptions', 'subscription_plan_id',  'subscription_plan_id',          'bigint',      null,    null, false),
  ('subscriptions', 'quantity',              'quantity',                      'bigint',      null,    null, false),
  ('subscriptions', 'is_active',             'active',                        'boolean',     null,    null, false),
  ('subscriptions', 'billing_amount',        'billing_amount',                'money',       null,    null, false),
  ('subscriptions', 'is_auto_charge',        'auto_charge',                   'boolean',     null,    null, false),
  ('subscriptions', 'billing_frequency',     'billing_frequency',             'integer',     null,    null, false),
  ('subscriptions', 'billing_cycle',         'billing_cycle',                 'text',        'short', '{YEAR,MONTH,WEEK,DAY}', false),
  ('subscriptions', 'start_date',            'start_date',                    'date',        null,    null, false),
  ('subscriptions', 'last_bill_date',        'last_bill_date',                'date',        null,    null, false),
  ('subscriptions', 'next_bill_date',        'next_bill_date',                'date',        null,    null, false),
  ('subscriptions', 'end_date',              'end_date',                      'date',        null,    null, false),
  ('subscriptions', 'merchant_account_id',   'merchant_account_id',           'bigint',      null,    null, false),
  ('subscriptions', 'payment_method_id',     'payment_method_id',             'bigint',      null,    null, false),
  ('subscriptions', 'allow_tax',             'allow_tax',                     'boolean',     null,    null, false),
  ('subscriptions', 'max_charge_attempts',   'max_charge_attempts',           'integer',     null,    null, false),
  ('subscriptions', 'days_between_retries',  'days_between_retries',          'integer',     null,    null, false),
  ('subscriptions', 'lead_affiliate_id',     'lead_affiliate_id',             'bigint',      null,    null, false),
  ('subscriptions', 'sale_affiliate_id',     'sale_affiliate_id',             'bigint',      null,    null, false),
  ('subscriptions', 'promo_code',            'promo_code',                    'text',        'short', null, false),
  ('subscriptions', 'shipping_option_id',    'shipping_option_id',            'bigint',      null,    null, false),
  ('subscriptions', 'reason_stopped',        'reason_stopped',                'text',        'long',  null, false),
  ('subscriptions', 'shipping_line1',        'shipping_address.line1',        'text',        'short', null, false),
  ('subscriptions', 'shipping_line2',        'shipping_address.line2',        'text',        'short', null, false),
  ('subscriptions', 'shipping_locality',     'shipping_address.locality',     'text',        'short', null, false),
  ('subscriptions', 'shipping_region_code',  'shipping_address.region_code',  'text',        'short', null, false),
  ('subscriptions', 'shipping_country_code', 'shipping_address.country_code', 'text',        'short', null, false),
  ('subscriptions', 'shipping_postal_code',  'shipping_address.postal_code',  'text',        'short', null, false),
  ('subscriptions', 'updated_at',            'modification_time',             'timestamptz', null,    null, true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, noun, value_column) values
  ('subscriptions', 'custom_fields', 'keap.subscription_custom_fields', 'custom_fields', 'custom_fields', 'subscription_id', 'custom_field_id', null, 'value');

select keap_meta.generate_merge('subscriptions');
