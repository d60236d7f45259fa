// Catalogue checks: DBAs read `comment on` in psql \d+, so every keap_ops view and column, every
// keap_meta / keap / keap_history table and column, and every routine has one; every view can be selected from.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from './helpers/db.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('catalogue');
});
afterAll(async () => {
  await db?.drop();
});

it('every table and view in keap, keap_history, keap_meta and keap_ops has a comment', async () => {
  const missing = await db.sql`
    select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname in ('keap', 'keap_history', 'keap_meta', 'keap_ops', 'keap_staging') and c.relkind in ('r', 'v', 'm', 'p')
       and obj_description(c.oid, 'pg_class') is null`;
  expect(missing.map((m) => m.name)).toEqual([]);
});

it('every column of those tables and views has a comment', async () => {
  const missing = await db.sql`
    select n.nspname || '.' || c.relname || '.' || a.attname as name
      from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
     where n.nspname in ('keap', 'keap_history', 'keap_meta', 'keap_ops', 'keap_staging') and c.relkind in ('r', 'v', 'm', 'p')
       and a.attnum > 0 and not a.attisdropped and col_description(c.oid, a.attnum) is null`;
  expect(missing.map((m) => m.name)).toEqual([]);
});

it('every function and procedure in our schemas has a comment', async () => {
  const missing = await db.sql`
    select n.nspname || '.' || p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('keap', 'keap_history', 'keap_meta', 'keap_ops', 'keap_staging') and obj_description(p.oid, 'pg_proc') is null`;
  expect(missing.map((m) => m.name)).toEqual([]);
});

it('every keap_ops view can be selected from', async () => {
  const views = await db.sql`select schemaname || '.' || viewname as name from pg_views where schemaname = 'keap_ops'`;
  expect(views.length).toBeGreaterThan(0);
  for (const v of views) await db.sql.unsafe(`select * from ${v.name} limit 1`);
});

it('keap_reader and pg_monitor can select from every keap_ops view', async () => {
  const views = await db.sql`select schemaname || '.' || viewname as name from pg_views where schemaname = 'keap_ops'`;
  const conn = await db.sql.reserve();
  try {
    for (const role of ['keap_reader', 'pg_monitor']) {
      await conn.unsafe(`set role ${role}`);
      for (const v of views) await conn.unsafe(`select * from ${v.name} limit 1`);
      await conn`reset role`;
    }
  } finally {
    await conn`reset role`;
    conn.release();
  }
});
