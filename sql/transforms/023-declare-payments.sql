-- Declaration of payments: GET /rest/v2/sales/payments -> keap.payments, one row per payment
-- (payment_id), its payment method flattened, with the orders it paid as the id set
-- keap.payment_orders (from order_ids). amount is a double in Keap: data type money (numeric, no
-- float artefacts). The change marker (newest version, watermark) is payment_time, the field since_time
-- filters in the notes' best reading (update_time is never earlier, so the watermark errs towards re-reading). keap_meta.generate_merge writes keap.merge_payments.

select keap_meta.declare_entity('payments', p_key_column => 'payment_id', p_collection => 'payments');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, change_marker) values
  ('payments', 'contact_id',              'contact_id',              'bigint',      null,    null, false),
  ('payments', 'amount',                  'amount',                  'money',       null,    null, false),
  ('payments', 'payment_type',            'type',                    'text',        'short', null, false),
  ('payments', 'status',                  'status',                  'text',        'short', '{PENDING,APPROVED,COMPLETED,NONE}', false),
  ('payments', 'note',                    'note',                    'text',        'long',  null, false),
  ('payments', 'is_commissioned',         'commissioned',            'boolean',     null,    null, false),
  ('payments', 'is_synced',               'synced',                  'boolean',     null,    null, false),
  ('payments', 'refund_payment_id',       'refund_payment_id',       'bigint',      null,    null, false),
  ('payments', 'external_transaction_id', 'external_transaction_id', 'text',        'short', null, false),
  ('payments', 'merchant_account_id',     'merchant_account_id',     'bigint',      null,    null, false),
  ('payments', 'merchant_account_type',   'merchant_account_type',   'text',        'short', '{PAYPAL,UNSUPPORTED,AUTHORIZE,EWAY,WEPAY,STRIPE,KEAP_PAY}', false),
  ('payments', 'payment_method_id',       'payment_method.payment_method_id',     'bigint', null,    null, false),
  ('payments', 'payment_method_type',     'payment_method.payment_method_type',   'text',   'short', '{CARD}', false),
  ('payments', 'card_brand',              'payment_method.card_info.brand',       'text',   'short', null, false),
  ('payments', 'card_type',               'payment_method.card_info.card_type',   'text',   'short', '{CREDIT,DEBIT,PREPAID,ACH}', false),
  ('payments', 'card_last_four',          'payment_method.card_info.last_four',   'text',   'short', null, false),
  ('payments', 'paid_at',                 'payment_time',            'timestamptz', null,    null, true),
  ('payments', 'updated_at',              'update_time',             'timestamptz', null,    null, false);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, noun) values
  ('payments', 'orders', 'keap.payment_orders', 'order_ids', 'id_set', 'payment_id', 'order_id', 'order id');

select keap_meta.generate_merge('payments');
