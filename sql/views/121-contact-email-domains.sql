-- keap_ops.contact_email_domains: live contacts per e-mail domain (who are our customers: which
-- companies, which free-mail providers). Fixed from the old keap_etl_support.sql, which read a
-- c.emails column that does not exist: e-mail addresses are child rows, keap.contact_emails, one
-- per slot (EMAIL1..EMAIL3), so a contact with addresses at two domains counts for both.
-- The domain is the lower-cased part after the last '@', surrounding blanks removed; addresses
-- without one are grouped under domain null. Soft-deleted contacts are left out.
-- Grain: e-mail domain.
-- Cost: one pass over keap.contact_emails joined to the live contacts (by primary key).
-- Example:
--   select domain, contact_count, primary_contact_count, opted_in_contact_count, contact_share_pct
--     from keap_ops.contact_email_domains order by contact_count desc limit 20;
drop view if exists keap_ops.contact_email_domains;
create view keap_ops.contact_email_domains as
with addr as (
  select e.contact_id, e.field, e.is_opt_in,
         nullif(lower(substring(btrim(e.email) from '@([^@]*)$')), '') as domain
    from keap.contact_emails e
    join keap.contacts c on c.contact_id = e.contact_id and c._deleted_at is null
   where e.email is not null and btrim(e.email) <> ''
)
select
  a.domain,
  count(distinct a.contact_id) as contact_count,
  count(distinct a.contact_id) filter (where a.field = 'EMAIL1') as primary_contact_count,
  count(distinct a.contact_id) filter (where a.is_opt_in) as opted_in_contact_count,
  count(*) as email_count,
  round(100.0 * count(distinct a.contact_id) / nullif((select count(*) from keap.contacts where _deleted_at is null), 0), 2) as contact_share_pct
from addr a
group by a.domain;

comment on view keap_ops.contact_email_domains is 'Live contacts per e-mail domain, from keap.contact_emails (every slot, EMAIL1..EMAIL3): how many contacts, how many use the domain as their primary address, how many are opted in there. A contact with addresses at two domains counts for both.';
comment on column keap_ops.contact_email_domains.domain is 'Lower-cased part of the address after its last @; null for addresses without one (not a valid e-mail address).';
comment on column keap_ops.contact_email_domains.contact_count is 'Live contacts with at least one address at the domain.';
comment on column keap_ops.contact_email_domains.primary_contact_count is 'Live contacts whose primary address (EMAIL1) is at the domain.';
comment on column keap_ops.contact_email_domains.opted_in_contact_count is 'Live contacts with an opted-in address (is_opt_in) at the domain.';
comment on column keap_ops.contact_email_domains.email_count is 'Addresses at the domain (a contact may have up to three).';
comment on column keap_ops.contact_email_domains.contact_share_pct is 'contact_count as a percentage of all live contacts (with or without an e-mail address), 2 decimals.';
