// The merge generator: an entity declared only as data (a table, a staging table, a registry row and
// declaration rows, no merge SQL of its own) merges, counts, skips unchanged records, replaces its
// children, sweeps and records row issues; hostile names are refused or quoted; a declaration that
// does not fit its table is refused with a clear message; the fast casts agree with the checked ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { startRun, type Run } from './fixtures/staging.ts';
import { entityNames } from '../../scripts/lib/sync/entities.ts';

let db: TestDb;
let run: Run;

// The toy entity: GET /widgets -> keap.widgets (+ keap.widget_parts by slot, keap.widget_labels by id).
// Column names are reserved words and JSON keys are mixed-case on purpose: the generator must quote.
const TOY = `
  create table keap.widgets (
    widget_id bigint primary key, "order" text, "select" integer, price numeric, is_active boolean,
    made_on date, kind text, updated_at timestamptz, meta jsonb, _run_id bigint,
    _synced_at timestamptz not null default now(), _first_seen_at timestamptz not null default now(),
    _deleted_at timestamptz, _raw jsonb not null,
    _raw_hash bigint generated always as (jsonb_hash_extended(_raw, 0)) stored);
  create table keap.widget_parts (widget_id bigint not null, slot text not null, part_name text, weight numeric,
    _run_id bigint, _synced_at timestamptz not null default now(), primary key (widget_id, slot));
  create table keap.widget_labels (widget_id bigint not null, label_id bigint not null, note text,
    _run_id bigint, primary key (widget_id, label_id));
  select keap_meta.create_staging_table('widgets');
  insert into keap_meta.entities (entity, target_table, sync_order, description)
  values ('widgets', 'keap.widgets', 900, 'GET /widgets (test entity)');
  select keap_meta.declare_entity('widgets', p_key_column => 'widget_id', p_collection => 'widgets');
  insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values, json_shape, change_marker) values
    ('widgets', 'order',      'Order.Name',   'text',        'short', null, null, false),
    ('widgets', 'select',     'selectCount',  'integer',     null,    null, null, false),
    ('widgets', 'price',      'price',        'numeric',     null,    null, null, false),
    ('widgets', 'is_active',  'isActive',     'boolean',     null,    null, null, false),
    ('widgets', 'made_on',    'madeOn',       'date',        null,    null, null, false),
    ('widgets', 'kind',       'kind',         'text',        'short', '{PLAIN,FANCY,O''BRIEN''S}', null, false),
    ('widgets', 'updated_at', 'update_time',  'timestamptz', null,    null, null, true),
    ('widgets', 'meta',       'meta',         'jsonb',       null,    null, 'value', false);
  insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, slots, noun) values
    ('widgets', 'parts',  'keap.widget_parts',  'Parts',    'slots',  'widget_id', 'slot',     'slot', '{LEFT,RIGHT}', 'part'),
    ('widgets', 'labels', 'keap.widget_labels', 'labelIds', 'id_set', 'widget_id', 'label_id', null,   null,           'label id');
  insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type, size) values
    ('widgets', 'parts', 'part_name', 'name',   'text',    'short'),
    ('widgets', 'parts', 'weight',    'weight', 'numeric', null);
  select keap_meta.generate_merge('widgets');`;

beforeAll(async () => {
  db = await createTestDatabase('merge_declarations');
  await db.sql.unsafe(TOY);
  run = await startRun(db.sql);
});
afterAll(async () => {
  await run?.end();
  await db?.drop();
});

type W = Record<string, unknown>;
const widget = (id: string, over: W = {}): W => ({
  id, Order: { Name: `Widget ${id}` }, selectCount: 3, price: 19.9, isActive: true, madeOn: '2026-02-28', kind: 'PLAIN',
  update_time: '2026-10-01T10:00:00.000Z', meta: { a: [1, 'x'] },
  Parts: [{ slot: 'LEFT', name: 'bolt', weight: 0.25 }, { slot: 'RIGHT', name: 'nut', weight: 1e-3 }], labelIds: ['7', '8'], ...over,
});

