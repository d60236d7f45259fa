-- 00074: opportunities (GET /rest/v2/opportunities with fields=custom_fields,created_by,
-- last_updated_by,status_id), their custom field values, and the staging table.
-- Merge: keap.merge_opportunities generated from sql/transforms/062-declare-opportunities.sql.
-- Revenue: Keap sends plain JSON doubles (projected_revenue_low/high, major units). They are stored
-- as numeric, never real or double precision: the engine hands page bodies to PostgreSQL unparsed,
-- jsonb keeps JSON numbers as numeric, and the declaration's money type rounds them to the 15
-- significant digits a double holds (19.9 stays 19.9; 0.30000000000000004 is 0.3).

create table keap.opportunities (
  opportunity_id         bigint primary key,
  title                  text,
  contact_id             bigint,
  stage_id               bigint,
  stage_name             text,
  stage_reasons          jsonb not null default '[]',
  user_id                bigint,
  next_action_at         timestamptz,
  next_action_notes      text,
  notes                  text,
  estimated_close_at     timestamptz,
  is_in_forecast         boolean,
  projected_revenue_low  numeric,
  projected_revenue_high numeric,
  affiliate_id           bigint,
  lead_source            text,
  status_id              bigint,
  created_by             bigint,
  last_updated_by        bigint,
  created_at             timestamptz,
  updated_at             timestamptz
);
select keap_meta.add_entity_etl_columns('keap.opportunities', 'RestV2Opportunity');
comment on column keap.opportunities._raw is 'Last raw RestV2Opportunity object received (NUL characters removed); holds every field, also those without a column (the embedded contact, stage details and checklist instances, the owner''s name).';
create index opportunities_updated_at on keap.opportunities (updated_at);
create index opportunities_stage_id on keap.opportunities (stage_id) where _deleted_at is null;
create index opportunities_contact_id on keap.opportunities (contact_id);

comment on table keap.opportunities is 'Keap opportunities (deals), one row per opportunity (GET /rest/v2/opportunities). Custom field values are in keap.opportunity_custom_fields, stage changes in keap.opportunity_stage_moves.';
comment on column keap.opportunities.opportunity_id is 'Keap opportunity id.';
comment on column keap.opportunities.title is 'Opportunity title (opportunity_title).';
comment on column keap.opportunities.contact_id is 'Contact the opportunity is for (contact.id; keap.contacts, not a foreign key).';
comment on column keap.opportunities.stage_id is 'Current pipeline stage (stage.id; keap.opportunity_stages, not a foreign key).';
comment on column keap.opportunities.stage_name is 'Name of the current stage as embedded in the opportunity (stage.name).';
comment on column keap.opportunities.stage_reasons is 'Reasons recorded for the current stage (stage.reasons, e.g. why a deal was lost): JSON array of strings, [] when none.';
comment on column keap.opportunities.user_id is 'Keap user who owns the opportunity (user.id; keap.users).';
comment on column keap.opportunities.next_action_at is 'When the next action is due (next_action_time).';
comment on column keap.opportunities.next_action_notes is 'What the next action is (next_action_notes).';
comment on column keap.opportunities.notes is 'Free-text notes on the opportunity (opportunity_notes).';
comment on column keap.opportunities.estimated_close_at is 'Estimated close date (estimated_close_time).';
comment on column keap.opportunities.is_in_forecast is 'Whether the opportunity counts in the sales forecast (include_in_forecast).';
comment on column keap.opportunities.projected_revenue_low is 'Low estimate of the revenue, in the account''s currency units (projected_revenue_low, a JSON double; exact numeric rounded to the 15 significant digits a double holds, so 19.9 is 19.9).';
comment on column keap.opportunities.projected_revenue_high is 'High estimate of the revenue, in the account''s currency units (projected_revenue_high, a JSON double; exact numeric rounded to the 15 significant digits a double holds, so 19.9 is 19.9).';
comment on column keap.opportunities.affiliate_id is 'Referral partner (affiliate) credited with the opportunity.';
comment on column keap.opportunities.lead_source is 'Lead source name as Keap sends it.';
comment on column keap.opportunities.status_id is 'Opportunity status id (status_id).';
comment on column keap.opportunities.created_by is 'Keap user id that created the opportunity.';
comment on column keap.opportunities.last_updated_by is 'Keap user id that last changed the opportunity.';
comment on column keap.opportunities.created_at is 'When the opportunity was created (created_time).';
comment on column keap.opportunities.updated_at is 'When the opportunity was last changed (last_updated_time); the incremental watermark field (opportunities are read newest first and the read stops below the watermark).';

select keap_meta.create_custom_field_values_table('opportunity_custom_fields', 'keap.opportunities', 'opportunity_id', 'opportunities');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('opportunities', 'keap.opportunities', 760, 'GET /rest/v2/opportunities with custom fields; incremental: newest first (order_by update_time desc) down to the watermark');

select keap_meta.create_staging_table('opportunities');
