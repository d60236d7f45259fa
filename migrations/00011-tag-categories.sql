-- 00011: tag categories (GET /rest/v2/tags/categories) and their staging table.
-- Merge: keap.merge_tag_categories in sql/transforms/011-merge-tag-categories.sql.

create table keap.tag_categories (
  tag_category_id bigint primary key,
  name            text,
  description     text,
  created_at      timestamptz,
  updated_at      timestamptz,
  _run_id         bigint,
  _synced_at      timestamptz not null default now(),
  _first_seen_at  timestamptz not null default now(),
  _deleted_at     timestamptz,
  _raw            jsonb not null
);
create index tag_categories_updated_at on keap.tag_categories (updated_at);

comment on table keap.tag_categories is 'Keap tag categories, one row per category (GET /rest/v2/tags/categories). Tags reference them by tag_category_id.';
comment on column keap.tag_categories.tag_category_id is 'Keap tag category id.';
comment on column keap.tag_categories.name is 'Category name (unique in Keap).';
comment on column keap.tag_categories.description is 'Category description.';
comment on column keap.tag_categories.created_at is 'When the category was created in Keap (create_time).';
comment on column keap.tag_categories.updated_at is 'When the category was last changed in Keap (update_time); the incremental watermark field.';
comment on column keap.tag_categories._run_id is 'Run whose merge last wrote the row.';
comment on column keap.tag_categories._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.tag_categories._first_seen_at is 'When the row was first inserted.';
comment on column keap.tag_categories._deleted_at is 'Soft delete: set when a completed full traversal no longer listed the category; cleared if it is listed again.';
comment on column keap.tag_categories._raw is 'Last raw TagCategory object received (NUL characters removed).';

select keap_meta.create_staging_table('tag_categories');
