-- Declaration of tasks: GET /rest/v2/tasks (fields=custom_fields) -> keap.tasks, one row per task
-- (task_id), custom field values keyed by field id. remind_time_mins arrives as a number (the spec
-- writes its enum as strings; either casts). keap_meta.generate_merge writes keap.merge_tasks.

select keap_meta.declare_entity('tasks', p_key_column => 'task_id', p_collection => 'tasks');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, change_marker) values
  ('tasks', 'title',                   'title',                   'text',        'long',  null, false),
  ('tasks', 'description',             'description',             'text',        'long',  null, false),
  ('tasks', 'type',                    'type',                    'text',        'short', null, false),
  ('tasks', 'priority',                'priority',                'text',        'short', '{CRITICAL,ESSENTIAL,NONESSENTIAL}', false),
  ('tasks', 'is_completed',            'completed',               'boolean',     null,    null, false),
  ('tasks', 'is_accepted',             'accepted',                'boolean',     null,    null, false),
  ('tasks', 'contact_id',              'contact_id',              'bigint',      null,    null, false),
  ('tasks', 'opportunity_id',          'opportunity_id',          'bigint',      null,    null, false),
  ('tasks', 'assigned_to_user_id',     'assigned_to_user_id',     'bigint',      null,    null, false),
  ('tasks', 'created_by_user_id',      'created_by_user_id',      'bigint',      null,    null, false),
  ('tasks', 'last_updated_by_user_id', 'last_updated_by_user_id', 'bigint',      null,    null, false),
  ('tasks', 'due_at',                  'due_time',                'timestamptz', null,    null, false),
  ('tasks', 'remind_time_mins',        'remind_time_mins',        'integer',     null,    null, false),
  ('tasks', 'completed_at',            'completion_time',         'timestamptz', null,    null, false),
  ('tasks', 'created_at',              'create_time',             'timestamptz', null,    null, false),
  ('tasks', 'updated_at',              'modification_time',       'timestamptz', null,    null, true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, value_column) values
  ('tasks', 'custom_fields', 'keap.task_custom_fields', 'custom_fields', 'custom_fields', 'task_id', 'custom_field_id', 'value');

select keap_meta.generate_merge('tasks');