let pageNo = 0;
async function stageAndMerge(records: W[], opts: { traversal?: string; finish?: boolean } = {}) {
  await db.sql.unsafe(
    `insert into keap_staging.widgets (run_id, page_no, traversal, payload) values ($1, $2, $3, $4::text::jsonb)`,
    [run.runId, ++pageNo, opts.traversal ?? 'incremental', JSON.stringify({ widgets: records, next_page_token: '' })],
  );
  await db.sql.unsafe(`call keap.merge_widgets($1, $2)`, [run.runId, opts.finish ?? false]);
  const [log] = await db.sql`
    select inserted_count::int as inserted, updated_count::int as updated, unchanged_count::int as unchanged,
           deleted_count::int as deleted, rejected_count::int as rejected
      from keap_meta.merge_log where run_id = ${run.runId} and entity = 'widgets' order by merge_id desc limit 1`;
  return log;
}

describe('a toy entity declared only as data', () => {
  it('merges typed values exactly (numeric stays 19.9, reserved-word columns, mixed-case paths) with its children', async () => {
    expect(await stageAndMerge([widget('1'), widget('2', { labelIds: [] })])).toEqual({ inserted: 2, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });
    const [w] = await db.sql`select "order", "select", price::text as price, is_active, made_on::text as made_on, kind, meta, _raw_hash is not null as hashed
                               from keap.widgets where widget_id = 1`;
    expect(w).toEqual({ order: 'Widget 1', select: 3, price: '19.9', is_active: true, made_on: '2026-02-28', kind: 'PLAIN', meta: { a: [1, 'x'] }, hashed: true });
    expect(await db.sql`select widget_id, slot, part_name, weight::text as weight from keap.widget_parts order by 1, 2`).toEqual([
      { widget_id: 1, slot: 'LEFT', part_name: 'bolt', weight: '0.25' },
      { widget_id: 1, slot: 'RIGHT', part_name: 'nut', weight: '0.001' },
      { widget_id: 2, slot: 'LEFT', part_name: 'bolt', weight: '0.25' },
      { widget_id: 2, slot: 'RIGHT', part_name: 'nut', weight: '0.001' },
    ]);
    expect(await db.sql`select widget_id, label_id from keap.widget_labels order by 1, 2`).toEqual([
      { widget_id: 1, label_id: 7 }, { widget_id: 1, label_id: 8 },
    ]);
  });

  it('the same records again are unchanged and write nothing; one changed field is one update', async () => {
    const before = await db.sql`select widget_id, xmin::text as xmin from keap.widgets order by 1`;
    expect(await stageAndMerge([widget('1'), widget('2', { labelIds: [] })])).toEqual({ inserted: 0, updated: 0, unchanged: 2, deleted: 0, rejected: 0 });
    expect(await db.sql`select widget_id, xmin::text as xmin from keap.widgets order by 1`).toEqual(before);

    await db.sql`update keap.widget_labels set note = 'kept while listed' where widget_id = 1 and label_id = 7`;
    const changed = widget('1', { price: 21, Parts: [{ slot: 'LEFT', name: 'bolt' }], labelIds: ['7', '9'], update_time: '2026-10-02T10:00:00Z' });
    expect(await stageAndMerge([changed, widget('2', { labelIds: [] })])).toEqual({ inserted: 0, updated: 1, unchanged: 1, deleted: 0, rejected: 0 });
    expect(await db.sql`select slot from keap.widget_parts where widget_id = 1`).toEqual([{ slot: 'LEFT' }]);
    expect(await db.sql`select label_id, note from keap.widget_labels where widget_id = 1 order by 1`).toEqual([
      { label_id: 7, note: 'kept while listed' }, { label_id: 9, note: null },
    ]);
    const [c] = await db.sql`select updated_since from keap_meta.sync_cursors where entity = 'widgets'`;
    expect(c.updated_since).toEqual(new Date('2026-10-02T10:00:00Z'));
  });

  it('bad values are stored as null (unknown enum kept) with one row issue each, named by their JSON path', async () => {
    const bad = widget('3', {
      selectCount: '3000000000', price: 'cheap', isActive: 'yes', madeOn: '2026-02-29', kind: 'WEIRD', update_time: 'soon',
      Order: 'not an object', Parts: [{ slot: 'TOP', name: 'x' }, { name: 'no slot' }, { slot: 'LEFT', name: 'a' }, { slot: 'LEFT', name: 'b' }],
      labelIds: ['7', 'seven'],
    });
    const log = await stageAndMerge([bad]);
    expect(log).toMatchObject({ inserted: 1, rejected: 11 });
    const [w] = await db.sql`select "order", "select", price, is_active, made_on, kind, updated_at from keap.widgets where widget_id = 3`;
    expect(w).toEqual({ order: null, select: null, price: null, is_active: null, made_on: null, kind: 'WEIRD', updated_at: null });
    const found = await db.sql`select field, raw_value, problem from keap_meta.row_issues where entity = 'widgets' and record_key = '3' order by issue_id`;
    expect(found.map((f) => `${f.field}: ${f.problem.split(';')[0]}`).sort()).toEqual([
      'Order: not a JSON object',
      'Parts[0].slot: unknown part slot',
      'Parts[1].slot: part without a slot (field)',
      'Parts[3].slot: part slot listed twice',
      'isActive: not a valid boolean',
      'kind: unknown enum value (not in the Keap v2 spec)',
      'labelIds[1]: label id is not an integer',
      'madeOn: not a valid date',
      'price: not a valid numeric',
      'selectCount: not a valid integer',
      'update_time: not a valid timestamptz',
    ]);
    expect(found.find((f) => f.field === 'madeOn')!.raw_value).toBe('2026-02-29');
  });

  it('a completed full traversal soft-deletes what it did not list, and a record listed again comes back', async () => {
    await db.sql`select keap_meta.begin_full_sweep('widgets', ${run.runId})`;
    const log = await stageAndMerge([widget('1'), widget('3')], { traversal: 'full', finish: true });
    expect(log).toMatchObject({ deleted: 1 });
    expect(await db.sql`select widget_id from keap.widgets where _deleted_at is not null`).toEqual([{ widget_id: 2 }]);
    expect(await stageAndMerge([widget('2', { labelIds: [] })])).toMatchObject({ updated: 1 });
    expect(await db.sql`select count(*)::int as n from keap.widgets where _deleted_at is null`).toEqual([{ n: 3 }]);
  });

  it('the generated procedure is plain SQL a DBA can read, says where it comes from, and is commented', async () => {
    const [p] = await db.sql`select pg_get_functiondef('keap.merge_widgets(bigint, boolean)'::regprocedure) as def,
                                    obj_description('keap.merge_widgets(bigint, boolean)'::regprocedure, 'pg_proc') as comment`;
    expect(p.def).toContain(`Generated by keap_meta.generate_merge('widgets')`);
    expect(p.def).toContain('"order"');
    expect(p.def).toContain('x."Order"');
    expect(p.comment).toMatch(/^Generated from the declaration of widgets/);
  });
});

