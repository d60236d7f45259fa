-- 00074: opportunities (GET /rest/v2/opportunities with fields=custom_fields,created_by,
-- last_updated_by,status_id), their custom field values, and the staging table.
-- Merge: keap.merge_opportunities generated from sql/transforms/062-declare-opportunities.sql.
-- Revenue: Keap sends plain JSON doubles (projected_revenue_low/high, major units). They are stored
-- as numeric exactly as written in the response (19.9 stays 19.9; never real or double precision):
-- the engine hands page bodies to PostgreSQL unparsed and jsonb keeps JSON numbers as numeric.

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
  updated_at             timestamptz,
  _run_id                bigint,
  _synced_at             timestamptz not null default now(),
  _first_seen_at         timestamptz not null default now(),
  _deleted_at            timestamptz,
  _raw                   jsonb not null,
  _raw_hash              bigint generated always as (jsonb_hash_extended(_raw, 0)) stored
);
create index opportunities_updated_at on keap.opportunities (updated_at);
create index opportunities_stage_id on keap.opportunities (stage_id) where _deleted_at is null;
create index opportunities_contact_id on keap.opportunities (contact_id);
create index opportunities_deleted on keap.opportunities (_deleted_at) where _deleted_at is not null;

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
comment on column keap.opportunities.projected_revenue_low is 'Low estimate of the revenue, in the account''s currency units (projected_revenue_low, a JSON double stored exactly as sent).';
comment on column keap.opportunities.projected_revenue_high is 'High estimate of the revenue, in the account''s currency units (projected_revenue_high, a JSON double stored exactly as sent).';
comment on column keap.opportunities.affiliate_id is 'Referral partner (affiliate) credited with the opportunity.';
comment on column keap.opportunities.lead_source is 'Lead source name as Keap sends it.';
comment on column keap.opportunities.status_id is 'Opportunity status id (status_id).';
comment on column keap.opportunities.created_by is 'Keap user id that created the opportunity.';
comment on column keap.opportunities.last_updated_by is 'Keap user id that last changed the opportunity.';
comment on column keap.opportunities.created_at is 'When the opportunity was created (created_time).';
comment on column keap.opportunities.updated_at is 'When the opportunity was last changed (last_updated_time); the incremental watermark field (opportunities are read newest first and the read stops below the watermark).';
comment on column keap.opportunities._run_id is 'Run whose merge last wrote the row.';
comment on column keap.opportunities._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.opportunities._first_seen_at is 'When the row was first inserted.';
comment on column keap.opportunities._deleted_at is 'Soft delete: set when a completed full traversal no longer listed the opportunity; cleared if it is listed again. Child rows are kept.';
comment on column keap.opportunities._raw is 'Last raw RestV2Opportunity object received (NUL characters removed); holds every field, also those without a column (the embedded contact, stage details and checklist instances, the owner''s name).';
comment on column keap.opportunities._raw_hash is 'Hash of _raw (jsonb_hash_extended, computed by PostgreSQL): merges skip a re-read record whose hash is unchanged.';

create table keap.opportunity_custom_fields (
  opportunity_id  bigint not null,
  custom_field_id bigint not null,
  value           jsonb,
  _run_id         bigint,
  _synced_at      timestamptz not null default now(),
  primary key (opportunity_id, custom_field_id)
);
comment on table keap.opportunity_custom_fields is 'Custom field values of an opportunity, one row per field with a value (fields without one are left out). Definitions in keap.custom_fields where model = ''opportunities''. Replaced whole whenever the opportunity changes.';
comment on column keap.opportunity_custom_fields.opportunity_id is 'Opportunity the value belongs to (keap.opportunities; kept consistent by keap.merge_opportunities, no foreign key).';
comment on column keap.opportunity_custom_fields.custom_field_id is 'Custom field id (keap.custom_fields.custom_field_id, model opportunities).';
comment on column keap.opportunity_custom_fields.value is 'The value (content) as untyped JSON; read it with the field''s field_type. A text over 65,535 characters is stored as null with a row issue.';
comment on column keap.opportunity_custom_fields._run_id is 'Run whose merge wrote the row.';
comment on column keap.opportunity_custom_fields._synced_at is 'When the row was written (children are replaced, so this is when the opportunity last changed).';

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('opportunities', 'keap.opportunities', 760, 'GET /rest/v2/opportunities with custom fields; incremental: newest first (order_by update_time desc) down to the watermark');

select keap_meta.create_staging_table('opportunities');
