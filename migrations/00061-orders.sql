-- 00061: orders (GET /rest/v2/orders) with their child collections: order items (keyed by the
-- item id), payment plan items (no id in Keap: keyed by their 1-based position in the plan) and
-- custom field values; the order custom field model (GET /rest/v2/orders/model) goes to
-- keap.custom_fields (model 'orders'). Merges: keap.merge_orders and keap.merge_order_model,
-- generated from sql/transforms/021-declare-order-model.sql and 022-declare-orders.sql.
--
-- Money: each CurrencyValue is stored exactly as minor units (bigint, *_minor) with the row's
-- currency_code, and as an amount in currency units (numeric, scaled by the currency's ISO 4217
-- minor unit: USD 2 decimals, JPY 0, BHD 3) beside it. Keap prices an order in one currency, so
-- currency_code is taken from the order total (on items: from price_per_unit); every value's own
-- currency stays in _raw. No real or double precision anywhere.
-- The payment plan (0..1 per order) is flattened into payment_plan_* columns of keap.orders.
-- No foreign keys to other entities (a merge must never fail on order); child tables are kept
-- consistent by keap.merge_orders.

create table keap.orders (
  order_id                          bigint primary key,
  contact_id                        bigint,
  title                             text,
  status                            text,
  order_type                        text,
  source_type                       text,
  currency_code                     text,
  total_minor                       bigint,
  total                             numeric,
  total_paid_minor                  bigint,
  total_paid                        numeric,
  total_due_minor                   bigint,
  total_due                         numeric,
  refund_total_minor                bigint,
  refund_total                      numeric,
  notes                             text,
  terms                             text,
  promo_code                        text,
  lead_affiliate_id                 bigint,
  sales_affiliate_id                bigint,
  invoice_id                        bigint,
  invoice_number                    text,
  credit_status                     text,
  refund_status                     text,
  is_synced                         boolean,
  allow_payment                     boolean,
  allow_paypal                      boolean,
  shipping_given_name               text,
  shipping_family_name              text,
  shipping_company                  text,
  shipping_phone_number             text,
  shipping_invoice_to_company       boolean,
  shipping_line1                    text,
  shipping_line2                    text,
  shipping_locality                 text,
  shipping_region_code              text,
  shipping_country_code             text,
  shipping_postal_code              text,
  shipping_zip_code                 text,
  shipping_zip_four                 text,
  payment_plan_auto_charge          boolean,
  payment_plan_max_charge_attempts  bigint,
  payment_plan_days_between_retries bigint,
  payment_plan_payment_method_id    bigint,
  payment_plan_initial_payment_minor bigint,
  payment_plan_initial_payment      numeric,
  payment_plan_initial_payment_percent numeric,
  payment_plan_initial_payment_date date,
  payment_plan_start_date           date,
  payment_plan_number_of_payments   bigint,
  payment_plan_days_between_payments bigint,
  ordered_at                        timestamptz,
  sent_at                           timestamptz,
  due_at                            timestamptz,
  created_at                        timestamptz,
  updated_at                        timestamptz,
  external_create_user              text,
  external_created_at               timestamptz,
  external_updated_at               timestamptz
);
select keap_meta.add_entity_etl_columns('keap.orders', 'OrderV2');
create index orders_contact_id on keap.orders (contact_id);
create index orders_ordered_at on keap.orders (ordered_at);
create index orders_updated_at on keap.orders (updated_at);

