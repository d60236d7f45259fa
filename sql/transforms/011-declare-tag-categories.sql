-- Declaration of tag_categories: GET /rest/v2/tags/categories -> keap.tag_categories, one row per
-- category (tag_category_id). keap_meta.generate_merge writes keap.merge_tag_categories from this.

select keap_meta.declare_entity('tag_categories', p_key_column => 'tag_category_id', p_collection => 'tag_categories');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
  ('tag_categories', 'name',        'name',        'text',        'short', false),
  ('tag_categories', 'description', 'description', 'text',        'long',  false),
  ('tag_categories', 'created_at',  'create_time', 'timestamptz', null,    false),
  ('tag_categories', 'updated_at',  'update_time', 'timestamptz', null,    true);

select keap_meta.generate_merge('tag_categories');
