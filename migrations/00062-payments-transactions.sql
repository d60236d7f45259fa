-- 00062: payments (GET /rest/v2/sales/payments) with keap.payment_orders from their order_ids, and
-- sales transactions (GET /rest/v2/sales/transactions) with keap.transaction_orders. Merges:
-- keap.merge_payments / keap.merge_transactions, generated from sql/transforms/023 and 024.
-- Amounts are plain JSON doubles in currency units on these two: stored as numeric rounded to the 15
-- significant digits a double holds (data type money), so 19.9 stays 19.9, never 19.899999999999999.
-- Keap sends no currency on them (the merchant account's currency applies).
--
-- Transactions have no id in Keap v2: transaction_key is a surrogate, the first 64 bits of md5 of
-- the JSON array [transaction_time, contact_id, amount, transaction_method, payment_id,
-- external_reference_id, merchant_account_id] (keap_meta.record_key with keap_meta.entities.key_paths),
-- the fields that identify a transaction and do not change when its status does. Two transactions
-- equal in all seven would share a key (the newest listed wins); Keap's reference ids make that unlikely.

create table keap.payments (
  payment_id              bigint primary key,
  contact_id              bigint,
  amount                  numeric,
  payment_type            text,
  status                  text,
  note                    text,
  is_commissioned         boolean,
  is_synced               boolean,
  refund_payment_id       bigint,
  external_transaction_id text,
  merchant_account_id     bigint,
  merchant_account_type   text,
  payment_method_id       bigint,
  payment_method_type     text,
  card_brand              text,
  card_type               text,
  card_last_four          text,
  paid_at                 timestamptz,
  updated_at              timestamptz
);
select keap_meta.add_entity_etl_columns('keap.payments', 'Payment');
create index payments_contact_id on keap.payments (contact_id);
create index payments_paid_at on keap.payments (paid_at);
comment on table keap.payments is 'Keap payments, one row per payment (GET /rest/v2/sales/payments). The orders a payment paid are in keap.payment_orders. Amounts in currency units as exact numeric (Keap sends a double).';
comment on column keap.payments.payment_id is 'Keap payment id (Payment.id).';
comment on column keap.payments.contact_id is 'Contact who paid.';
comment on column keap.payments.amount is 'Amount in currency units (a double in Keap; stored as numeric rounded to the 15 significant digits a double holds, so 19.9 stays 19.9). Negative for refunds.';
comment on column keap.payments.payment_type is 'Label of the payment type, e.g. Credit Card (type).';
comment on column keap.payments.status is 'PENDING, APPROVED, COMPLETED or NONE.';
comment on column keap.payments.note is 'Note on the payment.';
comment on column keap.payments.is_commissioned is 'Whether the payment carried a commission (commissioned).';
comment on column keap.payments.is_synced is 'Whether the payment is synced externally (synced).';
comment on column keap.payments.refund_payment_id is 'The refund payment of this payment, if refunded.';
comment on column keap.payments.external_transaction_id is 'Payment processor''s transaction id.';
comment on column keap.payments.merchant_account_id is 'Merchant account that processed the payment.';
comment on column keap.payments.merchant_account_type is 'PAYPAL, UNSUPPORTED, AUTHORIZE, EWAY, WEPAY, STRIPE or KEAP_PAY.';
comment on column keap.payments.payment_method_id is 'Payment method used (payment_method.payment_method_id).';
comment on column keap.payments.payment_method_type is 'Payment method type (CARD).';
comment on column keap.payments.card_brand is 'Card brand (payment_method.card_info.brand).';
comment on column keap.payments.card_type is 'CREDIT, DEBIT, PREPAID or ACH.';
comment on column keap.payments.card_last_four is 'Last four digits of the card.';
comment on column keap.payments.paid_at is 'When the payment was made (payment_time).';
comment on column keap.payments.updated_at is 'When the payment was last updated (update_time).';

create table keap.payment_orders (
  payment_id bigint not null,
  order_id   bigint not null,
  _run_id    bigint,
  primary key (payment_id, order_id)
);
create index payment_orders_order_id on keap.payment_orders (order_id);
comment on table keap.payment_orders is 'Which orders each payment paid (Payment.order_ids), one row per (payment, order). Replaced whenever the payment changes.';
comment on column keap.payment_orders.payment_id is 'Payment (keap.payments.payment_id; no foreign key).';
comment on column keap.payment_orders.order_id is 'Order the payment was made against (keap.orders.order_id).';
comment on column keap.payment_orders._run_id is 'Run whose merge wrote the row.';

create table keap.transactions (
  transaction_key         bigint primary key,
  contact_id              bigint,
  payment_id              bigint,
  amount                  numeric,
  status                  text,
  transaction_method      text,
  is_successful           boolean,
  description             text,
  external_reference_id   text,
  external_response_code  text,
  error_details           text,
  merchant_account_id     bigint,
  merchant_account_type   text,
  payment_method_id       bigint,
  card_brand              text,
  card_last_four          text,
  transacted_at           timestamptz
);
select keap_meta.add_entity_etl_columns('keap.transactions', 'TransactionV2');
create index transactions_contact_id on keap.transactions (contact_id);
create index transactions_transacted_at on keap.transactions (transacted_at);
comment on table keap.transactions is 'Keap sales transactions (captures, refunds, voids, manual entries), one row per transaction (GET /rest/v2/sales/transactions). Keap v2 gives transactions no id: transaction_key is a surrogate (see its comment). Orders in keap.transaction_orders.';
comment on column keap.transactions.transaction_key is 'Surrogate key (Keap v2 transactions have no id): (''x'' || left(md5(jsonb_build_array(transaction_time, contact_id, amount, transaction_method, payment_id, external_reference_id, merchant_account_id)::text), 16))::bit(64)::bigint over the raw JSON values (keap_meta.surrogate_key). Stable while those fields are; a change of status or error details updates the same row.';
comment on column keap.transactions.contact_id is 'Contact of the transaction.';
comment on column keap.transactions.payment_id is 'Payment the transaction belongs to (keap.payments.payment_id).';
comment on column keap.transactions.amount is 'Amount in currency units (a double in Keap; stored as numeric rounded to the 15 significant digits a double holds). Negative for refunds.';
comment on column keap.transactions.status is 'APPROVED, PENDING, ERROR, FAILED or NONE.';
comment on column keap.transactions.transaction_method is 'CAPTURE, REFUND, VOID or MANUAL.';
comment on column keap.transactions.is_successful is 'Whether the transaction succeeded.';
comment on column keap.transactions.description is 'Description of the transaction.';
comment on column keap.transactions.external_reference_id is 'Payment processor''s reference of the transaction.';
comment on column keap.transactions.external_response_code is 'Payment processor''s response code.';
comment on column keap.transactions.error_details is 'Error details of a failed transaction.';
comment on column keap.transactions.merchant_account_id is 'Merchant account that processed it.';
comment on column keap.transactions.merchant_account_type is 'PAYPAL, UNSUPPORTED, AUTHORIZE, EWAY, WEPAY, STRIPE or KEAP_PAY.';
comment on column keap.transactions.payment_method_id is 'Payment method used (payment_method.payment_method_id).';
comment on column keap.transactions.card_brand is 'Card brand (payment_method.card_info.brand).';
comment on column keap.transactions.card_last_four is 'Last four digits of the card.';
comment on column keap.transactions.transacted_at is 'When the transaction happened (transaction_time).';

create table keap.transaction_orders (
  transaction_key bigint not null,
  order_id        bigint not null,
  _run_id         bigint,
  primary key (transaction_key, order_id)
);
create index transaction_orders_order_id on keap.transaction_orders (order_id);
comment on table keap.transaction_orders is 'Which orders each transaction was against (TransactionV2.order_ids), one row per (transaction, order). Replaced whenever the transaction changes.';
comment on column keap.transaction_orders.transaction_key is 'Transaction (keap.transactions.transaction_key; no foreign key).';
comment on column keap.transaction_orders.order_id is 'Order (keap.orders.order_id).';
comment on column keap.transaction_orders._run_id is 'Run whose merge wrote the row.';

select keap_meta.create_staging_table('payments');
select keap_meta.create_staging_table('transactions');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('payments', 'keap.payments', 120, 'GET /rest/v2/sales/payments with the orders each payment paid'),
  ('transactions', 'keap.transactions', 130, 'GET /rest/v2/sales/transactions (no id in Keap: surrogate transaction_key)');