comment on table keap.orders is 'Keap orders (invoices), one row per order (GET /rest/v2/orders). Items in keap.order_items, payment plan installments in keap.order_payment_plan_items, custom field values in keap.order_custom_fields. Money as exact minor units (*_minor, bigint) and as amounts in currency units (numeric) in currency_code.';
comment on column keap.orders.order_id is 'Keap order id (OrderV2.id).';
comment on column keap.orders.contact_id is 'Contact the order is for (contact.id).';
comment on column keap.orders.title is 'Order title.';
comment on column keap.orders.status is 'DRAFT, SENT, VIEWED or PAID (an unknown value is kept with a row issue).';
comment on column keap.orders.order_type is 'ONLINE or OFFLINE.';
comment on column keap.orders.source_type is 'Where the order came from: API, CHECKOUT_FORM, INVOICE, MANUAL_PAYMENT, QUICKBOOKS, UNKNOWN.';
comment on column keap.orders.currency_code is 'ISO 4217 currency of the order (total.currency_code); all amounts of the row are in it.';
comment on column keap.orders.total_minor is 'Order total in minor units of currency_code (total.amount, exact: cents for USD, yen for JPY).';
comment on column keap.orders.total is 'Order total in currency units (total_minor scaled by the currency''s ISO 4217 minor unit), as Keap computed it.';
comment on column keap.orders.total_paid_minor is 'Amount paid so far, minor units (total_paid.amount).';
comment on column keap.orders.total_paid is 'Amount paid so far, currency units.';
comment on column keap.orders.total_due_minor is 'Keap''s total_due, minor units (Keap documents it as the amount due on the order, not the current balance).';
comment on column keap.orders.total_due is 'Keap''s total_due, currency units.';
comment on column keap.orders.refund_total_minor is 'Total refunded, minor units (refund_total.amount).';
comment on column keap.orders.refund_total is 'Total refunded, currency units.';
comment on column keap.orders.notes is 'Notes on the order.';
comment on column keap.orders.terms is 'Payment terms shown on the invoice.';
comment on column keap.orders.promo_code is 'Promo code used.';
comment on column keap.orders.lead_affiliate_id is 'Lead affiliate (referral partner) id.';
comment on column keap.orders.sales_affiliate_id is 'Sales affiliate (referral partner) id.';
comment on column keap.orders.invoice_id is 'Invoice id of the order.';
comment on column keap.orders.invoice_number is 'Invoice number (Keap: "not yet supported", usually absent).';
comment on column keap.orders.credit_status is 'Credit status, as received.';
comment on column keap.orders.refund_status is 'Refund status, as received.';
comment on column keap.orders.is_synced is 'Keap''s synced flag (synced with an external system such as QuickBooks).';
comment on column keap.orders.allow_payment is 'Whether the invoice accepts payments.';
comment on column keap.orders.allow_paypal is 'Whether the invoice accepts PayPal.';
comment on column keap.orders.shipping_given_name is 'Ship-to first name (shipping_information.given_name).';
comment on column keap.orders.shipping_family_name is 'Ship-to last name.';
comment on column keap.orders.shipping_company is 'Ship-to company.';
comment on column keap.orders.shipping_phone_number is 'Ship-to phone number.';
comment on column keap.orders.shipping_invoice_to_company is 'Whether the invoice is addressed to the company.';
comment on column keap.orders.shipping_line1 is 'Ship-to street, line 1 (shipping_information.address.line1).';
comment on column keap.orders.shipping_line2 is 'Ship-to street, line 2.';
comment on column keap.orders.shipping_locality is 'Ship-to city.';
comment on column keap.orders.shipping_region_code is 'Ship-to region, ISO 3166-2 (US-AZ).';
comment on column keap.orders.shipping_country_code is 'Ship-to country, ISO 3166-1 alpha-3 (USA).';
comment on column keap.orders.shipping_postal_code is 'Ship-to postal code.';
comment on column keap.orders.shipping_zip_code is 'Ship-to US ZIP code.';
comment on column keap.orders.shipping_zip_four is 'Ship-to ZIP+4 extension.';
comment on column keap.orders.payment_plan_auto_charge is 'Payment plan: charge installments automatically (null: the order has no payment plan).';
comment on column keap.orders.payment_plan_max_charge_attempts is 'Payment plan: charge attempts per installment.';
comment on column keap.orders.payment_plan_days_between_retries is 'Payment plan: days between retries of a failed charge.';
comment on column keap.orders.payment_plan_payment_method_id is 'Payment plan: payment method charged.';
comment on column keap.orders.payment_plan_initial_payment_minor is 'Payment plan: initial payment, minor units.';
comment on column keap.orders.payment_plan_initial_payment is 'Payment plan: initial payment, currency units.';
comment on column keap.orders.payment_plan_initial_payment_percent is 'Payment plan: initial payment as a percentage of the total.';
comment on column keap.orders.payment_plan_initial_payment_date is 'Payment plan: date of the initial payment.';
comment on column keap.orders.payment_plan_start_date is 'Payment plan: date the installments start.';
comment on column keap.orders.payment_plan_number_of_payments is 'Payment plan: number of installments after the initial payment.';
comment on column keap.orders.payment_plan_days_between_payments is 'Payment plan: days between installments.';
comment on column keap.orders.ordered_at is 'Order date set by the user (order_time).';
comment on column keap.orders.sent_at is 'When the invoice was sent (sent_time).';
comment on column keap.orders.due_at is 'When payment is due (due_time).';
comment on column keap.orders.created_at is 'When the order was created (creation_time).';
comment on column keap.orders.updated_at is 'When the order was last modified (modification_time); incremental syncs filter on it (modified_since_time).';
comment on column keap.orders.external_create_user is 'User of an external system that created the order.';
comment on column keap.orders.external_created_at is 'Creation time in the external system.';
comment on column keap.orders.external_updated_at is 'Last update time in the external system.';

