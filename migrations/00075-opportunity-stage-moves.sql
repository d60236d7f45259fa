-- 00075: opportunity stage moves (GET /rest/v2/opportunities/stageMoves), the append-only history
-- of every opportunity moving from one pipeline stage to another, and the staging table.
-- Merge: keap.merge_opportunity_stage_moves generated from sql/transforms/063-declare-opportunity-stage-moves.sql.
-- The list has no time or id filter; ids rise with creation, so an incremental run reads it newest
-- first (order_by id desc) and stops at the watermark (create_time); the periodic full traversal
-- re-reads it all and marks moves Keap no longer lists (a deleted opportunity's).

create table keap.opportunity_stage_moves (
  opportunity_stage_move_id bigint primary key,
  opportunity_id            bigint,
  moved_at                  timestamptz,
  from_stage_id             bigint,
  to_stage_id               bigint,
  previous_move_at          timestamptz,
  user_id                   bigint,
  created_by                bigint,
  created_at                timestamptz
);
select keap_meta.add_entity_etl_columns('keap.opportunity_stage_moves', 'OpportunityStageMove');
create index opportunity_stage_moves_opportunity on keap.opportunity_stage_moves (opportunity_id, moved_at);

comment on table keap.opportunity_stage_moves is 'History of opportunities moving between pipeline stages, one row per move (GET /rest/v2/opportunities/stageMoves). Append-only in Keap.';
comment on column keap.opportunity_stage_moves.opportunity_stage_move_id is 'Keap stage-move id (rises with creation).';
comment on column keap.opportunity_stage_moves.opportunity_id is 'Opportunity that moved (keap.opportunities, not a foreign key).';
comment on column keap.opportunity_stage_moves.moved_at is 'When the move happened (move_time).';
comment on column keap.opportunity_stage_moves.from_stage_id is 'Stage moved from (move_from_stage_id; keap.opportunity_stages). 0 = no previous stage: the opportunity''s first move.';
comment on column keap.opportunity_stage_moves.to_stage_id is 'Stage moved to (move_to_stage_id; keap.opportunity_stages).';
comment on column keap.opportunity_stage_moves.previous_move_at is 'When the opportunity''s previous move happened (prev_stage_move_time); null for a first move. moved_at - previous_move_at is the time spent in from_stage_id.';
comment on column keap.opportunity_stage_moves.user_id is 'Keap user associated with the move (user_id).';
comment on column keap.opportunity_stage_moves.created_by is 'Keap user id that created the record.';
comment on column keap.opportunity_stage_moves.created_at is 'When Keap recorded the move (create_time); the incremental watermark field.';

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('opportunity_stage_moves', 'keap.opportunity_stage_moves', 770, 'GET /rest/v2/opportunities/stageMoves (append-only); incremental: newest first (order_by id desc) down to the watermark');

select keap_meta.create_staging_table('opportunity_stage_moves');
