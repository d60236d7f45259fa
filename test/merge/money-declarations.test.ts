// The merge layer's money types, keyed / ordinal child collections and surrogate record keys
// (migration 00060, sql/transforms/020 and 004), on toy entities declared only as data: exact
// money (minor units, currency units by ISO 4217 minor unit, doubles without float artefacts), bad
// money stored as null with a row issue holding the raw value, children keyed by item id and by
// position at a dotted path, and records without an id keyed on a stable surrogate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { startRun, type Run } from './fixtures/staging.ts';

let db: TestDb;
let run: Run;

const TOYS = `
  create table keap.tills (
    till_id bigint primary key, currency text, total_minor bigint, total numeric, tip numeric, updated_at timestamptz,
    _run_id bigint, _synced_at timestamptz not null default now(), _first_seen_at timestamptz not null default now(),
    _deleted_at timestamptz, _raw jsonb not null, _raw_hash bigint generated always as (jsonb_hash_extended(_raw, 0)) stored);
  create table keap.till_lines (till_id bigint not null, line_id bigint not null, price_minor bigint, price numeric,
    _run_id bigint, _synced_at timestamptz not null default now(), primary key (till_id, line_id));
  create table keap.till_installments (till_id bigint not null, position integer not null, due_minor bigint, due numeric,
    primary key (till_id, position));
  select keap_meta.create_staging_table('tills');
  insert into keap_meta.entities (entity, target_table, sync_order, description) values ('tills', 'keap.tills', 901, 'GET /tills (test entity)');
  select keap_meta.declare_entity('tills', p_key_column => 'till_id', p_collection => 'tills');
  insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
    ('tills', 'currency',    'total.currency_code', 'text',            'short', false),
    ('tills', 'total_minor', 'total.amount',        'minor_units',     null,    false),
    ('tills', 'total',       'total',               'currency_amount', null,    false),
    ('tills', 'tip',         'tip',                 'money',           null,    false),
    ('tills', 'updated_at',  'update_time',         'timestamptz',     null,    true);
  insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, noun) values
    ('tills', 'lines',        'keap.till_lines',        'sale.lines', 'keyed',   'till_id', 'line_id',  'id', 'line'),
    ('tills', 'installments', 'keap.till_installments', 'plan',       'ordinal', 'till_id', 'position', null, 'installment');
  insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type) values
    ('tills', 'lines',        'price_minor', 'price.amount', 'minor_units'),
    ('tills', 'lines',        'price',       'price',        'currency_amount'),
    ('tills', 'installments', 'due_minor',   'due.amount',   'minor_units'),
    ('tills', 'installments', 'due',         'due',          'currency_amount');
  select keap_meta.generate_merge('tills');

  create table keap.receipts (
    receipt_key bigint primary key, amount numeric, status text, paid_at timestamptz,
    _run_id bigint, _synced_at timestamptz not null default now(), _first_seen_at timestamptz not null default now(),
    _deleted_at timestamptz, _raw jsonb not null, _raw_hash bigint generated always as (jsonb_hash_extended(_raw, 0)) stored);
  select keap_meta.create_staging_table('receipts');
  insert into keap_meta.entities (entity, target_table, sync_order, description) values ('receipts', 'keap.receipts', 902, 'GET /receipts (test entity, no ids)');
  select keap_meta.declare_entity('receipts', p_key_column => 'receipt_key', p_collection => 'receipts');
  update keap_meta.entities set key_paths = '{paid_time,who.id,amount}' where entity = 'receipts';
  insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
    ('receipts', 'amount',  'amount',    'money',       null,    false),
    ('receipts', 'status',  'status',    'text',        'short', false),
    ('receipts', 'paid_at', 'paid_time', 'timestamptz', null,    true);
  select keap_meta.generate_merge('receipts');`;

beforeAll(async () => {
  db = await createTestDatabase('merge_money');
  await db.sql.unsafe(TOYS);
  run = await startRun(db.sql);
});
afterAll(async () => {
  await run?.end();
  await db?.drop();
});

let pageNo = 0;
/** Stages a page given as raw JSON text (so float artefacts such as 19.899999999999999 reach PostgreSQL as Keap wrote them). */
async function stage(entity: string, body: string, opts: { traversal?: string; finish?: boolean } = {}) {
  await db.sql.unsafe(`insert into keap_staging.${entity} (run_id, page_no, traversal, payload) values ($1, $2, $3, $4::text::jsonb)`,
    [run.runId, ++pageNo, opts.traversal ?? 'incremental', body]);
  await db.sql.unsafe(`call keap.merge_${entity}($1, $2)`, [run.runId, opts.finish ?? false]);
  const [log] = await db.sql`
    select inserted_count::int as inserted, updated_count::int as updated, unchanged_count::int as unchanged,
           deleted_count::int as deleted, rejected_count::int as rejected
      from keap_meta.merge_log where run_id = ${run.runId} and entity = ${entity} order by merge_id desc limit 1`;
  return log;
}

