-- keap.merge_contacts: staged pages of GET /rest/v2/contacts -> keap.contacts.
-- Grain in: one staged page (keap_staging.contacts, collection key contacts) of the run.
-- Grain out: one row per contact (contact_id) in keap.contacts; for every contact written (new,
-- changed or undeleted) its rows in keap.contact_emails / contact_phones / contact_addresses /
-- contact_custom_fields are replaced and its keap.contact_tags set is made equal to tag_ids.
-- Called by: the TypeScript engine after staging pages, p_finish_sweep => true after the last page
-- of a complete full traversal. Safe to re-run: a second call finds no unmerged pages and logs zeros.
-- A record's _raw is part of the change check, so a change in a child list (a removed e-mail, a
-- removed tag) rewrites the contact and replaces its children even when update_time did not move.
-- Absent or null lists mean empty (Keap omits empty lists), so the engine must request every
-- field (fields= incl. tag_ids, custom_fields, email_addresses, phone_numbers, addresses).
-- Children: slots are keyed by field (EMAIL1..3, PHONE1..5, BILLING/SHIPPING/OTHER, and the spec's
-- *_FIELD_UNSPECIFIED values, which Keap does send); an item with a missing, unknown (not in the
-- spec) or repeated slot is skipped with a row issue (it stays in _raw).

