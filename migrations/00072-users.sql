-- 00072: Keap users (GET /rest/v2/users with include_inactive==true;include_partners==true: Keap
-- hides inactive users and partners otherwise), their e-mail addresses and phone numbers (slots, as
-- for contacts), and the staging table. A user has at most one address: columns here.
-- Merge: keap.merge_users generated from sql/transforms/060-declare-users.sql.
-- Users have no time filter and are few (page_size <= 100): every run lists them all, so every run
-- is a full traversal with delete detection.

create table keap.users (
  user_id              bigint primary key,
  global_user_id       text,
  keap_id              text,
  given_name           text,
  middle_name          text,
  family_name          text,
  nickname             text,
  suffix               text,
  spouse_name          text,
  title                text,
  company_name         text,
  website              text,
  status               text,
  is_admin             boolean,
  is_partner           boolean,
  address_field        text,
  address_line1        text,
  address_line2        text,
  address_locality     text,
  address_region       text,
  address_region_code  text,
  address_country      text,
  address_country_code text,
  address_postal_code  text,
  address_zip_code     text,
  address_zip_four     text,
  created_by           bigint,
  created_at           timestamptz,
  updated_by           bigint,
  updated_at           timestamptz
);
select keap_meta.add_entity_etl_columns('keap.users', 'User');
comment on column keap.users._deleted_at is 'Soft delete: set when a complete listing no longer had the user (deleted in Keap); cleared if it is listed again. Deactivated users stay live with status INACTIVE.';

comment on table keap.users is 'Keap users, one row per user (GET /rest/v2/users), inactive users and partners included. Contacts, companies, opportunities, notes and tasks point here with their owner / user ids (not foreign keys).';
comment on column keap.users.user_id is 'Keap user id.';
comment on column keap.users.global_user_id is 'Keap''s global (cross-account) user id, as sent.';
comment on column keap.users.keap_id is 'The user''s Keap login (Keap ID, usually an e-mail address).';
comment on column keap.users.given_name is 'Given name.';
comment on column keap.users.middle_name is 'Middle name.';
comment on column keap.users.family_name is 'Family name.';
comment on column keap.users.nickname is 'Nickname.';
comment on column keap.users.suffix is 'Name suffix.';
comment on column keap.users.spouse_name is 'Spouse''s name.';
comment on column keap.users.title is 'Job title.';
comment on column keap.users.company_name is 'Company name on the user''s profile.';
comment on column keap.users.website is 'Website URL.';
comment on column keap.users.status is 'ACTIVE, INVITED, INACTIVE or NOT_A_USER; unknown values are kept and recorded as a row issue.';
comment on column keap.users.is_admin is 'Whether the user is an administrator (admin).';
comment on column keap.users.is_partner is 'Whether the user is a partner user (partner); Keap lists partners only when asked.';
comment on column keap.users.address_field is 'Address slot: BILLING, SHIPPING or OTHER (address.field).';
comment on column keap.users.address_line1 is 'Street address line 1.';
comment on column keap.users.address_line2 is 'Street address line 2.';
comment on column keap.users.address_locality is 'City / municipality (address.locality).';
comment on column keap.users.address_region is 'Region long name (address.region, deprecated by Keap in favour of region_code).';
comment on column keap.users.address_region_code is 'ISO 3166-2 region code, e.g. US-AZ.';
comment on column keap.users.address_country is 'Country long name (address.country, deprecated by Keap in favour of country_code).';
comment on column keap.users.address_country_code is 'ISO 3166-1 alpha-3 country code, e.g. USA.';
comment on column keap.users.address_postal_code is 'Postal code.';
comment on column keap.users.address_zip_code is 'US ZIP code.';
comment on column keap.users.address_zip_four is 'ZIP+4 extension.';
comment on column keap.users.created_by is 'Keap user id that created the user (Keap sends it as a number).';
comment on column keap.users.created_at is 'When the user was created in Keap (create_time).';
comment on column keap.users.updated_by is 'Keap user id that last changed the user (a number in Keap''s payload).';
comment on column keap.users.updated_at is 'When the user was last changed in Keap (update_time). Users cannot be filtered or ordered by it, so every run lists them all.';

create table keap.user_emails (
  user_id          bigint not null,
  field            text not null check (field in ('EMAIL1', 'EMAIL2', 'EMAIL3', 'EMAIL_FIELD_UNSPECIFIED')),
  email            text,
  is_opt_in        boolean,
  opt_in_reason    text,
  email_opt_status text,
  primary key (user_id, field)
);
create index user_emails_email on keap.user_emails (lower(email));
comment on table keap.user_emails is 'E-mail addresses of a Keap user, one row per slot (EMAIL1..EMAIL3, EMAIL_FIELD_UNSPECIFIED). Replaced whole whenever the user changes.';
comment on column keap.user_emails.user_id is 'User the address belongs to (keap.users.user_id; kept consistent by keap.merge_users, no foreign key).';
comment on column keap.user_emails.field is 'Slot: EMAIL1 (primary), EMAIL2, EMAIL3, or EMAIL_FIELD_UNSPECIFIED (Keap sent no slot).';
comment on column keap.user_emails.email is 'E-mail address.';
comment on column keap.user_emails.is_opt_in is 'Whether the address is opted in to marketing.';
comment on column keap.user_emails.opt_in_reason is 'Why it was opted in.';
comment on column keap.user_emails.email_opt_status is 'Marketability (CONFIRMED, NON_MARKETABLE, ...); unknown values are kept and recorded as a row issue.';
select keap_meta.add_child_etl_columns('keap.user_emails', 'user');

create table keap.user_phones (
  user_id     bigint not null,
  field       text not null check (field in ('PHONE1', 'PHONE2', 'PHONE3', 'PHONE4', 'PHONE5', 'PHONE_NUMBER_FIELD_UNSPECIFIED')),
  number      text,
  extension   text,
  type        text,
  number_e164 text,
  primary key (user_id, field)
);
comment on table keap.user_phones is 'Phone numbers of a Keap user, one row per slot (PHONE1..PHONE5, PHONE_NUMBER_FIELD_UNSPECIFIED). Replaced whole whenever the user changes.';
comment on column keap.user_phones.user_id is 'User the number belongs to (keap.users.user_id; kept consistent by keap.merge_users, no foreign key).';
comment on column keap.user_phones.field is 'Slot: PHONE1..PHONE5, or PHONE_NUMBER_FIELD_UNSPECIFIED (Keap sent no slot).';
comment on column keap.user_phones.number is 'Number as entered.';
comment on column keap.user_phones.extension is 'Extension.';
comment on column keap.user_phones.type is 'Type label, e.g. Work, Mobile (free text in Keap).';
comment on column keap.user_phones.number_e164 is 'Number in E.164 format, when Keap could normalise it.';
select keap_meta.add_child_etl_columns('keap.user_phones', 'user');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('users', 'keap.users', 740, 'GET /rest/v2/users with include_inactive==true;include_partners==true (every user), e-mails and phones; listed whole every run');

select keap_meta.create_staging_table('users');
