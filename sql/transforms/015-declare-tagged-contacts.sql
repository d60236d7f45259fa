-- Declaration of tagged_contacts: GET /rest/v2/tags/{tag_id}/contacts (staging parent_key = the tag
-- id; items {id (contact id), email, given_name, family_name, applied_time}) -> applied_at in
-- keap.contact_tags, one row per (contact_id, tag_id): a new pair is inserted, an existing pair gets
-- applied_at when it changed, and an unusable applied_time never overwrites a known one (keep_known).
-- Names and e-mails of the items are not used (keap.contacts has them); they stay in staging.
-- Removals: this listing only lists current pairs, so it deletes nothing (listing 'none'); removed
-- tags disappear when keap.merge_contacts replaces a re-read contact's tag set. The watermark is
-- applied_time. keap_meta.generate_merge writes keap.merge_tagged_contacts from this.

select keap_meta.declare_entity('tagged_contacts', p_key_column => 'contact_id', p_collection => 'contacts',
                                p_listing => 'none');

insert into keap_meta.entity_columns (entity, column_name, source, data_type) values
  ('tagged_contacts', 'tag_id', 'parent_key', 'bigint');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, change_marker, keep_known) values
  ('tagged_contacts', 'applied_at', 'applied_time', 'timestamptz', true, true);

select keap_meta.generate_merge('tagged_contacts');
