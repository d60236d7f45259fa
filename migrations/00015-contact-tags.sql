-- 00015: tags applied to contacts, and the staging table of the per-tag listing
-- GET /rest/v2/tags/{tag_id}/contacts (staging parent_key = tag id).
-- Written by keap.merge_contacts (the pair set, replaced from each re-read contact's tag_ids) and by
-- keap.merge_tagged_contacts (applied_at). No foreign keys: a per-tag listing may name a contact or
-- tag the warehouse has not merged yet, and merges must never fail on order.

create table keap.contact_tags (
  contact_id  bigint not null,
  tag_id      bigint not null,
  applied_at  timestamptz,
  _run_id     bigint,
  _synced_at  timestamptz not null default now(),
  primary key (contact_id, tag_id)
);
create index contact_tags_tag_id on keap.contact_tags (tag_id, contact_id);

comment on table keap.contact_tags is 'Tags applied to contacts, one row per (contact, tag). The set of a contact is replaced from its tag_ids whenever the contact is re-read and changed, so removed tags disappear; applied_at comes from the per-tag listing and survives that replacement.';
comment on column keap.contact_tags.contact_id is 'Contact the tag is applied to (keap.contacts.contact_id, not a foreign key).';
comment on column keap.contact_tags.tag_id is 'Tag applied (keap.tags.tag_id, not a foreign key).';
comment on column keap.contact_tags.applied_at is 'When the tag was applied (applied_time of GET /rest/v2/tags/{tag_id}/contacts); null until that listing has been merged for the pair.';
comment on column keap.contact_tags._run_id is 'Run whose merge last wrote the row.';
comment on column keap.contact_tags._synced_at is 'Last time a merge wrote the row.';

select keap_meta.create_staging_table('tagged_contacts');