describe('hostile declarations', () => {
  it('names that are not plain identifiers or JSON paths are refused by the declaration tables', async () => {
    const attempts = [
      `insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size) values ('widgets', 'x"; drop table keap.widgets; --', 'a', 'text', 'short')`,
      `insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size) values ('widgets', 'x', 'a''); drop table keap.widgets; --', 'text', 'short')`,
      `insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, noun) values ('widgets', 'c', 'keap.widgets', 'a;b', 'id_set', 'widget_id', 'x', 'n')`,
      `update keap_meta.entities set collection_key = 'w"; select 1; --' where entity = 'widgets'`,
    ];
    for (const a of attempts) await expect(db.sql.unsafe(a)).rejects.toMatchObject({ code: '23514' });
    expect(await db.sql`select count(*)::int as n from keap.widgets`).toEqual([{ n: 3 }]);
  });

  it('quotes and semicolons in values (enum values, constants) are quoted as literals', async () => {
    await db.sql.unsafe(`
      insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, enum_values) values
        ('widgets', 'x_probe', 'probe', 'text', 'short', '{"a''); drop table keap.widgets; --"}')`).catch(() => {});
    const [def] = await db.sql`select keap_meta.merge_procedure_sql('widgets') is not null as ok`.catch((e) => [{ ok: e.message }]);
    // x_probe is not a column of keap.widgets: the generator refuses it by name before quoting anything.
    expect(String(def!.ok)).toMatch(/declared column keap.widgets.x_probe does not exist/);
    await db.sql`delete from keap_meta.entity_columns where entity = 'widgets' and column_name = 'x_probe'`;
    await db.sql`update keap_meta.entity_columns set enum_values = array['PLAIN', $$O'Brien'); drop table keap.widgets; --$$] where entity = 'widgets' and column_name = 'kind'`;
    await db.sql`select keap_meta.generate_merge('widgets')`;
    const [p] = await db.sql`select pg_get_functiondef('keap.merge_widgets(bigint, boolean)'::regprocedure) as def`;
    expect(p.def).toContain(`'{PLAIN,"O''Brien''); drop table keap.widgets; --"}'`);
    expect(await stageAndMerge([widget('4', { kind: "O'Brien'); drop table keap.widgets; --" })])).toMatchObject({ inserted: 1, rejected: 0 });
    expect(await db.sql`select count(*)::int as n from keap.widgets`).toEqual([{ n: 4 }]);
  });

  it('a declaration that does not fit its table is refused with a message naming the problem', async () => {
    await expect(db.sql`select keap_meta.declare_entity('nope', 'x_id', 'x')`).rejects.toMatchObject({ code: 'KR005', message: expect.stringMatching(/not registered/) });
    await db.sql`update keap_meta.entity_columns set data_type = 'bigint' where entity = 'widgets' and column_name = 'price'`;
    await expect(db.sql`select keap_meta.generate_merge('widgets')`).rejects.toMatchObject({
      code: 'KR005', message: 'declared column keap.widgets.price is bigint in the declaration but numeric in the table',
    });
    await db.sql`update keap_meta.entity_columns set data_type = 'numeric' where entity = 'widgets' and column_name = 'price'`;
    await db.sql`update keap_meta.entities set key_column = 'kind' where entity = 'widgets'`;
    await expect(db.sql`select keap_meta.generate_merge('widgets')`).rejects.toMatchObject({ code: 'KR005', message: expect.stringMatching(/is not its primary key/) });
    await db.sql`update keap_meta.entities set key_column = 'widget_id' where entity = 'widgets'`;
  });
});

