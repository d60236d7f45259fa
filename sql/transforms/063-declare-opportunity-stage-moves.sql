-- Declaration of opportunity_stage_moves: GET /rest/v2/opportunities/stageMoves ->
-- keap.opportunity_stage_moves, one row per move (opportunity_stage_move_id). Append-only in Keap;
-- create_time is the change marker (the watermark of the newest-first incremental read).
-- keap_meta.generate_merge writes keap.merge_opportunity_stage_moves from this.

select keap_meta.declare_entity('opportunity_stage_moves', p_key_column => 'opportunity_stage_move_id', p_collection => 'stage_moves');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, change_marker) values
  ('opportunity_stage_moves', 'opportunity_id',   'opportunity_id',       'bigint',      false),
  ('opportunity_stage_moves', 'moved_at',         'move_time',            'timestamptz', false),
  ('opportunity_stage_moves', 'from_stage_id',    'move_from_stage_id',   'bigint',      false),
  ('opportunity_stage_moves', 'to_stage_id',      'move_to_stage_id',     'bigint',      false),
  ('opportunity_stage_moves', 'previous_move_at', 'prev_stage_move_time', 'timestamptz', false),
  ('opportunity_stage_moves', 'user_id',          'user_id',              'bigint',      false),
  ('opportunity_stage_moves', 'created_by',       'created_by',           'bigint',      false),
  ('opportunity_stage_moves', 'created_at',       'create_time',          'timestamptz', true);

select keap_meta.generate_merge('opportunity_stage_moves');
