-- Declaration of companies: GET /rest/v2/companies -> keap.companies, one row per company
-- (company_id); address, e-mail, phone and fax flattened into columns, custom field values as a
-- JSON object {custom field id: content} (null contents left out; a value over 65,535 characters
-- is stored as JSON null and an entry without an integer id skipped, each with a row issue).
-- keap_meta.generate_merge writes keap.merge_companies from this.

select keap_meta.declare_entity('companies', p_key_column => 'company_id', p_collection => 'companies');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape, change_marker) values
  ('companies', 'company_name',         'company_name',                  'text',    'short', null, null, false),
  ('companies', 'title',                'title',                         'text',    'short', null, null, false),
  ('companies', 'first_name',           'first_name',                    'text',    'short', null, null, false),
  ('companies', 'middle_name',          'middle_name',                   'text',    'short', null, null, false),
  ('companies', 'last_name',            'last_name',                     'text',    'short', null, null, false),
  ('companies', 'suffix',               'suffix',                        'text',    'short', null, null, false),
  ('companies', 'preferred_name',       'preferred_name',                'text',    'short', null, null, false),
  ('companies', 'job_title',            'job_title',                     'text',    'short', null, null, false),
  ('companies', 'email',                'email_address.email',           'text',    'short', null, null, false),
  ('companies', 'is_email_opt_in',      'email_address.is_opt_in',       'boolean', null,    null, null, false),
  ('companies', 'email_opt_in_reason',  'email_address.opt_in_reason',   'text',    'long',  null, null, false),
  ('companies', 'email_opt_status',     'email_address.email_opt_status', 'text',   'short',
   '{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}', null, false),
  ('companies', 'phone_number',         'phone_number.number',           'text',    'short', null, null, false),
  ('companies', 'phone_extension',      'phone_number.extension',        'text',    'short', null, null, false),
  ('companies', 'phone_type',           'phone_number.type',             'text',    'short', null, null, false),
  ('companies', 'phone_number_e164',    'phone_number.number_e164',      'text',    'short', null, null, false),
  ('companies', 'fax_number',           'fax_number.number',             'text',    'short', null, null, false),
  ('companies', 'fax_type',             'fax_number.type',               'text',    'short', null, null, false),
  ('companies', 'address_field',        'address.field',                 'text',    'short', '{ADDRESS_FIELD_UNSPECIFIED,BILLING,SHIPPING,OTHER}', null, false),
  ('companies', 'address_line1',        'address.line1',                 'text',    'short', null, null, false),
  ('companies', 'address_line2',        'address.line2',                 'text',    'short', null, null, false),
  ('companies', 'address_locality',     'address.locality',              'text',    'short', null, null, false),
  ('companies', 'address_region',       'address.region',                'text',    'short', null, null, false),
  ('companies', 'address_region_code',  'address.region_code',           'text',    'short', null, null, false),
  ('companies', 'address_country',      'address.country',               'text',    'short', null, null, false),
  ('companies', 'address_country_code', 'address.country_code',          'text',    'short', null, null, false),
  ('companies', 'address_postal_code',  'address.postal_code',           'text',    'short', null, null, false),
  ('companies', 'address_zip_code',     'address.zip_code',              'text',    'short', null, null, false),
  ('companies', 'address_zip_four',     'address.zip_four',              'text',    'short', null, null, false),
  ('companies', 'website',              'website',                       'text',    'long',  null, null, false),
  ('companies', 'notes',                'notes',                         'text',    'long',  null, null, false),
  ('companies', 'groups',               'groups',                        'text',    'long',  null, null, false),
  ('companies', 'anniversary_date',     'anniversary_date',              'date',    null,    null, null, false),
  ('companies', 'birth_date',           'birth_date',                    'date',    null,    null, null, false),
  ('companies', 'assistant_name',       'assistant_name',                'text',    'short', null, null, false),
  ('companies', 'assistant_phone',      'assistant_phone',               'text',    'short', null, null, false),
  ('companies', 'billing_information',  'billing_information',           'text',    'long',  null, null, false),
  ('companies', 'contact_type',         'contact_type',                  'text',    'short', null, null, false),
  ('companies', 'owner_id',             'owner_id',                      'bigint',  null,    null, null, false),
  ('companies', 'referral_code',        'referral_code',                 'text',    'short', null, null, false),
  ('companies', 'spouse_name',          'spouse_name',                   'text',    'short', null, null, false),
  ('companies', 'account_id',           'account_id',                    'bigint',  null,    null, null, false),
  ('companies', 'created_by',           'created_by',                    'bigint',  null,    null, null, false),
  ('companies', 'last_updated_by',      'last_updated_by',               'bigint',  null,    null, null, false),
  ('companies', 'created_at',           'create_time',                   'timestamptz', null, null, null, false),
  ('companies', 'updated_at',           'update_time',                   'timestamptz', null, null, null, true),
  ('companies', 'custom_fields',        'custom_fields',                 'jsonb',   null,    null, 'custom_field_map', false);

select keap_meta.generate_merge('companies');