const cv = (amount: string, currency = 'USD') => `{"amount": ${amount}, "currency_code": "${currency}", "formatted_amount": "x"}`;
const till = (id: string, total: string, tip: string, lines: string, plan = '[]', time = '2026-10-01T10:00:00.000Z') =>
  `{"id": "${id}", "total": ${total}, "tip": ${tip}, "update_time": "${time}", "sale": {"lines": ${lines}}, "plan": ${plan}}`;

describe('money types', () => {
  it('store minor units exactly, currency units by the ISO 4217 minor unit, and doubles without float artefacts', async () => {
    const body = `{"tills": [
      ${till('1', cv('1000000000000000'), '19.899999999999999', `[{"id": "11", "price": ${cv('129900')}}, {"id": "12", "price": ${cv('-14430')}}]`,
             `[{"due": ${cv('50000')}}, {"due": ${cv('50001')}}]`)},
      ${till('2', cv('1500', 'JPY'), '0.30000000000000004', '[]')},
      ${till('3', cv('1234', 'BHD'), '-19.9', '[]')},
      ${till('4', cv('129900.0'), '1E-7', '[]')}]}`;
    expect(await stage('tills', body)).toEqual({ inserted: 4, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });
    expect(await db.sql`select till_id, currency, total_minor::text, total::text, tip::text from keap.tills order by 1`).toEqual([
      { till_id: 1, currency: 'USD', total_minor: '1000000000000000', total: '10000000000000.00', tip: '19.9' },
      { till_id: 2, currency: 'JPY', total_minor: '1500', total: '1500', tip: '0.3' },
      { till_id: 3, currency: 'BHD', total_minor: '1234', total: '1.234', tip: '-19.9' },
      { till_id: 4, currency: 'USD', total_minor: '129900', total: '1299.00', tip: '0.0000001' },
    ]);
    expect(await db.sql`select till_id, line_id, price_minor::text, price::text from keap.till_lines order by 1, 2`).toEqual([
      { till_id: 1, line_id: 11, price_minor: '129900', price: '1299.00' },
      { till_id: 1, line_id: 12, price_minor: '-14430', price: '-144.30' },
    ]);
    expect(await db.sql`select till_id, position, due_minor::text, due::text from keap.till_installments order by 1, 2`).toEqual([
      { till_id: 1, position: 1, due_minor: '50000', due: '500.00' },
      { till_id: 1, position: 2, due_minor: '50001', due: '500.01' },
    ]);
  });

  it('bad money is stored as null with a row issue holding the raw value; minor units survive an unknown currency', async () => {
    const body = `{"tills": [${till('5', cv('12.5'), '"cheap"', '[]')}, ${till('6', cv('100', 'XYZ'), '1e400', '[]')}, ${till('7', '"abc"', 'null', '[]')}]}`;
    const log = await stage('tills', body);
    expect(log).toMatchObject({ inserted: 3 });
    expect(await db.sql`select till_id, total_minor, total, tip from keap.tills where till_id in (5, 6, 7) order by 1`).toEqual([
      { till_id: 5, total_minor: null, total: null, tip: null },
      { till_id: 6, total_minor: 100, total: null, tip: null },
      { till_id: 7, total_minor: null, total: null, tip: null },
    ]);
    const issues = await db.sql`select record_key, field, raw_value, problem from keap_meta.row_issues where entity = 'tills' order by issue_id`;
    const line = (k: string, f: string) => issues.find((i) => i.record_key === k && i.field === f);
    expect(line('5', 'total.amount')).toMatchObject({ raw_value: '12.5', problem: expect.stringMatching(/^not a valid amount in minor units/) });
    expect(line('5', 'total')).toMatchObject({ problem: expect.stringMatching(/^amount is not a whole number of minor units/) });
    expect(line('5', 'tip')).toMatchObject({ raw_value: 'cheap', problem: expect.stringMatching(/^not a valid money amount/) });
    expect(line('6', 'total')).toMatchObject({ raw_value: expect.stringContaining('"XYZ"'), problem: expect.stringMatching(/not an ISO 4217 currency/) });
    expect(line('6', 'tip')).toMatchObject({ raw_value: `1${'0'.repeat(400)}`, problem: expect.stringMatching(/^not a valid money amount/) }); // jsonb spells 1e400 out
    expect(line('7', 'total')).toMatchObject({ raw_value: '"abc"', problem: expect.stringMatching(/^not a CurrencyValue object/) });
    expect(line('7', 'tip')).toBeUndefined(); // JSON null is no value, not a bad one
  });
});

