-- Declaration of products: GET /rest/v2/products -> keap.products, one row per product, with its
-- options keyed by position (keap.product_options: no id in the list), subscription plans keyed by
-- plan id (keap.product_subscription_plans) and category assignments as the id set
-- keap.product_category_products (from categories). Prices are CurrencyValues: exact minor units
-- and currency units. The change marker is update_time (the list sorts by it as last_updated_time).
-- keap_meta.generate_merge writes keap.merge_products from this.

select keap_meta.declare_entity('products', p_key_column => 'product_id', p_collection => 'products');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
  ('products', 'name',                   'name',                   'text',            'short', false),
  ('products', 'sku',                    'sku',                    'text',            'short', false),
  ('products', 'is_active',              'active',                 'boolean',         null,    false),
  ('products', 'description',            'description',            'text',            'long',  false),
  ('products', 'short_description',      'short_description',      'text',            'long',  false),
  ('products', 'currency_code',          'price.currency_code',    'text',            'short', false),
  ('products', 'price_minor',            'price.amount',           'minor_units',     null,    false),
  ('products', 'price',                  'price',                  'currency_amount', null,    false),
  ('products', 'is_shippable',           'shippable',              'boolean',         null,    false),
  ('products', 'weight',                 'weight',                 'numeric',         null,    false),
  ('products', 'is_taxable',             'taxable',                'boolean',         null,    false),
  ('products', 'is_country_taxable',     'country_taxable',        'boolean',         null,    false),
  ('products', 'is_state_taxable',       'state_taxable',          'boolean',         null,    false),
  ('products', 'is_city_taxable',        'city_taxable',           'boolean',         null,    false),
  ('products', 'inventory_limit',        'inventory.inventory_limit', 'integer',      null,    false),
  ('products', 'is_out_of_stock_enabled', 'inventory.out_of_stock_enabled', 'boolean', null,   false),
  ('products', 'inventory_notification_email', 'inventory.email_for_inventory_notifications', 'text', 'short', false),
  ('products', 'is_subscription_only',   'subscription_only',      'boolean',         null,    false),
  ('products', 'is_storefront_hidden',   'storefront_hidden',      'boolean',         null,    false),
  ('products', 'is_package',             'is_package',             'boolean',         null,    false),
  ('products', 'needs_digital_delivery', 'needs_digital_delivery', 'boolean',         null,    false),
  ('products', 'has_legacy_image',       'has_legacy_image',       'boolean',         null,    false),
  ('products', 'delivery_description',   'delivery_description',   'text',            'long',  false),
  ('products', 'top_html',               'top_html',               'text',            'long',  false),
  ('products', 'bottom_html',            'bottom_html',            'text',            'long',  false),
  ('products', 'created_at',             'create_time',            'timestamptz',     null,    false),
  ('products', 'updated_at',             'update_time',            'timestamptz',     null,    true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, noun) values
  ('products', 'options',    'keap.product_options',            'options',            'ordinal', 'product_id', 'position',             null, 'product option'),
  ('products', 'plans',      'keap.product_subscription_plans', 'subscription_plans', 'keyed',   'product_id', 'subscription_plan_id', 'id', 'subscription plan'),
  ('products', 'categories', 'keap.product_category_products',  'categories',         'id_set',  'product_id', 'product_category_id',  null, 'category id');

insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type, size, enum_values, json_shape) values
  ('products', 'options', 'name',              'name',              'text',            'short', null, null),
  ('products', 'options', 'option_type',       'type',              'text',            'short', '{FIXED,VARIABLE}', null),
  ('products', 'options', 'is_required',       'required',          'boolean',         null,    null, null),
  ('products', 'options', 'fixed_options',     'fixed_options',     'jsonb',           null,    null, 'array'),
  ('products', 'options', 'variable_setting',  'variable_setting',  'jsonb',           null,    null, 'value'),
  ('products', 'plans',   'is_active',         'active',            'boolean',         null,    null, null),
  ('products', 'plans',   'is_prorated',       'prorate',           'boolean',         null,    null, null),
  ('products', 'plans',   'billing_cycle',     'billing_cycle',     'text',            'short', '{DAILY,WEEKLY,MONTHLY,YEARLY}', null),
  ('products', 'plans',   'billing_frequency', 'billing_frequency', 'integer',         null,    null, null),
  ('products', 'plans',   'number_of_cycles',  'number_of_cycles',  'integer',         null,    null, null),
  ('products', 'plans',   'currency_code',     'plan_price.currency_code', 'text',     'short', null, null),
  ('products', 'plans',   'plan_price_minor',  'plan_price.amount', 'minor_units',     null,    null, null),
  ('products', 'plans',   'plan_price',        'plan_price',        'currency_amount', null,    null, null),
  ('products', 'plans',   'order_index',       'order_index',       'integer',         null,    null, null);

select keap_meta.generate_merge('products');
