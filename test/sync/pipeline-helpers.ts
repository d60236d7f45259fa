// Comparison of the pipeline and activity tables (issue 9) with the sandbox's truth: every live
// record of users, opportunity stages (and checklist items), opportunities (revenue compared as
// text: the double to 15 significant digits), stage moves, notes and tasks (and their custom field values), and the custom field
// models, field by field.
import { expect } from 'vitest';
import type { Sandbox } from '../../scripts/lib/sandbox/index.ts';
import type { Sql } from '../../scripts/lib/db.ts';

type Rec = Record<string, any>;

const ms = (v: unknown): number | null => (v === undefined || v === null ? null : new Date(v as string).getTime());
const num = (v: unknown): number | null => (v === undefined || v === null ? null : Number(v));
const str = (v: unknown): string | null => (v === undefined || v === null ? null : String(v));
/** A JSON double as the money type stores it: the value to 15 significant digits (what PostgreSQL's numeric must print). */
const jsonNum = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(Number((v as number).toPrecision(15))));
const byId = (a: Rec, b: Rec) => Number(a.id) - Number(b.id);

function truth(sb: Sandbox, entity: Parameters<Sandbox['store']['list']>[0]): Rec[] {
  return ([...sb.store.list(entity)] as Rec[]).sort(byId);
}

async function expectCustomFields(sql: Sql, table: string, parentTable: string, parent: string, records: Rec[]): Promise<void> {
  const rows = await sql.unsafe(`select c.${parent} as parent_id, c.custom_field_id, c.value
                                   from keap.${table} c join keap.${parentTable} p using (${parent})
                                  where p._deleted_at is null order by 1, 2`);
  const want = records
    .flatMap((r) => ((r.custom_fields as Rec[] | undefined) ?? []).filter((c) => c.content !== null && c.content !== undefined).map((c) => ({ parent_id: Number(r.id), custom_field_id: Number(c.id), value: c.content })))
    .sort((a, b) => a.parent_id - b.parent_id || a.custom_field_id - b.custom_field_id);
  expect(rows.map((r) => ({ parent_id: Number(r.parent_id), custom_field_id: Number(r.custom_field_id), value: r.value }))).toEqual(want);
}

