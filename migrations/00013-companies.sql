-- 00013: companies (GET /rest/v2/companies with fields= incl. update_time, custom_fields, address,
-- email_address, phone_number, fax_number) and their staging table.
-- Merge: keap.merge_companies in sql/transforms/013-merge-companies.sql.
-- A company has at most one address, e-mail, phone and fax, so they are columns here, not child
-- tables. Custom field values are a JSON object on the row (company custom fields are a different
-- model from the contact model loaded into keap.custom_fields).

create table keap.companies (
  company_id          bigint primary key,
  company_name        text,
  title               text,
  first_name          text,
  middle_name         text,
  last_name           text,
  suffix              text,
  preferred_name      text,
  job_title           text,
  email               text,
  is_email_opt_in     boolean,
  email_opt_in_reason text,
  email_opt_status    text,
  phone_number        text,
  phone_extension     text,
  phone_type          text,
  phone_number_e164   text,
  fax_number          text,
  fax_type            text,
  address_field       text,
  address_line1       text,
  address_line2       text,
  address_locality    text,
  address_region      text,
  address_region_code text,
  address_country     text,
  address_country_code text,
  address_postal_code text,
  address_zip_code    text,
  address_zip_four    text,
  website             text,
  notes               text,
  groups              text,
  custom_fields       jsonb not null default '{}',
  anniversary_date    date,
  birth_date          date,
  assistant_name      text,
  assistant_phone     text,
  billing_information text,
  contact_type        text,
  owner_id            bigint,
  referral_code       text,
  spouse_name         text,
  account_id          bigint,
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
create index companies_updated_at on keap.companies (updated_at);
create index companies_company_name on keap.companies (company_name);

comment on table keap.companies is 'Keap companies, one row per company (GET /rest/v2/companies). Contacts point here with keap.contacts.company_id (not a foreign key).';
comment on column keap.companies.company_id is 'Keap company id.';
comment on column keap.companies.company_name is 'Company name.';
comment on column keap.companies.title is 'Title (name prefix) of the company''s main person.';
comment on column keap.companies.first_name is 'Given name of the company''s main person.';
comment on column keap.companies.middle_name is 'Middle name of the company''s main person.';
comment on column keap.companies.last_name is 'Family name of the company''s main person.';
comment on column keap.companies.suffix is 'Name suffix of the company''s main person.';
comment on column keap.companies.preferred_name is 'Preferred name of the company''s main person.';
comment on column keap.companies.job_title is 'Job title of the company''s main person.';
comment on column keap.companies.email is 'Company e-mail address (email_address.email).';
comment on column keap.companies.is_email_opt_in is 'Whether the company e-mail is opted in to marketing (email_address.is_opt_in).';
comment on column keap.companies.email_opt_in_reason is 'Why the e-mail was opted in (email_address.opt_in_reason).';
comment on column keap.companies.email_opt_status is 'Marketability of the e-mail (email_address.email_opt_status: SINGLE_OPT_IN, CONFIRMED, NON_MARKETABLE, ...); unknown values kept and recorded as a row issue.';
comment on column keap.companies.phone_number is 'Company phone number as entered (phone_number.number).';
comment on column keap.companies.phone_extension is 'Phone extension (phone_number.extension).';
comment on column keap.companies.phone_type is 'Phone type label, e.g. Work (phone_number.type).';
comment on column keap.companies.phone_number_e164 is 'Phone number in E.164 format (phone_number.number_e164).';
comment on column keap.companies.fax_number is 'Fax number (fax_number.number).';
comment on column keap.companies.fax_type is 'Fax type label (fax_number.type).';
comment on column keap.companies.address_field is 'Address slot: BILLING, SHIPPING or OTHER (address.field).';
comment on column keap.companies.address_line1 is 'Street address line 1.';
comment on column keap.companies.address_line2 is 'Street address line 2.';
comment on column keap.companies.address_locality is 'City / municipality (address.locality).';
comment on column keap.companies.address_region is 'Region long name (address.region, deprecated by Keap in favour of region_code).';
comment on column keap.companies.address_region_code is 'ISO 3166-2 region code, e.g. US-AZ.';
comment on column keap.companies.address_country is 'Country long name (address.country, deprecated by Keap in favour of country_code).';
comment on column keap.companies.address_country_code is 'ISO 3166-1 alpha-3 country code, e.g. USA.';
comment on column keap.companies.address_postal_code is 'Postal code.';
comment on column keap.companies.address_zip_code is 'US ZIP code.';
comment on column keap.companies.address_zip_four is 'ZIP+4 extension.';
comment on column keap.companies.website is 'Company website URL.';
comment on column keap.companies.notes is 'Free-text notes on the company.';
comment on column keap.companies.groups is 'Comma-separated ids of the tags applied to the company, as Keap sends them.';
comment on column keap.companies.custom_fields is 'Custom field values as a JSON object {custom field id: content}; fields without a value are left out. Content is untyped JSON, read it with the company model''s field_type.';
comment on column keap.companies.anniversary_date is 'Anniversary date.';
comment on column keap.companies.birth_date is 'Birth date (of the main person).';
comment on column keap.companies.assistant_name is 'Assistant''s name.';
comment on column keap.companies.assistant_phone is 'Assistant''s phone.';
comment on column keap.companies.billing_information is 'Billing information text.';
comment on column keap.companies.contact_type is 'Contact type label, e.g. Customer, Lead.';
comment on column keap.companies.owner_id is 'Keap user id of the owner.';
comment on column keap.companies.referral_code is 'Referral code.';
comment on column keap.companies.spouse_name is 'Spouse''s name (of the main person).';
comment on column keap.companies.account_id is 'Keap account id of the company record.';
comment on column keap.companies.created_by is 'Keap user id that created the company.';
comment on column keap.companies.last_updated_by is 'Keap user id that last changed the company.';
comment on column keap.companies.created_at is 'When the company was created in Keap (create_time).';
comment on column keap.companies.updated_at is 'When the company was last changed in Keap (update_time); the incremental watermark field.';
comment on column keap.companies._run_id is 'Run whose merge last wrote the row.';
comment on column keap.companies._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.companies._first_seen_at is 'When the row was first inserted.';
comment on column keap.companies._deleted_at is 'Soft delete: set when a completed full traversal no longer listed the company; cleared if it is listed again.';
comment on column keap.companies._raw is 'Last raw Company object received (NUL characters removed); holds every field, also those without a column.';

select keap_meta.create_staging_table('companies');
