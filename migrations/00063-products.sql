-- 00063: product categories (GET /rest/v2/productCategories) and products (GET /rest/v2/products)
-- with their options (no id in Keap: keyed by position), subscription plans (keyed by plan id) and
-- category assignments (from the product's categories). Merges: keap.merge_product_categories and
-- keap.merge_products, generated from sql/transforms/025 and 026. Prices are CurrencyValues: exact
-- minor units plus the amount in currency units; option price adjustments are doubles (money).

create table keap.product_categories (
  product_category_id bigint primary key,
  name                text,
  display_order_index integer,
  parent_category_id  bigint
);
select keap_meta.add_entity_etl_columns('keap.product_categories', 'ProductCategory');
comment on table keap.product_categories is 'Keap product categories, one row per category (GET /rest/v2/productCategories). Keap gives them no timestamps, so every run reads the (small) list whole.';
comment on column keap.product_categories.product_category_id is 'Keap product category id.';
comment on column keap.product_categories.name is 'Category name.';
comment on column keap.product_categories.display_order_index is 'Display order of the category.';
comment on column keap.product_categories.parent_category_id is 'Parent category of a subcategory (keap.product_categories).';

create table keap.products (
  product_id               bigint primary key,
  name                     text,
  sku                      text,
  is_active                boolean,
  description              text,
  short_description        text,
  currency_code            text,
  price_minor              bigint,
  price                    numeric,
  is_shippable             boolean,
  weight                   numeric,
  is_taxable               boolean,
  is_country_taxable       boolean,
  is_state_taxable         boolean,
  is_city_taxable          boolean,
  inventory_limit          integer,
  is_out_of_stock_enabled  boolean,
  inventory_notification_email text,
  is_subscription_only     boolean,
  is_storefront_hidden     boolean,
  is_package               boolean,
  needs_digital_delivery   boolean,
  has_legacy_image         boolean,
  delivery_description     text,
  top_html                 text,
  bottom_html              text,
  created_at               timestamptz,
  updated_at               timestamptz
);
select keap_meta.add_entity_etl_columns('keap.products', 'RestV2Product_List');
create index products_updated_at on keap.products (updated_at);
comment on table keap.products is 'Keap products, one row per product (GET /rest/v2/products). Options in keap.product_options, subscription plans in keap.product_subscription_plans, categories in keap.product_category_products.';
comment on column keap.products.product_id is 'Keap product id.';
comment on column keap.products.name is 'Product name.';
comment on column keap.products.sku is 'Stock keeping unit.';
comment on column keap.products.is_active is 'Whether the product is active (active).';
comment on column keap.products.description is 'Description (HTML).';
comment on column keap.products.short_description is 'Short description.';
comment on column keap.products.currency_code is 'ISO 4217 currency of the price (price.currency_code).';
comment on column keap.products.price_minor is 'Price in minor units of currency_code (price.amount, exact).';
comment on column keap.products.price is 'Price in currency units (price_minor scaled by the currency''s ISO 4217 minor unit).';
comment on column keap.products.is_shippable is 'Whether the product ships.';
comment on column keap.products.weight is 'Shipping weight, as Keap sends it (a double; stored exactly as received).';
comment on column keap.products.is_taxable is 'Whether the product is taxable.';
comment on column keap.products.is_country_taxable is 'Country tax applies.';
comment on column keap.products.is_state_taxable is 'State tax applies.';
comment on column keap.products.is_city_taxable is 'City tax applies.';
comment on column keap.products.inventory_limit is 'Inventory limit (inventory.inventory_limit).';
comment on column keap.products.is_out_of_stock_enabled is 'Whether out-of-stock handling is on (inventory.out_of_stock_enabled).';
comment on column keap.products.inventory_notification_email is 'Where inventory notifications go (inventory.email_for_inventory_notifications).';
comment on column keap.products.is_subscription_only is 'Sold only as a subscription.';
comment on column keap.products.is_storefront_hidden is 'Hidden from the storefront.';
comment on column keap.products.is_package is 'Whether the product is a package.';
comment on column keap.products.needs_digital_delivery is 'Whether the product is delivered digitally.';
comment on column keap.products.has_legacy_image is 'Whether the product has a legacy image.';
comment on column keap.products.delivery_description is 'Delivery description.';
comment on column keap.products.top_html is 'HTML shown above the product.';
comment on column keap.products.bottom_html is 'HTML shown below the product.';
comment on column keap.products.created_at is 'When the product was created (create_time).';
comment on column keap.products.updated_at is 'When the product was last updated (update_time; the list orders by it as last_updated_time).';

create table keap.product_options (
  product_id        bigint not null,
  position          integer not null,
  name              text,
  option_type       text,
  is_required       boolean,
  fixed_options     jsonb not null default '[]',
  variable_setting  jsonb,
  primary key (product_id, position)
);
select keap_meta.add_child_etl_columns('keap.product_options', 'product');
comment on table keap.product_options is 'Options of a product (options[]). Keap gives them no id in the product list, so they are keyed by the product and their 1-based position; replaced whole whenever the product changes.';
comment on column keap.product_options.product_id is 'Product (keap.products.product_id; no foreign key).';
comment on column keap.product_options.position is '1-based position of the option in the product''s options list.';
comment on column keap.product_options.name is 'Option name, e.g. Seats.';
comment on column keap.product_options.option_type is 'FIXED (a list of choices) or VARIABLE (free text).';
comment on column keap.product_options.is_required is 'Whether a buyer must choose.';
comment on column keap.product_options.fixed_options is 'FIXED options: JSON array of {value, code, price_adjustment}.';
comment on column keap.product_options.variable_setting is 'VARIABLE options: the text rules {contains, min_chars, max_chars, ...} as received.';

create table keap.product_subscription_plans (
  product_id           bigint not null,
  subscription_plan_id bigint not null,
  is_active            boolean,
  is_prorated          boolean,
  billing_cycle        text,
  billing_frequency    integer,
  number_of_cycles     integer,
  currency_code        text,
  plan_price_minor     bigint,
  plan_price           numeric,
  order_index          integer,
  primary key (product_id, subscription_plan_id)
);
select keap_meta.add_child_etl_columns('keap.product_subscription_plans', 'product');
comment on table keap.product_subscription_plans is 'Subscription plans of a product (subscription_plans[]), one row per plan id. Replaced whole whenever the product changes.';
comment on column keap.product_subscription_plans.product_id is 'Product (keap.products.product_id; no foreign key).';
comment on column keap.product_subscription_plans.subscription_plan_id is 'Keap subscription plan id (keap.subscriptions.subscription_plan_id refers to it).';
comment on column keap.product_subscription_plans.is_active is 'Whether the plan is active.';
comment on column keap.product_subscription_plans.is_prorated is 'Whether the plan prorates (prorate).';
comment on column keap.product_subscription_plans.billing_cycle is 'DAILY, WEEKLY, MONTHLY or YEARLY.';
comment on column keap.product_subscription_plans.billing_frequency is 'Cycles between bills.';
comment on column keap.product_subscription_plans.number_of_cycles is 'Number of billing cycles (0 = until cancelled).';
comment on column keap.product_subscription_plans.currency_code is 'ISO 4217 currency of the plan price.';
comment on column keap.product_subscription_plans.plan_price_minor is 'Plan price in minor units (plan_price.amount, exact).';
comment on column keap.product_subscription_plans.plan_price is 'Plan price in currency units.';
comment on column keap.product_subscription_plans.order_index is 'Display order of the plan.';

create table keap.product_category_products (
  product_id          bigint not null,
  product_category_id bigint not null,
  _run_id             bigint,
  primary key (product_id, product_category_id)
);
create index product_category_products_category on keap.product_category_products (product_category_id);
comment on table keap.product_category_products is 'Categories a product is in (the product''s categories), one row per (product, category). Replaced whenever the product changes.';
comment on column keap.product_category_products.product_id is 'Product (keap.products.product_id; no foreign key).';
comment on column keap.product_category_products.product_category_id is 'Category (keap.product_categories.product_category_id).';
comment on column keap.product_category_products._run_id is 'Run whose merge wrote the row.';

select keap_meta.create_staging_table('product_categories');
select keap_meta.create_staging_table('products');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('product_categories', 'keap.product_categories', 140, 'GET /rest/v2/productCategories (no timestamps: read whole every run)'),
  ('products', 'keap.products', 150, 'GET /rest/v2/products with options, subscription plans and categories');
