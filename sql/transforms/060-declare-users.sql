-- Declaration of users: GET /rest/v2/users (include_inactive==true;include_partners==true) ->
-- keap.users, one row per user (user_id), the address flattened into columns, e-mails and phones
-- keyed by slot (as for contacts). created_by / updated_by are JSON numbers in Keap's payload (the
-- id is a string): the casts take both. keap_meta.generate_merge writes keap.merge_users from this.

select keap_meta.declare_entity('users', p_key_column => 'user_id', p_collection => 'users');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, change_marker) values
  ('users', 'global_user_id',       'global_user_id',       'text',        'short', null, false),
  ('users', 'keap_id',              'keap_id',              'text',        'short', null, false),
  ('users', 'given_name',           'given_name',           'text',        'short', null, false),
  ('users', 'middle_name',          'middle_name',          'text',        'short', null, false),
  ('users', 'family_name',          'family_name',          'text',        'short', null, false),
  ('users', 'nickname',             'nickname',             'text',        'short', null, false),
  ('users', 'suffix',               'suffix',               'text',        'short', null, false),
  ('users', 'spouse_name',          'spouse_name',          'text',        'short', null, false),
  ('users', 'title',                'title',                'text',        'short', null, false),
  ('users', 'company_name',         'company_name',         'text',        'short', null, false),
  ('users', 'website',              'website',              'text',        'long',  null, false),
  ('users', 'status',               'status',               'text',        'short', '{ACTIVE,INVITED,INACTIVE,NOT_A_USER}', false),
  ('users', 'is_admin',             'admin',                'boolean',     null,    null, false),
  ('users', 'is_partner',           'partner',              'boolean',     null,    null, false),
  ('users', 'address_field',        'address.field',        'text',        'short', '{ADDRESS_FIELD_UNSPECIFIED,BILLING,SHIPPING,OTHER}', false),
  ('users', 'address_line1',        'address.line1',        'text',        'short', null, false),
  ('users', 'address_line2',        'address.line2',        'text',        'short', null, false),
  ('users', 'address_locality',     'address.locality',     'text',        'short', null, false),
  ('users', 'address_region',       'address.region',       'text',        'short', null, false),
  ('users', 'address_region_code',  'address.region_code',  'text',        'short', null, false),
  ('users', 'address_country',      'address.country',      'text',        'short', null, false),
  ('users', 'address_country_code', 'address.country_code', 'text',        'short', null, false),
  ('users', 'address_postal_code',  'address.postal_code',  'text',        'short', null, false),
  ('users', 'address_zip_code',     'address.zip_code',     'text',        'short', null, false),
  ('users', 'address_zip_four',     'address.zip_four',     'text',        'short', null, false),
  ('users', 'created_by',           'created_by',           'bigint',      null,    null, false),
  ('users', 'created_at',           'create_time',          'timestamptz', null,    null, false),
  ('users', 'updated_by',           'updated_by',           'bigint',      null,    null, false),
  ('users', 'updated_at',           'update_time',          'timestamptz', null,    null, true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, slots, noun, value_column) values
  ('users', 'emails', 'keap.user_emails', 'email_addresses', 'slots', 'user_id', 'field', 'field',
   '{EMAIL1,EMAIL2,EMAIL3,EMAIL_FIELD_UNSPECIFIED}', 'e-mail', null),
  ('users', 'phones', 'keap.user_phones', 'phone_numbers',   'slots', 'user_id', 'field', 'field',
   '{PHONE1,PHONE2,PHONE3,PHONE4,PHONE5,PHONE_NUMBER_FIELD_UNSPECIFIED}', 'phone', null);

insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type, size, enum_values) values
  ('users', 'emails', 'email',            'email',            'text',    'short', null),
  ('users', 'emails', 'is_opt_in',        'is_opt_in',        'boolean', null,    null),
  ('users', 'emails', 'opt_in_reason',    'opt_in_reason',    'text',    'long',  null),
  ('users', 'emails', 'email_opt_status', 'email_opt_status', 'text',    'short',
   '{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}'),
  ('users', 'phones', 'number',           'number',           'text',    'short', null),
  ('users', 'phones', 'extension',        'extension',        'text',    'short', null),
  ('users', 'phones', 'type',             'type',             'text',    'short', null),
  ('users', 'phones', 'number_e164',      'number_e164',      'text',    'short', null);

select keap_meta.generate_merge('users');
