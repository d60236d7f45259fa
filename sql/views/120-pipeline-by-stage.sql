-- keap_ops.pipeline_by_stage: the sales pipeline at a glance, the first question every Keap owner
-- asks: how many deals sit in each stage, what they are worth, what they are worth weighted by the
-- stage's win probability, and how long they have been there.
-- One row per live pipeline stage (keap.opportunity_stages), in pipeline order, plus one row per
-- stage id that live opportunities point to but the stage list no longer has (stage_is_listed =
-- false; e.g. a stage deleted in Keap), so no opportunity is left out of the totals. Revenue is the
-- exact numeric Keap sent (projected_revenue_low / high, major units); sums never pass through a
-- float. Time in stage: since the opportunity's latest move into its current stage
-- (keap.opportunity_stage_moves), or its creation when no move is known.
-- Grain: pipeline stage.
-- Cost: one pass over the live opportunities, one index probe per opportunity into
-- keap.opportunity_stage_moves (opportunity_id, moved_at); stages are few.
-- Example:
--   select stage_name, opportunity_count, projected_revenue_high, weighted_revenue_high, avg_days_in_stage, over_target_count
--     from keap_ops.pipeline_by_stage order by stage_order;
drop view if exists keap_ops.pipeline_by_stage;
create view keap_ops.pipeline_by_stage as
with opp as (
  -- live opportunities with the time they entered their current stage
  select o.opportunity_id, o.stage_id, o.stage_name, o.is_in_forecast, o.projected_revenue_low, o.projected_revenue_high,
         o.next_action_at, o.updated_at,
         coalesce(m.moved_at, o.created_at) as entered_stage_at
    from keap.opportunities o
    left join lateral (
      select sm.moved_at from keap.opportunity_stage_moves sm
       where sm.opportunity_id = o.opportunity_id and sm.to_stage_id = o.stage_id and sm._deleted_at is null
       order by sm.moved_at desc nulls last limit 1) m on true
   where o._deleted_at is null
),
per_stage as (
  select stage_id, max(stage_name) as stage_name, count(*) as opportunity_count,
         count(*) filter (where is_in_forecast) as in_forecast_count,
         coalesce(sum(projected_revenue_low), 0) as projected_revenue_low,
         coalesce(sum(projected_revenue_high), 0) as projected_revenue_high,
         avg(extract(epoch from now() - entered_stage_at) / 86400) as avg_days_in_stage,
         max(extract(epoch from now() - entered_stage_at) / 86400) as max_days_in_stage,
         count(*) filter (where next_action_at < now()) as next_action_overdue_count,
         max(updated_at) as last_updated_at,
         array_agg(entered_stage_at) as entered
    from opp
   group by stage_id
)
select
  coalesce(s.opportunity_stage_id, p.stage_id) as opportunity_stage_id,
  coalesce(s.name, p.stage_name) as stage_name,
  s.stage_order,
  s.opportunity_stage_id is not null as stage_is_listed,
  s.probability as probability_pct,
  s.target_number_days,
  coalesce(p.opportunity_count, 0) as opportunity_count,
  coalesce(p.in_forecast_count, 0) as in_forecast_count,
  coalesce(p.projected_revenue_low, 0) as projected_revenue_low,
  coalesce(p.projected_revenue_high, 0) as projected_revenue_high,
  coalesce(p.projected_revenue_low, 0) * (s.probability * 0.01) as weighted_revenue_low,
  coalesce(p.projected_revenue_high, 0) * (s.probability * 0.01) as weighted_revenue_high,
  round(p.avg_days_in_stage, 1) as avg_days_in_stage,
  round(p.max_days_in_stage, 1) as max_days_in_stage,
  case when s.target_number_days > 0 then
    (select count(*) from unnest(p.entered) e(at) where e.at < now() - make_interval(days => s.target_number_days))
  end as over_target_count,
  coalesce(p.next_action_overdue_count, 0) as next_action_overdue_count,
  p.last_updated_at
from (select * from keap.opportunity_stages where _deleted_at is null) s
full join per_stage p on p.stage_id = s.opportunity_stage_id;

comment on view keap_ops.pipeline_by_stage is 'The opportunity pipeline per stage: live opportunities, their projected revenue (exact numeric sums), revenue weighted by the stage''s win probability, time spent in the stage and overdue next actions. One row per live stage in pipeline order, plus one per stage id that live opportunities reference but Keap no longer lists (stage_is_listed = false).';
comment on column keap_ops.pipeline_by_stage.opportunity_stage_id is 'Stage id (keap.opportunity_stages.opportunity_stage_id, or the stage_id live opportunities point to); null for opportunities without a stage.';
comment on column keap_ops.pipeline_by_stage.stage_name is 'Stage name (from the stage list, else as embedded in the opportunities).';
comment on column keap_ops.pipeline_by_stage.stage_order is 'Position of the stage in the pipeline, 1 first; null for a stage Keap no longer lists.';
comment on column keap_ops.pipeline_by_stage.stage_is_listed is 'False when live opportunities point to a stage the stage list does not have (deleted in Keap, or not synced yet).';
comment on column keap_ops.pipeline_by_stage.probability_pct is 'Win probability of the stage in percent (0-100), as configured in Keap.';
comment on column keap_ops.pipeline_by_stage.target_number_days is 'Target number of days an opportunity should stay in the stage (0 = no target).';
comment on column keap_ops.pipeline_by_stage.opportunity_count is 'Live opportunities currently in the stage.';
comment on column keap_ops.pipeline_by_stage.in_forecast_count is 'Of those, how many are included in the forecast (include_in_forecast).';
comment on column keap_ops.pipeline_by_stage.projected_revenue_low is 'Sum of projected_revenue_low of the stage''s opportunities, in currency units (exact numeric; 0 when none).';
comment on column keap_ops.pipeline_by_stage.projected_revenue_high is 'Sum of projected_revenue_high of the stage''s opportunities, in currency units (exact numeric; 0 when none).';
comment on column keap_ops.pipeline_by_stage.weighted_revenue_low is 'projected_revenue_low x probability_pct / 100: the low estimate weighted by the chance to win; null for an unlisted stage.';
comment on column keap_ops.pipeline_by_stage.weighted_revenue_high is 'projected_revenue_high x probability_pct / 100: the high estimate weighted by the chance to win; null for an unlisted stage.';
comment on column keap_ops.pipeline_by_stage.avg_days_in_stage is 'Average days the stage''s opportunities have spent in it so far (since their latest move into it, else their creation), 1 decimal; null when the stage is empty.';
comment on column keap_ops.pipeline_by_stage.max_days_in_stage is 'Longest time, in days, an opportunity of the stage has spent in it so far; null when the stage is empty.';
comment on column keap_ops.pipeline_by_stage.over_target_count is 'Opportunities in the stage for longer than target_number_days; null when the stage has no target.';
comment on column keap_ops.pipeline_by_stage.next_action_overdue_count is 'Opportunities of the stage whose next action time (next_action_at) has passed.';
comment on column keap_ops.pipeline_by_stage.last_updated_at is 'Newest change time in Keap of the stage''s opportunities (updated_at).';
