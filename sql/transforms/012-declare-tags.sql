-- Declaration of tags: GET /rest/v2/tags -> keap.tags, one row per tag (tag_id) with the id of its
-- category. keap_meta.generate_merge writes keap.merge_tags from this.

select keap_meta.declare_entity('tags', p_key_column => 'tag_id', p_collection => 'tags');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
  ('tags', 'name',            'name',        'text',        'short', false),
  ('tags', 'description',     'description', 'text',        'long',  false),
  ('tags', 'tag_category_id', 'category.id', 'bigint',      null,    false),
  ('tags', 'created_at',      'create_time', 'timestamptz', null,    false),
  ('tags', 'updated_at',      'update_time', 'timestamptz', null,    true);

select keap_meta.generate_merge('tags');
