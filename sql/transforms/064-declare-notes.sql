-- Declaration of notes: GET /rest/v2/notes (fields=custom_fields) -> keap.notes, one row per note
-- (note_id), the assigned user reduced to its id, custom field values keyed by field id.
-- keap_meta.generate_merge writes keap.merge_notes from this.

select keap_meta.declare_entity('notes', p_key_column => 'note_id', p_collection => 'notes');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
  ('notes', 'contact_id',              'contact_id',              'bigint',      null,    false),
  ('notes', 'title',                   'title',                   'text',        'long',  false),
  ('notes', 'type',                    'type',                    'text',        'short', false),
  ('notes', 'text',                    'text',                    'text',        'long',  false),
  ('notes', 'assigned_to_user_id',     'assigned_to_user.id',     'bigint',      null,    false),
  ('notes', 'created_by_user_id',      'created_by_user_id',      'bigint',      null,    false),
  ('notes', 'last_updated_by_user_id', 'last_updated_by_user_id', 'bigint',      null,    false),
  ('notes', 'pinned_at',               'pinned_at',               'timestamptz', null,    false),
  ('notes', 'created_at',              'create_time',             'timestamptz', null,    false),
  ('notes', 'updated_at',              'update_time',             'timestamptz', null,    true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, value_column) values
  ('notes', 'custom_fields', 'keap.note_custom_fields', 'custom_fields', 'custom_fields', 'note_id', 'custom_field_id', 'value');

select keap_meta.generate_merge('notes');
