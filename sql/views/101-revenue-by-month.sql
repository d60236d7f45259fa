-- keap_ops.revenue_by_month: the first question every Keap owner asks, answered from the
-- warehouse: per calendar month (UTC) and currency, what was ordered, what was collected and what
-- was refunded. Orders count by their order date (ordered_at, falling back to created_at); drafts
-- are left out. Collected money comes from keap.payments (by paid_at; Keap sends payments without a
-- currency, so they are reported under currency_code null, an own row per month); refunds are the
-- negative payments. Exact numeric sums, never floating point.
-- Grain: one row per (month, currency_code) with orders or payments.
-- Cost: one pass over live keap.orders and keap.payments.
-- Example:
--   select month, currency_code, orders_count, ordered_total, paid_total from keap_ops.revenue_by_month order by month desc limit 12;
--   select month, sum(payments_total) from keap_ops.revenue_by_month group by month order by month;
drop view if exists keap_ops.revenue_by_month;
create view keap_ops.revenue_by_month as
with ordered as (
  select date_trunc('month', coalesce(o.ordered_at, o.created_at) at time zone 'UTC')::date as month,
         o.currency_code,
         count(*) as orders_count,
         count(*) filter (where o.status = 'PAID') as paid_orders_count,
         sum(o.total) as ordered_total,
         sum(o.total_paid) as paid_total,
         sum(o.refund_total) as refunded_total
    from keap.orders o
   where o._deleted_at is null and o.status is distinct from 'DRAFT' and coalesce(o.ordered_at, o.created_at) is not null
   group by 1, 2
),
collected as (
  select date_trunc('month', p.paid_at at time zone 'UTC')::date as month,
         null::text as currency_code,
         count(*) as payments_count,
         sum(p.amount) as payments_total,
         coalesce(sum(-p.amount) filter (where p.amount < 0), 0) as payments_refunded_total
    from keap.payments p
   where p._deleted_at is null and p.paid_at is not null
   group by 1
)
select coalesce(o.month, c.month) as month,
       coalesce(o.currency_code, c.currency_code) as currency_code,
       coalesce(o.orders_count, 0) as orders_count,
       coalesce(o.paid_orders_count, 0) as paid_orders_count,
       coalesce(o.ordered_total, 0) as ordered_total,
       coalesce(o.paid_total, 0) as paid_total,
       coalesce(o.refunded_total, 0) as refunded_total,
       coalesce(c.payments_count, 0) as payments_count,
       coalesce(c.payments_total, 0) as payments_total,
       coalesce(c.payments_refunded_total, 0) as payments_refunded_total
  from ordered o
  full join collected c on c.month = o.month and c.currency_code is not distinct from o.currency_code;

comment on view keap_ops.revenue_by_month is 'Revenue per calendar month (UTC) and currency: orders placed (by order date, drafts left out) with their totals, paid and refunded amounts, and the payments collected (keap.payments, which carry no currency: currency_code null). Exact numeric sums.';
comment on column keap_ops.revenue_by_month.month is 'First day of the month (UTC).';
comment on column keap_ops.revenue_by_month.currency_code is 'ISO 4217 currency of the order amounts; null on the payments row (Keap sends payments without a currency).';
comment on column keap_ops.revenue_by_month.orders_count is 'Orders placed in the month in this currency (not drafts, not deleted).';
comment on column keap_ops.revenue_by_month.paid_orders_count is 'Of those, orders with status PAID.';
comment on column keap_ops.revenue_by_month.ordered_total is 'Sum of their totals (keap.orders.total), currency units.';
comment on column keap_ops.revenue_by_month.paid_total is 'Sum of what was paid on them (keap.orders.total_paid), currency units.';
comment on column keap_ops.revenue_by_month.refunded_total is 'Sum of what was refunded on them (keap.orders.refund_total), currency units.';
comment on column keap_ops.revenue_by_month.payments_count is 'Payments made in the month (keap.payments by paid_at), refunds included.';
comment on column keap_ops.revenue_by_month.payments_total is 'Net sum of those payments (refunds are negative), currency units.';
comment on column keap_ops.revenue_by_month.payments_refunded_total is 'Sum of the refunds among them, as a positive amount.';
