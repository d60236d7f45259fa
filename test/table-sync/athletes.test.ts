// The athletes table sync in process, against two real databases: the app database's public."User"
// → analytics.athlete_dim. Initial load equal to the source (exact data), a re-run writing nothing,
// change + insert + delete applied exactly, source_synced_at's meaning, duplicate keys as row
// issues, a source type change as a clear SQL error, monitoring views.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runTableSync } from '../../scripts/lib/table-sync/run.ts';
import { tableSyncExitCode } from '../../scripts/lib/table-sync/cli.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { createSourceDatabase, createUserTable, type SourceDb } from './helpers.ts';

let db: TestDb;
let src: SourceDb;

beforeAll(async () => {
  db = await createTestDatabase('table_sync_athletes');
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  src = await createSourceDatabase('athletes');
  // Each test starts from an empty target and a fresh sync state.
  await db.sql`truncate analytics.athlete_dim_rows`;
  await db.sql`update analytics_staging.table_sync_state set watermark = null, last_full_read_at = null, last_full_run_id = null,
                 last_read_at = null, last_run_id = null, source_types = '{}' where sync_name = 'athletes'`;
});
afterEach(async () => {
  await src?.drop();
});

const sync = (opts: { full?: boolean } = {}) => runTableSync({ db, sourceUrl: src.url }, 'athletes', { trigger: 'test', handleSignals: false, ...opts });

const LONG = 'Å'.repeat(300_000) + '🏃'.repeat(50_000);
const SAMPLE: [string, string | null][] = [
  ['00000000-0000-4000-8000-000000000001', 'Zoë Ångström-Núñez'],
  ['00000000-0000-4000-8000-000000000002', '王小明 (Wáng Xiǎomíng)'],
  ['00000000-0000-4000-8000-000000000003', '🏅 Usain "Lightning" Bolt 🏃‍♂️'],
  ['00000000-0000-4000-8000-000000000004', null],
  ['00000000-0000-4000-8000-000000000005', 'tab\there, newline\nthere, backslash \\ and \u0001\u001f controls, quote \' and "'],
  ['00000000-0000-4000-8000-000000000006', LONG],
  ['00000000-0000-4000-8000-000000000007', ''],
  ['00000000-0000-4000-8000-000000000008', '\\N'],
];

async function seed(rows: [string, string | null][]): Promise<void> {
  for (const [uuid, name] of rows) await src.sql`insert into public."User" (uuid, name) values (${uuid}, ${name})`;
}

async function warehouse(): Promise<[string, string | null][]> {
  const rows = await db.sql`select athlete_uuid::text as u, full_name from analytics.athlete_dim where _deleted_at is null order by athlete_uuid`;
  return rows.map((r) => [String(r.u), r.full_name as string | null]);
}

async function source(): Promise<[string, string | null][]> {
  const rows = await src.sql`select uuid::text as u, name from public."User" order by uuid`;
  return rows.map((r) => [String(r.u), r.name as string | null]);
}

/** (xmin, ctid) of every target row: a row written by a run changes its xmin. */
async function rowVersions(): Promise<string> {
  const rows = await db.sql`select athlete_uuid::text || ':' || xmin::text || ':' || ctid::text as v from analytics.athlete_dim_rows order by athlete_uuid`;
  return rows.map((r) => r.v).join(',');
}

