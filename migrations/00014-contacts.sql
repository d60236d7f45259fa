-- 00014: contacts (GET /rest/v2/contacts with fields= everything) with their child collections
-- (e-mails, phones, addresses, custom field values) and the staging table.
-- Merge: keap.merge_contacts in sql/transforms/014-merge-contacts.sql.
--
-- Foreign keys: the child tables reference keap.contacts (the same merge writes parent then
-- children, so order can never fail it; cascade so a hard delete of a contact takes its children).
-- Nothing references other entities (company_id, owner_id, lead_source_id, custom_field_id): a
-- contact may name a company or field the warehouse has not seen yet, and merges must never fail
-- on order. Fax numbers, social accounts, UTM parameters and links have no table yet; they are in _raw.

create table keap.contacts (
  contact_id          bigint primary key,
  given_name          text,
  middle_name         text,
  family_name         text,
  preferred_name      text,
  prefix              text,
  suffix              text,
  job_title           text,
  company_id          bigint,
  company_name        text,
  website             text,
  birth_date          date,
  anniversary_date    date,
  spouse_name         text,
  contact_type        text,
  owner_id            bigint,
  lead_source_id      bigint,
  source_type         text,
  origin_at           timestamptz,
  origin_ip_address   text,
  preferred_locale    text,
  time_zone           text,
  referral_code       text,
  score_value         text,
  account_id          bigint,
  assistant_name      text,
  assistant_phone     text,
  billing_information text,
  created_by          bigint,
  last_updated_by     bigint,
  created_at          timestamptz,
  updated_at          timestamptz,
  _run_id             bigint,
  _synced_at          timestamptz not null default now(),
  _first_seen_at      timestamptz not null default now(),
  _deleted_at         timestamptz,
  _raw                jsonb not null
);
create index contacts_updated_at on keap.contacts (updated_at);
create index contacts_company_id on keap.contacts (company_id);
create index contacts_family_given on keap.contacts (family_name, given_name);

comment on table keap.contacts is 'Keap contacts, one row per contact (GET /rest/v2/contacts). Child collections in keap.contact_emails, contact_phones, contact_addresses, contact_custom_fields and contact_tags.';
comment on column keap.contacts.contact_id is 'Keap contact id.';
comment on column keap.contacts.given_name is 'First name.';
comment on column keap.contacts.middle_name is 'Middle name.';
comment on column keap.contacts.family_name is 'Last name / surname.';
comment on column keap.contacts.preferred_name is 'Preferred name or nickname.';
comment on column keap.contacts.prefix is 'Name prefix, e.g. Ms.';
comment on column keap.contacts.suffix is 'Name suffix, e.g. Jr.';
comment on column keap.contacts.job_title is 'Job title.';
comment on column keap.contacts.company_id is 'Keap company id of the contact''s company (company.id); join keap.companies. Not a foreign key.';
comment on column keap.contacts.company_name is 'Company name as embedded in the contact (company.company_name).';
comment on column keap.contacts.website is 'Personal website URL.';
comment on column keap.contacts.birth_date is 'Birth date.';
comment on column keap.contacts.anniversary_date is 'Anniversary date.';
comment on column keap.contacts.spouse_name is 'Spouse''s name.';
comment on column keap.contacts.contact_type is 'Contact type label, e.g. Customer, Lead (free text in Keap).';
comment on column keap.contacts.owner_id is 'Keap user id of the contact''s owner.';
comment on column keap.contacts.lead_source_id is 'Keap lead source id (leadsource_id).';
comment on column keap.contacts.source_type is 'How the contact was created: API, APPOINTMENT, FORM_API_HOSTED, FORM_API_INTERNAL, IMPORT, INTERNAL_FORM, LANDING_PAGE, MANUAL, OTHER, UNKNOWN, WEBFORM, SOURCE_TYPE_UNSPECIFIED. Unknown values are kept and recorded as a row issue.';
comment on column keap.contacts.origin_at is 'When the contact''s opt-in origin was recorded (origin.date).';
comment on column keap.contacts.origin_ip_address is 'IP address the contact''s origin came from (origin.ip_address).';
comment on column keap.contacts.preferred_locale is 'Preferred locale, e.g. en_US.';
comment on column keap.contacts.time_zone is 'Time zone name, e.g. America/Phoenix.';
comment on column keap.contacts.referral_code is 'Referral code.';
comment on column keap.contacts.score_value is 'Lead score as Keap sends it (a string).';
comment on column keap.contacts.account_id is 'Keap account id of the contact record.';
comment on column keap.contacts.assistant_name is 'Assistant''s name.';
comment on column keap.contacts.assistant_phone is 'Assistant''s phone.';
comment on column keap.contacts.billing_information is 'Billing information text.';
comment on column keap.contacts.created_by is 'Keap user id that created the contact.';
comment on column keap.contacts.last_updated_by is 'Keap user id that last changed the contact.';
comment on column keap.contacts.created_at is 'When the contact was created in Keap (create_time).';
comment on column keap.contacts.updated_at is 'When the contact was last changed in Keap (update_time, LastUpdated); the incremental watermark field.';
comment on column keap.contacts._run_id is 'Run whose merge last wrote the row.';
comment on column keap.contacts._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.contacts._first_seen_at is 'When the row was first inserted.';
comment on column keap.contacts._deleted_at is 'Soft delete: set when a completed full traversal no longer listed the contact (deleted or merged into another in Keap); cleared if it is listed again. Child rows are kept.';
comment on column keap.contacts._raw is 'Last raw Contact object received (NUL characters removed); holds every field, also those without a column (fax_numbers, social_accounts, utm_parameters, links, groups).';

