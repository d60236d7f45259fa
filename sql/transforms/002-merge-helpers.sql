-- Shared building blocks of the generated Keap merge procedures (keap_meta.generate_merge in
-- 004-merge-generator.sql writes keap.merge_<entity> from a declaration; these are what it calls):
--   guarded casts        keap_meta.try_timestamptz / try_date / try_bigint / try_integer / try_numeric /
--                        try_boolean / try_text, json_array, json_object
--   staged pages         keap_meta.parse_page, page_problem, claim_pages, page_records, mark_pages_merged
--   a merge's start/end  keap_meta.load_merge_records, complete_entity_merge
--   row issues           keap_meta.record_issue, id_problem, oversize_problem, cast_problem, enum_problem,
--                        slot_problem, custom_field_issues, custom_fields_suspect, issue_mark
--   cursors and deletes  keap_meta.begin_full_sweep, advance_cursor, soft_delete_unlisted, finish_full_sweep
--   merge log            keap_meta.log_merge
-- Called by: the merge procedures only (begin_full_sweep: the TypeScript engine before a full
-- traversal). Safe to re-run: create or replace only, no state.
--
-- Size limits (documented once, here): short text fields (names, e-mails, phones, codes, labels)
-- hold at most keap_meta.max_short_text_chars() = 1,000 characters (Keap's own limits are 255 or
-- less, so anything longer is garbage); long text (notes, descriptions, billing information, custom
-- field values) at most keap_meta.max_long_text_chars() = 65,535 characters (Keap's limit for
-- custom field text). A longer value is stored as null, recorded in keap_meta.row_issues, and kept
-- whole in the row's _raw and in staging.
--
-- Enums: a value outside the Keap v2 spec's list (source_type, email_opt_status, field_type, ...) is
-- KEPT as received, with a row issue: Keap adds values over time and the text stays meaningful, while
-- null would lose it. A slot that keys a child row (e-mail / phone / address field) cannot be kept
-- that way: an unknown or missing slot skips that child with an issue (the spec's
-- *_FIELD_UNSPECIFIED values are real slots and are kept).
--
-- Issues are recorded for the rows a merge writes (inserted, changed or undeleted), so re-reading an
-- unchanged record does not repeat them; records and pages that cannot be used at all are recorded
-- every time they are staged. Pages are marked merged once read, also those that could not be used
-- (the row issue, field 'page', names them by staged_page_id; the raw page stays in staging).

-- Helpers of earlier versions of this file (replaced by the *_problem functions).
drop function if exists keap_meta.oversize_issues(jsonb, text[], integer);
drop function if exists keap_meta.cast_issues(jsonb, text[], text);
drop function if exists keap_meta.enum_issues(jsonb, text, text[]);
drop function if exists keap_meta.prepare_entity_merge(bigint, text, bigint[], regclass, text);
drop function if exists keap_meta.load_merge_records(bigint, text, bigint[], text, text[], text);
drop function if exists keap_meta.complete_entity_merge(bigint, text, regclass, text, text, bigint[], boolean, timestamptz, bigint, bigint, bigint, bigint);

-- Limits as functions so every merge and test reads the same numbers.
create or replace function keap_meta.max_short_text_chars() returns integer
language sql immutable parallel safe
as $$ select 1000 $$;
comment on function keap_meta.max_short_text_chars() is 'Longest short text (name, e-mail, phone, code, label) a merge stores: 1,000 characters; longer values become null plus a row issue.';

create or replace function keap_meta.max_long_text_chars() returns integer
language sql immutable parallel safe
as $$ select 65535 $$;
comment on function keap_meta.max_long_text_chars() is 'Longest long text (notes, descriptions, custom field values) a merge stores: 65,535 characters (Keap''s custom field limit); longer values become null plus a row issue.';

-- ISO-8601 only: text::timestamptz alone would also accept 'now', 'today', 'epoch' or 'infinity'.
-- A timestamp without an offset is read as UTC (Keap's API time), never as the session time zone.
-- The checked versions catch a well-formed string naming no real instant (2026-02-30) with an
-- exception block, which costs a subtransaction per call; try_timestamptz / try_date below send
-- only the values a regular expression cannot vouch for (days 29-31, no offset, odd spacing) there.
create or replace function keap_meta.try_timestamptz_checked(p_value text) returns timestamptz
language plpgsql stable parallel safe
as $$
declare
  v text := btrim(p_value);
begin
  if v !~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)?$' then
    return null;
  end if;
  if v !~ '([Zz]|[+-]\d{2}(:?\d{2})?)$' or v ~ '^\d{4}-\d{2}-\d{2}$' then
    v := v || '+00';
  end if;
  return v::timestamptz;
exception when data_exception then
  -- Class 22: a well-formed string naming no real instant (2026-02-30, 25:00, year 0000).
  return null;
end
$$;
comment on function keap_meta.try_timestamptz_checked(text) is 'ISO-8601 text to timestamptz (no offset = UTC), or null when it is not a valid ISO-8601 timestamp; guarded by an exception block. Never raises.';

-- Plain SQL, inlined by the planner: the common shape (YYYY-MM-DDTHH:MM:SS[.ffffff] with Z or an
-- offset, day 01-28) is cast directly; everything else goes through the checked version.
create or replace function keap_meta.try_timestamptz(p_value text) returns timestamptz
language sql stable parallel safe
as $$
  select case when p_value ~ '^[0-9]{3}[1-9]-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])$'
              then p_value::timestamptz
              else keap_meta.try_timestamptz_checked(p_value) end
$$;
comment on function keap_meta.try_timestamptz(text) is 'ISO-8601 text to timestamptz (no offset = UTC), or null when it is not a valid ISO-8601 timestamp. Never raises.';

-- Dates: YYYY-MM-DD, optionally followed by a time part that is ignored (some Keap dates carry one).
create or replace function keap_meta.try_date_checked(p_value text) returns date
language plpgsql stable parallel safe
as $$
declare
  v text := substring(btrim(p_value) from '^(\d{4}-\d{2}-\d{2})(T.*)?$');
