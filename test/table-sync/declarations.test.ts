// A second table sync declared in SQL only (no TypeScript): a migration-like target table plus one
// analytics_staging.declare_table_sync call, run by the same runTableSync as athletes. Covers
// quoted, reserved, mixed-case and UTF-8 source identifiers, incremental runs on an update-time
// column with periodic / forced full passes for deletions, a query source, and hostile names in a
// declaration being rejected or quoted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTableSync } from '../../scripts/lib/table-sync/run.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { createSourceDatabase, type SourceDb } from './helpers.ts';

let db: TestDb;
let src: SourceDb;

const TARGET = `
  create table analytics.team_member_dim (
    member_id        integer primary key,
    role_name        text,
    display_name     text,
    odd_value        text,
    source_synced_at timestamptz not null,
    _first_seen_at   timestamptz not null default now(),
    _synced_at       timestamptz not null default now(),
    _deleted_at      timestamptz,
    _run_id          bigint not null)`;

const DECLARE = `
  select analytics_staging.declare_table_sync(
    p_sync_name => 'team_members',
    p_source_schema => 'Sales Dept',
    p_source_table => 'Team Members',
    p_key_columns => array['member_id'],
    p_columns => '[{"source": "Id", "target": "member_id", "type": "integer"},
                   {"source": "select", "target": "role_name", "type": "text"},
                   {"source": "Ünïcode 名前", "target": "display_name", "type": "text"},
                   {"source": "we\\"ird; col", "target": "odd_value", "type": "text"}]',
    p_target_table => 'analytics.team_member_dim',
    p_updated_at_column => 'updatedAt',
    p_full_every => '1 day',
    p_description => 'test: a second declaration')`;

beforeAll(async () => {
  db = await createTestDatabase('table_sync_declarations');
  src = await createSourceDatabase('declarations');
  await db.sql.unsafe(TARGET);
  await db.sql.unsafe(DECLARE);
  await src.sql.unsafe(`
    create schema "Sales Dept";
    create table "Sales Dept"."Team Members" ("Id" integer primary key, "select" text, "Ünïcode 名前" text,
                                              "we""ird; col" text, "updatedAt" timestamp(3) not null);
    insert into "Sales Dept"."Team Members" values
      (1, 'coach', 'Łukasz Żółć', 'a''b', '2020-01-01'),
      (2, 'captain', '김민준', null, '2020-02-01'),
      (3, 'physio', 'Chloé 🧊', 'x;y', '2020-03-01');`);
});
afterAll(async () => {
  await src?.drop();
  await db?.drop();
});

const sync = (opts: { full?: boolean } = {}) => runTableSync({ db, sourceUrl: src.url }, 'team_members', { trigger: 'test', handleSignals: false, ...opts });

async function target() {
  return db.sql`select member_id, role_name, display_name, odd_value, _deleted_at is not null as deleted from analytics.team_member_dim order by member_id`;
}