create table keap.contact_emails (
  contact_id       bigint not null references keap.contacts (contact_id) on delete cascade,
  field            text not null check (field in ('EMAIL1', 'EMAIL2', 'EMAIL3')),
  email            text,
  is_opt_in        boolean,
  opt_in_reason    text,
  email_opt_status text,
  _run_id          bigint,
  _synced_at       timestamptz not null default now(),
  primary key (contact_id, field)
);
create index contact_emails_email on keap.contact_emails (lower(email));
comment on table keap.contact_emails is 'E-mail addresses of a contact, one row per slot (EMAIL1..EMAIL3). Replaced whole whenever the contact changes, so removed addresses disappear.';
comment on column keap.contact_emails.contact_id is 'Contact the address belongs to.';
comment on column keap.contact_emails.field is 'Slot: EMAIL1 (primary), EMAIL2 or EMAIL3.';
comment on column keap.contact_emails.email is 'E-mail address.';
comment on column keap.contact_emails.is_opt_in is 'Whether the address is opted in to marketing.';
comment on column keap.contact_emails.opt_in_reason is 'Why it was opted in.';
comment on column keap.contact_emails.email_opt_status is 'Marketability: UNENGAGED_MARKETABLE, SINGLE_OPT_IN, DOUBLE_OPT_IN, CONFIRMED, NON_MARKETABLE, BOUNCE, HARD_BOUNCE, SPAM, ... Unknown values are kept and recorded as a row issue.';
comment on column keap.contact_emails._run_id is 'Run whose merge wrote the row.';
comment on column keap.contact_emails._synced_at is 'When the row was written (children are replaced, so this is when the contact last changed).';

