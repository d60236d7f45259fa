-- keap.merge_tagged_contacts: staged pages of GET /rest/v2/tags/{tag_id}/contacts -> applied_at in
-- keap.contact_tags.
-- Grain in: one staged page (keap_staging.tagged_contacts, collection key contacts, parent_key =
-- the tag id) of the run; items {id (contact id), email, given_name, family_name, applied_time}.
-- Grain out: one row per (contact_id, tag_id) in keap.contact_tags: a new pair is inserted, an
-- existing pair gets applied_at when it changed. Names and e-mails of the items are not used
-- (keap.contacts has them); they stay in staging.
-- Called by: the TypeScript engine after keap.merge_contacts (one traversal per tag).
-- Safe to re-run: a second call finds no unmerged pages, changes nothing and logs zeros.
-- Removals: this listing cannot show a removed tag (it only lists current pairs); removals come
-- from keap.merge_contacts replacing each re-read contact's tag set. So p_finish_sweep deletes
-- nothing here. A bad applied_time leaves an existing applied_at as it was (new pair: null) and is
-- recorded as a row issue keyed by the contact id (the page's parent_key names the tag).

create or replace procedure keap.merge_tagged_contacts(p_run_id bigint, p_finish_sweep boolean default false)
language plpgsql
as $$
declare
  v_started  timestamptz := clock_timestamp();
  v_mark     bigint := keap_meta.issue_mark();
  v_pages    bigint[];
  v_inserted bigint;
  v_updated  bigint;
  v_received bigint;
  v_max_applied timestamptz;
begin
  v_pages := keap_meta.claim_pages('tagged_contacts', p_run_id);

  -- bad_parents: a page whose parent_key is not a tag id cannot be keyed (issue, page skipped)
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'tagged_contacts', null, 'parent_key', left(s.parent_key, 10000),
         'page parent_key is not a tag id; page skipped, kept in staging', s.page_id
    from keap_staging.tagged_contacts s
   where s.page_id = any (v_pages) and keap_meta.try_bigint(s.parent_key) is null;

  -- recs: every item of the claimed pages with a usable contact id and tag id
  perform keap_meta.drop_temp_table('merge_recs');
  create temporary table merge_recs on commit drop as
  select r.*, keap_meta.try_bigint(r.parent_key) as tag_id, keap_meta.try_timestamptz(r.rec ->> 'applied_time') as applied_at
    from keap_meta.page_records(p_run_id, 'tagged_contacts', v_pages, 'contacts') r
   where keap_meta.try_bigint(r.parent_key) is not null;

  -- src: one row per pair, the newest application when the page set lists it twice
  perform keap_meta.drop_temp_table('merge_src');
  create temporary table merge_src on commit drop as
  select distinct on (r.id, r.tag_id) r.id as contact_id, r.tag_id, r.applied_at, r.page_id, r.rec
    from pg_temp.merge_recs r
   order by r.id, r.tag_id, r.applied_at desc nulls last, r.page_id desc, r.ordinal desc;
  select count(*) into v_received from pg_temp.merge_src;

  -- upsert: new pairs, and applied_at where it changed (never overwritten by an unusable value)
  with up as (
    insert into keap.contact_tags as t (contact_id, tag_id, applied_at, _run_id)
    select s.contact_id, s.tag_id, s.applied_at, p_run_id
      from pg_temp.merge_src s
    on conflict (contact_id, tag_id) do update
      set applied_at = excluded.applied_at, _run_id = excluded._run_id, _synced_at = now()
      where excluded.applied_at is not null and t.applied_at is distinct from excluded.applied_at
    returning (t.xmax = 0) as inserted
  )
  select count(*) filter (where inserted), count(*) filter (where not inserted)
    into v_inserted, v_updated
    from up;

  -- issues: unusable applied_time values
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'tagged_contacts', s.contact_id::text, 'applied_time', left(s.rec ->> 'applied_time', 10000),
         keap_meta.cast_problem(s.rec ->> 'applied_time', s.applied_at is null, 'timestamptz'), s.page_id
    from pg_temp.merge_src s
   where keap_meta.cast_problem(s.rec ->> 'applied_time', s.applied_at is null, 'timestamptz') is not null;

  -- cursor: the watermark of the per-tag listings is applied_time (there is no keyset position)
  select max(applied_at) filter (where traversal in ('incremental', 'full')) into v_max_applied from pg_temp.merge_recs;
  perform keap_meta.advance_cursor('tagged_contacts', p_run_id, v_max_applied, null);
  perform keap_meta.mark_pages_merged('tagged_contacts', v_pages);

  -- stats
  perform keap_meta.log_merge(p_run_id, 'tagged_contacts', 'keap.merge_tagged_contacts', v_started, v_mark,
                              v_inserted, v_updated, v_received - v_inserted - v_updated, 0, cardinality(v_pages));
end
$$;
comment on procedure keap.merge_tagged_contacts(bigint, boolean) is
  'Merges the run''s unmerged staged pages of GET /rest/v2/tags/{tag_id}/contacts (parent_key = tag id) into keap.contact_tags: inserts new pairs, sets applied_at where it changed, records row issues, advances the applied_time cursor, marks the pages merged and logs counts. p_finish_sweep deletes nothing (removals come from merge_contacts). Never commits.';