create table keap.order_items (
  order_id                      bigint not null,
  order_item_id                 bigint not null,
  product_id                    bigint,
  product_name                  text,
  product_sku                   text,
  name                          text,
  description                   text,
  notes                         text,
  item_type                     text,
  quantity                      integer,
  currency_code                 text,
  price_per_unit_minor          bigint,
  price_per_unit                numeric,
  cost_per_unit_minor           bigint,
  cost_per_unit                 numeric,
  discount_minor                bigint,
  discount                      numeric,
  special_id                    bigint,
  special_amount                numeric,
  special_discount_method       text,
  subscription_id               bigint,
  subscription_plan_id          bigint,
  subscription_plan_name        text,
  subscription_plan_cycle_type  text,
  subscription_plan_frequency   integer,
  subscription_plan_total_cycles integer,
  subscription_plan_price_minor bigint,
  subscription_plan_price       numeric,
  primary key (order_id, order_item_id)
);
select keap_meta.add_child_etl_columns('keap.order_items', 'order');
create index order_items_product_id on keap.order_items (product_id);
comment on table keap.order_items is 'Line items of an order (OrderV2.order_items), one row per item id. Replaced whole whenever the order changes, so removed items disappear. Tax and shipping lines have no product (product_id null).';
comment on column keap.order_items.order_id is 'Order the item belongs to (keap.orders.order_id; kept consistent by keap.merge_orders, no foreign key).';
comment on column keap.order_items.order_item_id is 'Keap order item id (OrderItem.id).';
comment on column keap.order_items.product_id is 'Product sold (product.id); null for tax, shipping and discount lines.';
comment on column keap.order_items.product_name is 'Product name at the time of the order (product.name).';
comment on column keap.order_items.product_sku is 'Product SKU (product.sku).';
comment on column keap.order_items.name is 'Line item name.';
comment on column keap.order_items.description is 'Line item description.';
comment on column keap.order_items.notes is 'Line item notes.';
comment on column keap.order_items.item_type is 'PRODUCT, SHIPPING, TAX, SERVICE, UPSELL, FINANCE_CHARGE, DISCOUNT, PROGRAM, SUBSCRIPTION, DISCOUNT_* , TIP, OTHER, FEE or UNKNOWN.';
comment on column keap.order_items.quantity is 'Quantity.';
comment on column keap.order_items.currency_code is 'ISO 4217 currency of the item''s amounts (price_per_unit.currency_code).';
comment on column keap.order_items.price_per_unit_minor is 'Price per unit in minor units (price_per_unit.amount, exact; negative on discount lines).';
comment on column keap.order_items.price_per_unit is 'Price per unit in currency units.';
comment on column keap.order_items.cost_per_unit_minor is 'Cost per unit in minor units (cost_per_unit.amount).';
comment on column keap.order_items.cost_per_unit is 'Cost per unit in currency units.';
comment on column keap.order_items.discount_minor is 'Discount on the line in minor units (discount.amount); null when none.';
comment on column keap.order_items.discount is 'Discount on the line in currency units.';
comment on column keap.order_items.special_id is 'Special (promotion) applied (special.special_item_id).';
comment on column keap.order_items.special_amount is 'Special''s amount as Keap sends it (special.amount: a percentage or an amount in currency units, per special_discount_method).';
comment on column keap.order_items.special_discount_method is 'AMOUNT or PERCENT.';
comment on column keap.order_items.subscription_id is 'Subscription the line created or billed (subscription_id).';
comment on column keap.order_items.subscription_plan_id is 'Subscription plan of the line (subscription_plan.id).';
comment on column keap.order_items.subscription_plan_name is 'Subscription plan name.';
comment on column keap.order_items.subscription_plan_cycle_type is 'Subscription plan billing cycle: YEARLY, MONTHLY, WEEKLY or DAILY.';
comment on column keap.order_items.subscription_plan_frequency is 'Subscription plan: cycles between bills.';
comment on column keap.order_items.subscription_plan_total_cycles is 'Subscription plan: number of billing cycles (0 = until cancelled).';
comment on column keap.order_items.subscription_plan_price_minor is 'Subscription plan price, minor units.';
comment on column keap.order_items.subscription_plan_price is 'Subscription plan price, currency units.';

