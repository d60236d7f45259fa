// The merge generator's "keyed" child collections: an array of objects keyed by an integer id field
// of each item (an opportunity stage's checklist items). Declared only as data on a toy entity:
// items land keyed by their id, are replaced whole when the parent changes (a removed item
// disappears), an unchanged parent writes nothing, and an item without an integer id, an id listed
// twice or an item that is not an object is skipped with a row issue while the parent and its other
// items land. The declaration tables refuse a keyed child without its id field or with slots.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { startRun, type Run } from './fixtures/staging.ts';

let db: TestDb;
let run: Run;

const TOY = `
  create table keap.gadgets (
    gadget_id bigint primary key, name text, updated_at timestamptz, _run_id bigint,
    _synced_at timestamptz not null default now(), _first_seen_at timestamptz not null default now(),
    _deleted_at timestamptz, _raw jsonb not null,
    _raw_hash bigint generated always as (jsonb_hash_extended(_raw, 0)) stored);
  create table keap.gadget_steps (gadget_id bigint not null, step_id bigint not null, "desc" text, is_required boolean,
    step_order integer, _run_id bigint, _synced_at timestamptz not null default now(), primary key (gadget_id, step_id));
  select keap_meta.create_staging_table('gadgets');
  select keap_meta.create_history_table(t) from unnest('{keap.gadgets,keap.gadget_steps}'::regclass[]) t;
  insert into keap_meta.entities (entity, target_table, sync_order, description)
  values ('gadgets', 'keap.gadgets', 901, 'GET /gadgets (test entity)');
  select keap_meta.declare_entity('gadgets', p_key_column => 'gadget_id', p_collection => 'gadgets');
  insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
    ('gadgets', 'name',       'name',        'text',        'short', false),
    ('gadgets', 'updated_at', 'update_time', 'timestamptz', null,    true);
  insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, noun) values
    ('gadgets', 'steps', 'keap.gadget_steps', 'Steps', 'keyed', 'gadget_id', 'step_id', 'stepId', 'step');
  insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type, size) values
    ('gadgets', 'steps', 'desc',        'desc',     'text',    'short'),
    ('gadgets', 'steps', 'is_required', 'required', 'boolean', null),
    ('gadgets', 'steps', 'step_order',  'order',    'integer', null);
  select keap_meta.generate_merge('gadgets');`;

beforeAll(async () => {
  db = await createTestDatabase('merge_keyed');
  await db.sql.unsafe(TOY);
  run = await startRun(db.sql);
});
afterAll(async () => {
  await run?.end();
  await db?.drop();
});

type G = Record<string, unknown>;
const gadget = (id: string, steps: unknown[], over: G = {}): G => ({ id, name: `Gadget ${id}`, update_time: '2026-10-01T10:00:00.000Z', Steps: steps, ...over });
const step = (stepId: unknown, desc: string, order: number, required = false): G => ({ stepId, desc, required, order });

let pageNo = 0;
async function stageAndMerge(records: G[]) {
  await db.sql.unsafe(
    `insert into keap_staging.gadgets (run_id, page_no, traversal, payload) values ($1, $2, 'incremental', $3::text::jsonb)`,
    [run.runId, ++pageNo, JSON.stringify({ gadgets: records, next_page_token: '' })],
  );
  await db.sql.unsafe(`call keap.merge_gadgets($1, false)`, [run.runId]);
  const [log] = await db.sql`
    select inserted_count::int as inserted, updated_count::int as updated, unchanged_count::int as unchanged, rejected_count::int as rejected
      from keap_meta.merge_log where run_id = ${run.runId} and entity = 'gadgets' order by merge_id desc limit 1`;
  return log;
}
const steps = async () =>
  (await db.sql`select gadget_id, step_id, "desc", is_required, step_order from keap.gadget_steps order by 1, 2`).map((r): Record<string, any> => ({
    ...r, gadget_id: Number(r.gadget_id), step_id: Number(r.step_id),
  }));

describe('keyed child collections', () => {
  it('items land keyed by their integer id (numbers or numeric strings)', async () => {
    expect(await stageAndMerge([gadget('1', [step('11', 'Plan', 1, true), step(12, 'Build', 2)]), gadget('2', [])])).toEqual({ inserted: 2, updated: 0, unchanged: 0, rejected: 0 });
    expect(await steps()).toEqual([
      { gadget_id: 1, step_id: 11, desc: 'Plan', is_required: true, step_order: 1 },
      { gadget_id: 1, step_id: 12, desc: 'Build', is_required: false, step_order: 2 },
    ]);
  });

  it('an unchanged parent writes nothing; a changed one has its items replaced (a removed item disappears)', async () => {
    const before = await db.sql`select xmin::text as x from keap.gadget_steps order by gadget_id, step_id`;
    expect(await stageAndMerge([gadget('1', [step('11', 'Plan', 1, true), step(12, 'Build', 2)])])).toMatchObject({ unchanged: 1, updated: 0 });
    expect(await db.sql`select xmin::text as x from keap.gadget_steps order by gadget_id, step_id`).toEqual(before);
    expect(await stageAndMerge([gadget('1', [step('12', 'Build it', 1), step('13', 'Ship', 2, true)], { update_time: '2026-10-02T10:00:00Z' })])).toMatchObject({ updated: 1 });
    expect(await steps()).toEqual([
      { gadget_id: 1, step_id: 12, desc: 'Build it', is_required: false, step_order: 1 },
      { gadget_id: 1, step_id: 13, desc: 'Ship', is_required: true, step_order: 2 },
    ]);
  });

  it('an item without an integer id, an id listed twice or a non-object is skipped with a row issue; the rest lands', async () => {
    const log = await stageAndMerge([
      gadget('3', [step('31', 'First', 1), { desc: 'no id' }, step('x1', 'not an integer', 3), step('31', 'again', 4), 'just text', step('32', 'Second', 6)]),
    ]);
    expect(log).toMatchObject({ inserted: 1, rejected: 4 });
    expect((await steps()).filter((s) => s.gadget_id === 3).map((s) => [s.step_id, s.desc])).toEqual([[31, 'First'], [32, 'Second']]);
    const issues = await db.sql`
      select record_key, field, problem from keap_meta.row_issues where run_id = ${run.runId} and entity = 'gadgets' order by field`;
    expect(issues).toEqual([
      { record_key: '3', field: 'Steps[1].stepId', problem: 'step without an integer id; skipped, kept in _raw' },
      { record_key: '3', field: 'Steps[2].stepId', problem: 'step without an integer id; skipped, kept in _raw' },
      { record_key: '3', field: 'Steps[3].stepId', problem: 'step id listed twice; first kept' },
      { record_key: '3', field: 'Steps[4].stepId', problem: 'step without an integer id; skipped, kept in _raw' },
    ]);
  });

  it('the declaration tables refuse a keyed child without its id field, or with slots', async () => {
    await expect(db.sql`
      insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, noun)
      values ('gadgets', 'bad1', 'keap.gadget_steps', 'Steps', 'keyed', 'gadget_id', 'step_id', 'step')`).rejects.toThrow(/entity_children_slot_path_kind_check/);
    await expect(db.sql`
      insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, slots, noun)
      values ('gadgets', 'bad2', 'keap.gadget_steps', 'Steps', 'keyed', 'gadget_id', 'step_id', 'stepId', '{A}', 'step')`).rejects.toThrow(/entity_children_slots_check/);
  });
});
