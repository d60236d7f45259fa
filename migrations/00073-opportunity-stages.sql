-- 00073: opportunity pipeline stages (GET /rest/v2/opportunities/stages) and their checklist items
-- (a keyed child collection: each item carries its own id), and the staging table.
-- Merge: keap.merge_opportunity_stages generated from sql/transforms/061-declare-opportunity-stages.sql.
-- Stages are few and have no time filter: every run lists them all (full traversal, delete detection).

create table keap.opportunity_stages (
  opportunity_stage_id bigint primary key,
  name                 text,
  stage_order          integer,
  target_number_days   integer,
  probability          integer,
  created_at           timestamptz,
  updated_at           timestamptz,
  _run_id              bigint,
  _synced_at           timestamptz not null default now(),
  _first_seen_at       timestamptz not null default now(),
  _deleted_at          timestamptz,
  _raw                 jsonb not null,
  _raw_hash            bigint generated always as (jsonb_hash_extended(_raw, 0)) stored
);
create index opportunity_stages_deleted on keap.opportunity_stages (_deleted_at) where _deleted_at is not null;

comment on table keap.opportunity_stages is 'Stages of the Keap opportunity pipeline, one row per stage (GET /rest/v2/opportunities/stages). keap.opportunities.stage_id points here (not a foreign key).';
comment on column keap.opportunity_stages.opportunity_stage_id is 'Keap stage id.';
comment on column keap.opportunity_stages.name is 'Stage name, e.g. Proposal Sent.';
comment on column keap.opportunity_stages.stage_order is 'Position of the stage in the pipeline (order), 1 first.';
comment on column keap.opportunity_stages.target_number_days is 'Target number of days an opportunity should stay in the stage.';
comment on column keap.opportunity_stages.probability is 'Win probability of an opportunity in this stage, in percent (0-100).';
comment on column keap.opportunity_stages.created_at is 'When the stage was created (created_time).';
comment on column keap.opportunity_stages.updated_at is 'When the stage was last changed (updated_time).';
comment on column keap.opportunity_stages._run_id is 'Run whose merge last wrote the row.';
comment on column keap.opportunity_stages._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.opportunity_stages._first_seen_at is 'When the row was first inserted.';
comment on column keap.opportunity_stages._deleted_at is 'Soft delete: set when a complete listing no longer had the stage; cleared if it is listed again.';
comment on column keap.opportunity_stages._raw is 'Last raw RestOpportunityStage object received (NUL characters removed).';
comment on column keap.opportunity_stages._raw_hash is 'Hash of _raw (jsonb_hash_extended, computed by PostgreSQL): merges skip a re-read record whose hash is unchanged.';

create table keap.opportunity_stage_checklist_items (
  opportunity_stage_id bigint not null,
  checklist_item_id    bigint not null,
  description          text,
  is_required          boolean,
  item_order           integer,
  _run_id              bigint,
  _synced_at           timestamptz not null default now(),
  primary key (opportunity_stage_id, checklist_item_id)
);
comment on table keap.opportunity_stage_checklist_items is 'Checklist items of a pipeline stage (a stage''s checklist_items), one row per item. Replaced whole whenever the stage changes, so removed items disappear.';
comment on column keap.opportunity_stage_checklist_items.opportunity_stage_id is 'Stage the item belongs to (keap.opportunity_stages; kept consistent by keap.merge_opportunity_stages, no foreign key).';
comment on column keap.opportunity_stage_checklist_items.checklist_item_id is 'Keap checklist item id (checklist_items[].id).';
comment on column keap.opportunity_stage_checklist_items.description is 'What has to be done.';
comment on column keap.opportunity_stage_checklist_items.is_required is 'Whether the item must be done before an opportunity leaves the stage (required).';
comment on column keap.opportunity_stage_checklist_items.item_order is 'Position of the item in the stage''s checklist (order).';
comment on column keap.opportunity_stage_checklist_items._run_id is 'Run whose merge wrote the row.';
comment on column keap.opportunity_stage_checklist_items._synced_at is 'When the row was written (children are replaced, so this is when the stage last changed).';

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('opportunity_stages', 'keap.opportunity_stages', 750, 'GET /rest/v2/opportunities/stages with checklist items; listed whole every run');

select keap_meta.create_staging_table('opportunity_stages');