begin
  if v is null then
    return null;
  end if;
  return v::date;
exception when data_exception then
  return null;
end
$$;
comment on function keap_meta.try_date_checked(text) is 'YYYY-MM-DD text (an ISO time part after it is ignored) to date, or null when it is not a valid date; guarded by an exception block. Never raises.';

create or replace function keap_meta.try_date(p_value text) returns date
language sql stable parallel safe
as $$
  select case when p_value ~ '^[0-9]{3}[1-9]-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$' then p_value::date
              else keap_meta.try_date_checked(p_value) end
$$;
comment on function keap_meta.try_date(text) is 'YYYY-MM-DD text (an ISO time part after it is ignored) to date, or null when it is not a valid date. Never raises.';

-- Keap v2 ids are JSON strings holding integers. Plain SQL (inlined by the planner, no exception
-- block): it runs for every id, tag id and custom field id, so it must be cheap.
create or replace function keap_meta.try_bigint(p_value text) returns bigint
language sql immutable parallel safe
as $$
  select case when p_value ~ '^\s*[+-]?\d{1,18}\s*$' then p_value::bigint
              when p_value ~ '^\s*[+-]?\d{19}\s*$'
                   and btrim(p_value)::numeric between -9223372036854775808 and 9223372036854775807 then p_value::bigint
         end
$$;
comment on function keap_meta.try_bigint(text) is 'Integer text (e.g. a Keap id) to bigint, or null when it is not an integer in bigint range. Never raises.';

create or replace function keap_meta.try_boolean(p_value text) returns boolean
language sql immutable parallel safe
as $$ select case lower(btrim(p_value)) when 'true' then true when 'false' then false end $$;
comment on function keap_meta.try_boolean(text) is 'true/false (JSON boolean or string) to boolean, or null for anything else. Never raises.';

create or replace function keap_meta.try_text(p_value text, p_max_chars integer) returns text
language sql immutable parallel safe
as $$ select case when octet_length(p_value) <= p_max_chars or length(p_value) <= p_max_chars then p_value end $$;
comment on function keap_meta.try_text(text, integer) is 'The text when it has at most p_max_chars characters, else null (the caller records a row issue).';

create or replace function keap_meta.try_integer(p_value text) returns integer
language sql immutable parallel safe
as $$
  select case when p_value ~ '^\s*[+-]?\d{1,9}\s*$' then p_value::integer
              when p_value ~ '^\s*[+-]?\d{10}\s*$' and btrim(p_value)::bigint between -2147483648 and 2147483647 then p_value::integer
         end
$$;
comment on function keap_meta.try_integer(text) is 'Integer text to integer, or null when it is not an integer in integer range. Never raises.';

