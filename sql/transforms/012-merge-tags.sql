-- keap.merge_tags: staged pages of GET /rest/v2/tags -> keap.tags.
-- Grain in: one staged page (keap_staging.tags, collection key tags) of the run.
-- Grain out: one row per tag (tag_id), with the id of its category.
-- Called by: the TypeScript engine after staging pages, p_finish_sweep => true after the last page
-- of a complete full traversal. Safe to re-run: a second call finds no unmerged pages and logs zeros.

create or replace procedure keap.merge_tags(p_run_id bigint, p_finish_sweep boolean default false)
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
  v_pages := keap_meta.claim_pages('tags', p_run_id);

  -- recs and pick: the claimed pages' records, newest version per id, unchanged ones left out
  v_received := keap_meta.prepare_entity_merge(p_run_id, 'tags', v_pages, 'keap.tags', 'tag_id');

  -- src: one typed row per picked record
  perform keap_meta.drop_temp_table('merge_src');
  create temporary table merge_src on commit drop as
  select r.id as tag_id, r.page_id, r.rec,
         keap_meta.try_text(r.rec ->> 'name', keap_meta.max_short_text_chars()) as name,
         keap_meta.try_text(r.rec ->> 'description', keap_meta.max_long_text_chars()) as description,
         keap_meta.try_bigint(r.rec #>> '{category,id}') as tag_category_id,
         keap_meta.try_timestamptz(r.rec ->> 'create_time') as created_at,
         keap_meta.try_timestamptz(r.rec ->> 'update_time') as updated_at
    from pg_temp.merge_pick r;

  -- upsert: write only new, changed or soft-deleted rows; xmax = 0 tells inserts from updates
  with up as (
    insert into keap.tags as t (tag_id, name, description, tag_category_id, created_at, updated_at, _run_id, _raw)
    select s.tag_id, s.name, s.description, s.tag_category_id, s.created_at, s.updated_at, p_run_id, s.rec
      from pg_temp.merge_src s
    on conflict (tag_id) do update
      set name = excluded.name,
          description = excluded.description,
          tag_category_id = excluded.tag_category_id,
          created_at = excluded.created_at,
          updated_at = excluded.updated_at,
          _run_id = excluded._run_id, _raw = excluded._raw, _synced_at = now(), _deleted_at = null
      where t._deleted_at is not null
         or (t.name, t.description, t.tag_category_id, t.created_at, t.updated_at, t._raw)
            is distinct from (excluded.name, excluded.description, excluded.tag_category_id, excluded.created_at, excluded.updated_at, excluded._raw)
    returning t.tag_id, (t.xmax = 0) as inserted
  )
  select count(*) filter (where inserted), count(*) filter (where not inserted), coalesce(array_agg(tag_id), '{}')
    into v_inserted, v_updated, v_written
    from up;

  -- issues: the values of the written rows that were stored as null or kept despite a problem
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, 'tags', s.tag_id::text, i.field, left(i.raw_value, 10000), i.problem, s.page_id
    from pg_temp.merge_src s
    join unnest(v_written) w(id) on w.id = s.tag_id
    cross join lateral (values
      ('name', s.rec ->> 'name', keap_meta.oversize_problem(s.rec ->> 'name', keap_meta.max_short_text_chars())),
      ('description', s.rec ->> 'description', keap_meta.oversize_problem(s.rec ->> 'description', keap_meta.max_long_text_chars())),
      ('category.id', s.rec #>> '{category,id}', keap_meta.cast_problem(s.rec #>> '{category,id}', s.tag_category_id is null, 'bigint')),
      ('create_time', s.rec ->> 'create_time', keap_meta.cast_problem(s.rec ->> 'create_time', s.created_at is null, 'timestamptz')),
      ('update_time', s.rec ->> 'update_time', keap_meta.cast_problem(s.rec ->> 'update_time', s.updated_at is null, 'timestamptz'))
    ) i(field, raw_value, problem)
   -- cheap pre-check: only rows where a typed value is null although its raw value is present can have a problem
   where (num_nonnulls(s.name, s.description, s.tag_category_id, s.created_at, s.updated_at)
          < num_nonnulls(s.rec ->> 'name', s.rec ->> 'description', nullif(btrim(s.rec #>> '{category,id}'), ''),
                         nullif(btrim(s.rec ->> 'create_time'), ''), nullif(btrim(s.rec ->> 'update_time'), '')))
     and i.problem is not null;

  -- end: cursor (never past data that was not merged), pages marked merged, the sweep when asked, stats
  perform keap_meta.complete_entity_merge(p_run_id, 'tags', 'keap.tags', 'tag_id', 'keap.merge_tags', v_pages,
                                          p_finish_sweep, v_started, v_mark, v_inserted, v_updated, v_received);
end
$$;
comment on procedure keap.merge_tags(bigint, boolean) is
  'Merges the run''s unmerged staged pages of GET /rest/v2/tags into keap.tags (insert / update changed / clear _deleted_at), records row issues, advances the cursor, marks the pages merged and logs counts; with p_finish_sweep, soft-deletes records a completed full traversal did not list. Never commits.';