create table keap.order_payment_plan_items (
  order_id           bigint not null,
  position           integer not null,
  status             text,
  due_date           date,
  currency_code      text,
  amount_due_minor   bigint,
  amount_due         numeric,
  amount_paid_minor  bigint,
  amount_paid        numeric,
  primary key (order_id, position)
);
select keap_meta.add_child_etl_columns('keap.order_payment_plan_items', 'order');
comment on table keap.order_payment_plan_items is 'Scheduled installments of an order''s payment plan (payment_plan.payment_plan_items). Keap gives them no id, so they are keyed by the order and their 1-based position in the plan; replaced whole whenever the order changes.';
comment on column keap.order_payment_plan_items.order_id is 'Order the installment belongs to (keap.orders.order_id; no foreign key).';
comment on column keap.order_payment_plan_items.position is '1-based position of the installment in payment_plan.payment_plan_items, as Keap lists them.';
comment on column keap.order_payment_plan_items.status is 'UNPAID_MANUAL, UNPAID_AUTOCHARGE, PAID or FAILED.';
comment on column keap.order_payment_plan_items.due_date is 'When the installment is due.';
comment on column keap.order_payment_plan_items.currency_code is 'ISO 4217 currency (amount_due.currency_code).';
comment on column keap.order_payment_plan_items.amount_due_minor is 'Amount due, minor units (exact).';
comment on column keap.order_payment_plan_items.amount_due is 'Amount due, currency units.';
comment on column keap.order_payment_plan_items.amount_paid_minor is 'Amount paid, minor units (exact).';
comment on column keap.order_payment_plan_items.amount_paid is 'Amount paid, currency units.';

select keap_meta.create_custom_field_values_table('order_custom_fields', 'keap.orders', 'order_id', 'orders');
create index order_custom_fields_field on keap.order_custom_fields (custom_field_id);

select keap_meta.create_staging_table('order_model');
select keap_meta.create_staging_table('orders');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('order_model', 'keap.custom_fields', 100, 'GET /rest/v2/orders/model: order custom field definitions (unpaged snapshot)'),
  ('orders', 'keap.orders', 110, 'GET /rest/v2/orders with items, payment plan and custom field values');