/** The warehouse's live pipeline and activity rows equal the sandbox's current data exactly. */
export async function expectPipelineEqualsSandbox(sql: Sql, sb: Sandbox): Promise<void> {
  // custom field models
  for (const [model, endpoint] of [['companies', 'companies'], ['opportunities', 'opportunities'], ['notes', 'notes'], ['tasks', 'tasks']] as const) {
    const rows = await sql`select custom_field_id, label, field_type from keap.custom_fields where model = ${model} and _deleted_at is null order by custom_field_id`;
    const want = sb.store.model(endpoint).custom_fields.map((f) => ({ custom_field_id: Number(f.id), label: f.label, field_type: f.field_type })).sort((a, b) => a.custom_field_id - b.custom_field_id);
    expect(rows.map((r) => ({ ...r, custom_field_id: Number(r.custom_field_id) }))).toEqual(want);
  }

  // users: all of them, inactive users and partners included
  const users = await sql`
    select user_id, given_name, family_name, status, is_admin, is_partner, created_by, updated_at,
           (select array_agg(e.field || '|' || e.email order by e.field) from keap.user_emails e where e.user_id = u.user_id) as emails
      from keap.users u where _deleted_at is null order by user_id`;
  expect(users.map((u) => ({ ...u, user_id: Number(u.user_id), created_by: num(u.created_by), updated_at: ms(u.updated_at), emails: u.emails ?? [] }))).toEqual(
    truth(sb, 'users').map((u) => ({
      user_id: Number(u.id), given_name: str(u.given_name), family_name: str(u.family_name), status: u.status, is_admin: u.admin, is_partner: u.partner,
      created_by: num(u.created_by), updated_at: ms(u.update_time),
      emails: ((u.email_addresses as Rec[]) ?? []).map((e) => `${e.field}|${e.email}`).sort(),
    })),
  );

  // stages and their checklist items
  const stages = await sql`select opportunity_stage_id, name, stage_order, probability, target_number_days from keap.opportunity_stages where _deleted_at is null order by 1`;
  const stageTruth = truth(sb, 'stages');
  expect(stages.map((s) => ({ ...s, opportunity_stage_id: Number(s.opportunity_stage_id) }))).toEqual(
    stageTruth.map((s) => ({ opportunity_stage_id: Number(s.id), name: s.name, stage_order: s.order, probability: s.probability, target_number_days: s.target_number_days })),
  );
  const items = await sql`
    select i.opportunity_stage_id, i.checklist_item_id, i.description, i.is_required, i.item_order
      from keap.opportunity_stage_checklist_items i join keap.opportunity_stages s using (opportunity_stage_id)
     where s._deleted_at is null order by 1, 2`;
  expect(items.map((i) => ({ ...i, opportunity_stage_id: Number(i.opportunity_stage_id), checklist_item_id: Number(i.checklist_item_id) }))).toEqual(
    stageTruth.flatMap((s) =>
      ((s.checklist_items as Rec[]) ?? [])
        .map((c) => ({ opportunity_stage_id: Number(s.id), checklist_item_id: Number(c.id), description: c.description, is_required: c.required, item_order: c.order }))
        .sort((a, b) => a.checklist_item_id - b.checklist_item_id),
    ),
  );

  // opportunities: revenue compared as text, exactly as the JSON wrote it
  const opps = await sql`
    select opportunity_id, title, contact_id, stage_id, user_id, is_in_forecast, projected_revenue_low::text as low,
           projected_revenue_high::text as high, stage_reasons, updated_at
      from keap.opportunities where _deleted_at is null order by opportunity_id`;
  const oppTruth = truth(sb, 'opportunities');
  expect(opps.map((o) => ({ ...o, opportunity_id: Number(o.opportunity_id), contact_id: num(o.contact_id), stage_id: num(o.stage_id), user_id: num(o.user_id), updated_at: ms(o.updated_at) }))).toEqual(
    oppTruth.map((o) => ({
      opportunity_id: Number(o.id), title: o.opportunity_title, contact_id: num(o.contact?.id), stage_id: num(o.stage?.id), user_id: num(o.user?.id),
      is_in_forecast: o.include_in_forecast ?? null, low: jsonNum(o.projected_revenue_low), high: jsonNum(o.projected_revenue_high),
      stage_reasons: o.stage?.reasons ?? [], updated_at: ms(o.last_updated_time),
    })),
  );
  await expectCustomFields(sql, 'opportunity_custom_fields', 'opportunities', 'opportunity_id', oppTruth);

  // stage moves
  const moves = await sql`
    select opportunity_stage_move_id, opportunity_id, from_stage_id, to_stage_id, moved_at, previous_move_at, user_id, created_at
      from keap.opportunity_stage_moves where _deleted_at is null order by 1`;
  expect(moves.map((m) => ({ ...m, opportunity_stage_move_id: Number(m.opportunity_stage_move_id), opportunity_id: num(m.opportunity_id), from_stage_id: num(m.from_stage_id), to_stage_id: num(m.to_stage_id), moved_at: ms(m.moved_at), previous_move_at: ms(m.previous_move_at), user_id: num(m.user_id), created_at: ms(m.created_at) }))).toEqual(
    truth(sb, 'stage_moves').map((m) => ({
      opportunity_stage_move_id: Number(m.id), opportunity_id: num(m.opportunity_id), from_stage_id: num(m.move_from_stage_id), to_stage_id: num(m.move_to_stage_id),
      moved_at: ms(m.move_time), previous_move_at: ms(m.prev_stage_move_time), user_id: num(m.user_id), created_at: ms(m.create_time),
    })),
  );

  // notes
  const notes = await sql`
    select note_id, contact_id, title, type, text, assigned_to_user_id, pinned_at, updated_at from keap.notes where _deleted_at is null order by 1`;
  const noteTruth = truth(sb, 'notes');
  expect(notes.map((n) => ({ ...n, note_id: Number(n.note_id), contact_id: num(n.contact_id), assigned_to_user_id: num(n.assigned_to_user_id), pinned_at: ms(n.pinned_at), updated_at: ms(n.updated_at) }))).toEqual(
    noteTruth.map((n) => ({
      note_id: Number(n.id), contact_id: num(n.contact_id), title: str(n.title), type: str(n.type), text: str(n.text),
      assigned_to_user_id: num(n.assigned_to_user?.id), pinned_at: ms(n.pinned_at), updated_at: ms(n.update_time),
    })),
  );
  await expectCustomFields(sql, 'note_custom_fields', 'notes', 'note_id', noteTruth);

  // tasks
  const tasks = await sql`
    select task_id, title, priority, is_completed, contact_id, opportunity_id, assigned_to_user_id, due_at, remind_time_mins, completed_at, updated_at
      from keap.tasks where _deleted_at is null order by 1`;
  const taskTruth = truth(sb, 'tasks');
  expect(tasks.map((t) => ({ ...t, task_id: Number(t.task_id), contact_id: num(t.contact_id), opportunity_id: num(t.opportunity_id), assigned_to_user_id: num(t.assigned_to_user_id), due_at: ms(t.due_at), completed_at: ms(t.completed_at), updated_at: ms(t.updated_at) }))).toEqual(
    taskTruth.map((t) => ({
      task_id: Number(t.id), title: str(t.title), priority: str(t.priority), is_completed: t.completed ?? null, contact_id: num(t.contact_id), opportunity_id: num(t.opportunity_id),
      assigned_to_user_id: num(t.assigned_to_user_id), due_at: ms(t.due_time), remind_time_mins: num(t.remind_time_mins), completed_at: ms(t.completion_time), updated_at: ms(t.modification_time),
    })),
  );
  await expectCustomFields(sql, 'task_custom_fields', 'tasks', 'task_id', taskTruth);
}

/** Entities of issue 9, in entity-list order. */
export const PIPELINE_ENTITIES = ['company_model', 'opportunity_model', 'note_model', 'task_model', 'users', 'opportunity_stages', 'opportunities', 'opportunity_stage_moves', 'notes', 'tasks'];
