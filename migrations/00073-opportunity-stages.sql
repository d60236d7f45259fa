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
  updated_at           timestamptz
);
select keap_meta.add_entity_etl_columns('keap.opportunity_stages', 'RestOpportunityStage');

comment on table keap.opportunity_stages is 'Stages of the Keap opportunity pipeline, one row per stage (GET /rest/v2/opportunities/stages). keap.opportunities.stage_id points here (not a foreign key).';
comment on column keap.opportunity_stages.opportunity_stage_id is 'Keap stage id.';
comment on column keap.opportunity_stages.name is 'Stage name, e.g. Proposal Sent.';
comment on column keap.opportunity_stages.stage_order is 'Position of the stage in the pipeline (order), 1 first.';
comment on column keap.opportunity_stages.target_number_days is 'Target number of days an opportunity should stay in the stage.';
comment on column keap.opportunity_stages.probability is 'Win probability of an opportunity in this stage, in percent (0-100).';
comment on column keap.opportunity_stages.created_at is 'When the stage was created (created_time).';
comment on column keap.opportunity_stages.updated_at is 'When the stage was last changed (updated_time).';

create table keap.opportunity_stage_checklist_items (
  opportunity_stage_id bigint not null,
  checklist_item_id    bigint not null,
  description          text,
  is_required          boolean,
  item_order           integer,
  primary key (opportunity_stage_id, checklist_item_id)
);
comment on table keap.opportunity_stage_checklist_items is 'Checklist items of a pipeline stage (a stage''s checklist_items), one row per item. Replaced whole whenever the stage changes, so removed items disappear.';
comment on column keap.opportunity_stage_checklist_items.opportunity_stage_id is 'Stage the item belongs to (keap.opportunity_stages; kept consistent by keap.merge_opportunity_stages, no foreign key).';
comment on column keap.opportunity_stage_checklist_items.checklist_item_id is 'Keap checklist item id (checklist_items[].id).';
comment on column keap.opportunity_stage_checklist_items.description is 'What has to be done.';
comment on column keap.opportunity_stage_checklist_items.is_required is 'Whether the item must be done before an opportunity leaves the stage (required).';
comment on column keap.opportunity_stage_checklist_items.item_order is 'Position of the item in the stage''s checklist (order).';
select keap_meta.add_child_etl_columns('keap.opportunity_stage_checklist_items', 'stage');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('opportunity_stages', 'keap.opportunity_stages', 750, 'GET /rest/v2/opportunities/stages with checklist items; listed whole every run');

select keap_meta.create_staging_table('opportunity_stages');
