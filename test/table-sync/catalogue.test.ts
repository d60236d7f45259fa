// Catalogue checks for the table-sync schemas (analytics, analytics_staging), as test/catalogue.test.ts
// does for keap*: every table, view, column and routine carries a comment a DBA reads in psql \d+;
// keap_reader reads analytics.athlete_dim but never the machinery in analytics_staging.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('table_sync_catalogue');
});
afterAll(async () => {
  await db?.drop();
});

it('every table, view and column in analytics and analytics_staging has a comment', async () => {
  const missing = await db.sql`
    select n.nspname || '.' || c.relname || coalesce('.' || a.attname, '') as name
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and col_description(c.oid, a.attnum) is null
     where n.nspname in ('analytics', 'analytics_staging') and c.relkind in ('r', 'v', 'm', 'p')
       and (obj_description(c.oid, 'pg_class') is null or a.attname is not null)`;
  expect(missing.map((m) => m.name)).toEqual([]);
});

it('every function in analytics_staging has a comment', async () => {
  const missing = await db.sql`
    select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('analytics', 'analytics_staging') and obj_description(p.oid, 'pg_proc') is null`;
  expect(missing.map((m) => m.proname)).toEqual([]);
});

it('keap_reader reads analytics.athlete_dim and keap_ops.table_sync_freshness, but not analytics_staging', async () => {
  const conn = await db.sql.reserve();
  try {
    await conn`set role keap_reader`;
    await conn`select * from analytics.athlete_dim limit 1`;
    await conn`select * from keap_ops.table_sync_freshness limit 1`;
    await expect(conn`select * from analytics_staging.table_sync_state limit 1`).rejects.toMatchObject({ code: '42501' });
  } finally {
    await conn`reset role`;
    conn.release();
  }
});

it('re-declaring athletes unchanged changes nothing (no staging table re-created, state kept)', async () => {
  const [before] = await db.sql`select staging_table::oid::int8 as oid, declared_at from analytics_staging.table_syncs where sync_name = 'athletes'`;
  await db.sql.unsafe((await import('node:fs')).readFileSync(new URL('../../sql/transforms/210-table-sync-athletes.sql', import.meta.url), 'utf8'));
  const [after] = await db.sql`select staging_table::oid::int8 as oid, declared_at from analytics_staging.table_syncs where sync_name = 'athletes'`;
  expect(after).toEqual(before);
});
