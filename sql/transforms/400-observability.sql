-- Helpers of the monitoring side (keap_ops views, npm run trace). Safe to re-run (create or replace).

-- An endpoint with its numeric path segments folded into {id}: /rest/v2/tags/91/contacts and
-- /rest/v2/tags/92/contacts are one endpoint, /rest/v2/tags/{id}/contacts, for per-endpoint figures.
create or replace function keap_meta.endpoint_pattern(p_endpoint text) returns text
language sql immutable parallel safe
as $$ select regexp_replace(p_endpoint, '/[0-9]+(?=/|$)', '/{id}', 'g') $$;
comment on function keap_meta.endpoint_pattern(text) is 'Endpoint path with numeric segments replaced by {id} (e.g. /rest/v2/tags/{id}/contacts), the grain of keap_ops.request_stats and of a trace''s Requests section.';