describe('athletes table sync', () => {
  it('loads a "User" table that has only uuid and name, equal to the source value for value (UTF-8, controls, nulls, long text)', async () => {
    await createUserTable(src.sql, { onlyUuidAndName: true });
    await seed(SAMPLE);
    const res = await sync();
    expect(res.status).toBe('succeeded');
    expect(res.value).toMatchObject({ isFull: true, staged: SAMPLE.length, inserted: SAMPLE.length, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });
    expect(await warehouse()).toEqual(await source());
    const [long] = await db.sql`select length(full_name) as n from analytics.athlete_dim where athlete_uuid = '00000000-0000-4000-8000-000000000006'`;
    expect(Number(long!.n)).toBe(350_000);
  });

  it('reads only the declared columns of an ORM user table with more columns', async () => {
    await createUserTable(src.sql);
    await src.sql`insert into public."User" (uuid, name, email) values ('00000000-0000-4000-8000-0000000000aa', 'Ana', 'ana@example.com')`;
    const res = await sync();
    expect(res.value.inserted).toBe(1);
    const cols = await db.sql`select column_name from information_schema.columns where table_schema = 'analytics' and table_name = 'athlete_dim' order by ordinal_position`;
    expect(cols.map((c) => c.column_name)).toEqual(['athlete_uuid', 'full_name', 'source_synced_at', '_first_seen_at', '_synced_at', '_deleted_at']);
  });

  it('a re-run with nothing changed writes no row and counts every row unchanged', async () => {
    await createUserTable(src.sql);
    await seed(SAMPLE);
    await sync();
    const before = await rowVersions();
    const res = await sync();
    expect(res.value).toMatchObject({ inserted: 0, updated: 0, deleted: 0, unchanged: SAMPLE.length });
    expect(await rowVersions()).toBe(before);
    const [run] = await db.sql`select status, inserted_count, updated_count, unchanged_count, deleted_count from keap_meta.etl_run_log where run_id = ${res.runId}`;
    expect(run).toMatchObject({ status: 'succeeded', inserted_count: 0, updated_count: 0, unchanged_count: SAMPLE.length, deleted_count: 0 });
  });

  it('applies exactly a change, an insert and a delete made in the source, and records the counts with the run', async () => {
    await createUserTable(src.sql);
    await seed(SAMPLE);
    await sync();
    const before = await db.sql`select athlete_uuid::text as u, xmin::text as x from analytics.athlete_dim_rows`;
    await src.sql`update public."User" set name = 'Zoë Renamed' where uuid = '00000000-0000-4000-8000-000000000001'`;
    await src.sql`insert into public."User" (uuid, name) values ('00000000-0000-4000-8000-000000000009', 'Newcomer')`;
    await src.sql`delete from public."User" where uuid = '00000000-0000-4000-8000-000000000002'`;
    // A change only in a column the sync does not read changes nothing.
    await src.sql`update public."User" set email = 'x@example.com' where uuid = '00000000-0000-4000-8000-000000000003'`;

    const res = await sync();
    expect(res.value).toMatchObject({ inserted: 1, updated: 1, deleted: 1, unchanged: SAMPLE.length - 2 });
    expect(await warehouse()).toEqual(await source());
    const after = new Map((await db.sql`select athlete_uuid::text as u, xmin::text as x from analytics.athlete_dim_rows`).map((r) => [r.u, r.x]));
    const rewritten = before.filter((r) => after.get(r.u) !== r.x).map((r) => r.u).sort();
    expect(rewritten).toEqual(['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002']);
    const [gone] = await db.sql`select _deleted_at from analytics.athlete_dim where athlete_uuid = '00000000-0000-4000-8000-000000000002'`;
    expect(gone!._deleted_at).not.toBeNull();
    const [log] = await db.sql`select inserted_count, updated_count, unchanged_count, deleted_count, rejected_count from keap_meta.merge_log where run_id = ${res.runId}`;
    expect(log).toMatchObject({ inserted_count: 1, updated_count: 1, unchanged_count: SAMPLE.length - 2, deleted_count: 1, rejected_count: 0 });

    // Back in the source: revived, with the source's current name.
    await src.sql`insert into public."User" (uuid, name) values ('00000000-0000-4000-8000-000000000002', 'Back again')`;
    const again = await sync();
    expect(again.value).toMatchObject({ inserted: 0, updated: 1, deleted: 0 });
    expect(await warehouse()).toEqual(await source());
  });

  it('source_synced_at is the last time a row was confirmed equal to the source, without rewriting unchanged rows', async () => {
    await createUserTable(src.sql);
    await seed(SAMPLE.slice(0, 3));
    const first = await sync();
    const [s1] = await db.sql`select last_full_read_at from analytics_staging.table_sync_state where sync_name = 'athletes'`;
    await src.sql`delete from public."User" where uuid = '00000000-0000-4000-8000-000000000003'`;
    await src.sql`update public."User" set name = 'Changed' where uuid = '00000000-0000-4000-8000-000000000002'`;
    const second = await sync();
    const [s2] = await db.sql`select last_full_read_at from analytics_staging.table_sync_state where sync_name = 'athletes'`;
    expect(first.status).toBe('succeeded');
    expect(second.status).toBe('succeeded');
    const rows = new Map((await db.sql`select athlete_uuid::text as u, source_synced_at, _synced_at from analytics.athlete_dim`).map((r) => [r.u, r]));
    const stored = new Map((await db.sql`select athlete_uuid::text as u, source_synced_at from analytics.athlete_dim_rows`).map((r) => [r.u, r]));
    // Unchanged row: confirmed by the second pass, yet its stored row is still the first run's.
    expect(rows.get('00000000-0000-4000-8000-000000000001')!.source_synced_at).toEqual(s2!.last_full_read_at);
    expect(stored.get('00000000-0000-4000-8000-000000000001')!.source_synced_at).toEqual(s1!.last_full_read_at);
    // Changed row: written, confirmed at the second read.
    expect(rows.get('00000000-0000-4000-8000-000000000002')!.source_synced_at).toEqual(s2!.last_full_read_at);
    // Deleted row: last confirmed by the first pass, and stays so.
    expect(rows.get('00000000-0000-4000-8000-000000000003')!.source_synced_at).toEqual(s1!.last_full_read_at);
    // The old monitoring query now means something.
    const [stale] = await db.sql`select count(*)::int as n from analytics.athlete_dim where _deleted_at is null and source_synced_at < now() - interval '2 days'`;
    expect(stale!.n).toBe(0);
  });

  it('records duplicate and null keys in the source as row issues and still merges the rest', async () => {
    // A source without a key constraint (e.g. a view or a table copied without its primary key).
    await src.sql`create table public."User" (uuid uuid, name text)`;
    await src.sql`insert into public."User" values
      ('00000000-0000-4000-8000-000000000001', 'First'), ('00000000-0000-4000-8000-000000000001', 'Second'),
      ('00000000-0000-4000-8000-000000000001', 'Third'), ('00000000-0000-4000-8000-000000000002', 'Only'), (null, 'No key')`;
    const res = await sync();
    expect(res.status).toBe('succeeded');
    expect(res.value).toMatchObject({ staged: 5, inserted: 2, rejected: 3 });
    const issues = await db.sql`select record_key, field, problem from keap_meta.row_issues where run_id = ${res.runId} order by record_key nulls last`;
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatchObject({ record_key: '00000000-0000-4000-8000-000000000001', field: 'athlete_uuid' });
    expect(issues[0]!.problem).toMatch(/duplicate key in the source: 3 rows/);
    expect(issues[1]!.record_key).toBeNull();
    expect(issues[1]!.problem).toMatch(/null/);
    const [kept] = await db.sql`select full_name from analytics.athlete_dim where athlete_uuid = '00000000-0000-4000-8000-000000000001'`;
    expect(['First', 'Second', 'Third']).toContain(kept!.full_name);
  });

  it('copies in binary when the types match exactly, and in text when the source type only fits (varchar into text)', async () => {
    await createUserTable(src.sql);
    await seed(SAMPLE);
    expect((await sync()).value.copyFormat).toBe('binary');
    await db.sql`truncate analytics.athlete_dim_rows`;
    await db.sql`update analytics_staging.table_sync_state set source_types = '{}', last_full_read_at = null where sync_name = 'athletes'`;
    await src.sql`alter table public."User" alter column name type varchar(400000)`;
    const res = await sync();
    expect(res.value).toMatchObject({ copyFormat: 'text', inserted: SAMPLE.length });
    expect(await warehouse()).toEqual(await source());
  });

  it('a source column that changed type stops the run with a SQL error naming the column (exit 3), copying nothing', async () => {
    await createUserTable(src.sql);
    await seed(SAMPLE.slice(0, 2));
    await sync();
    await src.sql`alter table public."User" alter column name type varchar(200)`;
    const err = await sync().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'KT001' });
    expect((err as Error).message).toMatch(/source column name changed type from text to character varying/);
    expect(tableSyncExitCode(err)).toBe(3);
    const [run] = await db.sql`select status, error_sqlstate, error_message from keap_meta.etl_run_log where pipeline = 'athletes' order by run_id desc limit 1`;
    expect(run).toMatchObject({ status: 'failed', error_sqlstate: 'KT001' });
    expect(String(run!.error_message)).toMatch(/name/);

    // A type that cannot hold the target's values is refused even with no memory of the old type.
    await db.sql`select analytics_staging.accept_source_types('athletes')`;
    await src.sql`alter table public."User" alter column uuid type text`;
    const err2 = await sync().catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: 'KT001' });
    expect((err2 as Error).message).toMatch(/source column uuid is text, which does not fit target column analytics\.athlete_dim_rows\.athlete_uuid \(uuid\)/);
  });

  it('a source table missing a declared column fails with a SQL error naming it', async () => {
    await src.sql`create table public."User" (uuid uuid primary key, full_name text)`;
    const err = await sync().catch((e: unknown) => e);
    expect(tableSyncExitCode(err)).toBe(3);
    expect((err as Error).message).toMatch(/column "name" does not exist/);
  });

  it("keap_ops shows the pipeline's runs beside Keap's and its freshness", async () => {
    await createUserTable(src.sql);
    await seed(SAMPLE.slice(0, 3));
    const res = await sync();
    const [run] = await db.sql`select pipeline, status, inserted_count from keap_ops.runs where run_id = ${res.runId}`;
    expect(run).toMatchObject({ pipeline: 'athletes', status: 'succeeded', inserted_count: 3 });
    const [f] = await db.sql`select * from keap_ops.table_sync_freshness where sync_name = 'athletes'`;
    expect(f).toMatchObject({ target_table: 'analytics.athlete_dim_rows', source: 'public."User"', mode: 'full', last_run_id: res.runId,
                              last_status: 'succeeded', last_inserted_count: 3, live_count: 3, deleted_count: 0 });
    expect(Number(f!.seconds_since_confirmed)).toBeLessThan(600);
  });
});
