-- 00019: the Keap v2 spec's "unspecified" slot values are real values: Keap sends e-mails, phones and
-- addresses with field EMAIL_FIELD_UNSPECIFIED / PHONE_NUMBER_FIELD_UNSPECIFIED /
-- ADDRESS_FIELD_UNSPECIFIED, and dropping them would lose data. They key a row like any slot (a
-- second item with the same slot on one contact is still recorded as a row issue, first kept).

alter table keap.contact_emails drop constraint contact_emails_field_check;
alter table keap.contact_emails add constraint contact_emails_field_check
  check (field in ('EMAIL1', 'EMAIL2', 'EMAIL3', 'EMAIL_FIELD_UNSPECIFIED'));
alter table keap.contact_phones drop constraint contact_phones_field_check;
alter table keap.contact_phones add constraint contact_phones_field_check
  check (field in ('PHONE1', 'PHONE2', 'PHONE3', 'PHONE4', 'PHONE5', 'PHONE_NUMBER_FIELD_UNSPECIFIED'));
alter table keap.contact_addresses drop constraint contact_addresses_field_check;
alter table keap.contact_addresses add constraint contact_addresses_field_check
  check (field in ('BILLING', 'SHIPPING', 'OTHER', 'ADDRESS_FIELD_UNSPECIFIED'));

comment on column keap.contact_emails.field is 'Slot: EMAIL1 (primary), EMAIL2, EMAIL3, or EMAIL_FIELD_UNSPECIFIED (Keap sent no slot).';
comment on column keap.contact_phones.field is 'Slot: PHONE1..PHONE5, or PHONE_NUMBER_FIELD_UNSPECIFIED (Keap sent no slot).';
comment on column keap.contact_addresses.field is 'Slot: BILLING, SHIPPING, OTHER, or ADDRESS_FIELD_UNSPECIFIED (Keap sent no slot).';
comment on table keap.contact_emails is 'E-mail addresses of a contact, one row per slot (EMAIL1..EMAIL3, EMAIL_FIELD_UNSPECIFIED). Replaced whole whenever the contact changes, so removed addresses disappear.';
comment on table keap.contact_phones is 'Phone numbers of a contact, one row per slot (PHONE1..PHONE5, PHONE_NUMBER_FIELD_UNSPECIFIED). Replaced whole whenever the contact changes.';
comment on table keap.contact_addresses is 'Postal addresses of a contact, one row per slot (BILLING, SHIPPING, OTHER, ADDRESS_FIELD_UNSPECIFIED). Replaced whole whenever the contact changes.';