create or replace procedure keap.merge_contacts(p_run_id bigint, p_finish_sweep boolean default false)
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
  -- The slots that key the child rows (the spec's enums, UNSPECIFIED included: Keap sends it).
  v_email_slots   constant text[] := '{EMAIL1,EMAIL2,EMAIL3,EMAIL_FIELD_UNSPECIFIED}';
  v_phone_slots   constant text[] := '{PHONE1,PHONE2,PHONE3,PHONE4,PHONE5,PHONE_NUMBER_FIELD_UNSPECIFIED}';
  v_address_slots constant text[] := '{BILLING,SHIPPING,OTHER,ADDRESS_FIELD_UNSPECIFIED}';
begin
  v_pages := keap_meta.claim_pages('contacts', p_run_id);

  -- recs and pick: the claimed pages' records, newest version per id, unchanged ones left out
  v_received := keap_meta.prepare_entity_merge(p_run_id, 'contacts', v_pages, 'keap.contacts', 'contact_id');

  -- src: one typed row per picked record
  perform keap_meta.drop_temp_table('merge_src');
  create temporary table merge_src on commit drop as
  select r.id as contact_id, r.page_id, r.rec,
         keap_meta.try_text(r.rec ->> 'given_name', keap_meta.max_short_text_chars()) as given_name,
         keap_meta.try_text(r.rec ->> 'middle_name', keap_meta.max_short_text_chars()) as middle_name,
         keap_meta.try_text(r.rec ->> 'family_name', keap_meta.max_short_text_chars()) as family_name,
         keap_meta.try_text(r.rec ->> 'preferred_name', keap_meta.max_short_text_chars()) as preferred_name,
         keap_meta.try_text(r.rec ->> 'prefix', keap_meta.max_short_text_chars()) as prefix,
         keap_meta.try_text(r.rec ->> 'suffix', keap_meta.max_short_text_chars()) as suffix,
         keap_meta.try_text(r.rec ->> 'job_title', keap_meta.max_short_text_chars()) as job_title,
         keap_meta.try_bigint(r.rec #>> '{company,id}') as company_id,
         keap_meta.try_text(r.rec #>> '{company,company_name}', keap_meta.max_short_text_chars()) as company_name,
         keap_meta.try_text(r.rec ->> 'website', keap_meta.max_long_text_chars()) as website,
         keap_meta.try_date(r.rec ->> 'birth_date') as birth_date,
         keap_meta.try_date(r.rec ->> 'anniversary_date') as anniversary_date,
         keap_meta.try_text(r.rec ->> 'spouse_name', keap_meta.max_short_text_chars()) as spouse_name,
         keap_meta.try_text(r.rec ->> 'contact_type', keap_meta.max_short_text_chars()) as contact_type,
         keap_meta.try_bigint(r.rec ->> 'owner_id') as owner_id,
         keap_meta.try_bigint(r.rec ->> 'leadsource_id') as lead_source_id,
         keap_meta.try_text(r.rec ->> 'source_type', keap_meta.max_short_text_chars()) as source_type,
         keap_meta.try_timestamptz(r.rec #>> '{origin,date}') as origin_at,
         keap_meta.try_text(r.rec #>> '{origin,ip_address}', keap_meta.max_short_text_chars()) as origin_ip_address,
         keap_meta.try_text(r.rec ->> 'preferred_locale', keap_meta.max_short_text_chars()) as preferred_locale,
         keap_meta.try_text(r.rec ->> 'time_zone', keap_meta.max_short_text_chars()) as time_zone,
         keap_meta.try_text(r.rec ->> 'referral_code', keap_meta.max_short_text_chars()) as referral_code,
         keap_meta.try_text(r.rec ->> 'score_value', keap_meta.max_short_text_chars()) as score_value,
         keap_meta.try_bigint(r.rec ->> 'account_id') as account_id,
         keap_meta.try_text(r.rec ->> 'assistant_name', keap_meta.max_short_text_chars()) as assistant_name,
         keap_meta.try_text(r.rec ->> 'assistant_phone', keap_meta.max_short_text_chars()) as assistant_phone,
         keap_meta.try_text(r.rec ->> 'billing_information', keap_meta.max_long_text_chars()) as billing_information,
         keap_meta.try_bigint(r.rec ->> 'created_by') as created_by,
         keap_meta.try_bigint(r.rec ->> 'last_updated_by') as last_updated_by,
         keap_meta.try_timestamptz(r.rec ->> 'create_time') as created_at,
         keap_meta.try_timestamptz(r.rec ->> 'update_time') as updated_at
    from pg_temp.merge_pick r;

  -- upsert: write only new, changed or soft-deleted rows; xmax = 0 tells inserts from updates
  with up as (
    insert into keap.contacts as t (contact_id, given_name, middle_name, family_name, preferred_name, prefix, suffix, job_title, company_id, company_name, website, birth_date, anniversary_date, spouse_name, contact_type, owner_id, lead_source_id, source_type, origin_at, origin_ip_address, preferred_locale, time_zone, referral_code, score_value, account_id, assistant_name, assistant_phone, billing_information, created_by, last_updated_by, created_at, updated_at, _run_id, _raw)
    select s.contact_id, s.given_name, s.middle_name, s.family_name, s.preferred_name, s.prefix, s.suffix, s.job_title, s.company_id, s.company_name, s.website, s.birth_date, s.anniversary_date, s.spouse_name, s.contact_type, s.owner_id, s.lead_source_id, s.source_type, s.origin_at, s.origin_ip_address, s.preferred_locale, s.time_zone, s.referral_code, s.score_value, s.account_id, s.assistant_name, s.assistant_phone, s.billing_information, s.created_by, s.last_updated_by, s.created_at, s.updated_at, p_run_id, s.rec
      from pg_temp.merge_src s
    on conflict (contact_id) do update
      set given_name = excluded.given_name,
          middle_name = excluded.middle_name,
          family_name = excluded.family_name,
          preferred_name = excluded.preferred_name,
          prefix = excluded.prefix,
          suffix = excluded.suffix,
          job_title = excluded.job_title,
          company_id = excluded.company_id,
          company_name = excluded.company_name,
          website = excluded.website,
          birth_date = excluded.birth_date,
          anniversary_date = excluded.anniversary_date,
          spouse_name = excluded.spouse_name,
          contact_type = excluded.contact_type,
          owner_id = excluded.owner_id,
          lead_source_id = excluded.lead_source_id,
          source_type = excluded.source_type,
          origin_at = excluded.origin_at,
          origin_ip_address = excluded.origin_ip_address,
          preferred_locale = excluded.preferred_locale,
          time_zone = excluded.time_zone,
          referral_code = excluded.referral_code,
          score_value = excluded.score_value,
          account_id = excluded.account_id,
          assistant_name = excluded.assistant_name,
          assistant_phone = excluded.assistant_phone,
          billing_information = excluded.billing_information,
          created_by = excluded.created_by,
          last_updated_by = excluded.last_updated_by,
          created_at = excluded.created_at,
          updated_at = excluded.updated_at,
          _run_id = excluded._run_id, _raw = excluded._raw, _synced_at = now(), _deleted_at = null
      where t._deleted_at is not null
         or (t.given_name, t.middle_name, t.family_name, t.preferred_name, t.prefix, t.suffix, t.job_title, t.company_id, t.company_name, t.website, t.birth_date, t.anniversary_date, t.spouse_name, t.contact_type, t.owner_id, t.lead_source_id, t.source_type, t.origin_at, t.origin_ip_address, t.preferred_locale, t.time_zone, t.referral_code, t.score_value, t.account_id, t.assistant_name, t.assistant_phone, t.billing_information, t.created_by, t.last_updated_by, t.created_at, t.updated_at, t._raw)
            is distinct from (excluded.given_name, excluded.middle_name, excluded.family_name, excluded.preferred_name, excluded.prefix, excluded.suffix, excluded.job_title, excluded.company_id, excluded.company_name, excluded.website, excluded.birth_date, excluded.anniversary_date, excluded.spouse_name, excluded.contact_type, excluded.owner_id, excluded.lead_source_id, excluded.source_type, excluded.origin_at, excluded.origin_ip_address, excluded.preferred_locale, excluded.time_zone, excluded.referral_code, excluded.score_value, excluded.account_id, excluded.assistant_name, excluded.assistant_phone, excluded.billing_information, excluded.created_by, excluded.last_updated_by, excluded.created_at, excluded.updated_at, excluded._raw)
    returning t.contact_id, (t.xmax = 0) as inserted
  )
  select count(*) filter (where inserted), count(*) filter (where not inserted), coalesce(array_agg(contact_id), '{}')
    into v_inserted, v_updated, v_written
    from up;

  -- issues: the values of the written rows that were stored as null or kept despite a problem
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'contacts', s.contact_id::text, i.field, left(i.raw_value, 10000), i.problem, s.page_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.contact_id
    cross join lateral (values
      ('given_name', s.rec ->> 'given_name', keap_meta.oversize_problem(s.rec ->> 'given_name', keap_meta.max_short_text_chars())),
      ('middle_name', s.rec ->> 'middle_name', keap_meta.oversize_problem(s.rec ->> 'middle_name', keap_meta.max_short_text_chars())),
      ('family_name', s.rec ->> 'family_name', keap_meta.oversize_problem(s.rec ->> 'family_name', keap_meta.max_short_text_chars())),
      ('preferred_name', s.rec ->> 'preferred_name', keap_meta.oversize_problem(s.rec ->> 'preferred_name', keap_meta.max_short_text_chars())),
      ('prefix', s.rec ->> 'prefix', keap_meta.oversize_problem(s.rec ->> 'prefix', keap_meta.max_short_text_chars())),
      ('suffix', s.rec ->> 'suffix', keap_meta.oversize_problem(s.rec ->> 'suffix', keap_meta.max_short_text_chars())),
      ('job_title', s.rec ->> 'job_title', keap_meta.oversize_problem(s.rec ->> 'job_title', keap_meta.max_short_text_chars())),
      ('company.id', s.rec #>> '{company,id}', keap_meta.cast_problem(s.rec #>> '{company,id}', s.company_id is null, 'bigint')),
      ('company.company_name', s.rec #>> '{company,company_name}', keap_meta.oversize_problem(s.rec #>> '{company,company_name}', keap_meta.max_short_text_chars())),
      ('website', s.rec ->> 'website', keap_meta.oversize_problem(s.rec ->> 'website', keap_meta.max_long_text_chars())),
      ('birth_date', s.rec ->> 'birth_date', keap_meta.cast_problem(s.rec ->> 'birth_date', s.birth_date is null, 'date')),
      ('anniversary_date', s.rec ->> 'anniversary_date', keap_meta.cast_problem(s.rec ->> 'anniversary_date', s.anniversary_date is null, 'date')),
      ('spouse_name', s.rec ->> 'spouse_name', keap_meta.oversize_problem(s.rec ->> 'spouse_name', keap_meta.max_short_text_chars())),
      ('contact_type', s.rec ->> 'contact_type', keap_meta.oversize_problem(s.rec ->> 'contact_type', keap_meta.max_short_text_chars())),
      ('owner_id', s.rec ->> 'owner_id', keap_meta.cast_problem(s.rec ->> 'owner_id', s.owner_id is null, 'bigint')),
      ('leadsource_id', s.rec ->> 'leadsource_id', keap_meta.cast_problem(s.rec ->> 'leadsource_id', s.lead_source_id is null, 'bigint')),
      ('source_type', s.rec ->> 'source_type', keap_meta.oversize_problem(s.rec ->> 'source_type', keap_meta.max_short_text_chars())),
      ('source_type', s.rec ->> 'source_type', keap_meta.enum_problem(s.rec ->> 'source_type', '{SOURCE_TYPE_UNSPECIFIED,API,APPOINTMENT,FORM_API_HOSTED,FORM_API_INTERNAL,IMPORT,INTERNAL_FORM,LANDING_PAGE,MANUAL,OTHER,UNKNOWN,WEBFORM}')),
      ('origin.date', s.rec #>> '{origin,date}', keap_meta.cast_problem(s.rec #>> '{origin,date}', s.origin_at is null, 'timestamptz')),
      ('origin.ip_address', s.rec #>> '{origin,ip_address}', keap_meta.oversize_problem(s.rec #>> '{origin,ip_address}', keap_meta.max_short_text_chars())),
      ('preferred_locale', s.rec ->> 'preferred_locale', keap_meta.oversize_problem(s.rec ->> 'preferred_locale', keap_meta.max_short_text_chars())),
      ('time_zone', s.rec ->> 'time_zone', keap_meta.oversize_problem(s.rec ->> 'time_zone', keap_meta.max_short_text_chars())),
      ('referral_code', s.rec ->> 'referral_code', keap_meta.oversize_problem(s.rec ->> 'referral_code', keap_meta.max_short_text_chars())),
      ('score_value', s.rec ->> 'score_value', keap_meta.oversize_problem(s.rec ->> 'score_value', keap_meta.max_short_text_chars())),
      ('account_id', s.rec ->> 'account_id', keap_meta.cast_problem(s.rec ->> 'account_id', s.account_id is null, 'bigint')),
      ('assistant_name', s.rec ->> 'assistant_name', keap_meta.oversize_problem(s.rec ->> 'assistant_name', keap_meta.max_short_text_chars())),
      ('assistant_phone', s.rec ->> 'assistant_phone', keap_meta.oversize_problem(s.rec ->> 'assistant_phone', keap_meta.max_short_text_chars())),
      ('billing_information', s.rec ->> 'billing_information', keap_meta.oversize_problem(s.rec ->> 'billing_information', keap_meta.max_long_text_chars())),
      ('created_by', s.rec ->> 'created_by', keap_meta.cast_problem(s.rec ->> 'created_by', s.created_by is null, 'bigint')),
      ('last_updated_by', s.rec ->> 'last_updated_by', keap_meta.cast_problem(s.rec ->> 'last_updated_by', s.last_updated_by is null, 'bigint')),
      ('create_time', s.rec ->> 'create_time', keap_meta.cast_problem(s.rec ->> 'create_time', s.created_at is null, 'timestamptz')),
      ('update_time', s.rec ->> 'update_time', keap_meta.cast_problem(s.rec ->> 'update_time', s.updated_at is null, 'timestamptz')),
      ('company', s.rec ->> 'company', case when jsonb_typeof(s.rec -> 'company') not in ('object', 'null') then 'not a JSON object; read as empty, kept in _raw' end),
      ('origin', s.rec ->> 'origin', case when jsonb_typeof(s.rec -> 'origin') not in ('object', 'null') then 'not a JSON object; read as empty, kept in _raw' end),
      ('email_addresses', s.rec ->> 'email_addresses', case when jsonb_typeof(s.rec -> 'email_addresses') not in ('array', 'null') then 'not a JSON array; read as empty, kept in _raw' end),
      ('phone_numbers', s.rec ->> 'phone_numbers', case when jsonb_typeof(s.rec -> 'phone_numbers') not in ('array', 'null') then 'not a JSON array; read as empty, kept in _raw' end),
      ('addresses', s.rec ->> 'addresses', case when jsonb_typeof(s.rec -> 'addresses') not in ('array', 'null') then 'not a JSON array; read as empty, kept in _raw' end),
      ('custom_fields', s.rec ->> 'custom_fields', case when jsonb_typeof(s.rec -> 'custom_fields') not in ('array', 'null') then 'not a JSON array; read as empty, kept in _raw' end),
      ('tag_ids', s.rec ->> 'tag_ids', case when jsonb_typeof(s.rec -> 'tag_ids') not in ('array', 'null') then 'not a JSON array; read as empty, kept in _raw' end)
    ) i(field, raw_value, problem)
   -- cheap pre-check: only rows where a typed value is null although its raw value is present, an enum
   -- value is unknown or a nested value has the wrong JSON type can have a problem
   where (num_nonnulls(s.given_name, s.middle_name, s.family_name, s.preferred_name, s.prefix, s.suffix, s.job_title,
                       s.company_id, s.company_name, s.website, s.birth_date, s.anniversary_date, s.spouse_name,
                       s.contact_type, s.owner_id, s.lead_source_id, s.source_type, s.origin_at, s.origin_ip_address,
                       s.preferred_locale, s.time_zone, s.referral_code, s.score_value, s.account_id, s.assistant_name,
                       s.assistant_phone, s.billing_information, s.created_by, s.last_updated_by, s.created_at,
                       s.updated_at)
          < num_nonnulls(s.rec ->> 'given_name', s.rec ->> 'middle_name', s.rec ->> 'family_name', s.rec ->> 'preferred_name',
                         s.rec ->> 'prefix', s.rec ->> 'suffix', s.rec ->> 'job_title',
                         nullif(btrim(s.rec #>> '{company,id}'), ''), s.rec #>> '{company,company_name}', s.rec ->> 'website',
                         nullif(btrim(s.rec ->> 'birth_date'), ''), nullif(btrim(s.rec ->> 'anniversary_date'), ''),
                         s.rec ->> 'spouse_name', s.rec ->> 'contact_type', nullif(btrim(s.rec ->> 'owner_id'), ''),
                         nullif(btrim(s.rec ->> 'leadsource_id'), ''), s.rec ->> 'source_type',
                         nullif(btrim(s.rec #>> '{origin,date}'), ''), s.rec #>> '{origin,ip_address}',
                         s.rec ->> 'preferred_locale', s.rec ->> 'time_zone', s.rec ->> 'referral_code',
                         s.rec ->> 'score_value', nullif(btrim(s.rec ->> 'account_id'), ''), s.rec ->> 'assistant_name',
                         s.rec ->> 'assistant_phone', s.rec ->> 'billing_information',
                         nullif(btrim(s.rec ->> 'created_by'), ''), nullif(btrim(s.rec ->> 'last_updated_by'), ''),
                         nullif(btrim(s.rec ->> 'create_time'), ''), nullif(btrim(s.rec ->> 'update_time'), ''))
          or not (s.source_type = any ('{SOURCE_TYPE_UNSPECIFIED,API,APPOINTMENT,FORM_API_HOSTED,FORM_API_INTERNAL,IMPORT,INTERNAL_FORM,LANDING_PAGE,MANUAL,OTHER,UNKNOWN,WEBFORM}'))
          or jsonb_typeof(s.rec -> 'company') not in ('object', 'null')
          or jsonb_typeof(s.rec -> 'origin') not in ('object', 'null')
          or jsonb_typeof(s.rec -> 'email_addresses') not in ('array', 'null')
          or jsonb_typeof(s.rec -> 'phone_numbers') not in ('array', 'null')
          or jsonb_typeof(s.rec -> 'addresses') not in ('array', 'null')
          or jsonb_typeof(s.rec -> 'custom_fields') not in ('array', 'null')
          or jsonb_typeof(s.rec -> 'tag_ids') not in ('array', 'null'))
     and i.problem is not null;

  -- children: every written contact's e-mails, phones, addresses and custom field values are
  -- replaced (delete + insert), so removed ones disappear
  delete from keap.contact_emails c using unnest(v_written) w(id) where c.contact_id = w.id;
  delete from keap.contact_phones c using unnest(v_written) w(id) where c.contact_id = w.id;
  delete from keap.contact_addresses c using unnest(v_written) w(id) where c.contact_id = w.id;
  delete from keap.contact_custom_fields c using unnest(v_written) w(id) where c.contact_id = w.id;

  -- contact_emails: one row per slot; a missing, unknown or repeated slot cannot be keyed (issue, skipped)
  with items as (
    select s.contact_id, s.page_id, e.item, e.ord, e.item ->> 'field' as field,
           row_number() over (partition by s.contact_id, e.item ->> 'field' order by e.ord) as nth,
           keap_meta.try_text(e.item ->> 'email', keap_meta.max_short_text_chars()) as email,
           keap_meta.try_boolean(e.item ->> 'is_opt_in') as is_opt_in,
           keap_meta.try_text(e.item ->> 'opt_in_reason', keap_meta.max_long_text_chars()) as opt_in_reason,
           keap_meta.try_text(e.item ->> 'email_opt_status', keap_meta.max_short_text_chars()) as email_opt_status
      from pg_temp.merge_src s
      join unnest(v_written) w(id) on w.id = s.contact_id
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec -> 'email_addresses')) with ordinality e(item, ord)
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, 'contacts', i.contact_id::text, x.field, left(x.raw_value, 10000), x.problem, i.page_id
      from items i
      cross join lateral (values
        ('email_addresses[' || (i.ord - 1) || '].' || 'field', i.item::text,
         keap_meta.slot_problem(i.field, i.nth, v_email_slots, 'e-mail')),
        ('email_addresses[' || (i.ord - 1) || '].' || 'email', i.item ->> 'email', keap_meta.oversize_problem(i.item ->> 'email', keap_meta.max_short_text_chars())),
        ('email_addresses[' || (i.ord - 1) || '].' || 'is_opt_in', i.item ->> 'is_opt_in', keap_meta.cast_problem(i.item ->> 'is_opt_in', i.is_opt_in is null, 'boolean')),
        ('email_addresses[' || (i.ord - 1) || '].' || 'opt_in_reason', i.item ->> 'opt_in_reason', keap_meta.oversize_problem(i.item ->> 'opt_in_reason', keap_meta.max_long_text_chars())),
        ('email_addresses[' || (i.ord - 1) || '].' || 'email_opt_status', i.item ->> 'email_opt_status', keap_meta.oversize_problem(i.item ->> 'email_opt_status', keap_meta.max_short_text_chars())),
        ('email_addresses[' || (i.ord - 1) || '].' || 'email_opt_status', i.item ->> 'email_opt_status', keap_meta.enum_problem(i.item ->> 'email_opt_status', '{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}'))
      ) x(field, raw_value, problem)
     -- cheap pre-check first (bad slot, typed value null although the raw one is present, unknown enum)
     where (keap_meta.slot_problem(i.field, i.nth, v_email_slots, 'e-mail') is not null
            or num_nonnulls(i.email, i.is_opt_in, i.opt_in_reason, i.email_opt_status)
            < num_nonnulls(i.item ->> 'email', nullif(btrim(i.item ->> 'is_opt_in'), ''), i.item ->> 'opt_in_reason',
                           i.item ->> 'email_opt_status')
            or not (i.email_opt_status = any ('{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}')))
       and x.problem is not null
  )
  insert into keap.contact_emails (contact_id, field, email, is_opt_in, opt_in_reason, email_opt_status, _run_id)
  select i.contact_id, i.field, i.email, i.is_opt_in, i.opt_in_reason, i.email_opt_status, p_run_id
    from items i
   where i.field = any (v_email_slots) and i.nth = 1;

  -- contact_phones: one row per slot; a missing, unknown or repeated slot cannot be keyed (issue, skipped)
  with items as (
    select s.contact_id, s.page_id, e.item, e.ord, e.item ->> 'field' as field,
           row_number() over (partition by s.contact_id, e.item ->> 'field' order by e.ord) as nth,
           keap_meta.try_text(e.item ->> 'number', keap_meta.max_short_text_chars()) as number,
           keap_meta.try_text(e.item ->> 'extension', keap_meta.max_short_text_chars()) as extension,
           keap_meta.try_text(e.item ->> 'type', keap_meta.max_short_text_chars()) as type,
           keap_meta.try_text(e.item ->> 'number_e164', keap_meta.max_short_text_chars()) as number_e164
      from pg_temp.merge_src s
      join unnest(v_written) w(id) on w.id = s.contact_id
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec -> 'phone_numbers')) with ordinality e(item, ord)
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, 'contacts', i.contact_id::text, x.field, left(x.raw_value, 10000), x.problem, i.page_id
      from items i
      cross join lateral (values
        ('phone_numbers[' || (i.ord - 1) || '].' || 'field', i.item::text,
         keap_meta.slot_problem(i.field, i.nth, v_phone_slots, 'phone')),
        ('phone_numbers[' || (i.ord - 1) || '].' || 'number', i.item ->> 'number', keap_meta.oversize_problem(i.item ->> 'number', keap_meta.max_short_text_chars())),
        ('phone_numbers[' || (i.ord - 1) || '].' || 'extension', i.item ->> 'extension', keap_meta.oversize_problem(i.item ->> 'extension', keap_meta.max_short_text_chars())),
        ('phone_numbers[' || (i.ord - 1) || '].' || 'type', i.item ->> 'type', keap_meta.oversize_problem(i.item ->> 'type', keap_meta.max_short_text_chars())),
        ('phone_numbers[' || (i.ord - 1) || '].' || 'number_e164', i.item ->> 'number_e164', keap_meta.oversize_problem(i.item ->> 'number_e164', keap_meta.max_short_text_chars()))
      ) x(field, raw_value, problem)
     -- cheap pre-check first (bad slot, typed value null although the raw one is present, unknown enum)
     where (keap_meta.slot_problem(i.field, i.nth, v_phone_slots, 'phone') is not null
            or num_nonnulls(i.number, i.extension, i.type, i.number_e164)
            < num_nonnulls(i.item ->> 'number', i.item ->> 'extension', i.item ->> 'type', i.item ->> 'number_e164'))
       and x.problem is not null
  )
  insert into keap.contact_phones (contact_id, field, number, extension, type, number_e164, _run_id)
  select i.contact_id, i.field, i.number, i.extension, i.type, i.number_e164, p_run_id
    from items i
   where i.field = any (v_phone_slots) and i.nth = 1;

  -- contact_addresses: one row per slot; a missing, unknown or repeated slot cannot be keyed (issue, skipped)
  with items as (
    select s.contact_id, s.page_id, e.item, e.ord, e.item ->> 'field' as field,
           row_number() over (partition by s.contact_id, e.item ->> 'field' order by e.ord) as nth,
           keap_meta.try_text(e.item ->> 'line1', keap_meta.max_short_text_chars()) as line1,
           keap_meta.try_text(e.item ->> 'line2', keap_meta.max_short_text_chars()) as line2,
           keap_meta.try_text(e.item ->> 'locality', keap_meta.max_short_text_chars()) as locality,
           keap_meta.try_text(e.item ->> 'region', keap_meta.max_short_text_chars()) as region,
           keap_meta.try_text(e.item ->> 'region_code', keap_meta.max_short_text_chars()) as region_code,
           keap_meta.try_text(e.item ->> 'country', keap_meta.max_short_text_chars()) as country,
           keap_meta.try_text(e.item ->> 'country_code', keap_meta.max_short_text_chars()) as country_code,
           keap_meta.try_text(e.item ->> 'postal_code', keap_meta.max_short_text_chars()) as postal_code,
           keap_meta.try_text(e.item ->> 'zip_code', keap_meta.max_short_text_chars()) as zip_code,
           keap_meta.try_text(e.item ->> 'zip_four', keap_meta.max_short_text_chars()) as zip_four
      from pg_temp.merge_src s
      join unnest(v_written) w(id) on w.id = s.contact_id
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec -> 'addresses')) with ordinality e(item, ord)
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, 'contacts', i.contact_id::text, x.field, left(x.raw_value, 10000), x.problem, i.page_id
      from items i
      cross join lateral (values
        ('addresses[' || (i.ord - 1) || '].' || 'field', i.item::text,
         keap_meta.slot_problem(i.field, i.nth, v_address_slots, 'address')),
        ('addresses[' || (i.ord - 1) || '].' || 'line1', i.item ->> 'line1', keap_meta.oversize_problem(i.item ->> 'line1', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'line2', i.item ->> 'line2', keap_meta.oversize_problem(i.item ->> 'line2', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'locality', i.item ->> 'locality', keap_meta.oversize_problem(i.item ->> 'locality', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'region', i.item ->> 'region', keap_meta.oversize_problem(i.item ->> 'region', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'region_code', i.item ->> 'region_code', keap_meta.oversize_problem(i.item ->> 'region_code', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'country', i.item ->> 'country', keap_meta.oversize_problem(i.item ->> 'country', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'country_code', i.item ->> 'country_code', keap_meta.oversize_problem(i.item ->> 'country_code', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'postal_code', i.item ->> 'postal_code', keap_meta.oversize_problem(i.item ->> 'postal_code', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'zip_code', i.item ->> 'zip_code', keap_meta.oversize_problem(i.item ->> 'zip_code', keap_meta.max_short_text_chars())),
        ('addresses[' || (i.ord - 1) || '].' || 'zip_four', i.item ->> 'zip_four', keap_meta.oversize_problem(i.item ->> 'zip_four', keap_meta.max_short_text_chars()))
      ) x(field, raw_value, problem)
     -- cheap pre-check first (bad slot, typed value null although the raw one is present, unknown enum)
     where (keap_meta.slot_problem(i.field, i.nth, v_address_slots, 'address') is not null
            or num_nonnulls(i.line1, i.line2, i.locality, i.region, i.region_code, i.country, i.country_code, i.postal_code,
                         i.zip_code, i.zip_four)
            < num_nonnulls(i.item ->> 'line1', i.item ->> 'line2', i.item ->> 'locality', i.item ->> 'region',
                           i.item ->> 'region_code', i.item ->> 'country', i.item ->> 'country_code', i.item ->> 'postal_code',
                           i.item ->> 'zip_code', i.item ->> 'zip_four'))
       and x.problem is not null
  )
  insert into keap.contact_addresses (contact_id, field, line1, line2, locality, region, region_code, country, country_code, postal_code, zip_code, zip_four, _run_id)
  select i.contact_id, i.field, i.line1, i.line2, i.locality, i.region, i.region_code, i.country, i.country_code, i.postal_code, i.zip_code, i.zip_four, p_run_id
    from items i
   where i.field = any (v_address_slots) and i.nth = 1;

  -- contact_custom_fields: one row per field with a value (same rules as keap_meta.custom_field_values):
  -- null contents left out (Keap lists every field, mostly empty); a value without an integer id or
  -- under a repeated id is an issue (first kept); text over max_long_text_chars() is stored as null
  -- with an issue
  with items as (
    select s.contact_id, s.page_id, e.ord, e.cf, x.id,
           row_number() over (partition by s.contact_id, x.id order by e.ord) as nth,
           jsonb_typeof(e.cf -> 'content') = 'string' and length(e.cf ->> 'content') > keap_meta.max_long_text_chars() as oversize
      from pg_temp.merge_src s
      join unnest(v_written) w(id) on w.id = s.contact_id
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec -> 'custom_fields')) with ordinality e(cf, ord)
      cross join lateral (select keap_meta.try_bigint(e.cf ->> 'id') as id) x
     where jsonb_typeof(e.cf -> 'content') <> 'null'
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, 'contacts', i.contact_id::text, 'custom_fields[' || (i.ord - 1) || ']', left(i.cf::text, 10000),
           case when i.id is null then 'custom field entry without an integer id; skipped, kept in _raw'
                when i.nth > 1 then format('custom field %s listed twice; first kept', i.id)
                else format('custom field %s value longer than %s characters (%s); stored as null, kept in _raw',
                            i.id, keap_meta.max_long_text_chars(), length(i.cf ->> 'content')) end,
           i.page_id
      from items i
     where i.id is null or i.nth > 1 or i.oversize
  )
  insert into keap.contact_custom_fields (contact_id, custom_field_id, value, _run_id)
  select i.contact_id, i.id, case when i.oversize then null else i.cf -> 'content' end, p_run_id
    from items i
   where i.id is not null and i.nth = 1;

  -- contact_tags: the tag set of every written contact becomes its tag_ids; pairs already present
  -- keep their applied_at (set by keap.merge_tagged_contacts); ids that are not integers are issues
  perform keap_meta.drop_temp_table('merge_tag_ids');
  create temporary table merge_tag_ids on commit drop as
  select s.contact_id, s.page_id, t.ord, t.raw, keap_meta.try_bigint(t.raw) as tag_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.contact_id
    cross join lateral jsonb_array_elements_text(keap_meta.json_array(s.rec -> 'tag_ids')) with ordinality t(raw, ord);
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'contacts', m.contact_id::text, 'tag_ids[' || (m.ord - 1) || ']', left(m.raw, 10000),
         'tag id is not an integer; skipped, kept in _raw', m.page_id
    from pg_temp.merge_tag_ids m
   where m.tag_id is null;
  delete from keap.contact_tags ct
   using unnest(v_written) w(id)
   where ct.contact_id = w.id
     and not exists (select from pg_temp.merge_tag_ids m where m.contact_id = ct.contact_id and m.tag_id = ct.tag_id);
  insert into keap.contact_tags (contact_id, tag_id, _run_id)
  select distinct m.contact_id, m.tag_id, p_run_id
    from pg_temp.merge_tag_ids m
   where m.tag_id is not null
  on conflict (contact_id, tag_id) do nothing;

  -- end: cursor (never past data that was not merged), pages marked merged, the sweep when asked, stats
  perform keap_meta.complete_entity_merge(p_run_id, 'contacts', 'keap.contacts', 'contact_id', 'keap.merge_contacts', v_pages,
                                          p_finish_sweep, v_started, v_mark, v_inserted, v_updated, v_received);
end
$$;
comment on procedure keap.merge_contacts(bigint, boolean) is
  'Merges the run''s unmerged staged pages of GET /rest/v2/contacts into keap.contacts (insert / update changed / clear _deleted_at) and replaces the children of each written contact (e-mails, phones, addresses, custom field values, tag set keeping applied_at), records row issues, advances the cursor, marks the pages merged and logs counts; with p_finish_sweep, soft-deletes records a completed full traversal did not list. Never commits.';

