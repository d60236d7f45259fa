-- Declaration of opportunity_stages: GET /rest/v2/opportunities/stages -> keap.opportunity_stages,
-- one row per stage (opportunity_stage_id), with its checklist items as a keyed child collection
-- (each item has its own id; an item without an integer id, or listed twice, is a row issue).
-- keap_meta.generate_merge writes keap.merge_opportunity_stages from this.

select keap_meta.declare_entity('opportunity_stages', p_key_column => 'opportunity_stage_id', p_collection => 'stages');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
  ('opportunity_stages', 'name',               'name',               'text',        'short', false),
  ('opportunity_stages', 'stage_order',        'order',              'integer',     null,    false),
  ('opportunity_stages', 'target_number_days', 'target_number_days', 'integer',     null,    false),
  ('opportunity_stages', 'probability',        'probability',        'integer',     null,    false),
  ('opportunity_stages', 'created_at',         'created_time',       'timestamptz', null,    false),
  ('opportunity_stages', 'updated_at',         'updated_time',       'timestamptz', null,    true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, noun) values
  ('opportunity_stages', 'checklist_items', 'keap.opportunity_stage_checklist_items', 'checklist_items', 'keyed',
   'opportunity_stage_id', 'checklist_item_id', 'id', 'checklist item');

insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type, size) values
  ('opportunity_stages', 'checklist_items', 'description', 'description', 'text',    'long'),
  ('opportunity_stages', 'checklist_items', 'is_required', 'required',    'boolean', null),
  ('opportunity_stages', 'checklist_items', 'item_order',  'order',       'integer', null);

select keap_meta.generate_merge('opportunity_stages');
