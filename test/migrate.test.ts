// Deploys: migrate twice changes nothing; repeatable SQL converges; concurrent deploys are safe;
// --status reports without writing; schemas, roles and privileges are as documented.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { PROJECT_ROOT } from '../scripts/lib/db.ts';
import { migrate, migrateStatus } from '../scripts/lib/migrate.ts';
import { adminUrl, createTestDatabase, type TestDb } from './helpers/db.ts';

const run = promisify(execFile);
const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

async function migrateCli(url: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(tsx, ['scripts/migrate.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, DATABASE_URL: url } });
  return stdout;
}

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('migrate');
});
afterAll(async () => {
  await db?.drop();
});

/** Everything a deploy could change in the catalogue, as comparable text. */
async function catalogue(sql: TestDb['sql']) {
  return sql`
    select 'proc' as kind, n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as name,
           md5(pg_get_functiondef(p.oid)) as def, p.oid::bigint as oid
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname in ('keap', 'keap_meta', 'keap_ops', 'keap_staging')
    union all
    select 'view', schemaname || '.' || viewname, md5(definition), (schemaname || '.' || viewname)::regclass::oid::bigint
      from pg_views where schemaname in ('keap', 'keap_meta', 'keap_ops')
    order by 1, 2`;
}

describe('npm run migrate', () => {
  it('a second run says everything is up to date and changes nothing', async () => {
    const before = await catalogue(db.sql);
    const out = await migrateCli(db.url);
    expect(out).toContain('everything is up to date');
    expect(await catalogue(db.sql)).toEqual(before);
  });

  it('applying the repeatable SQL twice leaves pg_proc and pg_views unchanged', async () => {
    await migrate(db.sql, { forceRepeatable: true });
    const once = await catalogue(db.sql);
    const r = await migrate(db.sql, { forceRepeatable: true });
    expect(r.filesApplied.length).toBeGreaterThan(0);
    const twice = await catalogue(db.sql);
    expect(twice.map(({ kind, name, def }) => ({ kind, name, def }))).toEqual(once.map(({ kind, name, def }) => ({ kind, name, def })));
  });

  it('records every repeatable file with its sha256', async () => {
    const rows = await db.sql`select file, sha256 from keap_meta.sql_deploys order by file`;
    expect(rows.map((r) => r.file)).toContain('sql/transforms/001-run-tracking.sql');
    expect(rows.map((r) => r.file)).toContain('sql/views/001-runs.sql');
    for (const r of rows) expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('on an empty database: --status lists every migration as pending and writes nothing; two concurrent migrates both succeed and apply each migration once', async () => {
    const name = `keap_test_empty_${process.pid}`;
    const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const u = new URL(adminUrl());
    u.pathname = `/${name}`;
    const url = u.toString();
    try {
      const status = await migrateCli(url, '--status');
      expect(status).toMatch(/pending migrations:\n\s+00001-schemas-and-roles\.ts/);
      expect(status).toMatch(/changed SQL files:\n\s+sql\/transforms\/001-run-tracking\.sql/);
      const check = postgres(url, { max: 1, onnotice: () => {} });
      const [{ n }] = await check`select count(*)::int as n from pg_namespace where nspname like 'keap%'`;
      expect(n).toBe(0);
      await check.end();

      const [a, b] = await Promise.all([migrateCli(url), migrateCli(url)]);
      const outputs = [a, b];
      expect(outputs.filter((o) => o.includes('migration applied: 00001-schemas-and-roles.ts'))).toHaveLength(1);
      expect(outputs.filter((o) => o.includes('everything is up to date'))).toHaveLength(1);
      const verify = postgres(url, { max: 1, onnotice: () => {} });
      const dup = await verify`select name, count(*)::int as n from public.migrations group by name having count(*) > 1`;
      expect(dup).toEqual([]);
      await verify.end();
      const s = await (async () => {
        const x = postgres(url, { max: 1, onnotice: () => {} });
        try {
          return await migrateStatus(x as never);
        } finally {
          await x.end();
        }
      })();
      expect(s).toEqual({ pendingMigrations: [], changedFiles: [], removedFiles: [] });
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});

describe('schemas and the reader role', () => {
  it("has the six schemas and nothing of ours in public but ley's table", async () => {
    const schemas = await db.sql`select nspname from pg_namespace where nspname like 'keap%' order by 1`;
    expect(schemas.map((s) => s.nspname)).toEqual(['keap', 'keap_extensions', 'keap_history', 'keap_meta', 'keap_ops', 'keap_staging']);
    const pub = await db.sql`select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r','v') order by 1`;
    expect(pub.map((r) => r.relname)).toEqual(['migrations']);
  });

  it('keap_reader is NOLOGIN and reads keap and keap_ops (tables made later too) but never keap_meta or keap_staging', async () => {
    const [role] = await db.sql`select rolcanlogin from pg_roles where rolname = 'keap_reader'`;
    expect(role!.rolcanlogin).toBe(false);
    await db.sql`create table keap.reader_probe (x int)`;
    await db.sql`insert into keap.reader_probe values (1)`;
    await db.sql`select keap_meta.create_staging_table('reader_probe')`;
    const conn = await db.sql.reserve();
    try {
      await conn`set role keap_reader`;
      expect(await conn`select x from keap.reader_probe`).toEqual([{ x: 1 }]);
      await conn`select count(*) from keap_ops.runs`;
      await conn`select count(*) from keap_history.contacts_versions`;
      await conn`select count(*) from keap_history.contacts_as_of(now())`;
      for (const q of ['select * from keap_meta.etl_run_log', 'select * from keap_meta.etl_request_log', 'select * from keap_staging.reader_probe']) {
        const err = await conn.unsafe(q).then(() => null, (e: { code: string }) => e);
        expect(err?.code, q).toBe('42501');
      }
      const write = await conn`insert into keap.reader_probe values (2)`.then(() => null, (e: { code: string }) => e);
      expect(write?.code).toBe('42501');
    } finally {
      await conn`reset role`;
      conn.release();
      await db.sql`drop table keap.reader_probe`;
    }
  });
});
