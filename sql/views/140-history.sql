-- History views: for every table of keap_history (one per keap table, created by the migrations with
-- keap_meta.create_history_table), keap_history.<table>_versions and keap_history.<table>_as_of(instant),
-- generated from the catalogue by keap_meta.generate_history_views (sql/transforms/005-history.sql),
-- so a new entity's tables get them without a file of their own.
-- Grain: <table>_versions, one row per version of a key (closed ones from keap_history.<table>, the
-- current one from keap.<table> with _valid_to = infinity); <table>_as_of(t), one row per key live at t.
-- Cost: _as_of on one key is an index lookup in each table (primary key, and the history table's
-- no-overlap GiST index); on a whole table, a scan of the keap table plus a GiST lookup of the
-- versions whose interval contains t.
-- Example:
--   select contact_id, owner_id, _valid_from, _valid_to from keap_history.contacts_versions
--    where contact_id = 42 order by _valid_from;
--   select e.email from keap_history.contact_emails_as_of('2026-06-30') e where e.contact_id = 42 and e.field = 'EMAIL1';

select keap_meta.generate_history_views(c.oid::regclass)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = 'keap_history' and c.relkind in ('r', 'p')
 order by c.relname;
