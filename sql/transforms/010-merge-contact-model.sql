-- keap.merge_contact_model: staged GET /rest/v2/contacts/model bodies -> keap.custom_fields (model 'contacts').
-- Grain in: one staged page (keap_staging.contact_model, traversal 'snapshot'): the whole
-- ObjectModel body {custom_fields: [...], optional_properties: [...]}.
-- Grain out: one row per contact custom field definition (model, custom_field_id).
-- Called by: the TypeScript engine once per run, before the contacts (values reference these ids).
-- Safe to re-run: a second call finds no unmerged pages, changes nothing and logs zeros.
-- The model is unpaged, so every merge with a page is a complete listing: fields it no longer lists
-- get _deleted_at (unless a page was unparseable, or the listing is empty while fields are live),
-- fields listed again are undeleted.
-- p_finish_sweep is accepted for the common signature and changes nothing. optional_properties is
-- not stored (it stays in staging).

create or replace procedure keap.merge_contact_model(p_run_id bigint, p_finish_sweep boolean default false)
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
  v_deleted  bigint;
begin
  v_pages := keap_meta.claim_pages('contact_model', p_run_id);

  -- src: one typed row per custom field, from the newest page when the run staged the model twice
  perform keap_meta.drop_temp_table('merge_src');
  create temporary table merge_src on commit drop as
  select distinct on (r.id)
         r.id as custom_field_id, r.page_id, r.rec,
         keap_meta.try_text(r.rec ->> 'label', keap_meta.max_short_text_chars()) as label,
         keap_meta.try_text(r.rec ->> 'field_name', keap_meta.max_short_text_chars()) as field_name,
         keap_meta.try_text(r.rec ->> 'field_type', keap_meta.max_short_text_chars()) as field_type,
         keap_meta.try_text(r.rec ->> 'record_type', keap_meta.max_short_text_chars()) as record_type,
         keap_meta.try_text(r.rec ->> 'default_value', keap_meta.max_long_text_chars()) as default_value,
         keap_meta.try_bigint(r.rec ->> 'group_id') as group_id,
         keap_meta.try_text(r.rec ->> 'group_name', keap_meta.max_short_text_chars()) as group_name,
         keap_meta.json_array(r.rec -> 'options') as options
    from keap_meta.page_records(p_run_id, 'contact_model', v_pages, 'custom_fields') r
   order by r.id, r.page_id desc, r.ordinal desc;
  select count(*) into v_received from pg_temp.merge_src;

  -- upsert: write only new, changed or soft-deleted rows; xmax = 0 tells inserts from updates
  with up as (
    insert into keap.custom_fields as t (model, custom_field_id, label, field_name, field_type, record_type, default_value, group_id, group_name, options, _run_id, _raw)
    select 'contacts', s.custom_field_id, s.label, s.field_name, s.field_type, s.record_type, s.default_value, s.group_id, s.group_name, s.options, p_run_id, s.rec
      from pg_temp.merge_src s
    on conflict (model, custom_field_id) do update
      set label = excluded.label,
          field_name = excluded.field_name,
          field_type = excluded.field_type,
          record_type = excluded.record_type,
          default_value = excluded.default_value,
          group_id = excluded.group_id,
          group_name = excluded.group_name,
          options = excluded.options,
          _run_id = excluded._run_id, _raw = excluded._raw, _synced_at = now(), _deleted_at = null
      where t._deleted_at is not null
         or (t.label, t.field_name, t.field_type, t.record_type, t.default_value, t.group_id, t.group_name, t.options, t._raw)
            is distinct from (excluded.label, excluded.field_name, excluded.field_type, excluded.record_type, excluded.default_value, excluded.group_id, excluded.group_name, excluded.options, excluded._raw)
    returning t.custom_field_id, (t.xmax = 0) as inserted
  )
  select count(*) filter (where inserted), count(*) filter (where not inserted), coalesce(array_agg(custom_field_id), '{}')
    into v_inserted, v_updated, v_written
    from up;

  -- issues: the values of the written rows that were stored as null or kept despite a problem
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'contact_model', s.custom_field_id::text, i.field, left(i.raw_value, 10000), i.problem, s.page_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.custom_field_id
    cross join lateral (values
      ('label', s.rec ->> 'label', keap_meta.oversize_problem(s.rec ->> 'label', keap_meta.max_short_text_chars())),
      ('field_name', s.rec ->> 'field_name', keap_meta.oversize_problem(s.rec ->> 'field_name', keap_meta.max_short_text_chars())),
      ('field_type', s.rec ->> 'field_type', keap_meta.oversize_problem(s.rec ->> 'field_type', keap_meta.max_short_text_chars())),
      ('field_type', s.rec ->> 'field_type', keap_meta.enum_problem(s.rec ->> 'field_type', '{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}')),
      ('record_type', s.rec ->> 'record_type', keap_meta.oversize_problem(s.rec ->> 'record_type', keap_meta.max_short_text_chars())),
      ('record_type', s.rec ->> 'record_type', keap_meta.enum_problem(s.rec ->> 'record_type', '{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}')),
      ('default_value', s.rec ->> 'default_value', keap_meta.oversize_problem(s.rec ->> 'default_value', keap_meta.max_long_text_chars())),
      ('group_id', s.rec ->> 'group_id', keap_meta.cast_problem(s.rec ->> 'group_id', s.group_id is null, 'bigint')),
      ('group_name', s.rec ->> 'group_name', keap_meta.oversize_problem(s.rec ->> 'group_name', keap_meta.max_short_text_chars()))
    ) i(field, raw_value, problem)
   -- cheap pre-check: only rows where a typed value is null although its raw value is present or an
   -- enum value is unknown can have a problem
   where (num_nonnulls(s.label, s.field_name, s.field_type, s.record_type, s.default_value, s.group_id, s.group_name)
          < num_nonnulls(s.rec ->> 'label', s.rec ->> 'field_name', s.rec ->> 'field_type', s.rec ->> 'record_type',
                         s.rec ->> 'default_value', nullif(btrim(s.rec ->> 'group_id'), ''), s.rec ->> 'group_name')
          or not (s.field_type = any ('{CURRENCY,DATE,DATE_TIME,DAY_OF_WEEK,DECIMAL_NUMBER,DRILLDOWN,DROPDOWN,EMAIL,LIST_BOX,MONTH,NAME,PERCENT,PHONE_NUMBER,RADIO,SOCIAL_SECURITY_NUMBER,STATE,TEXT,TEXT_AREA,USER,USER_LIST_BOX,WEBSITE,WHOLE_NUMBER,YEAR,YES_NO}'))
          or not (s.record_type = any ('{CONTACT,REFERRAL_PARTNER,OPPORTUNITY,TASK_NOTE_APPOINTMENT,COMPANY,ORDER,SUBSCRIPTION}')))
     and i.problem is not null;

  -- sweep: a snapshot is a full listing, so fields it does not list are soft-deleted
  if cardinality(v_pages) > 0 then
    v_deleted := keap_meta.soft_delete_unlisted(p_run_id, 'contact_model', 'custom_fields', v_pages,
                                                'keap.custom_fields', 'custom_field_id', $q$model = 'contacts'$q$);
    insert into keap_meta.sync_cursors as c (entity, last_full_completed_at, last_run_id, updated_at)
    values ('contact_model', now(), p_run_id, clock_timestamp())
    on conflict (entity) do update
      set last_full_completed_at = now(), last_run_id = p_run_id, updated_at = clock_timestamp();
  end if;
  perform keap_meta.mark_pages_merged('contact_model', v_pages);

  -- stats
  perform keap_meta.log_merge(p_run_id, 'contact_model', 'keap.merge_contact_model', v_started, v_mark,
                              v_inserted, v_updated, v_received - v_inserted - v_updated, v_deleted, cardinality(v_pages));
end
$$;
comment on procedure keap.merge_contact_model(bigint, boolean) is
  'Merges the run''s unmerged staged GET /rest/v2/contacts/model bodies into keap.custom_fields (model contacts): inserts / updates changed definitions, soft-deletes fields the model no longer lists (a snapshot is a full listing), records row issues and source counts, marks the pages merged and logs counts. p_finish_sweep changes nothing. Never commits.';
