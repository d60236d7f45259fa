-- 00070: a fourth kind of declared child collection, keyed: an array of objects keyed by an integer
-- id field of the item (slot_path names it), such as an opportunity stage's checklist items. It is
-- the slots step with any integer as the key instead of a fixed list of slots: an item without an
-- integer id, or an id listed twice for the same parent, is skipped with a row issue (it stays in
-- _raw). keap_meta.child_merge_sql (sql/transforms/004) generates the step.

do $$
declare
  v_name text;
begin
  -- the constraint tying slot_path to the slots kind (its generated name differs between versions)
  for v_name in
    select conname from pg_constraint
     where conrelid = 'keap_meta.entity_children'::regclass and contype = 'c'
       and (pg_get_constraintdef(oid) like '%kind = ANY%' or pg_get_constraintdef(oid) like '%slot_path IS NOT NULL%')
  loop
    execute format('alter table keap_meta.entity_children drop constraint %I', v_name);
  end loop;
end
$$;

alter table keap_meta.entity_children
  add constraint entity_children_kind_check check (kind in ('slots', 'custom_fields', 'id_set', 'keyed')),
  add constraint entity_children_slots_check check ((kind = 'slots') = (slots is not null)),
  add constraint entity_children_slot_path_kind_check check ((kind in ('slots', 'keyed')) = (slot_path is not null));

comment on column keap_meta.entity_children.kind is 'slots: objects keyed by a slot field (EMAIL1, PHONE2, BILLING); keyed: objects keyed by an integer id field of the item (checklist items); custom_fields: [{id, content}] keyed by id; id_set: an array of ids whose pair rows keep their other columns (e.g. applied_at) while listed.';
comment on column keap_meta.entity_children.slot_path is 'slots: property of an item naming its slot (field); keyed: property of an item holding its integer id.';