-- JSON numbers (and numeric strings) to numeric, exactly as written: 19.9 stays 19.9 (never a
-- float's 19.899999999999999). Digits and exponent are bounded so the cast cannot overflow.
create or replace function keap_meta.try_numeric(p_value text) returns numeric
language sql immutable parallel safe
as $$
  select case when length(p_value) <= 1000 and p_value ~ '^\s*-?\d+(\.\d+)?([eE][+-]?\d{1,3})?\s*$' then p_value::numeric end
$$;
comment on function keap_meta.try_numeric(text) is 'Number text (a JSON number or numeric string) to an exact numeric, or null when it is not a number. Never raises.';

-- A JSON object, or an empty one for anything else (an item of a child list that is not an object
-- is read as empty, and its problems are recorded from the raw item).
create or replace function keap_meta.json_object(p_value jsonb) returns jsonb
language sql immutable parallel safe
as $$ select case when jsonb_typeof(p_value) = 'object' then p_value else '{}'::jsonb end $$;
comment on function keap_meta.json_object(jsonb) is 'The value when it is a JSON object, else {} (so jsonb_to_record never fails on a malformed item).';

-- Why a record of a page has no usable id (called only for records whose id did not cast).
create or replace function keap_meta.id_problem(p_rec jsonb) returns text
language sql immutable parallel safe
as $$
  select case when jsonb_typeof(p_rec) <> 'object' then 'record is not a JSON object; skipped, kept in staging'
              when p_rec ->> 'id' is null then 'record has no id; skipped, kept in staging'
              else 'id is not an integer; record skipped, kept in staging' end
$$;
comment on function keap_meta.id_problem(jsonb) is 'Row-issue text for a staged record without a usable integer id (not an object, no id, id not an integer).';

-- A JSON array, or an empty one for null / missing / non-array (Keap omits empty lists).
create or replace function keap_meta.json_array(p_value jsonb) returns jsonb
language sql immutable parallel safe
as $$ select case when jsonb_typeof(p_value) = 'array' then p_value else '[]'::jsonb end $$;
comment on function keap_meta.json_array(jsonb) is 'The value when it is a JSON array, else [] (Keap omits empty lists and sends null for absent ones).';

-- The page's JSON. jsonb cannot hold NUL (\u0000), so a body stored as raw text is parsed after
-- replacing each \u0000 escape (one preceded by an even number of backslashes) with p_nul_escape:
-- '' removes it; page_records passes '\uffff' to find and name the records that held one.
create or replace function keap_meta.parse_page(p_payload jsonb, p_raw_body text, p_nul_escape text default '') returns jsonb
language plpgsql immutable parallel safe
as $$
begin
  if p_payload is not null or p_raw_body is null then
    return p_payload;
  end if;
  return regexp_replace(p_raw_body, '(?<!\\)((?:\\\\)*)\\u0000', '\1' || replace(coalesce(p_nul_escape, ''), '\', '\\'), 'g')::jsonb;
exception when others then
  -- Only parse errors can happen here (invalid JSON text, unsupported escapes); the page stays in staging.
  return null;
end
$$;
comment on function keap_meta.parse_page(jsonb, text, text) is 'JSON of a staged page: payload, or raw_body parsed after replacing \u0000 escapes (removed by default); null when still unparseable. Never raises.';

-- Why a page cannot be merged, or null when it can. A missing or null collection is an empty page
-- (Keap omits empty lists); p_collection null means the whole body is one record.
create or replace function keap_meta.page_problem(p_body jsonb, p_collection text) returns text
language sql immutable parallel safe
as $$
  select case
    when p_body is null then 'page body is not valid JSON (even after removing \u0000 escapes); page skipped, kept in staging'
    when jsonb_typeof(p_body) <> 'object' then 'page body is not a JSON object; page skipped, kept in staging'
    when p_collection is not null and jsonb_typeof(p_body -> p_collection) not in ('array', 'null')
      then format('page field %s is not an array; page skipped, kept in staging', p_collection)
  end
$$;
comment on function keap_meta.page_problem(jsonb, text) is 'Why a parsed page cannot be merged (not JSON, not an object, collection not an array), or null when it can.';

create or replace function keap_meta.check_entity_name(p_entity text) returns text
language plpgsql immutable parallel safe
as $$
begin
  if p_entity is null or p_entity !~ '^[a-z][a-z0-9_]*$' then
    raise exception 'invalid entity name: %', coalesce(p_entity, 'null')
      using errcode = 'KR004', hint = 'Entity names are staging table names: lower-case letters, digits and _.';
  end if;
  return p_entity;
end
$$;
comment on function keap_meta.check_entity_name(text) is 'Returns the entity name when it is a valid staging table name, else raises KR004 (guards dynamic SQL).';

-- Merges stage their rows in temporary tables (on commit drop); a second merge in the same
-- transaction drops the first one's table. Without the NOTICE of "drop ... if exists".
create or replace function keap_meta.drop_temp_table(p_name text) returns void
language plpgsql volatile
as $$
begin
  if to_regclass('pg_temp.' || quote_ident(p_name)) is not null then
    execute format('drop table pg_temp.%I', p_name);
  end if;
end
$$;
comment on function keap_meta.drop_temp_table(text) is 'Drops a temporary table of this session if it exists (merges use them for their working rows), without a notice.';

-- The run's unmerged pages, locked so two merges of the same run and entity cannot both take them;
-- the merge then reads and marks exactly these pages, even if the engine stages more meanwhile.
create or replace function keap_meta.claim_pages(p_entity text, p_run_id bigint) returns bigint[]
language plpgsql volatile
as $$
declare
  v_pages bigint[];
begin
  execute format('select array(select page_id from keap_staging.%I where run_id = $1 and merged_at is null order by page_id for update)',
                 keap_meta.check_entity_name(p_entity))
    into v_pages using p_run_id;
  return v_pages;
end
$$;
comment on function keap_meta.claim_pages(text, bigint) is 'Locks and returns the ids of a run''s staged pages of an entity that are not merged yet.';

create or replace function keap_meta.mark_pages_merged(p_entity text, p_page_ids bigint[]) returns integer
language plpgsql volatile
as $$
declare
  v_n integer;
begin
  execute format('update keap_staging.%I set merged_at = clock_timestamp() where page_id = any($1) and merged_at is null',
                 keap_meta.check_entity_name(p_entity))
    using p_page_ids;
  get diagnostics v_n = row_count;
  return v_n;
end
$$;
comment on function keap_meta.mark_pages_merged(text, bigint[]) is 'Sets merged_at on the given staged pages of an entity (pages stay in staging); returns how many.';

create or replace function keap_meta.record_issue(
  p_run_id bigint, p_entity text, p_record_key text, p_field text, p_raw_value text, p_problem text, p_page_id bigint default null
) returns void
language sql volatile
as $$
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  values (p_run_id, p_entity, p_record_key, p_field, left(p_raw_value, 10000), p_problem, p_page_id)
$$;
comment on function keap_meta.record_issue(bigint, text, text, text, text, text, bigint) is 'Records one row issue (raw value truncated to 10,000 characters). Set-based merges insert into keap_meta.row_issues directly.';

-- Highest issue id so far: a merge counts its own issues (rejected_count) as those above the mark.
create or replace function keap_meta.issue_mark() returns bigint
language sql stable
as $$ select coalesce(max(issue_id), 0) from keap_meta.row_issues $$;
comment on function keap_meta.issue_mark() is 'Highest keap_meta.row_issues id so far; a merge counts the issues it recorded as those of its run and entity above this mark.';

-- Problem texts for one value, given its raw text and (for casts) whether the typed value came out
-- null. Plain SQL, inlined: the merges evaluate them for every field of every written row. (Stable,
-- not immutable, because format() is stable: an immutable SQL function calling it is not inlined.)
create or replace function keap_meta.oversize_problem(p_raw text, p_max_chars integer) returns text
language sql stable parallel safe
as $$
  select case when octet_length(p_raw) > p_max_chars and length(p_raw) > p_max_chars
              then format('longer than %s characters (%s); stored as null, kept in _raw', p_max_chars, length(p_raw)) end
$$;
comment on function keap_meta.oversize_problem(text, integer) is 'Row-issue text when a raw value is longer than p_max_chars (so it was stored as null), else null.';

create or replace function keap_meta.cast_problem(p_raw text, p_typed_is_null boolean, p_type text) returns text
language sql stable parallel safe
as $$
  select case when p_typed_is_null and nullif(btrim(p_raw), '') is not null
              then format('not a valid %s; stored as null, kept in _raw', p_type) end
$$;
comment on function keap_meta.cast_problem(text, boolean, text) is 'Row-issue text when a non-blank raw value gave a null typed value (not a valid timestamptz / date / bigint / boolean), else null.';

create or replace function keap_meta.enum_problem(p_raw text, p_allowed text[]) returns text
language sql immutable parallel safe
as $$
  select case when p_raw is not null and not (p_raw = any (p_allowed))
              then 'unknown enum value (not in the Keap v2 spec); kept as received' end
$$;
comment on function keap_meta.enum_problem(text, text[]) is 'Row-issue text when a raw value is not one of the allowed enum values (such values are kept as received), else null.';

-- Custom field values of a record (contacts, companies): [{id, content}] -> {id: content}.
-- Entries with null content are left out (Keap lists every field, mostly empty); an entry without
-- an integer id is left out; the first entry of an id wins; text content over
-- max_long_text_chars() becomes JSON null. custom_field_issues reports each of those problems.
create or replace function keap_meta.custom_field_values(p_custom_fields jsonb) returns jsonb
language sql immutable parallel safe
as $$
  select coalesce(jsonb_object_agg(x.id::text,
           case when jsonb_typeof(e.cf -> 'content') = 'string' and length(e.cf ->> 'content') > keap_meta.max_long_text_chars()
                then 'null'::jsonb else e.cf -> 'content' end
           order by e.ord desc), '{}'::jsonb)
    from jsonb_array_elements(keap_meta.json_array(p_custom_fields)) with ordinality e(cf, ord)
    cross join lateral (select keap_meta.try_bigint(e.cf ->> 'id') as id) x
   where x.id is not null and jsonb_typeof(e.cf -> 'content') <> 'null'
$$;
comment on function keap_meta.custom_field_values(jsonb) is 'A record''s custom_fields array as {custom field id: content}: null contents and entries without an integer id left out, first entry of an id wins, text over 65,535 characters stored as JSON null.';

create or replace function keap_meta.custom_field_issues(p_custom_fields jsonb)
returns table (field text, raw_value text, problem text)
language sql stable parallel safe
as $$
  select 'custom_fields[' || (x.ord - 1) || ']', left(x.cf::text, 10000),
         case when x.id is null then 'custom field entry without an integer id; skipped, kept in _raw'
              when x.nth > 1 then format('custom field %s listed twice; first kept', x.id)
              else format('custom field %s value longer than %s characters (%s); stored as null, kept in _raw',
                          x.id, keap_meta.max_long_text_chars(), length(x.cf ->> 'content')) end
    from (select e.cf, e.ord, keap_meta.try_bigint(e.cf ->> 'id') as id,
                 row_number() over (partition by keap_meta.try_bigint(e.cf ->> 'id') order by e.ord) as nth
            from jsonb_array_elements(keap_meta.json_array(p_custom_fields)) with ordinality e(cf, ord)
           where jsonb_typeof(e.cf -> 'content') <> 'null') x
   where x.id is null
      or x.nth > 1
      or (jsonb_typeof(x.cf -> 'content') = 'string' and length(x.cf ->> 'content') > keap_meta.max_long_text_chars())
$$;
comment on function keap_meta.custom_field_issues(jsonb) is 'Row-issue rows (field, raw value, problem) for the entries with a value of a record''s custom_fields array: no integer id, repeated id, text over 65,535 characters.';

-- Cheap pre-check for keap_meta.custom_field_issues: true when an entry with a value has no integer
-- id, repeats an id, or holds text over max_long_text_chars() (the map left something out).
create or replace function keap_meta.custom_fields_suspect(p_custom_fields jsonb) returns boolean
language sql stable parallel safe
as $$
  select coalesce(count(*) <> count(distinct keap_meta.try_bigint(e.cf ->> 'id'))
                  or bool_or(jsonb_typeof(e.cf -> 'content') = 'string' and length(e.cf ->> 'content') > keap_meta.max_long_text_chars()), false)
    from jsonb_array_elements(keap_meta.json_array(p_custom_fields)) e(cf)
   where jsonb_typeof(e.cf -> 'content') <> 'null'
$$;
comment on function keap_meta.custom_fields_suspect(jsonb) is 'True when keap_meta.custom_field_issues would report something for this custom_fields array (no integer id, repeated id, oversized text).';

-- The records of staged pages, one row each, with page-level and NUL problems recorded as row issues:
-- unparseable pages and records without a usable integer id are not returned (they stay in staging);
-- a record that held \u0000 comes back without it, with one issue per top-level field that held one.
create or replace function keap_meta.page_records(p_run_id bigint, p_entity text, p_page_ids bigint[], p_collection text)
returns table (page_id bigint, page_no integer, traversal text, parent_key text, ordinal bigint, id bigint, rec jsonb)
language plpgsql volatile
as $$
begin
  return query execute format($q$
    -- pages: parse each page once; NUL escapes become U+FFFF so the records holding them can be named
    with pages as (
      select s.page_id, s.page_no, s.traversal, s.parent_key, s.payload, s.raw_body,
             s.payload is null and strpos(s.raw_body, '\u0000') > 0 as had_nul,
             keap_meta.parse_page(s.payload, s.raw_body, '\uffff') as body
        from keap_staging.%I s
       where s.page_id = any($1)
    ),
    checked as (
      select p.*, keap_meta.page_problem(p.body, $2) as problem from pages p
    ),
    -- page_issues: one issue per page that cannot be merged
    page_issues as (
      insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
      select $3, $4, null, 'page', left(coalesce(c.raw_body, c.payload::text), 10000), c.problem, c.page_id
        from checked c where c.problem is not null
    ),
    -- recs: the records of the good pages (the whole body when there is no collection key)
    recs as (
      select c.page_id, c.page_no, c.traversal, c.parent_key, c.had_nul, e.ordinal,
             keap_meta.record_key(e.rec, $5) as id, e.rec
        from checked c
        cross join lateral jsonb_array_elements(case when $2 is null then jsonb_build_array(c.body)
                                                     else keap_meta.json_array(c.body -> $2) end) with ordinality e(rec, ordinal)
       where c.problem is null
    ),
    -- id_issues: a record without a usable id cannot be keyed; it is skipped and stays in staging
    id_issues as (
      insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
      select $3, $4, null, 'id', left(coalesce(r.rec ->> 'id', r.rec::text), 10000),
             case when jsonb_typeof(r.rec) <> 'object' then 'record is not a JSON object; skipped, kept in staging'
                  when r.rec ->> 'id' is null then 'record has no id; skipped, kept in staging'
                  else 'id is not an integer; record skipped, kept in staging' end,
             r.page_id
        from recs r where r.id is null
    ),
    -- nul_issues: which top-level fields held NUL characters (now removed)
    nul_issues as (
      insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
      select $3, $4, r.id::text, f.key, left(replace(f.value::text, chr(65535), '\u0000'), 10000),
             'contained NUL characters (\u0000), which PostgreSQL cannot store; stored with them removed', r.page_id
        from recs r
        cross join lateral jsonb_each(case when jsonb_typeof(r.rec) = 'object' then r.rec end) f
       where r.had_nul and r.id is not null and strpos(f.value::text, chr(65535)) > 0
    )
    select r.page_id, r.page_no, r.traversal, r.parent_key, r.ordinal, r.id,
           case when r.had_nul and strpos(r.rec::text, chr(65535)) > 0
                then replace(r.rec::text, chr(65535), '')::jsonb else r.rec end
      from recs r
     where r.id is not null
  $q$, keap_meta.check_entity_name(p_entity))
  using p_page_ids, p_collection, p_run_id, p_entity, (select e.key_paths from keap_meta.entities e where e.entity = p_entity);
end
$$;
comment on function keap_meta.page_records(bigint, text, bigint[], text) is
  'Records of the given staged pages of an entity (items of the collection key, or the whole body when it is null), with their integer id. Records row issues for unparseable pages, records without a usable id (both skipped, kept in staging) and NUL characters (removed).';

-- Starts a full traversal, or tells the engine where a crashed one stopped.
create or replace function keap_meta.begin_full_sweep(p_entity text, p_run_id bigint) returns bigint
language plpgsql volatile
as $$
declare
  v_after bigint;
begin
  perform keap_meta.check_entity_name(p_entity);
  insert into keap_meta.sync_cursors as c (entity, full_after_id, full_sweep_started_at, full_sweep_run_id, last_run_id, updated_at)
  values (p_entity, 0, now(), p_run_id, p_run_id, clock_timestamp())
  on conflict (entity) do update
    set full_after_id = 0, full_sweep_started_at = now(), full_sweep_run_id = p_run_id,
        last_run_id = p_run_id, updated_at = clock_timestamp()
    where c.full_sweep_started_at is null;
  select coalesce(full_after_id, 0) into v_after from keap_meta.sync_cursors where entity = p_entity;
  return v_after;
end
$$;
comment on function keap_meta.begin_full_sweep(text, bigint) is
  'Call before a full (keyset) traversal of an entity. No traversal in progress: starts one (full_sweep_started_at = now(), full_after_id = 0) and returns 0. One in progress (a crashed or stopped run): returns its full_after_id, so the engine resumes with <entity>_id > N.';

-- Moves an entity's cursor after merging: the watermark to the newest update time merged, never
-- past the run's start (changes made during the run are fetched again next time), and the keyset
-- position of a full traversal to the largest id merged. Never moves either backwards.
create or replace function keap_meta.advance_cursor(p_entity text, p_run_id bigint, p_max_updated_at timestamptz, p_max_full_id bigint)
returns void
language plpgsql volatile
as $$
declare
  v_since timestamptz;
begin
  if p_max_updated_at is null and p_max_full_id is null then
    return;
  end if;
  -- (least() ignores nulls: without an update time there is no watermark to move.) While a full
  -- traversal is in progress the watermark also stays at its start: a traversal resumed by a later
  -- run does not re-read the records before its keyset position, so changes to those made since the
  -- traversal began must still be fetched by the next incremental run.
  -- A newest-first incremental traversal that has not reached the saved watermark yet (cut short by
  -- the quota reserve or an unreadable page) merges what it has with keap.hold_watermark = on: the
  -- records older than its last page are still unread, so the watermark must not pass them.
  select case when p_max_updated_at is not null and coalesce(current_setting('keap.hold_watermark', true), '') <> 'on'
              then least(p_max_updated_at, r.started_at, c.full_sweep_started_at) end
    into v_since
    from keap_meta.etl_run_log r left join keap_meta.sync_cursors c on c.entity = p_entity
   where r.run_id = p_run_id;
  insert into keap_meta.sync_cursors as c (entity, updated_since, full_after_id, last_run_id, updated_at)
  values (keap_meta.check_entity_name(p_entity), v_since, p_max_full_id, p_run_id, clock_timestamp())
  on conflict (entity) do update
    set updated_since = greatest(c.updated_since, excluded.updated_since),
        full_after_id = case when excluded.full_after_id is null then c.full_after_id
                             else greatest(c.full_after_id, excluded.full_after_id) end,
        last_run_id = p_run_id, updated_at = clock_timestamp()
    where c.updated_since is distinct from greatest(c.updated_since, excluded.updated_since)
       or (excluded.full_after_id is not null and c.full_after_id is distinct from greatest(c.full_after_id, excluded.full_after_id));
end
$$;
comment on function keap_meta.advance_cursor(text, bigint, timestamptz, bigint) is
  'Advances an entity''s cursor inside a merge: updated_since = greatest(current, least(max update time merged, run start, start of a full traversal in progress)); full_after_id = greatest(current, max id merged by a full traversal). Never moves backwards; updated_since stays while the transaction-local setting keap.hold_watermark is on (a newest-first traversal cut short).';

-- Delete detection: soft-deletes the live rows of p_target (optionally narrowed by p_scope, a
-- trusted SQL condition) whose key no page in p_page_ids listed. Refuses (returns null, records an
-- issue) when the listing is incomplete (an unparseable page or a record without a usable id would
-- otherwise make live records look deleted) or empty while rows are live. Also records source and
-- warehouse counts.
create or replace function keap_meta.soft_delete_unlisted(
  p_run_id bigint, p_entity text, p_collection text, p_page_ids bigint[], p_target regclass, p_key_column text, p_scope text default null
) returns bigint
language plpgsql volatile
as $$
declare
  v_bad_pages   bigint;
  v_bad_records bigint;
  v_listed      bigint;
  v_deleted     bigint;
  v_live        bigint;
begin
  perform keap_meta.drop_temp_table('sweep_listed');
  create temporary table sweep_listed (id bigint primary key) on commit drop;
  -- Per page, only its ids are kept: each page is read from TOAST once (its collection, l.list; the
  -- whole body only when the collection is missing) and never materialized (a full traversal of a
  -- large account is gigabytes of pages).
  execute format($q$
    with per_page as materialized (
      select case when l.list is null then keap_meta.page_problem(l.body, $2)
                  when jsonb_typeof(l.list) not in ('array', 'null') then keap_meta.page_problem(jsonb_build_object($2, l.list), $2)
             end as problem,
             array(select keap_meta.record_key(e.rec, $3)
                     from jsonb_array_elements(case when jsonb_typeof(l.list) = 'array' then l.list end) e(rec)) as ids
        from keap_staging.%I s
        cross join lateral (select keap_meta.parse_page(s.payload, s.raw_body) as body offset 0) b
        cross join lateral (select b.body -> $2 as list, b.body offset 0) l
       where s.page_id = any ($1)
    ),
    recs as (
      select i.id from per_page p cross join lateral unnest(p.ids) i(id) where p.problem is null
    ),
    listed as (
      insert into pg_temp.sweep_listed select distinct id from recs where id is not null
    )
    select (select count(*) from per_page p where p.problem is not null),
           (select count(*) from recs where id is null)$q$, keap_meta.check_entity_name(p_entity))
    into v_bad_pages, v_bad_records
    using p_page_ids, p_collection, (select e.key_paths from keap_meta.entities e where e.entity = p_entity);
  select count(*) into v_listed from pg_temp.sweep_listed;

  if v_listed = 0 then
    execute format('select count(*) from %s t where t._deleted_at is null and (%s)', p_target, coalesce(p_scope, 'true')) into v_live;
  end if;
  if v_bad_pages > 0 or v_bad_records > 0 then
    perform keap_meta.record_issue(p_run_id, p_entity, null, 'sweep', null,
      format('delete detection skipped: the full listing had %s unparseable page(s) and %s record(s) without a usable id, so it is incomplete',
             v_bad_pages, v_bad_records));
    v_deleted := null;
  elsif v_listed = 0 and v_live > 0 then
    -- An empty listing is far more likely an API or engine fault than an account emptied overnight.
    perform keap_meta.record_issue(p_run_id, p_entity, null, 'sweep', null,
      format('delete detection skipped: the full listing was empty while %s rows are live; refusing to soft-delete them all', v_live));
    v_deleted := null;
  else
    execute format('update %s t set _deleted_at = now(), _synced_at = now(), _run_id = $1
                     where t._deleted_at is null and (%s) and not exists (select from pg_temp.sweep_listed l where l.id = t.%I)',
                   p_target, coalesce(p_scope, 'true'), p_key_column)
      using p_run_id;
    get diagnostics v_deleted = row_count;
  end if;

  execute format('select count(*) from %s t where t._deleted_at is null and (%s)', p_target, coalesce(p_scope, 'true')) into v_live;
  insert into keap_meta.source_counts (run_id, entity, source_count, warehouse_count)
  values (p_run_id, p_entity, v_listed, v_live)
  on conflict (run_id, entity) do update
    set source_count = excluded.source_count, warehouse_count = excluded.warehouse_count, counted_at = clock_timestamp();
  perform keap_meta.drop_temp_table('sweep_listed');
  return v_deleted;
end
$$;
comment on function keap_meta.soft_delete_unlisted(bigint, text, text, bigint[], regclass, text, text) is
  'Delete detection over a complete listing: sets _deleted_at on live rows of the target whose key none of the given staged pages listed, records keap_meta.source_counts, returns the rows soft-deleted. Returns null and records a row issue instead when the listing is incomplete (unparseable page, record without id) or empty while rows are live.';

-- Ends a full traversal: delete detection over every page of the entity fetched since the sweep
-- started (it may span runs when a crashed run was resumed), then closes the sweep in the cursor.
create or replace function keap_meta.finish_full_sweep(
  p_run_id bigint, p_entity text, p_collection text, p_target regclass, p_key_column text
) returns bigint
language plpgsql volatile
as $$
declare
  v_since   timestamptz;
  v_pages   bigint[];
  v_deleted bigint;
begin
  -- Without begin_full_sweep (an engine bug) the sweep is this run's own pages.
  select coalesce(c.full_sweep_started_at, r.started_at) into v_since
    from keap_meta.etl_run_log r left join keap_meta.sync_cursors c on c.entity = p_entity
   where r.run_id = p_run_id;
  execute format('select array(select page_id from keap_staging.%I where fetched_at >= $1 order by page_id)',
                 keap_meta.check_entity_name(p_entity))
    into v_pages using v_since;
  v_deleted := keap_meta.soft_delete_unlisted(p_run_id, p_entity, p_collection, v_pages, p_target, p_key_column);

  insert into keap_meta.sync_cursors as c (entity, updated_since, last_full_completed_at, last_run_id, updated_at)
  values (p_entity, v_since, now(), p_run_id, clock_timestamp())
  on conflict (entity) do update
    set updated_since = coalesce(c.updated_since, c.full_sweep_started_at, excluded.updated_since),
        last_full_completed_at = now(), full_after_id = null, full_sweep_started_at = null, full_sweep_run_id = null,
        last_run_id = p_run_id, updated_at = clock_timestamp();
  return coalesce(v_deleted, 0);
end
$$;
comment on function keap_meta.finish_full_sweep(bigint, text, text, regclass, text) is
  'Completes a full traversal: soft-deletes rows no page fetched since full_sweep_started_at listed (skipped, with a row issue, if that listing is incomplete), records source counts, sets last_full_completed_at, sets updated_since to the sweep start when null, and clears the sweep position. Returns rows soft-deleted.';

create or replace function keap_meta.log_merge(
  p_run_id bigint, p_entity text, p_procedure text, p_started_at timestamptz, p_issue_mark bigint,
  p_inserted bigint, p_updated bigint, p_unchanged bigint, p_deleted bigint, p_pages integer
) returns keap_meta.merge_log
language sql volatile
as $$
  insert into keap_meta.merge_log (run_id, entity, procedure_name, inserted_count, updated_count, unchanged_count,
                                   deleted_count, rejected_count, pages_merged, duration_ms)
  values (p_run_id, p_entity, p_procedure, coalesce(p_inserted, 0), coalesce(p_updated, 0), coalesce(p_unchanged, 0),
          coalesce(p_deleted, 0),
          (select count(*) from keap_meta.row_issues i where i.run_id = p_run_id and i.entity = p_entity and i.issue_id > p_issue_mark),
          coalesce(p_pages, 0),
          (extract(epoch from clock_timestamp() - p_started_at) * 1000)::integer)
  returning *
$$;
comment on function keap_meta.log_merge(bigint, text, text, timestamptz, bigint, bigint, bigint, bigint, bigint, integer) is
  'Writes the merge log row of one merge call; rejected_count = row issues of the run and entity recorded since p_issue_mark.';

-- Why a child item (e-mail, phone, address) cannot be keyed by its slot: no slot, a slot outside
-- p_slots, or the slot listed again for the same parent (p_nth > 1); null when it can.
create or replace function keap_meta.slot_problem(p_field text, p_nth bigint, p_slots text[], p_noun text) returns text
language sql immutable parallel safe
as $$
  select case when p_field is null then p_noun || ' without a slot (field); skipped, kept in _raw'
              when not (p_field = any (p_slots)) then 'unknown ' || p_noun || ' slot; skipped, kept in _raw'
              when p_nth > 1 then p_noun || ' slot listed twice; first kept' end
$$;
comment on function keap_meta.slot_problem(text, bigint, text[], text) is 'Row-issue text for a child item that cannot be keyed by its slot (missing, unknown or repeated), else null.';

-- The common start of every generated merge: pg_temp.merge_recs (page_id, traversal, parent_id,
-- ordinal, id, marker_at, rec) holds one row per usable record of the claimed pages, the newest
-- version of each key only (newest change marker first, then the latest page and position). Nothing
-- is flattened or cast here. p_live is the generator's lookup of the live row holding the same
-- record (select true as unchanged, <its change marker> as marker_at from <target> t where <key> =
-- v.id and t._deleted_at is null and t._raw_hash = jsonb_hash_extended(e.rec, 0)): such a record is
-- unchanged, so only its key and marker are kept (rec is null) and the merge never casts it.
-- Parsed pages whose collection is an array (nearly all) take one jsonb_array_elements pass; the
-- rest (bodies stored as text, pages that are not objects or whose collection is not an array) go
-- through keap_meta.page_records, which records their problems. Records without a usable id, and
-- pages whose parent_key is not an id (nested lists, p_parent_column set), are recorded as row
-- issues and skipped; they stay in staging. Returns the number of distinct keys received.
create or replace function keap_meta.load_merge_records(
  p_run_id bigint, p_entity text, p_pages bigint[], p_collection text, p_marker_path text[], p_parent_column text,
  p_live text default null
) returns bigint
language plpgsql volatile
set work_mem = '64MB'
-- Memoize would cache each page's elements keyed by the whole page, and each record's lookups keyed
-- by the record: hashing megabytes to save nothing (every key is seen once).
set enable_memoize = off
as $$
declare
  v_table    text := format('keap_staging.%I', keap_meta.check_entity_name(p_entity));
  v_pages    bigint[] := p_pages;
  v_slow     bigint[];
  v_received bigint;
  v_rows     bigint;
begin
  perform keap_meta.drop_temp_table('merge_recs');
  -- toast_tuple_target: records stay inline and uncompressed (a 2 KB record would otherwise be
  -- compressed here and decompressed by every later step that reads it)
  create temporary table merge_recs (
    page_id bigint, traversal text, parent_id bigint, ordinal bigint, id bigint, marker_at timestamptz, rec jsonb
  ) with (toast_tuple_target = 8160) on commit drop;

  -- bad_parents: a page of a nested list whose parent_key is not an id cannot be keyed
  if p_parent_column is not null then
    execute format($q$
      with bad as (
        insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
        select $2, $3, null, 'parent_key', left(s.parent_key, 10000),
               format('page parent_key is not a valid %%s; page skipped, kept in staging', $4::text), s.page_id
          from %s s
         where s.page_id = any ($1) and keap_meta.try_bigint(s.parent_key) is null
        returning staged_page_id)
      select array(select p from unnest($1) p where p not in (select staged_page_id from bad))$q$, v_table)
      into v_pages using p_pages, p_run_id, p_entity, p_parent_column;
  end if;

  -- fast: one pass over each parsed page's collection; an unchanged record keeps no copy. The page
  -- is read from TOAST once (l.list); every other reference to s.payload would read all of it again.
  execute format($q$
    insert into pg_temp.merge_recs
    select s.page_id, s.traversal, keap_meta.try_bigint(s.parent_key), e.ordinal, v.id,
           case when u.unchanged then u.marker_at else keap_meta.try_timestamptz(v.raw_marker) end,
           case when u.unchanged then null else e.rec end
      from %s s
      cross join lateral (select s.payload -> $2 as list offset 0) l
      cross join lateral jsonb_array_elements(case when jsonb_typeof(l.list) = 'array' then l.list end) with ordinality e(rec, ordinal)
      cross join lateral (select keap_meta.record_key(e.rec, $4) as id, e.rec #>> $3 as raw_marker offset 0) v
      left join lateral (%s) u on true
     where s.page_id = any ($1) and s.payload is not null$q$,
    v_table, coalesce(p_live, 'select null::boolean as unchanged, null::timestamptz as marker_at'))
    using v_pages, p_collection, coalesce(p_marker_path, '{}'), (select e.key_paths from keap_meta.entities e where e.entity = p_entity);

  -- slow: everything else, through page_records (page and NUL problems recorded there): bodies kept
  -- as text, and pages that gave no record and whose collection is not an array (only those, and
  -- empty pages, are read again)
  execute format($q$
    select array(select s.page_id from %s s
                  where s.page_id = any ($1)
                    and (s.payload is null
                         or (not exists (select from pg_temp.merge_recs r where r.page_id = s.page_id)
                             and jsonb_typeof(s.payload -> $2) is distinct from 'array')))$q$, v_table)
    into v_slow using v_pages, p_collection;
  if cardinality(v_slow) > 0 then
    insert into pg_temp.merge_recs
    select r.page_id, r.traversal, keap_meta.try_bigint(r.parent_key), r.ordinal, r.id,
           keap_meta.try_timestamptz(r.rec #>> coalesce(p_marker_path, '{}')), r.rec
      from keap_meta.page_records(p_run_id, p_entity, v_slow, p_collection) r;
  end if;

  -- id_issues: a record without a usable id cannot be keyed; it is skipped and stays in staging
  with bad as (
    delete from pg_temp.merge_recs r where r.id is null
    returning r.page_id, r.ordinal, r.rec
  )
  insert into keap_meta.row_issues (run_id, entity, record_key, field, raw_value, problem, staged_page_id)
  select p_run_id, p_entity, null, 'id', left(coalesce(b.rec ->> 'id', b.rec::text), 10000), keap_meta.id_problem(b.rec), b.page_id
    from bad b
   order by b.page_id, b.ordinal;

  -- newest: when the pages hold a key twice, only its newest version is kept
  select count(*) into v_received from (select distinct m.id, m.parent_id from pg_temp.merge_recs m) d;
  select count(*) into v_rows from pg_temp.merge_recs;
  if v_rows > v_received then
    delete from pg_temp.merge_recs r
     using (select d.page_id, d.ordinal
              from (select m.page_id, m.ordinal,
                           row_number() over (partition by m.id, m.parent_id
                                              order by m.marker_at desc nulls last, m.page_id desc, m.ordinal desc) as nth
                      from pg_temp.merge_recs m) d
             where d.nth > 1) l
     where r.page_id = l.page_id and r.ordinal = l.ordinal;
  end if;
  return v_received;
end
$$;
comment on function keap_meta.load_merge_records(bigint, text, bigint[], text, text[], text, text) is
  'Common start of a generated merge: builds pg_temp.merge_recs, the newest version of each record of the claimed pages (not yet cast; rec null when the live row already holds it), recording unusable pages, parents and records as row issues; returns the keys received.';

-- The common end of every generated merge, in the merge's own transaction: advance the cursor from
-- pg_temp.merge_recs (the watermark from the change markers of incremental and full pages, the
-- keyset position from full pages of a keyset entity: it never moves past data that was not
-- merged), mark the claimed pages merged, run delete detection (a keyset entity when the engine
-- says the full traversal is complete; a snapshot entity on every merge with pages, scoped to its
-- constant columns) and write the merge log row.
create or replace function keap_meta.complete_entity_merge(
  p_run_id bigint, p_entity text, p_pages bigint[], p_finish_sweep boolean, p_started_at timestamptz, p_issue_mark bigint,
  p_inserted bigint, p_updated bigint, p_received bigint
) returns void
language plpgsql volatile
as $$
declare
  e             keap_meta.entities;
  v_max_marker  timestamptz;
  v_max_full_id bigint;
  v_scope       text;
  v_deleted     bigint := 0;
begin
  select * into strict e from keap_meta.entities where entity = p_entity;
  select max(marker_at) filter (where traversal in ('incremental', 'full')),
         -- (no keyset position for surrogate keys: they are hashes, and such lists cannot resume by id)
         max(id) filter (where traversal = 'full' and e.listing = 'keyset' and e.key_paths is null)
    into v_max_marker, v_max_full_id
    from pg_temp.merge_recs;
  perform keap_meta.advance_cursor(p_entity, p_run_id, v_max_marker, v_max_full_id);
  perform keap_meta.mark_pages_merged(p_entity, p_pages);
  if e.listing = 'keyset' and p_finish_sweep then
    v_deleted := keap_meta.finish_full_sweep(p_run_id, p_entity, e.collection_key, e.target_table, e.key_column);
  elsif e.listing = 'snapshot' and cardinality(p_pages) > 0 then
    select string_agg(format('%I = %L', c.column_name, c.constant_value), ' and ' order by c.declared_order)
      into v_scope
      from keap_meta.entity_columns c
     where c.entity = p_entity and c.child = '' and c.source = 'constant';
    v_deleted := keap_meta.soft_delete_unlisted(p_run_id, p_entity, e.collection_key, p_pages, e.target_table, e.key_column, v_scope);
    insert into keap_meta.sync_cursors as c (entity, last_full_completed_at, last_run_id, updated_at)
    values (p_entity, now(), p_run_id, clock_timestamp())
    on conflict (entity) do update
      set last_full_completed_at = now(), last_run_id = p_run_id, updated_at = clock_timestamp();
  end if;
  perform keap_meta.log_merge(p_run_id, p_entity, 'keap.merge_' || p_entity, p_started_at, p_issue_mark,
                              p_inserted, p_updated, p_received - p_inserted - p_updated, v_deleted, cardinality(p_pages));
end
$$;
comment on function keap_meta.complete_entity_merge(bigint, text, bigint[], boolean, timestamptz, bigint, bigint, bigint, bigint) is
  'Common end of a generated merge: advances the cursor from pg_temp.merge_recs, marks the pages merged, runs delete detection (keyset entity: when the full traversal is complete; snapshot entity: every merge with pages) and logs the merge. Called inside the merge''s transaction.';
