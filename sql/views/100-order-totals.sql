-- keap_ops.order_totals: per order, the total its line items add up to beside the total Keap
-- reports, and whether they disagree: a reconciliation of keap.orders against keap.order_items.
-- Replaces the old keap_etl_support.sql query that summed a column that never existed (oi.qty).
-- The items' total: sum over the lines of quantity x price_per_unit, minus each line's discount,
-- except on discount lines (item_type DISCOUNT*), whose own negative price already is the
-- discount (their discount field repeats it). Exact: computed in minor units (bigint) and in
-- currency units (numeric), never in floating point.
-- Grain: one row per live order (keap.orders._deleted_at is null).
-- Cost: one pass over keap.orders and keap.order_items (hash join); filter by order_id or ordered_at.
-- Example:
--   select order_id, currency_code, items_total, keap_total, difference from keap_ops.order_totals where totals_disagree;
--   select count(*) filter (where totals_disagree) as disagreeing, count(*) as orders from keap_ops.order_totals;
drop view if exists keap_ops.order_totals;
create view keap_ops.order_totals as
with items as (
  select i.order_id,
         count(*) as item_count,
         count(*) filter (where i.quantity is null or i.price_per_unit_minor is null) as unpriced_item_count,
         sum(i.quantity::numeric * i.price_per_unit_minor) as subtotal_minor,
         sum(case when i.item_type like 'DISCOUNT%' then 0 else coalesce(i.discount_minor, 0) end) as discount_minor,
         sum(i.quantity * i.price_per_unit) as subtotal,
         sum(case when i.item_type like 'DISCOUNT%' then 0 else coalesce(i.discount, 0) end) as discount,
         count(distinct i.currency_code) filter (where i.currency_code is distinct from o.currency_code) as other_currency_count
    from keap.order_items i
    join keap.orders o on o.order_id = i.order_id
   group by i.order_id
)
select
  o.order_id,
  o.contact_id,
  o.status,
  o.ordered_at,
  o.currency_code,
  coalesce(it.item_count, 0) as item_count,
  coalesce(it.subtotal_minor, 0) as items_subtotal_minor,
  coalesce(it.discount_minor, 0) as items_discount_minor,
  coalesce(it.subtotal_minor, 0) - coalesce(it.discount_minor, 0) as items_total_minor,
  o.total_minor as keap_total_minor,
  o.total_minor - (coalesce(it.subtotal_minor, 0) - coalesce(it.discount_minor, 0)) as difference_minor,
  coalesce(it.subtotal, 0) - coalesce(it.discount, 0) as items_total,
  o.total as keap_total,
  o.total - (coalesce(it.subtotal, 0) - coalesce(it.discount, 0)) as difference,
  coalesce(it.unpriced_item_count, 0) > 0 as has_unpriced_items,
  coalesce(it.other_currency_count, 0) > 0 as has_other_currency,
  (o.total_minor is distinct from coalesce(it.subtotal_minor, 0) - coalesce(it.discount_minor, 0))
    or coalesce(it.unpriced_item_count, 0) > 0 or coalesce(it.other_currency_count, 0) > 0 as totals_disagree
from keap.orders o
left join items it on it.order_id = o.order_id
where o._deleted_at is null;

comment on view keap_ops.order_totals is 'Per live order: the total of its line items (quantity x price per unit minus line discounts; discount lines count by their own negative price) beside Keap''s own total, the difference, and a flag where they disagree. Exact, in minor units and currency units.';
comment on column keap_ops.order_totals.order_id is 'Order (keap.orders.order_id).';
comment on column keap_ops.order_totals.contact_id is 'Contact the order is for.';
comment on column keap_ops.order_totals.status is 'Order status (DRAFT, SENT, VIEWED, PAID).';
comment on column keap_ops.order_totals.ordered_at is 'Order date (keap.orders.ordered_at).';
comment on column keap_ops.order_totals.currency_code is 'ISO 4217 currency of the order; every amount of the row is in it.';
comment on column keap_ops.order_totals.item_count is 'Line items of the order (keap.order_items).';
comment on column keap_ops.order_totals.items_subtotal_minor is 'Sum over the items of quantity x price_per_unit, in minor units (exact; discount lines count negative).';
comment on column keap_ops.order_totals.items_discount_minor is 'Sum of the discounts recorded on non-discount lines, in minor units.';
comment on column keap_ops.order_totals.items_total_minor is 'items_subtotal_minor - items_discount_minor: what the items add up to, in minor units.';
comment on column keap_ops.order_totals.keap_total_minor is 'The order total Keap reports (keap.orders.total_minor), in minor units.';
comment on column keap_ops.order_totals.difference_minor is 'keap_total_minor - items_total_minor (null when Keap sent no usable total).';
comment on column keap_ops.order_totals.items_total is 'What the items add up to, in currency units (exact numeric).';
comment on column keap_ops.order_totals.keap_total is 'The order total Keap reports, in currency units.';
comment on column keap_ops.order_totals.difference is 'keap_total - items_total, in currency units.';
comment on column keap_ops.order_totals.has_unpriced_items is 'True when an item has no usable quantity or price (see keap_ops.recent_row_issues); the items'' total then leaves it out.';
comment on column keap_ops.order_totals.has_other_currency is 'True when an item is priced in another currency than the order, so the sums mix currencies.';
comment on column keap_ops.order_totals.totals_disagree is 'True when the items'' total differs from Keap''s total (or Keap''s total is missing), an item is unpriced, or the currencies differ: the orders to look at.';
