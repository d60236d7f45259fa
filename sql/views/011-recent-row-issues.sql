-- keap_ops.recent_row_issues: values and pages the merges could not use in the last 7 days.
-- Grain: row issue (keap_meta.row_issues), newest first.
-- Cost: index range scan on keap_meta.row_issues.recorded_at (migration 00010) over 7 days.
-- The raw value itself is customer data and stays in keap_meta (not readable by keap_reader or
-- pg_monitor); this view shows its length only. Look it up by issue_id with keap_meta access.
-- Example:
--   select entity, field, problem, count(*) from keap_ops.recent_row_issues group by 1, 2, 3 order by 4 desc;
--   select * from keap_ops.recent_row_issues where run_id = 42;
drop view if exists keap_ops.recent_row_issues;
create view keap_ops.recent_row_issues as
select
  i.issue_id,
  i.recorded_at,
  i.run_id,
  i.entity,
  i.record_key,
  i.field,
  i.problem,
  length(i.raw_value) as raw_value_chars,
  i.staged_page_id
from keap_meta.row_issues i
where i.recorded_at > now() - interval '7 days';

comment on view keap_ops.recent_row_issues is 'Row issues of the last 7 days: values stored as null or kept despite a problem, records and pages skipped (kept in staging). Raw values are not shown (customer data); see keap_meta.row_issues.';
comment on column keap_ops.recent_row_issues.issue_id is 'Issue identifier (keap_meta.row_issues.issue_id, where the raw value is).';
comment on column keap_ops.recent_row_issues.recorded_at is 'When the merge recorded it.';
comment on column keap_ops.recent_row_issues.run_id is 'Run whose merge found the problem.';
comment on column keap_ops.recent_row_issues.entity is 'Entity (staging table) of the record.';
comment on column keap_ops.recent_row_issues.record_key is 'Keap id of the record, when it had a usable one.';
comment on column keap_ops.recent_row_issues.field is 'Field concerned (dotted / indexed path for nested values; page, id or sweep for page-level problems).';
comment on column keap_ops.recent_row_issues.problem is 'What was wrong and what the merge did about it.';
comment on column keap_ops.recent_row_issues.raw_value_chars is 'Length of the raw value as received (the stored copy is truncated to 10,000 characters).';
comment on column keap_ops.recent_row_issues.staged_page_id is 'Staged page (in keap_staging.<entity>) holding the raw record.';
