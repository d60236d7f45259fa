-- keap.merge_companies: staged pages of GET /rest/v2/companies -> keap.companies.
-- Grain in: one staged page (keap_staging.companies, collection key companies) of the run.
-- Grain out: one row per company (company_id); address, e-mail, phone and fax flattened into columns,
-- custom field values as a JSON object.
-- Called by: the TypeScript engine after staging pages, p_finish_sweep => true after the last page
-- of a complete full traversal. Safe to re-run: a second call finds no unmerged pages and logs zeros.
-- Custom field values: {custom field id: content}, fields with null content left out; a value over
-- 65,535 characters is stored as JSON null with a row issue, an entry without an integer id is
-- skipped with a row issue (both kept in _raw).

create or replace procedure keap.merge_companies(p_run_id bigint, p_finish_sweep boolean default false)
language plpgsql
as $$
declare
  v_started  timestamptz := clock_timestamp();
  v_mark     bigint := keap_meta.issue_mark();
  v_pages    bigint[];
  v_written  bigint[];
  v_inserted bigint;
  v_updated  bigint;
  v_received bigint;
begin
  v_pages := keap_meta.claim_pages('companies', p_run_id);

  -- recs and pick: the claimed pages' records, newest version per id, unchanged ones left out
  v_received := keap_meta.prepare_entity_merge(p_run_id, 'companies', v_pages, 'keap.companies', 'company_id');

  -- src: one typed row per picked record
  perform keap_meta.drop_temp_table('merge_src');
  create temporary table merge_src on commit drop as
  select r.id as company_id, r.page_id, r.rec,
         keap_meta.try_text(r.rec ->> 'company_name', keap_meta.max_short_text_chars()) as company_name,
         keap_meta.try_text(r.rec ->> 'title', keap_meta.max_short_text_chars()) as title,
         keap_meta.try_text(r.rec ->> 'first_name', keap_meta.max_short_text_chars()) as first_name,
         keap_meta.try_text(r.rec ->> 'middle_name', keap_meta.max_short_text_chars()) as middle_name,
         keap_meta.try_text(r.rec ->> 'last_name', keap_meta.max_short_text_chars()) as last_name,
         keap_meta.try_text(r.rec ->> 'suffix', keap_meta.max_short_text_chars()) as suffix,
         keap_meta.try_text(r.rec ->> 'preferred_name', keap_meta.max_short_text_chars()) as preferred_name,
         keap_meta.try_text(r.rec ->> 'job_title', keap_meta.max_short_text_chars()) as job_title,
         keap_meta.try_text(r.rec #>> '{email_address,email}', keap_meta.max_short_text_chars()) as email,
         keap_meta.try_boolean(r.rec #>> '{email_address,is_opt_in}') as is_email_opt_in,
         keap_meta.try_text(r.rec #>> '{email_address,opt_in_reason}', keap_meta.max_long_text_chars()) as email_opt_in_reason,
         keap_meta.try_text(r.rec #>> '{email_address,email_opt_status}', keap_meta.max_short_text_chars()) as email_opt_status,
         keap_meta.try_text(r.rec #>> '{phone_number,number}', keap_meta.max_short_text_chars()) as phone_number,
         keap_meta.try_text(r.rec #>> '{phone_number,extension}', keap_meta.max_short_text_chars()) as phone_extension,
         keap_meta.try_text(r.rec #>> '{phone_number,type}', keap_meta.max_short_text_chars()) as phone_type,
         keap_meta.try_text(r.rec #>> '{phone_number,number_e164}', keap_meta.max_short_text_chars()) as phone_number_e164,
         keap_meta.try_text(r.rec #>> '{fax_number,number}', keap_meta.max_short_text_chars()) as fax_number,
         keap_meta.try_text(r.rec #>> '{fax_number,type}', keap_meta.max_short_text_chars()) as fax_type,
         keap_meta.try_text(r.rec #>> '{address,field}', keap_meta.max_short_text_chars()) as address_field,
         keap_meta.try_text(r.rec #>> '{address,line1}', keap_meta.max_short_text_chars()) as address_line1,
         keap_meta.try_text(r.rec #>> '{address,line2}', keap_meta.max_short_text_chars()) as address_line2,
         keap_meta.try_text(r.rec #>> '{address,locality}', keap_meta.max_short_text_chars()) as address_locality,
         keap_meta.try_text(r.rec #>> '{address,region}', keap_meta.max_short_text_chars()) as address_region,
         keap_meta.try_text(r.rec #>> '{address,region_code}', keap_meta.max_short_text_chars()) as address_region_code,
         keap_meta.try_text(r.rec #>> '{address,country}', keap_meta.max_short_text_chars()) as address_country,
         keap_meta.try_text(r.rec #>> '{address,country_code}', keap_meta.max_short_text_chars()) as address_country_code,
         keap_meta.try_text(r.rec #>> '{address,postal_code}', keap_meta.max_short_text_chars()) as address_postal_code,
         keap_meta.try_text(r.rec #>> '{address,zip_code}', keap_meta.max_short_text_chars()) as address_zip_code,
         keap_meta.try_text(r.rec #>> '{address,zip_four}', keap_meta.max_short_text_chars()) as address_zip_four,
         keap_meta.try_text(r.rec ->> 'website', keap_meta.max_long_text_chars()) as website,
         keap_meta.try_text(r.rec ->> 'notes', keap_meta.max_long_text_chars()) as notes,
         keap_meta.try_text(r.rec ->> 'groups', keap_meta.max_long_text_chars()) as groups,
         keap_meta.try_date(r.rec ->> 'anniversary_date') as anniversary_date,
         keap_meta.try_date(r.rec ->> 'birth_date') as birth_date,
         keap_meta.try_text(r.rec ->> 'assistant_name', keap_meta.max_short_text_chars()) as assistant_name,
         keap_meta.try_text(r.rec ->> 'assistant_phone', keap_meta.max_short_text_chars()) as assistant_phone,
         keap_meta.try_text(r.rec ->> 'billing_information', keap_meta.max_long_text_chars()) as billing_information,
         keap_meta.try_text(r.rec ->> 'contact_type', keap_meta.max_short_text_chars()) as contact_type,
         keap_meta.try_bigint(r.rec ->> 'owner_id') as owner_id,
         keap_meta.try_text(r.rec ->> 'referral_code', keap_meta.max_short_text_chars()) as referral_code,
         keap_meta.try_text(r.rec ->> 'spouse_name', keap_meta.max_short_text_chars()) as spouse_name,
         keap_meta.try_bigint(r.rec ->> 'account_id') as account_id,
         keap_meta.try_bigint(r.rec ->> 'created_by') as created_by,
         keap_meta.try_bigint(r.rec ->> 'last_updated_by') as last_updated_by,
         keap_meta.try_timestamptz(r.rec ->> 'create_time') as created_at,
         keap_meta.try_timestamptz(r.rec ->> 'update_time') as updated_at,
         keap_meta.custom_field_values(r.rec -> 'custom_fields') as custom_fields
    from pg_temp.merge_pick r;

  -- upsert: write only new, changed or soft-deleted rows; xmax = 0 tells inserts from updates
  with up as (
    insert into keap.companies as t (company_id, company_name, title, first_name, middle_name, last_name, suffix, preferred_name, job_title, email, is_email_opt_in, email_opt_in_reason, email_opt_status, phone_number, phone_extension, phone_type, phone_number_e164, fax_number, fax_type, address_field, address_line1, address_line2, address_locality, address_region, address_region_code, address_country, address_country_code, address_postal_code, address_zip_code, address_zip_four, website, notes, groups, anniversary_date, birth_date, assistant_name, assistant_phone, billing_information, contact_type, owner_id, referral_code, spouse_name, account_id, created_by, last_updated_by, created_at, updated_at, custom_fields, _run_id, _raw)
    select s.company_id, s.company_name, s.title, s.first_name, s.middle_name, s.last_name, s.suffix, s.preferred_name, s.job_title, s.email, s.is_email_opt_in, s.email_opt_in_reason, s.email_opt_status, s.phone_number, s.phone_extension, s.phone_type, s.phone_number_e164, s.fax_number, s.fax_type, s.address_field, s.address_line1, s.address_line2, s.address_locality, s.address_region, s.address_region_code, s.address_country, s.address_country_code, s.address_postal_code, s.address_zip_code, s.address_zip_four, s.website, s.notes, s.groups, s.anniversary_date, s.birth_date, s.assistant_name, s.assistant_phone, s.billing_information, s.contact_type, s.owner_id, s.referral_code, s.spouse_name, s.account_id, s.created_by, s.last_updated_by, s.created_at, s.updated_at, s.custom_fields, p_run_id, s.rec
      from pg_temp.merge_src s
    on conflict (company_id) do update
      set company_name = excluded.company_name,
          title = excluded.title,
          first_name = excluded.first_name,
          middle_name = excluded.middle_name,
          last_name = excluded.last_name,
          suffix = excluded.suffix,
          preferred_name = excluded.preferred_name,
          job_title = excluded.job_title,
          email = excluded.email,
          is_email_opt_in = excluded.is_email_opt_in,
          email_opt_in_reason = excluded.email_opt_in_reason,
          email_opt_status = excluded.email_opt_status,
          phone_number = excluded.phone_number,
          phone_extension = excluded.phone_extension,
          phone_type = excluded.phone_type,
          phone_number_e164 = excluded.phone_number_e164,
          fax_number = excluded.fax_number,
          fax_type = excluded.fax_type,
          address_field = excluded.address_field,
          address_line1 = excluded.address_line1,
          address_line2 = excluded.address_line2,
          address_locality = excluded.address_locality,
          address_region = excluded.address_region,
          address_region_code = excluded.address_region_code,
          address_country = excluded.address_country,
          address_country_code = excluded.address_country_code,
          address_postal_code = excluded.address_postal_code,
          address_zip_code = excluded.address_zip_code,
          address_zip_four = excluded.address_zip_four,
          website = excluded.website,
          notes = excluded.notes,
          groups = excluded.groups,
          anniversary_date = excluded.anniversary_date,
          birth_date = excluded.birth_date,
          assistant_name = excluded.assistant_name,
          assistant_phone = excluded.assistant_phone,
          billing_information = excluded.billing_information,
          contact_type = excluded.contact_type,
          owner_id = excluded.owner_id,
          referral_code = excluded.referral_code,
          spouse_name = excluded.spouse_name,
          account_id = excluded.account_id,
          created_by = excluded.created_by,
          last_updated_by = excluded.last_updated_by,
          created_at = excluded.created_at,
          updated_at = excluded.updated_at,
          custom_fields = excluded.custom_fields,
          _run_id = excluded._run_id, _raw = excluded._raw, _synced_at = now(), _deleted_at = null
      where t._deleted_at is not null
         or (t.company_name, t.title, t.first_name, t.middle_name, t.last_name, t.suffix, t.preferred_name, t.job_title, t.email, t.is_email_opt_in, t.email_opt_in_reason, t.email_opt_status, t.phone_number, t.phone_extension, t.phone_type, t.phone_number_e164, t.fax_number, t.fax_type, t.address_field, t.address_line1, t.address_line2, t.address_locality, t.address_region, t.address_region_code, t.address_country, t.address_country_code, t.address_postal_code, t.address_zip_code, t.address_zip_four, t.website, t.notes, t.groups, t.anniversary_date, t.birth_date, t.assistant_name, t.assistant_phone, t.billing_information, t.contact_type, t.owner_id, t.referral_code, t.spouse_name, t.account_id, t.created_by, t.last_updated_by, t.created_at, t.updated_at, t.custom_fields, t._raw)
            is distinct from (excluded.company_name, excluded.title, excluded.first_name, excluded.middle_name, excluded.last_name, excluded.suffix, excluded.preferred_name, excluded.job_title, excluded.email, excluded.is_email_opt_in, excluded.email_opt_in_reason, excluded.email_opt_status, excluded.phone_number, excluded.phone_extension, excluded.phone_type, excluded.phone_number_e164, excluded.fax_number, excluded.fax_type, excluded.address_field, excluded.address_line1, excluded.address_line2, excluded.address_locality, excluded.address_region, excluded.address_region_code, excluded.address_country, excluded.address_country_code, excluded.address_postal_code, excluded.address_zip_code, excluded.address_zip_four, excluded.website, excluded.notes, excluded.groups, excluded.anniversary_date, excluded.birth_date, excluded.assistant_name, excluded.assistant_phone, excluded.billing_information, excluded.contact_type, excluded.owner_id, excluded.referral_code, excluded.spouse_name, excluded.account_id, excluded.created_by, excluded.last_updated_by, excluded.created_at, excluded.updated_at, excluded.custom_fields, excluded._raw)
    returning t.company_id, (t.xmax = 0) as inserted
  )
  select count(*) filter (where inserted), count(*) filter (where not inserted), coalesce(array_agg(company_id), '{}')
    into v_inserted, v_updated, v_written
    from up;

  -- issues: the values of the written rows that were stored as null or kept despite a problem
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'companies', s.company_id::text, i.field, left(i.raw_value, 10000), i.problem, s.page_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.company_id
    cross join lateral (values
      ('company_name', s.rec ->> 'company_name', keap_meta.oversize_problem(s.rec ->> 'company_name', keap_meta.max_short_text_chars())),
      ('title', s.rec ->> 'title', keap_meta.oversize_problem(s.rec ->> 'title', keap_meta.max_short_text_chars())),
      ('first_name', s.rec ->> 'first_name', keap_meta.oversize_problem(s.rec ->> 'first_name', keap_meta.max_short_text_chars())),
      ('middle_name', s.rec ->> 'middle_name', keap_meta.oversize_problem(s.rec ->> 'middle_name', keap_meta.max_short_text_chars())),
      ('last_name', s.rec ->> 'last_name', keap_meta.oversize_problem(s.rec ->> 'last_name', keap_meta.max_short_text_chars())),
      ('suffix', s.rec ->> 'suffix', keap_meta.oversize_problem(s.rec ->> 'suffix', keap_meta.max_short_text_chars())),
      ('preferred_name', s.rec ->> 'preferred_name', keap_meta.oversize_problem(s.rec ->> 'preferred_name', keap_meta.max_short_text_chars())),
      ('job_title', s.rec ->> 'job_title', keap_meta.oversize_problem(s.rec ->> 'job_title', keap_meta.max_short_text_chars())),
      ('email_address.email', s.rec #>> '{email_address,email}', keap_meta.oversize_problem(s.rec #>> '{email_address,email}', keap_meta.max_short_text_chars())),
      ('email_address.is_opt_in', s.rec #>> '{email_address,is_opt_in}', keap_meta.cast_problem(s.rec #>> '{email_address,is_opt_in}', s.is_email_opt_in is null, 'boolean')),
      ('email_address.opt_in_reason', s.rec #>> '{email_address,opt_in_reason}', keap_meta.oversize_problem(s.rec #>> '{email_address,opt_in_reason}', keap_meta.max_long_text_chars())),
      ('email_address.email_opt_status', s.rec #>> '{email_address,email_opt_status}', keap_meta.oversize_problem(s.rec #>> '{email_address,email_opt_status}', keap_meta.max_short_text_chars())),
      ('email_address.email_opt_status', s.rec #>> '{email_address,email_opt_status}', keap_meta.enum_problem(s.rec #>> '{email_address,email_opt_status}', '{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}')),
      ('phone_number.number', s.rec #>> '{phone_number,number}', keap_meta.oversize_problem(s.rec #>> '{phone_number,number}', keap_meta.max_short_text_chars())),
      ('phone_number.extension', s.rec #>> '{phone_number,extension}', keap_meta.oversize_problem(s.rec #>> '{phone_number,extension}', keap_meta.max_short_text_chars())),
      ('phone_number.type', s.rec #>> '{phone_number,type}', keap_meta.oversize_problem(s.rec #>> '{phone_number,type}', keap_meta.max_short_text_chars())),
      ('phone_number.number_e164', s.rec #>> '{phone_number,number_e164}', keap_meta.oversize_problem(s.rec #>> '{phone_number,number_e164}', keap_meta.max_short_text_chars())),
      ('fax_number.number', s.rec #>> '{fax_number,number}', keap_meta.oversize_problem(s.rec #>> '{fax_number,number}', keap_meta.max_short_text_chars())),
      ('fax_number.type', s.rec #>> '{fax_number,type}', keap_meta.oversize_problem(s.rec #>> '{fax_number,type}', keap_meta.max_short_text_chars())),
      ('address.field', s.rec #>> '{address,field}', keap_meta.oversize_problem(s.rec #>> '{address,field}', keap_meta.max_short_text_chars())),
      ('address.field', s.rec #>> '{address,field}', keap_meta.enum_problem(s.rec #>> '{address,field}', '{ADDRESS_FIELD_UNSPECIFIED,BILLING,SHIPPING,OTHER}')),
      ('address.line1', s.rec #>> '{address,line1}', keap_meta.oversize_problem(s.rec #>> '{address,line1}', keap_meta.max_short_text_chars())),
      ('address.line2', s.rec #>> '{address,line2}', keap_meta.oversize_problem(s.rec #>> '{address,line2}', keap_meta.max_short_text_chars())),
      ('address.locality', s.rec #>> '{address,locality}', keap_meta.oversize_problem(s.rec #>> '{address,locality}', keap_meta.max_short_text_chars())),
      ('address.region', s.rec #>> '{address,region}', keap_meta.oversize_problem(s.rec #>> '{address,region}', keap_meta.max_short_text_chars())),
      ('address.region_code', s.rec #>> '{address,region_code}', keap_meta.oversize_problem(s.rec #>> '{address,region_code}', keap_meta.max_short_text_chars())),
      ('address.country', s.rec #>> '{address,country}', keap_meta.oversize_problem(s.rec #>> '{address,country}', keap_meta.max_short_text_chars())),
      ('address.country_code', s.rec #>> '{address,country_code}', keap_meta.oversize_problem(s.rec #>> '{address,country_code}', keap_meta.max_short_text_chars())),
      ('address.postal_code', s.rec #>> '{address,postal_code}', keap_meta.oversize_problem(s.rec #>> '{address,postal_code}', keap_meta.max_short_text_chars())),
      ('address.zip_code', s.rec #>> '{address,zip_code}', keap_meta.oversize_problem(s.rec #>> '{address,zip_code}', keap_meta.max_short_text_chars())),
      ('address.zip_four', s.rec #>> '{address,zip_four}', keap_meta.oversize_problem(s.rec #>> '{address,zip_four}', keap_meta.max_short_text_chars())),
      ('website', s.rec ->> 'website', keap_meta.oversize_problem(s.rec ->> 'website', keap_meta.max_long_text_chars())),
      ('notes', s.rec ->> 'notes', keap_meta.oversize_problem(s.rec ->> 'notes', keap_meta.max_long_text_chars())),
      ('groups', s.rec ->> 'groups', keap_meta.oversize_problem(s.rec ->> 'groups', keap_meta.max_long_text_chars())),
      ('anniversary_date', s.rec ->> 'anniversary_date', keap_meta.cast_problem(s.rec ->> 'anniversary_date', s.anniversary_date is null, 'date')),
      ('birth_date', s.rec ->> 'birth_date', keap_meta.cast_problem(s.rec ->> 'birth_date', s.birth_date is null, 'date')),
      ('assistant_name', s.rec ->> 'assistant_name', keap_meta.oversize_problem(s.rec ->> 'assistant_name', keap_meta.max_short_text_chars())),
      ('assistant_phone', s.rec ->> 'assistant_phone', keap_meta.oversize_problem(s.rec ->> 'assistant_phone', keap_meta.max_short_text_chars())),
      ('billing_information', s.rec ->> 'billing_information', keap_meta.oversize_problem(s.rec ->> 'billing_information', keap_meta.max_long_text_chars())),
      ('contact_type', s.rec ->> 'contact_type', keap_meta.oversize_problem(s.rec ->> 'contact_type', keap_meta.max_short_text_chars())),
      ('owner_id', s.rec ->> 'owner_id', keap_meta.cast_problem(s.rec ->> 'owner_id', s.owner_id is null, 'bigint')),
      ('referral_code', s.rec ->> 'referral_code', keap_meta.oversize_problem(s.rec ->> 'referral_code', keap_meta.max_short_text_chars())),
      ('spouse_name', s.rec ->> 'spouse_name', keap_meta.oversize_problem(s.rec ->> 'spouse_name', keap_meta.max_short_text_chars())),
      ('account_id', s.rec ->> 'account_id', keap_meta.cast_problem(s.rec ->> 'account_id', s.account_id is null, 'bigint')),
      ('created_by', s.rec ->> 'created_by', keap_meta.cast_problem(s.rec ->> 'created_by', s.created_by is null, 'bigint')),
      ('last_updated_by', s.rec ->> 'last_updated_by', keap_meta.cast_problem(s.rec ->> 'last_updated_by', s.last_updated_by is null, 'bigint')),
      ('create_time', s.rec ->> 'create_time', keap_meta.cast_problem(s.rec ->> 'create_time', s.created_at is null, 'timestamptz')),
      ('update_time', s.rec ->> 'update_time', keap_meta.cast_problem(s.rec ->> 'update_time', s.updated_at is null, 'timestamptz')),
      ('email_address', s.rec ->> 'email_address', case when jsonb_typeof(s.rec -> 'email_address') not in ('object', 'null') then 'not a JSON object; read as empty, kept in _raw' end),
      ('phone_number', s.rec ->> 'phone_number', case when jsonb_typeof(s.rec -> 'phone_number') not in ('object', 'null') then 'not a JSON object; read as empty, kept in _raw' end),
      ('fax_number', s.rec ->> 'fax_number', case when jsonb_typeof(s.rec -> 'fax_number') not in ('object', 'null') then 'not a JSON object; read as empty, kept in _raw' end),
      ('address', s.rec ->> 'address', case when jsonb_typeof(s.rec -> 'address') not in ('object', 'null') then 'not a JSON object; read as empty, kept in _raw' end),
      ('custom_fields', s.rec ->> 'custom_fields', case when jsonb_typeof(s.rec -> 'custom_fields') not in ('array', 'null') then 'not a JSON array; read as empty, kept in _raw' end)
    ) i(field, raw_value, problem)
   -- cheap pre-check: only rows where a typed value is null although its raw value is present, an enum
   -- value is unknown or a nested value has the wrong JSON type can have a problem
   where (num_nonnulls(s.company_name, s.title, s.first_name, s.middle_name, s.last_name, s.suffix, s.preferred_name,
                       s.job_title, s.email, s.is_email_opt_in, s.email_opt_in_reason, s.email_opt_status, s.phone_number,
                       s.phone_extension, s.phone_type, s.phone_number_e164, s.fax_number, s.fax_type, s.address_field,
                       s.address_line1, s.address_line2, s.address_locality, s.address_region, s.address_region_code,
                       s.address_country, s.address_country_code, s.address_postal_code, s.address_zip_code,
                       s.address_zip_four, s.website, s.notes, s.groups, s.anniversary_date, s.birth_date, s.assistant_name,
                       s.assistant_phone, s.billing_information, s.contact_type, s.owner_id, s.referral_code, s.spouse_name,
                       s.account_id, s.created_by, s.last_updated_by, s.created_at, s.updated_at)
          < num_nonnulls(s.rec ->> 'company_name', s.rec ->> 'title', s.rec ->> 'first_name', s.rec ->> 'middle_name',
                         s.rec ->> 'last_name', s.rec ->> 'suffix', s.rec ->> 'preferred_name', s.rec ->> 'job_title',
                         s.rec #>> '{email_address,email}', nullif(btrim(s.rec #>> '{email_address,is_opt_in}'), ''),
                         s.rec #>> '{email_address,opt_in_reason}', s.rec #>> '{email_address,email_opt_status}',
                         s.rec #>> '{phone_number,number}', s.rec #>> '{phone_number,extension}',
                         s.rec #>> '{phone_number,type}', s.rec #>> '{phone_number,number_e164}',
                         s.rec #>> '{fax_number,number}', s.rec #>> '{fax_number,type}', s.rec #>> '{address,field}',
                         s.rec #>> '{address,line1}', s.rec #>> '{address,line2}', s.rec #>> '{address,locality}',
                         s.rec #>> '{address,region}', s.rec #>> '{address,region_code}', s.rec #>> '{address,country}',
                         s.rec #>> '{address,country_code}', s.rec #>> '{address,postal_code}',
                         s.rec #>> '{address,zip_code}', s.rec #>> '{address,zip_four}', s.rec ->> 'website',
                         s.rec ->> 'notes', s.rec ->> 'groups', nullif(btrim(s.rec ->> 'anniversary_date'), ''),
                         nullif(btrim(s.rec ->> 'birth_date'), ''), s.rec ->> 'assistant_name', s.rec ->> 'assistant_phone',
                         s.rec ->> 'billing_information', s.rec ->> 'contact_type', nullif(btrim(s.rec ->> 'owner_id'), ''),
                         s.rec ->> 'referral_code', s.rec ->> 'spouse_name', nullif(btrim(s.rec ->> 'account_id'), ''),
                         nullif(btrim(s.rec ->> 'created_by'), ''), nullif(btrim(s.rec ->> 'last_updated_by'), ''),
                         nullif(btrim(s.rec ->> 'create_time'), ''), nullif(btrim(s.rec ->> 'update_time'), ''))
          or not (s.email_opt_status = any ('{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}'))
          or not (s.address_field = any ('{ADDRESS_FIELD_UNSPECIFIED,BILLING,SHIPPING,OTHER}'))
          or jsonb_typeof(s.rec -> 'email_address') not in ('object', 'null')
          or jsonb_typeof(s.rec -> 'phone_number') not in ('object', 'null')
          or jsonb_typeof(s.rec -> 'fax_number') not in ('object', 'null')
          or jsonb_typeof(s.rec -> 'address') not in ('object', 'null')
          or jsonb_typeof(s.rec -> 'custom_fields') not in ('array', 'null'))
     and i.problem is not null;

  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'companies', s.company_id::text, i.field, i.raw_value, i.problem, s.page_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.company_id
    cross join lateral keap_meta.custom_field_issues(s.rec -> 'custom_fields') i;

  -- end: cursor (never past data that was not merged), pages marked merged, the sweep when asked, stats
  perform keap_meta.complete_entity_merge(p_run_id, 'companies', 'keap.companies', 'company_id', 'keap.merge_companies', v_pages,
                                          p_finish_sweep, v_started, v_mark, v_inserted, v_updated, v_received);
end
$$;
comment on procedure keap.merge_companies(bigint, boolean) is
  'Merges the run''s unmerged staged pages of GET /rest/v2/companies into keap.companies (insert / update changed / clear _deleted_at), records row issues, advances the cursor, marks the pages merged and logs counts; with p_finish_sweep, soft-deletes records a completed full traversal did not list. Never commits.';

