-- 00060: what the declarative merge layer needs for Keap's sales entities (issue 9), as new values
-- of the declaration tables (the generator, sql/transforms/004, turns them into SQL):
--   data types  minor_units      a CurrencyValue's amount: a whole number of minor units -> bigint
--               currency_amount  a whole CurrencyValue object -> numeric in currency units, scaled by
--                                the currency's ISO 4217 minor unit (USD 2, JPY 0, BHD 3)
--               money            a plain JSON double in currency units -> numeric without float
--                                artefacts (19.899999999999999 -> 19.9, 0.30000000000000004 -> 0.3)
--   child kinds keyed            an array of objects keyed by a property of each item (order items by id)
--               ordinal          an array of objects keyed by position, 1-based (payment plan items,
--                                product options: Keap gives them no ids)
--               child arrays may sit at a dotted path (payment_plan.payment_plan_items)
--   record keys keap_meta.entities.key_paths: an entity whose records have no id (sales transactions)
--               is keyed on a surrogate derived from these fields (keap_meta.record_key)
-- None of these needs real or double precision anywhere.

alter table keap_meta.entity_columns drop constraint entity_columns_data_type_check;
alter table keap_meta.entity_columns add constraint entity_columns_data_type_check
  check (data_type in ('text', 'bigint', 'integer', 'numeric', 'boolean', 'date', 'timestamptz', 'jsonb',
                       'minor_units', 'currency_amount', 'money'));
comment on column keap_meta.entity_columns.data_type is 'Target type; the value is cast with the matching keap_meta.try_* function (a value that does not cast is stored as null with a row issue). Money: minor_units (a CurrencyValue amount, whole minor units, into bigint), currency_amount (json_path names a CurrencyValue object {amount, currency_code}; into numeric in currency units by the currency''s ISO 4217 minor unit), money (a JSON double in currency units, into numeric rounded to the 15 significant digits a double holds, so float artefacts disappear).';

alter table keap_meta.entity_children drop constraint entity_children_json_path_check;
alter table keap_meta.entity_children add constraint entity_children_json_path_check
  check (json_path ~ '^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$');
-- The constraints tying slot_path and slots to the kinds (their generated names differ between
-- PostgreSQL versions, so found by definition).
do $$
declare
  v_name text;
begin
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
  add constraint entity_children_kind_check check (kind in ('slots', 'custom_fields', 'id_set', 'keyed', 'ordinal')),
  add constraint entity_children_slots_check check ((kind = any (array['slots'])) = (slots is not null)),
  add constraint entity_children_slot_path_kind_check check ((kind in ('slots', 'keyed')) = (slot_path is not null));
comment on column keap_meta.entity_children.json_path is 'Dotted path of the record''s array (email_addresses, custom_fields, tag_ids, payment_plan.payment_plan_items).';
comment on column keap_meta.entity_children.kind is 'slots: objects keyed by a slot field (EMAIL1, PHONE2, BILLING); custom_fields: [{id, content}] keyed by id; id_set: an array of ids whose pair rows keep their other columns (e.g. applied_at) while listed; keyed: objects keyed by an integer property of the item (slot_path, e.g. id); ordinal: objects keyed by their 1-based position in the array (Keap gives them no id).';
comment on column keap_meta.entity_children.slot_path is 'slots: property of an item naming its slot (field); keyed: property of an item holding its integer key (id).';

alter table keap_meta.entities
  add column key_paths text[] check (key_paths is null or (cardinality(key_paths) > 0
                                     and array_to_string(key_paths, ',') ~ '^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(,[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*)*$'));
comment on column keap_meta.entities.key_paths is 'Null: a record''s key is its integer id field. Set (for records without an id, e.g. sales transactions): the key is a surrogate, the first 64 bits of md5 of the JSON array of the values at these dotted paths (keap_meta.record_key); a record where all of them are absent cannot be keyed (row issue).';
