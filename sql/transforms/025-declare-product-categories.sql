-- Declaration of product_categories: GET /rest/v2/productCategories -> keap.product_categories, one
-- row per category. No timestamps in Keap (no change marker): every run reads the list whole, and a
-- completed traversal soft-deletes categories it no longer lists. keap_meta.generate_merge writes
-- keap.merge_product_categories from this.

select keap_meta.declare_entity('product_categories', p_key_column => 'product_category_id', p_collection => 'product_categories');

insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size) values
  ('product_categories', 'name',                'name',                'text',    'short'),
  ('product_categories', 'display_order_index', 'display_order_index', 'integer', null),
  ('product_categories', 'parent_category_id',  'parent_category_id',  'bigint',  null);

select keap_meta.generate_merge('product_categories');
