-- Declaration of transactions: GET /rest/v2/sales/transactions -> keap.transactions. TransactionV2
-- has no id, so the record key is a surrogate (keap_meta.entities.key_paths, keap_meta.record_key):
-- the first 64 bits of md5 of [transaction_time, contact_id, amount, transaction_method, payment_id,
-- external_reference_id, merchant_account_id], fields that identify the transaction and stay the
-- same when its status changes. The orders it was against go to keap.transaction_orders (id set
-- from order_ids). amount is a double in Keap: data type money. The change marker is
-- transaction_time (Keap sends no update time). keap_meta.generate_merge writes keap.merge_transactions.

select keap_meta.declare_entity('transactions', p_key_column => 'transaction_key', p_collection => 'transactions');
update keap_meta.entities
   set key_paths = '{transaction_time,contact_id,amount,transaction_method,payment_id,external_reference_id,merchant_account_id}'
 where entity = 'transactions';

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, change_marker) values
  ('transactions', 'contact_id',             'contact_id',             'bigint',      null,    null, false),
  ('transactions', 'payment_id',             'payment_id',             'bigint',      null,    null, false),
  ('transactions', 'amount',                 'amount',                 'money',       null,    null, false),
  ('transactions', 'status',                 'status',                 'text',        'short', '{APPROVED,PENDING,ERROR,FAILED,NONE}', false),
  ('transactions', 'transaction_method',     'transaction_method',     'text',        'short', '{CAPTURE,REFUND,VOID,MANUAL}', false),
  ('transactions', 'is_successful',          'is_successful',          'boolean',     null,    null, false),
  ('transactions', 'description',            'description',            'text',        'long',  null, false),
  ('transactions', 'external_reference_id',  'external_reference_id',  'text',        'short', null, false),
  ('transactions', 'external_response_code', 'external_response_code', 'text',        'short', null, false),
  ('transactions', 'error_details',          'error_details',          'text',        'long',  null, false),
  ('transactions', 'merchant_account_id',    'merchant_account_id',    'bigint',      null,    null, false),
  ('transactions', 'merchant_account_type',  'merchant_account_type',  'text',        'short', '{PAYPAL,UNSUPPORTED,AUTHORIZE,EWAY,WEPAY,STRIPE,KEAP_PAY}', false),
  ('transactions', 'payment_method_id',      'payment_method.payment_method_id', 'bigint', null, null, false),
  ('transactions', 'card_brand',             'payment_method.card_info.brand',     'text', 'short', null, false),
  ('transactions', 'card_last_four',         'payment_method.card_info.last_four', 'text', 'short', null, false),
  ('transactions', 'transacted_at',          'transaction_time',       'timestamptz', null,    null, true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, noun) values
  ('transactions', 'orders', 'keap.transaction_orders', 'order_ids', 'id_set', 'transaction_key', 'order_id', 'order id');

select keap_meta.generate_merge('transactions');
