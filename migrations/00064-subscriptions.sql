-- 00064: subscriptions (GET /rest/v2/subscriptions) with their custom field values, and the
-- subscription custom field model (GET /rest/v2/subscriptions/model -> keap.custom_fields, model
-- 'subscriptions'). Merges: keap.merge_subscriptions and keap.merge_subscription_model, generated from
-- sql/transforms/027 and 028. billing_amount is a double in Keap: numeric without float artefacts.

create table keap.subscriptions (
  subscription_id       bigint primary key,
  contact_id            bigint,
  product_id            bigint,
  subscription_plan_id  bigint,
  quantity              bigint,
  is_active             boolean,
  billing_amount        numeric,
  is_auto_charge        boolean,
  billing_frequency     integer,
  billing_cycle         text,
  start_date            date,
  last_bill_date        date,
  next_bill_date        date,
  end_date              date,
  merchant_account_id   bigint,
  payment_method_id     bigint,
  allow_tax             boolean,
  max_charge_attempts   integer,
  days_between_retries  integer,
  lead_affiliate_id     bigint,
  sale_affiliate_id     bigint,
  promo_code            text,
  shipping_option_id    bigint,
  reason_stopped        text,
  shipping_line1        text,
  shipping_line2        text,
  shipping_locality     text,
  shipping_region_code  text,
  shipping_country_code text,
  shipping_postal_code  text,
  updated_at            timestamptz
);
select keap_meta.add_entity_etl_columns('keap.subscriptions', 'Subscription');
create index subscriptions_contact_id on keap.subscriptions (contact_id);
create index subscriptions_updated_at on keap.subscriptions (updated_at);
comment on table keap.subscriptions is 'Keap subscriptions (recurring billing), one row per subscription (GET /rest/v2/subscriptions). Custom field values in keap.subscription_custom_fields.';
comment on column keap.subscriptions.subscription_id is 'Keap subscription id.';
comment on column keap.subscriptions.contact_id is 'Subscribed contact.';
comment on column keap.subscriptions.product_id is 'Product subscribed to (keap.products).';
comment on column keap.subscriptions.subscription_plan_id is 'Plan (keap.product_subscription_plans.subscription_plan_id).';
comment on column keap.subscriptions.quantity is 'Quantity.';
comment on column keap.subscriptions.is_active is 'Whether the subscription is active (active).';
comment on column keap.subscriptions.billing_amount is 'Amount billed per cycle in currency units (a double in Keap; stored as numeric rounded to the 15 significant digits a double holds, so 1298.7 stays 1298.7).';
comment on column keap.subscriptions.is_auto_charge is 'Whether bills are charged automatically.';
comment on column keap.subscriptions.billing_frequency is 'Cycles between bills.';
comment on column keap.subscriptions.billing_cycle is 'YEAR, MONTH, WEEK or DAY.';
comment on column keap.subscriptions.start_date is 'Start date.';
comment on column keap.subscriptions.last_bill_date is 'Last bill date.';
comment on column keap.subscriptions.next_bill_date is 'Next bill date (null when inactive).';
comment on column keap.subscriptions.end_date is 'End date.';
comment on column keap.subscriptions.merchant_account_id is 'Merchant account charged.';
comment on column keap.subscriptions.payment_method_id is 'Payment method charged.';
comment on column keap.subscriptions.allow_tax is 'Whether tax is added.';
comment on column keap.subscriptions.max_charge_attempts is 'Charge attempts per bill.';
comment on column keap.subscriptions.days_between_retries is 'Days between retries of a failed charge.';
comment on column keap.subscriptions.lead_affiliate_id is 'Lead affiliate id.';
comment on column keap.subscriptions.sale_affiliate_id is 'Sale affiliate id.';
comment on column keap.subscriptions.promo_code is 'Promo code used.';
comment on column keap.subscriptions.shipping_option_id is 'Shipping option id.';
comment on column keap.subscriptions.reason_stopped is 'Why the subscription stopped.';
comment on column keap.subscriptions.shipping_line1 is 'Shipping address, line 1 (shipping_address.line1).';
comment on column keap.subscriptions.shipping_line2 is 'Shipping address, line 2.';
comment on column keap.subscriptions.shipping_locality is 'Shipping city.';
comment on column keap.subscriptions.shipping_region_code is 'Shipping region, ISO 3166-2.';
comment on column keap.subscriptions.shipping_country_code is 'Shipping country, ISO 3166-1 alpha-3.';
comment on column keap.subscriptions.shipping_postal_code is 'Shipping postal code.';
comment on column keap.subscriptions.updated_at is 'When the subscription was last modified (modification_time).';

select keap_meta.create_custom_field_values_table('subscription_custom_fields', 'keap.subscriptions', 'subscription_id', 'subscriptions');

select keap_meta.create_staging_table('subscription_model');
select keap_meta.create_staging_table('subscriptions');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('subscription_model', 'keap.custom_fields', 160, 'GET /rest/v2/subscriptions/model: subscription custom field definitions (unpaged snapshot)'),
  ('subscriptions', 'keap.subscriptions', 170, 'GET /rest/v2/subscriptions with custom field values');
