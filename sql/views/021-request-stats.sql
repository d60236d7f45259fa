-- keap_ops.request_stats: how the Keap API behaved in the last 24 hours, per endpoint.
-- Grain: endpoint pattern x method (numeric path segments become {id}, so /rest/v2/tags/91/contacts
-- and /rest/v2/tags/92/contacts are one row: /rest/v2/tags/{id}/contacts).
-- Cost: an index range scan of keap_meta.etl_request_log over 24 hours (etl_request_log_requested_at)
-- and a sort per endpoint for the percentiles; never the whole request log.
-- Example:
--   select endpoint, calls, errors, throttled_429, retries, p95_ms, max_ms, mbytes
--     from keap_ops.request_stats order by calls desc;
--   select * from keap_ops.request_stats where throttled_429 > 0 or errors > 0;
drop view if exists keap_ops.request_stats;
create view keap_ops.request_stats as
select
  keap_meta.endpoint_pattern(q.endpoint) as endpoint,
  q.method,
  count(*) as calls,
  count(*) filter (where q.http_status between 200 and 299) as ok_calls,
  count(*) filter (where (q.http_status is null or q.http_status >= 400) and q.http_status is distinct from 429) as errors,
  count(*) filter (where q.http_status = 429) as throttled_429,
  count(*) filter (where q.attempt > 1) as retries,
  count(distinct q.run_id) as runs,
  coalesce(sum(q.record_count), 0) as records,
  round(coalesce(sum(q.bytes), 0) / 1048576.0, 3) as mbytes,
  coalesce(sum(q.bytes), 0) as bytes,
  percentile_cont(0.5) within group (order by q.duration_ms)::integer as p50_ms,
  percentile_cont(0.95) within group (order by q.duration_ms)::integer as p95_ms,
  max(q.duration_ms) as max_ms,
  min(q.requested_at) as first_called_at,
  max(q.requested_at) as last_called_at
from keap_meta.etl_request_log q
where q.requested_at > now() - interval '24 hours'
group by 1, 2;

comment on view keap_ops.request_stats is 'Keap API requests of the last 24 hours per endpoint (numeric ids folded into {id}) and method: calls, errors, 429s, retries, p50/p95/max duration and bytes.';
comment on column keap_ops.request_stats.endpoint is 'Endpoint path with numeric segments replaced by {id}, e.g. /rest/v2/tags/{id}/contacts.';
comment on column keap_ops.request_stats.method is 'HTTP method.';
comment on column keap_ops.request_stats.calls is 'Requests sent, retries and failures included.';
comment on column keap_ops.request_stats.ok_calls is 'Requests answered 2xx.';
comment on column keap_ops.request_stats.errors is 'Requests that failed other than by throttling: no response (network error, timeout) or HTTP 4xx/5xx except 429.';
comment on column keap_ops.request_stats.throttled_429 is 'Requests Keap refused with 429 (throttle or quota): each one is a pacing miss.';
comment on column keap_ops.request_stats.retries is 'Requests that were retries of a page (attempt > 1).';
comment on column keap_ops.request_stats.runs is 'Distinct runs that called the endpoint.';
comment on column keap_ops.request_stats.records is 'Records received.';
comment on column keap_ops.request_stats.mbytes is 'Response bytes received, in MiB.';
comment on column keap_ops.request_stats.bytes is 'Response bytes received.';
comment on column keap_ops.request_stats.p50_ms is 'Median request duration in milliseconds (send to whole body read).';
comment on column keap_ops.request_stats.p95_ms is '95th percentile request duration in milliseconds.';
comment on column keap_ops.request_stats.max_ms is 'Slowest request in milliseconds.';
comment on column keap_ops.request_stats.first_called_at is 'First request in the window.';
comment on column keap_ops.request_stats.last_called_at is 'Last request in the window.';