describe('a table sync declared in SQL only', () => {
  it('copies a quoted, mixed-case, UTF-8 source table; later runs are incremental on the update-time column', async () => {
    const first = await sync();
    expect(first.value.plan).toBe('full pass (first run)');
    expect(first.value).toMatchObject({ inserted: 3, isFull: true });
    expect(await target()).toEqual([
      { member_id: 1, role_name: 'coach', display_name: 'Łukasz Żółć', odd_value: "a'b", deleted: false },
      { member_id: 2, role_name: 'captain', display_name: '김민준', odd_value: null, deleted: false },
      { member_id: 3, role_name: 'physio', display_name: 'Chloé 🧊', odd_value: 'x;y', deleted: false },
    ]);

    await src.sql.unsafe(`update "Sales Dept"."Team Members" set "select" = 'head coach', "updatedAt" = '2020-06-01' where "Id" = 1`);
    await src.sql.unsafe(`delete from "Sales Dept"."Team Members" where "Id" = 2`);
    const inc = await sync();
    // Reads from the watermark (2020-03-01) minus the 5-minute overlap: rows 1 (changed) and 3 (unchanged).
    expect(inc.value.isFull).toBe(false);
    expect(inc.value.plan).toMatch(/^incremental: "updatedAt" >= 2020-02-29 23:55:00/);
    expect(inc.value).toMatchObject({ staged: 2, inserted: 0, updated: 1, unchanged: 1, deleted: 0 });
    expect((await target()).map((r) => [r.member_id, r.role_name, r.deleted])).toEqual([[1, 'head coach', false], [2, 'captain', false], [3, 'physio', false]]);

    // Deletions are found by a full pass: forced here...
    const full = await sync({ full: true });
    expect(full.value).toMatchObject({ isFull: true, deleted: 1, unchanged: 2 });
    expect((await target()).find((r) => r.member_id === 2)!.deleted).toBe(true);
  });

  it('becomes a full pass by itself once the last one is older than full_every', async () => {
    await db.sql`update analytics_staging.table_sync_state set last_full_read_at = now() - interval '2 days' where sync_name = 'team_members'`;
    const res = await sync();
    expect(res.value.isFull).toBe(true);
    expect(res.value.plan).toMatch(/^full pass \(the last one was 2 days/);
    const [f] = await db.sql`select mode, next_full_due_at > now() as later from keap_ops.table_sync_freshness where sync_name = 'team_members'`;
    expect(f).toMatchObject({ mode: 'incremental', later: true });
  });

  it('a query can be the source', async () => {
    await db.sql.unsafe(`create table analytics.role_dim (member_id integer primary key, label text, source_synced_at timestamptz not null,
                           _first_seen_at timestamptz not null default now(), _synced_at timestamptz not null default now(),
                           _deleted_at timestamptz, _run_id bigint not null)`);
    await db.sql`select analytics_staging.declare_table_sync(
      p_sync_name => 'roles', p_target_table => 'analytics.role_dim', p_key_columns => array['member_id'],
      p_columns => '[{"source": "id", "target": "member_id", "type": "integer"}, {"source": "label", "target": "label", "type": "text"}]',
      p_source_query => 'select "Id" as id, upper("select") as label from "Sales Dept"."Team Members"')`;
    const res = await runTableSync({ db, sourceUrl: src.url }, 'roles', { trigger: 'test', handleSignals: false });
    expect(res.value.inserted).toBe(2);
    const rows = await db.sql`select member_id, label from analytics.role_dim order by member_id`;
    expect(rows).toEqual([{ member_id: 1, label: 'HEAD COACH' }, { member_id: 3, label: 'PHYSIO' }]);
  });

  it('rejects hostile or inconsistent declarations with a clear error (KT002) and leaves nothing half-declared', async () => {
    const declare = (sync: string, target: string, type = 'text') =>
      db.sql`select analytics_staging.declare_table_sync(
        p_sync_name => ${sync}, p_source_table => 'x', p_target_table => 'analytics.team_member_dim', p_key_columns => array['member_id'],
        p_columns => ${db.sql.json([{ source: 'Id', target: 'member_id', type: 'integer' }, { source: 'a', target, type }])})`.catch((e: unknown) => e);
    const hostileTarget = await declare('evil', 'x"; drop table analytics.team_member_dim; --');
    expect(hostileTarget).toMatchObject({ code: 'KT002' });
    expect((hostileTarget as Error).message).toMatch(/has no column "x""; drop table analytics\.team_member_dim; --"/);
    expect(await declare('evil; drop table x', 'role_name')).toMatchObject({ code: 'KT002' });
    expect(await declare('evil', 'role_name', 'text; drop table x')).toMatchObject({ code: 'KT002' });
    expect(await declare('evil', 'role_name', 'integer')).toMatchObject({ code: 'KT002' });
    const [n] = await db.sql`select count(*)::int as n from analytics_staging.table_syncs where sync_name = 'evil'`;
    expect(n!.n).toBe(0);
    const [t] = await db.sql`select to_regclass('analytics.team_member_dim') is not null as still_there`;
    expect(t!.still_there).toBe(true);
  });

  it('the reader grants a DBA runs on the source name exactly the declared columns, quoted', async () => {
    const [g] = await db.sql`select analytics_staging.reader_grants_sql('team_members', 'athletes_reader') as sql`;
    expect(g!.sql).toBe(
      'grant usage on schema "Sales Dept" to athletes_reader;\n' +
        'grant select ("Id", "select", "Ünïcode 名前", "we""ird; col", "updatedAt") on "Sales Dept"."Team Members" to athletes_reader;',
    );
    const [a] = await db.sql`select analytics_staging.reader_grants_sql('athletes', 'athletes_reader') as sql`;
    expect(a!.sql).toContain('grant select (uuid, name) on public."User" to athletes_reader;');
  });
});
