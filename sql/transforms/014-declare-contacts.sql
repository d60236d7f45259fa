-- Declaration of contacts: GET /rest/v2/contacts (fields= everything) -> keap.contacts, one row per
-- contact (contact_id), with its child collections: e-mails, phones and addresses keyed by slot
-- (EMAIL1..3, PHONE1..5, BILLING/SHIPPING/OTHER and the spec's *_FIELD_UNSPECIFIED values, which
-- Keap does send), custom field values keyed by field id, and the tag set from tag_ids (pairs keep
-- applied_at, which keap.merge_tagged_contacts sets). Absent or null lists mean empty (Keap omits
-- empty lists), so the engine requests every field. A record's _raw is part of the change check, so
-- a change in a child list (a removed e-mail, a removed tag) rewrites the contact and replaces its
-- children even when update_time did not move. keap_meta.generate_merge writes keap.merge_contacts.

select keap_meta.declare_entity('contacts', p_key_column => 'contact_id', p_collection => 'contacts');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, change_marker) values
  ('contacts', 'given_name',          'given_name',          'text',        'short', null, false),
  ('contacts', 'middle_name',         'middle_name',         'text',        'short', null, false),
  ('contacts', 'family_name',         'family_name',         'text',        'short', null, false),
  ('contacts', 'preferred_name',      'preferred_name',      'text',        'short', null, false),
  ('contacts', 'prefix',              'prefix',              'text',        'short', null, false),
  ('contacts', 'suffix',              'suffix',              'text',        'short', null, false),
  ('contacts', 'job_title',           'job_title',           'text',        'short', null, false),
  ('contacts', 'company_id',          'company.id',          'bigint',      null,    null, false),
  ('contacts', 'company_name',        'company.company_name', 'text',       'short', null, false),
  ('contacts', 'website',             'website',             'text',        'long',  null, false),
  ('contacts', 'birth_date',          'birth_date',          'date',        null,    null, false),
  ('contacts', 'anniversary_date',    'anniversary_date',    'date',        null,    null, false),
  ('contacts', 'spouse_name',         'spouse_name',         'text',        'short', null, false),
  ('contacts', 'contact_type',        'contact_type',        'text',        'short', null, false),
  ('contacts', 'owner_id',            'owner_id',            'bigint',      null,    null, false),
  ('contacts', 'lead_source_id',      'leadsource_id',       'bigint',      null,    null, false),
  ('contacts', 'source_type',         'source_type',         'text',        'short',
   '{SOURCE_TYPE_UNSPECIFIED,API,APPOINTMENT,FORM_API_HOSTED,FORM_API_INTERNAL,IMPORT,INTERNAL_FORM,LANDING_PAGE,MANUAL,OTHER,UNKNOWN,WEBFORM}', false),
  ('contacts', 'origin_at',           'origin.date',         'timestamptz', null,    null, false),
  ('contacts', 'origin_ip_address',   'origin.ip_address',   'text',        'short', null, false),
  ('contacts', 'preferred_locale',    'preferred_locale',    'text',        'short', null, false),
  ('contacts', 'time_zone',           'time_zone',           'text',        'short', null, false),
  ('contacts', 'referral_code',       'referral_code',       'text',        'short', null, false),
  ('contacts', 'score_value',         'score_value',         'text',        'short', null, false),
  ('contacts', 'account_id',          'account_id',          'bigint',      null,    null, false),
  ('contacts', 'assistant_name',      'assistant_name',      'text',        'short', null, false),
  ('contacts', 'assistant_phone',     'assistant_phone',     'text',        'short', null, false),
  ('contacts', 'billing_information', 'billing_information', 'text',        'long',  null, false),
  ('contacts', 'created_by',          'created_by',          'bigint',      null,    null, false),
  ('contacts', 'last_updated_by',     'last_updated_by',     'bigint',      null,    null, false),
  ('contacts', 'created_at',          'create_time',         'timestamptz', null,    null, false),
  ('contacts', 'updated_at',          'update_time',         'timestamptz', null,    null, true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, slots, noun, value_column) values
  ('contacts', 'emails',        'keap.contact_emails',        'email_addresses', 'slots',         'contact_id', 'field',           'field',
   '{EMAIL1,EMAIL2,EMAIL3,EMAIL_FIELD_UNSPECIFIED}', 'e-mail', null),
  ('contacts', 'phones',        'keap.contact_phones',        'phone_numbers',   'slots',         'contact_id', 'field',           'field',
   '{PHONE1,PHONE2,PHONE3,PHONE4,PHONE5,PHONE_NUMBER_FIELD_UNSPECIFIED}', 'phone', null),
  ('contacts', 'addresses',     'keap.contact_addresses',     'addresses',       'slots',         'contact_id', 'field',           'field',
   '{BILLING,SHIPPING,OTHER,ADDRESS_FIELD_UNSPECIFIED}', 'address', null),
  ('contacts', 'custom_fields', 'keap.contact_custom_fields', 'custom_fields',   'custom_fields', 'contact_id', 'custom_field_id', null,
   null, null, 'value'),
  ('contacts', 'tags',          'keap.contact_tags',          'tag_ids',         'id_set',        'contact_id', 'tag_id',          null,
   null, 'tag id', null);

insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type, size, enum_values) values
  ('contacts', 'emails',    'email',            'email',            'text',    'short', null),
  ('contacts', 'emails',    'is_opt_in',        'is_opt_in',        'boolean', null,    null),
  ('contacts', 'emails',    'opt_in_reason',    'opt_in_reason',    'text',    'long',  null),
  ('contacts', 'emails',    'email_opt_status', 'email_opt_status', 'text',    'short',
   '{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}'),
  ('contacts', 'phones',    'number',           'number',           'text',    'short', null),
  ('contacts', 'phones',    'extension',        'extension',        'text',    'short', null),
  ('contacts', 'phones',    'type',             'type',             'text',    'short', null),
  ('contacts', 'phones',    'number_e164',      'number_e164',      'text',    'short', null),
  ('contacts', 'addresses', 'line1',            'line1',            'text',    'short', null),
  ('contacts', 'addresses', 'line2',            'line2',            'text',    'short', null),
  ('contacts', 'addresses', 'locality',         'locality',         'text',    'short', null),
  ('contacts', 'addresses', 'region',           'region',           'text',    'short', null),
  ('contacts', 'addresses', 'region_code',      'region_code',      'text',    'short', null),
  ('contacts', 'addresses', 'country',          'country',          'text',    'short', null),
  ('contacts', 'addresses', 'country_code',     'country_code',     'text',    'short', null),
  ('contacts', 'addresses', 'postal_code',      'postal_code',      'text',    'short', null),
  ('contacts', 'addresses', 'zip_code',         'zip_code',         'text',    'short', null),
  ('contacts', 'addresses', 'zip_four',         'zip_four',         'text',    'short', null);

select keap_meta.generate_merge('contacts');
