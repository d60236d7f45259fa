-- keap_ops.api_quota: how much of Keap's rate limits is left, and when the daily quota runs out at
-- the current pace. Keap sends the figures on every response (x-keap-product-throttle-* per rolling
-- minute, x-keap-product-quota-* per day, resetting at 00:00 UTC, x-keap-tenant-throttle-* for the
-- whole tenant); the newest request that carried them is the latest truth.
-- Pace: the requests counted against the daily quota in the last hour: how far its "available"
-- figure fell over the hour (every integration sharing the key, not only ours), or our own
-- requests of the hour when that is more (the quota reset within the hour, or headers were missing).
-- Grain: one row (no row before the first request with rate-limit headers).
-- Cost: the newest request with quota headers (partial index etl_request_log_with_quota, one
-- probe), the oldest one of the last hour (same index, one probe) and a count of the last hour's
-- requests (etl_request_log_requested_at range scan).
-- Example:
--   select quota_available, quota_used_pct, pace_per_hour, quota_runs_out_at, runs_out_before_reset
--     from keap_ops.api_quota;
drop view if exists keap_ops.api_quota;
create view keap_ops.api_quota as
with latest as (
  select q.request_id, q.run_id, q.requested_at, q.throttle_limit, q.throttle_available, q.quota_limit, q.quota_available,
         q.tenant_throttle_available, q.tenant_quota_available
    from keap_meta.etl_request_log q
   where q.quota_available is not null or q.throttle_available is not null
   order by q.requested_at desc limit 1
), hour_ago as (
  select q.requested_at, q.quota_available
    from keap_meta.etl_request_log q
   where (q.quota_available is not null or q.throttle_available is not null)
     and q.requested_at > now() - interval '1 hour'
   order by q.requested_at asc limit 1
), own as (
  select count(*) as n from keap_meta.etl_request_log q where q.requested_at > now() - interval '1 hour'
), pace as (
  select greatest(o.n, case when h.quota_available >= l.quota_available then h.quota_available - l.quota_available + 1 end)::numeric
           as per_hour
    from latest l cross join own o left join hour_ago h on true
), reset as (
  select date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' + interval '1 day' as at
)
select
  l.requested_at as as_of,
  l.run_id,
  l.request_id,
  l.throttle_limit,
  l.throttle_available,
  round(100.0 * (l.throttle_limit - l.throttle_available) / nullif(l.throttle_limit, 0), 1) as throttle_used_pct,
  l.quota_limit,
  l.quota_available,
  l.quota_limit - l.quota_available as quota_used,
  round(100.0 * (l.quota_limit - l.quota_available) / nullif(l.quota_limit, 0), 1) as quota_used_pct,
  l.tenant_throttle_available,
  l.tenant_quota_available,
  (select n from own) as own_requests_last_hour,
  round(p.per_hour, 1) as pace_per_hour,
  rs.at as quota_resets_at,
  case when p.per_hour > 0 and l.quota_available is not null
       then l.requested_at + make_interval(secs => (l.quota_available / p.per_hour * 3600)::double precision) end as quota_runs_out_at,
  coalesce(p.per_hour > 0 and l.quota_available is not null
           and l.requested_at + make_interval(secs => (l.quota_available / p.per_hour * 3600)::double precision) < rs.at, false)
    as runs_out_before_reset
from latest l cross join pace p cross join reset rs;

comment on view keap_ops.api_quota is 'Latest Keap rate-limit figures (per-minute throttle, daily quota, tenant-wide limits), the share used, the pace over the last hour and when the daily quota runs out at that pace. One row; none before the first request.';
comment on column keap_ops.api_quota.as_of is 'When the request that carried these figures was sent.';
comment on column keap_ops.api_quota.run_id is 'Run that made that request.';
comment on column keap_ops.api_quota.request_id is 'That request (keap_meta.etl_request_log).';
comment on column keap_ops.api_quota.throttle_limit is 'Requests allowed per rolling minute (x-keap-product-throttle-limit).';
comment on column keap_ops.api_quota.throttle_available is 'Requests left in the rolling minute at that moment.';
comment on column keap_ops.api_quota.throttle_used_pct is 'Share of the per-minute throttle used, in percent.';
comment on column keap_ops.api_quota.quota_limit is 'Requests allowed per day (x-keap-product-quota-limit); resets at 00:00 UTC.';
comment on column keap_ops.api_quota.quota_available is 'Requests left today at that moment (shared with other integrations on the same key).';
comment on column keap_ops.api_quota.quota_used is 'Requests used today: quota_limit - quota_available.';
comment on column keap_ops.api_quota.quota_used_pct is 'Share of the daily quota used, in percent.';
comment on column keap_ops.api_quota.tenant_throttle_available is 'Tenant-wide requests left in the minute (x-keap-tenant-throttle-available, first part), shared by every integration of the Keap account.';
comment on column keap_ops.api_quota.tenant_quota_available is 'Tenant-wide requests left today (second part of that header).';
comment on column keap_ops.api_quota.own_requests_last_hour is 'Requests this warehouse sent in the last hour.';
comment on column keap_ops.api_quota.pace_per_hour is 'Requests counted against the daily quota in the last hour: the drop of quota_available over the hour (all integrations on the key) or our own requests of the hour, whichever is more.';
comment on column keap_ops.api_quota.quota_resets_at is 'Next reset of the daily quota (00:00 UTC).';
comment on column keap_ops.api_quota.quota_runs_out_at is 'When quota_available reaches 0 at pace_per_hour; null without consumption.';
comment on column keap_ops.api_quota.runs_out_before_reset is 'True when quota_runs_out_at comes before quota_resets_at: syncs will stop at KEAP_QUOTA_RESERVE (exit 6) before midnight UTC.';
