-- 00017: the contact child tables lose their foreign keys to keap.contacts. Only
-- keap.merge_contacts writes them, in the same statement sequence that writes the parent, so the
-- reference holds by construction; the foreign-key triggers cost about 5 microseconds per child row,
-- a third of the merge time of a full load (tens of custom field values per contact).

alter table keap.contact_emails drop constraint contact_emails_contact_id_fkey;
alter table keap.contact_phones drop constraint contact_phones_contact_id_fkey;
alter table keap.contact_addresses drop constraint contact_addresses_contact_id_fkey;
alter table keap.contact_custom_fields drop constraint contact_custom_fields_contact_id_fkey;

comment on column keap.contact_emails.contact_id is 'Contact the address belongs to (keap.contacts.contact_id; kept consistent by keap.merge_contacts, no foreign key).';
comment on column keap.contact_phones.contact_id is 'Contact the number belongs to (keap.contacts.contact_id; kept consistent by keap.merge_contacts, no foreign key).';
comment on column keap.contact_addresses.contact_id is 'Contact the address belongs to (keap.contacts.contact_id; kept consistent by keap.merge_contacts, no foreign key).';
comment on column keap.contact_custom_fields.contact_id is 'Contact the value belongs to (keap.contacts.contact_id; kept consistent by keap.merge_contacts, no foreign key).';
