-- 00012: tags (GET /rest/v2/tags) and their staging table.
-- Merge: keap.merge_tags in sql/transforms/012-merge-tags.sql.
-- No foreign key to keap.tag_categories: a tag may name a category the warehouse has not seen yet
-- (or one soft-deleted), and a merge must never fail on order; join on tag_category_id.

create table keap.tags (
  tag_id          bigint primary key,
  name            text,
  description     text,
  tag_category_id bigint,
  created_at      timestamptz,
  updated_at      timestamptz,
  _run_id         bigint,
  _synced_at      timestamptz not null default now(),
  _first_seen_at  timestamptz not null default now(),
  _deleted_at     timestamptz,
  _raw            jsonb not null
);
create index tags_tag_category_id on keap.tags (tag_category_id);
create index tags_updated_at on keap.tags (updated_at);

comment on table keap.tags is 'Keap tags, one row per tag (GET /rest/v2/tags). Applied to contacts through keap.contact_tags.';
comment on column keap.tags.tag_id is 'Keap tag id.';
comment on column keap.tags.name is 'Tag name (unique in Keap).';
comment on column keap.tags.description is 'Tag description.';
comment on column keap.tags.tag_category_id is 'Category of the tag (category.id); join keap.tag_categories. Not a foreign key, so merge order never matters.';
comment on column keap.tags.created_at is 'When the tag was created in Keap (create_time).';
comment on column keap.tags.updated_at is 'When the tag was last changed in Keap (update_time); the incremental watermark field.';
comment on column keap.tags._run_id is 'Run whose merge last wrote the row.';
comment on column keap.tags._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.tags._first_seen_at is 'When the row was first inserted.';
comment on column keap.tags._deleted_at is 'Soft delete: set when a completed full traversal no longer listed the tag; cleared if it is listed again.';
comment on column keap.tags._raw is 'Last raw Tag object received (NUL characters removed).';

select keap_meta.create_staging_table('tags');
