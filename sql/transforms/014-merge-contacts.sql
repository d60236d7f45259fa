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
-- Children: slots are keyed by field (EMAIL1..3, PHONE1..5, BILLING/SHIPPING/OTHER); an item with
-- a missing, unknown or repeated slot is skipped with a row issue (it stays in _raw).

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
  v_deleted  bigint := 0;
  v_max_updated timestamptz;
  v_max_full_id bigint;
begin
  v_pages := keap_meta.claim_pages('contacts', p_run_id);

  -- recs: every record of the claimed pages with a usable id (page and id problems recorded)
  perform keap_meta.drop_temp_table('merge_recs');
  create temporary table merge_recs on commit drop as
  select r.*, keap_meta.try_timestamptz(r.rec ->> 'update_time') as updated_at
    from keap_meta.page_records(p_run_id, 'contacts', v_pages, 'contacts') r;

  -- src: one typed row per record, the newest version when the page set holds it twice
  perform keap_meta.drop_temp_table('merge_src');
  create temporary table merge_src on commit drop as
  select distinct on (r.id)
         r.id as contact_id, r.page_id, r.rec,
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
    from pg_temp.merge_recs r
   order by r.id, r.updated_at desc nulls last, r.page_id desc, r.ordinal desc;
  select count(*) into v_received from pg_temp.merge_src;

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
  select p_run_id, 'contacts', s.contact_id::text, i.field, i.raw_value, i.problem, s.page_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.contact_id
    cross join lateral (
      select * from keap_meta.oversize_issues(s.rec, '{given_name,middle_name,family_name,preferred_name,prefix,suffix,job_title,company.company_name,spouse_name,contact_type,source_type,origin.ip_address,preferred_locale,time_zone,referral_code,score_value,assistant_name,assistant_phone}', keap_meta.max_short_text_chars())
      union all select * from keap_meta.oversize_issues(s.rec, '{website,billing_information}', keap_meta.max_long_text_chars())
      union all select * from keap_meta.cast_issues(s.rec, '{origin.date,create_time,update_time}', 'timestamptz')
      union all select * from keap_meta.cast_issues(s.rec, '{birth_date,anniversary_date}', 'date')
      union all select * from keap_meta.cast_issues(s.rec, '{company.id,owner_id,leadsource_id,account_id,created_by,last_updated_by}', 'bigint')
      union all select * from keap_meta.enum_issues(s.rec, 'source_type', '{SOURCE_TYPE_UNSPECIFIED,API,APPOINTMENT,FORM_API_HOSTED,FORM_API_INTERNAL,IMPORT,INTERNAL_FORM,LANDING_PAGE,MANUAL,OTHER,UNKNOWN,WEBFORM}')
    ) i;

  -- children: every written contact's e-mails, phones, addresses and custom field values are
  -- replaced (delete + insert), so removed ones disappear
  delete from keap.contact_emails c using unnest(v_written) w(id) where c.contact_id = w.id;
  delete from keap.contact_phones c using unnest(v_written) w(id) where c.contact_id = w.id;
  delete from keap.contact_addresses c using unnest(v_written) w(id) where c.contact_id = w.id;
  delete from keap.contact_custom_fields c using unnest(v_written) w(id) where c.contact_id = w.id;

  -- contact_emails: one row per slot; a missing, unknown or repeated slot cannot be keyed (issue, skipped)
  with items as (
    select s.contact_id, s.page_id, e.item, e.ord, e.item ->> 'field' as field,
           row_number() over (partition by s.contact_id, e.item ->> 'field' order by e.ord) as nth
      from pg_temp.merge_src s
      join unnest(v_written) w(id) on w.id = s.contact_id
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec -> 'email_addresses')) with ordinality e(item, ord)
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, 'contacts', i.contact_id::text, 'email_addresses[' || (i.ord - 1) || '].' || x.field, x.raw_value, x.problem, i.page_id
      from items i
      cross join lateral (
        select 'field' as field, left(i.item::text, 10000) as raw_value,
               case when i.field is null then 'e-mail without a slot (field); skipped, kept in _raw'
                    when not (i.field = any ('{EMAIL1,EMAIL2,EMAIL3}')) then 'unknown e-mail slot; skipped, kept in _raw'
                    else 'e-mail slot listed twice; first kept' end as problem
         where i.field is null or not (i.field = any ('{EMAIL1,EMAIL2,EMAIL3}')) or i.nth > 1
        union all
        select y.* from (
                 select * from keap_meta.oversize_issues(i.item, '{email,email_opt_status}', keap_meta.max_short_text_chars())
                 union all select * from keap_meta.oversize_issues(i.item, '{opt_in_reason}', keap_meta.max_long_text_chars())
                 union all select * from keap_meta.cast_issues(i.item, '{is_opt_in}', 'boolean')
                 union all select * from keap_meta.enum_issues(i.item, 'email_opt_status', '{UNENGAGED_MARKETABLE,SINGLE_OPT_IN,DOUBLE_OPT_IN,CONFIRMED,UNENGAGED_NON_MARKETABLE,NON_MARKETABLE,LOCKDOWN,BOUNCE,HARD_BOUNCE,MANUAL,ADMIN,SYSTEM,LIST_UNSUBSCRIBE,FEEDBACK,SPAM,INVALID,DEACTIVATED}')
               ) y
         where i.field = any ('{EMAIL1,EMAIL2,EMAIL3}') and i.nth = 1
      ) x
  )
  insert into keap.contact_emails (contact_id, field, email, is_opt_in, opt_in_reason, email_opt_status, _run_id)
  select i.contact_id, i.field, keap_meta.try_text(i.item ->> 'email', keap_meta.max_short_text_chars()), keap_meta.try_boolean(i.item ->> 'is_opt_in'), keap_meta.try_text(i.item ->> 'opt_in_reason', keap_meta.max_long_text_chars()), keap_meta.try_text(i.item ->> 'email_opt_status', keap_meta.max_short_text_chars()), p_run_id
    from items i
   where i.field = any ('{EMAIL1,EMAIL2,EMAIL3}') and i.nth = 1;

  -- contact_phones: one row per slot; a missing, unknown or repeated slot cannot be keyed (issue, skipped)
  with items as (
    select s.contact_id, s.page_id, e.item, e.ord, e.item ->> 'field' as field,
           row_number() over (partition by s.contact_id, e.item ->> 'field' order by e.ord) as nth
      from pg_temp.merge_src s
      join unnest(v_written) w(id) on w.id = s.contact_id
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec -> 'phone_numbers')) with ordinality e(item, ord)
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, 'contacts', i.contact_id::text, 'phone_numbers[' || (i.ord - 1) || '].' || x.field, x.raw_value, x.problem, i.page_id
      from items i
      cross join lateral (
        select 'field' as field, left(i.item::text, 10000) as raw_value,
               case when i.field is null then 'phone without a slot (field); skipped, kept in _raw'
                    when not (i.field = any ('{PHONE1,PHONE2,PHONE3,PHONE4,PHONE5}')) then 'unknown phone slot; skipped, kept in _raw'
                    else 'phone slot listed twice; first kept' end as problem
         where i.field is null or not (i.field = any ('{PHONE1,PHONE2,PHONE3,PHONE4,PHONE5}')) or i.nth > 1
        union all
        select y.* from (
                 select * from keap_meta.oversize_issues(i.item, '{number,extension,type,number_e164}', keap_meta.max_short_text_chars())
               ) y
         where i.field = any ('{PHONE1,PHONE2,PHONE3,PHONE4,PHONE5}') and i.nth = 1
      ) x
  )
  insert into keap.contact_phones (contact_id, field, number, extension, type, number_e164, _run_id)
  select i.contact_id, i.field, keap_meta.try_text(i.item ->> 'number', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'extension', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'type', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'number_e164', keap_meta.max_short_text_chars()), p_run_id
    from items i
   where i.field = any ('{PHONE1,PHONE2,PHONE3,PHONE4,PHONE5}') and i.nth = 1;

  -- contact_addresses: one row per slot; a missing, unknown or repeated slot cannot be keyed (issue, skipped)
  with items as (
    select s.contact_id, s.page_id, e.item, e.ord, e.item ->> 'field' as field,
           row_number() over (partition by s.contact_id, e.item ->> 'field' order by e.ord) as nth
      from pg_temp.merge_src s
      join unnest(v_written) w(id) on w.id = s.contact_id
      cross join lateral jsonb_array_elements(keap_meta.json_array(s.rec -> 'addresses')) with ordinality e(item, ord)
  ),
  item_issues as (
    insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
    select p_run_id, 'contacts', i.contact_id::text, 'addresses[' || (i.ord - 1) || '].' || x.field, x.raw_value, x.problem, i.page_id
      from items i
      cross join lateral (
        select 'field' as field, left(i.item::text, 10000) as raw_value,
               case when i.field is null then 'address without a slot (field); skipped, kept in _raw'
                    when not (i.field = any ('{BILLING,SHIPPING,OTHER}')) then 'unknown address slot; skipped, kept in _raw'
                    else 'address slot listed twice; first kept' end as problem
         where i.field is null or not (i.field = any ('{BILLING,SHIPPING,OTHER}')) or i.nth > 1
        union all
        select y.* from (
                 select * from keap_meta.oversize_issues(i.item, '{line1,line2,locality,region,region_code,country,country_code,postal_code,zip_code,zip_four}', keap_meta.max_short_text_chars())
               ) y
         where i.field = any ('{BILLING,SHIPPING,OTHER}') and i.nth = 1
      ) x
  )
  insert into keap.contact_addresses (contact_id, field, line1, line2, locality, region, region_code, country, country_code, postal_code, zip_code, zip_four, _run_id)
  select i.contact_id, i.field, keap_meta.try_text(i.item ->> 'line1', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'line2', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'locality', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'region', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'region_code', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'country', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'country_code', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'postal_code', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'zip_code', keap_meta.max_short_text_chars()), keap_meta.try_text(i.item ->> 'zip_four', keap_meta.max_short_text_chars()), p_run_id
    from items i
   where i.field = any ('{BILLING,SHIPPING,OTHER}') and i.nth = 1;

  -- contact_custom_fields: one row per field with a value (see keap_meta.custom_field_values)
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'contacts', s.contact_id::text, i.field, i.raw_value, i.problem, s.page_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.contact_id
    cross join lateral keap_meta.custom_field_issues(s.rec -> 'custom_fields') i;
  insert into keap.contact_custom_fields (contact_id, custom_field_id, value, _run_id)
  select s.contact_id, v.key::bigint, nullif(v.value, 'null'::jsonb), p_run_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.contact_id
    cross join lateral jsonb_each(keap_meta.custom_field_values(s.rec -> 'custom_fields')) v;

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

  -- cursor: in this transaction, so it never moves past data that was not merged
  select max(updated_at) filter (where traversal in ('incremental', 'full')), max(id) filter (where traversal = 'full')
    into v_max_updated, v_max_full_id
    from pg_temp.merge_recs;
  perform keap_meta.advance_cursor('contacts', p_run_id, v_max_updated, v_max_full_id);
  perform keap_meta.mark_pages_merged('contacts', v_pages);

  -- sweep: after the last page of a full traversal, soft-delete what it did not list
  if p_finish_sweep then
    v_deleted := keap_meta.finish_full_sweep(p_run_id, 'contacts', 'contacts', 'keap.contacts', 'contact_id');
  end if;

  -- stats
  perform keap_meta.log_merge(p_run_id, 'contacts', 'keap.merge_contacts', v_started, v_mark,
                              v_inserted, v_updated, v_received - v_inserted - v_updated, v_deleted, cardinality(v_pages));
end
$$;
comment on procedure keap.merge_contacts(bigint, boolean) is
  'Merges the run''s unmerged staged pages of GET /rest/v2/contacts into keap.contacts (insert / update changed / clear _deleted_at) and replaces the children of each written contact (e-mails, phones, addresses, custom field values, tag set keeping applied_at), records row issues, advances the cursor, marks the pages merged and logs counts; with p_finish_sweep, soft-deletes records a completed full traversal did not list. Never commits.';