create table keap.contact_phones (
  contact_id  bigint not null references keap.contacts (contact_id) on delete cascade,
  field       text not null check (field in ('PHONE1', 'PHONE2', 'PHONE3', 'PHONE4', 'PHONE5')),
  number      text,
  extension   text,
  type        text,
  number_e164 text,
  _run_id     bigint,
  _synced_at  timestamptz not null default now(),
  primary key (contact_id, field)
);
comment on table keap.contact_phones is 'Phone numbers of a contact, one row per slot (PHONE1..PHONE5). Replaced whole whenever the contact changes.';
comment on column keap.contact_phones.contact_id is 'Contact the number belongs to.';
comment on column keap.contact_phones.field is 'Slot: PHONE1..PHONE5.';
comment on column keap.contact_phones.number is 'Number as entered.';
comment on column keap.contact_phones.extension is 'Extension.';
comment on column keap.contact_phones.type is 'Type label, e.g. Work, Mobile (free text in Keap).';
comment on column keap.contact_phones.number_e164 is 'Number in E.164 format, when Keap could normalise it.';
comment on column keap.contact_phones._run_id is 'Run whose merge wrote the row.';
comment on column keap.contact_phones._synced_at is 'When the row was written (children are replaced, so this is when the contact last changed).';

create table keap.contact_addresses (
  contact_id   bigint not null references keap.contacts (contact_id) on delete cascade,
  field        text not null check (field in ('BILLING', 'SHIPPING', 'OTHER')),
  line1        text,
  line2        text,
  locality     text,
  region       text,
  region_code  text,
  country      text,
  country_code text,
  postal_code  text,
  zip_code     text,
  zip_four     text,
  _run_id      bigint,
  _synced_at   timestamptz not null default now(),
  primary key (contact_id, field)
);
comment on table keap.contact_addresses is 'Postal addresses of a contact, one row per slot (BILLING, SHIPPING, OTHER). Replaced whole whenever the contact changes.';
comment on column keap.contact_addresses.contact_id is 'Contact the address belongs to.';
comment on column keap.contact_addresses.field is 'Slot: BILLING, SHIPPING or OTHER.';
comment on column keap.contact_addresses.line1 is 'Street address line 1.';
comment on column keap.contact_addresses.line2 is 'Street address line 2.';
comment on column keap.contact_addresses.locality is 'City / municipality.';
comment on column keap.contact_addresses.region is 'Region long name (deprecated by Keap in favour of region_code).';
comment on column keap.contact_addresses.region_code is 'ISO 3166-2 region code, e.g. US-AZ.';
comment on column keap.contact_addresses.country is 'Country long name (deprecated by Keap in favour of country_code).';
comment on column keap.contact_addresses.country_code is 'ISO 3166-1 alpha-3 country code, e.g. USA.';
comment on column keap.contact_addresses.postal_code is 'Postal code.';
comment on column keap.contact_addresses.zip_code is 'US ZIP code.';
comment on column keap.contact_addresses.zip_four is 'ZIP+4 extension.';
comment on column keap.contact_addresses._run_id is 'Run whose merge wrote the row.';
comment on column keap.contact_addresses._synced_at is 'When the row was written (children are replaced, so this is when the contact last changed).';

create table keap.contact_custom_fields (
  contact_id      bigint not null references keap.contacts (contact_id) on delete cascade,
  custom_field_id bigint not null,
  value           jsonb,
  _run_id         bigint,
  _synced_at      timestamptz not null default now(),
  primary key (contact_id, custom_field_id)
);
create index contact_custom_fields_field on keap.contact_custom_fields (custom_field_id);
comment on table keap.contact_custom_fields is 'Custom field values of a contact, one row per field that has a value (fields Keap sends with null content are left out). Definitions in keap.custom_fields (model contacts). Replaced whole whenever the contact changes.';
comment on column keap.contact_custom_fields.contact_id is 'Contact the value belongs to.';
comment on column keap.contact_custom_fields.custom_field_id is 'Custom field id; join keap.custom_fields on model = ''contacts''. Not a foreign key (a value may arrive before its definition).';
comment on column keap.contact_custom_fields.value is 'The value as Keap sends it (untyped JSON: string, number, boolean, list); read it with the field''s field_type. Null only when the value was rejected (over 65,535 characters), see keap_meta.row_issues.';
comment on column keap.contact_custom_fields._run_id is 'Run whose merge wrote the row.';
comment on column keap.contact_custom_fields._synced_at is 'When the row was written (children are replaced, so this is when the contact last changed).';

select keap_meta.create_staging_table('contacts');
