-- Declaration of opportunities: GET /rest/v2/opportunities (fields=custom_fields,created_by,
-- last_updated_by,status_id) -> keap.opportunities, one row per opportunity (opportunity_id), the
-- contact, stage and owner reduced to their ids (and the stage name), custom field values keyed by
-- field id. Revenue doubles are the money type (keap_meta.try_money): exact numeric from the JSON
-- number text, rounded to the 15 significant digits a double holds, so a sender's float artefact
-- disappears (19.899999999999999 -> 19.9, 0.30000000000000004 -> 0.3).
-- keap_meta.generate_merge writes keap.merge_opportunities from this.

select keap_meta.declare_entity('opportunities', p_key_column => 'opportunity_id', p_collection => 'opportunities');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, json_shape, change_marker) values
  ('opportunities', 'title',                  'opportunity_title',      'text',        'short', null,    false),
  ('opportunities', 'contact_id',             'contact.id',             'bigint',      null,    null,    false),
  ('opportunities', 'stage_id',               'stage.id',               'bigint',      null,    null,    false),
  ('opportunities', 'stage_name',             'stage.name',             'text',        'short', null,    false),
  ('opportunities', 'stage_reasons',          'stage.reasons',          'jsonb',       null,    'array', false),
  ('opportunities', 'user_id',                'user.id',                'bigint',      null,    null,    false),
  ('opportunities', 'next_action_at',         'next_action_time',       'timestamptz', null,    null,    false),
  ('opportunities', 'next_action_notes',      'next_action_notes',      'text',        'long',  null,    false),
  ('opportunities', 'notes',                  'opportunity_notes',      'text',        'long',  null,    false),
  ('opportunities', 'estimated_close_at',     'estimated_close_time',   'timestamptz', null,    null,    false),
  ('opportunities', 'is_in_forecast',         'include_in_forecast',    'boolean',     null,    null,    false),
  ('opportunities', 'projected_revenue_low',  'projected_revenue_low',  'money',       null,    null,    false),
  ('opportunities', 'projected_revenue_high', 'projected_revenue_high', 'money',       null,    null,    false),
  ('opportunities', 'affiliate_id',           'affiliate_id',           'bigint',      null,    null,    false),
  ('opportunities', 'lead_source',            'lead_source',            'text',        'short', null,    false),
  ('opportunities', 'status_id',              'status_id',              'bigint',      null,    null,    false),
  ('opportunities', 'created_by',             'created_by',             'bigint',      null,    null,    false),
  ('opportunities', 'last_updated_by',        'last_updated_by',        'bigint',      null,    null,    false),
  ('opportunities', 'created_at',             'created_time',           'timestamptz', null,    null,    false),
  ('opportunities', 'updated_at',             'last_updated_time',      'timestamptz', null,    null,    true);

insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, value_column) values
  ('opportunities', 'custom_fields', 'keap.opportunity_custom_fields', 'custom_fields', 'custom_fields',
   'opportunity_id', 'custom_field_id', 'value');

select keap_meta.generate_merge('opportunities');