describe('every registered Keap entity', () => {
  it('has a declaration and a merge procedure generated from it', async () => {
    const rows = await db.sql`
      select e.entity, e.key_column is not null as declared,
             coalesce(pg_get_functiondef(to_regprocedure('keap.merge_' || e.entity || '(bigint, boolean)')), '') like '%Generated by keap_meta.generate_merge%' as generated
        from keap_meta.entities e where e.entity <> 'widgets' order by e.sync_order`;
    expect(rows.map((r) => r.entity)).toEqual(entityNames());
    expect(rows.every((r) => r.declared && r.generated)).toBe(true);
  });
});

describe('the fast casts', () => {
  it('agree with the exception-guarded casts on valid, edge and garbage inputs', async () => {
    const inputs = [
      '2026-09-14T08:05:17.412Z', '2026-09-14T08:05:17Z', '2026-09-14 08:05:17+02:00', '2026-09-14T08:05:17.123456-05:30',
      '2024-02-29T00:00:00Z', '2023-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-12-31T23:59:59Z', '2026-13-01T00:00:00Z',
      '2026-09-14T24:00:00Z', '2026-09-14T08:05:60Z', '0000-01-01T00:00:00Z', '2026-09-14T08:05:17.1234567Z', '2026-09-14T08:05:17+15:00',
      '2026-09-14', '2026-09-14T08:05', ' 2026-09-14T08:05:17Z', 'now', 'infinity', 'epoch', '', 'Sep 14 2026', '2026-9-14T08:05:17Z',
    ];
    const rows = await db.sql`
      select v, keap_meta.try_timestamptz(v) is not distinct from keap_meta.try_timestamptz_checked(v) as ts_same,
             keap_meta.try_date(left(v, 10)) is not distinct from keap_meta.try_date_checked(left(v, 10)) as date_same
        from unnest(${inputs}::text[]) v`;
    expect(rows.filter((r) => !r.ts_same || !r.date_same)).toEqual([]);
    const [n] = await db.sql`select keap_meta.try_numeric('19.9')::text as a, keap_meta.try_numeric('1e400') is not null as big,
                                    keap_meta.try_numeric('NaN') as nan, keap_meta.try_integer('2147483648') as over`;
    expect(n).toEqual({ a: '19.9', big: true, nan: null, over: null });
  });
});
