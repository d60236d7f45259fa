-- 00018: each merge call counts the row issues it recorded (keap_meta.log_merge: run, entity,
-- issue_id above a mark). With this index that is a range scan over the new issues only, instead of
-- every issue of the run and entity on every call (merges run every few pages).

create index row_issues_run_entity_issue on keap_meta.row_issues (run_id, entity, issue_id);