describe('keyed and ordinal children', () => {
  it("replace the written record's items; an item without a usable or unique id is skipped with a row issue", async () => {
    const body = `{"tills": [${till('1', cv('1000000000000000'), '19.899999999999999',
      `[{"id": "12", "price": ${cv('1')}}, {"id": "x"}, {"price": ${cv('2')}}, {"id": "12", "price": ${cv('3')}}, {"id": "13"}]`,
      `[{"due": ${cv('7')}}]`, '2026-10-02T10:00:00.000Z')}]}`;
    expect(await stage('tills', body)).toMatchObject({ updated: 1, rejected: 3 });
    expect(await db.sql`select line_id, price_minor::text from keap.till_lines where till_id = 1 order by 1`).toEqual([
      { line_id: 12, price_minor: '1' }, { line_id: 13, price_minor: null },
    ]);
    expect(await db.sql`select position, due_minor::text from keap.till_installments where till_id = 1`).toEqual([{ position: 1, due_minor: '7' }]);
    const issues = await db.sql`select field, problem from keap_meta.row_issues where entity = 'tills' and record_key = '1' order by field`;
    expect(issues.map((i) => `${i.field}: ${i.problem}`)).toEqual([
      'sale.lines[1].id: line without an integer id; skipped, kept in _raw',
      'sale.lines[2].id: line without an integer id; skipped, kept in _raw',
      'sale.lines[3].id: line id listed twice; first kept',
    ]);
  });

  it('the same records again write nothing', async () => {
    const before = await db.sql`select till_id, line_id, xmin::text from keap.till_lines order by 1, 2`;
    const body = `{"tills": [${till('1', cv('1000000000000000'), '19.899999999999999',
      `[{"id": "12", "price": ${cv('1')}}, {"id": "x"}, {"price": ${cv('2')}}, {"id": "12", "price": ${cv('3')}}, {"id": "13"}]`,
      `[{"due": ${cv('7')}}]`, '2026-10-02T10:00:00.000Z')}]}`;
    expect(await stage('tills', body)).toEqual({ inserted: 0, updated: 0, unchanged: 1, deleted: 0, rejected: 0 });
    expect(await db.sql`select till_id, line_id, xmin::text from keap.till_lines order by 1, 2`).toEqual(before);
  });
});

describe('records without an id (surrogate key from key_paths)', () => {
  const receipt = (time: string, who: string, amount: string, status: string) =>
    `{"paid_time": "${time}", "who": {"id": "${who}"}, "amount": ${amount}, "status": "${status}"}`;

  it('are keyed on md5 of their identifying fields: a status change updates the same row', async () => {
    const a = receipt('2026-09-01T10:00:00Z', '7', '19.9', 'PENDING');
    const b = receipt('2026-09-01T10:00:00Z', '8', '19.9', 'PENDING');
    expect(await stage('receipts', `{"receipts": [${a}, ${b}, {"status": "no key at all"}]}`)).toMatchObject({ inserted: 2, rejected: 1 });
    const [k] = await db.sql`select keap_meta.surrogate_key('{"paid_time": "2026-09-01T10:00:00Z", "who": {"id": "7"}, "amount": 19.9}'::jsonb,
                                                            '{paid_time,who.id,amount}') as key`;
    const [expected] = await db.sql`select ('x' || left(md5('["2026-09-01T10:00:00Z", "7", 19.9]'), 16))::bit(64)::bigint as key`;
    expect(k.key).toBe(expected.key);
    expect(await db.sql`select receipt_key, status from keap.receipts where receipt_key = ${k.key}`).toEqual([{ receipt_key: k.key, status: 'PENDING' }]);

    expect(await stage('receipts', `{"receipts": [${receipt('2026-09-01T10:00:00Z', '7', '19.9', 'APPROVED')}]}`)).toMatchObject({ inserted: 0, updated: 1 });
    expect(await db.sql`select count(*)::int as n, count(*) filter (where status = 'APPROVED')::int as approved from keap.receipts`).toEqual([{ n: 2, approved: 1 }]);
    const [issue] = await db.sql`select field, problem from keap_meta.row_issues where entity = 'receipts'`;
    expect(issue).toMatchObject({ field: 'id', problem: expect.stringMatching(/no id/) });
  });

  it('a completed full traversal soft-deletes the surrogate keys it did not list', async () => {
    await db.sql`select keap_meta.begin_full_sweep('receipts', ${run.runId})`;
    const log = await stage('receipts', `{"receipts": [${receipt('2026-09-01T10:00:00Z', '7', '19.9', 'APPROVED')}]}`, { traversal: 'full', finish: true });
    expect(log).toMatchObject({ deleted: 1, unchanged: 1 });
    expect(await db.sql`select count(*)::int as n from keap.receipts where _deleted_at is null`).toEqual([{ n: 1 }]);
  });
});
