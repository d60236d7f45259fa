// `npm run sync -- --pipeline athletes` as a separate process, against two real databases: the
// documented exit codes (1 bad configuration naming the variable, 2 unreachable source with the run
// recorded failed, 5 a concurrent run, 130 cancelled), and the DBA's role scripts: the read-only
// app role cannot write the source, and the warehouse writer role can run the sync.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/lib/db.ts';
import { tableSyncExitCode } from '../../scripts/lib/table-sync/cli.ts';
import { loadTableSyncConfig } from '../../scripts/lib/table-sync/config.ts';
import { spawnTs } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { createSourceDatabase, createUserTable, runtimePassword, withUser, type SourceDb } from './helpers.ts';

let db: TestDb;
let src: SourceDb;

// Every variable the command reads, unset, so the developer's own environment cannot leak in.
const CLEAN: Record<string, string> = Object.fromEntries(
  ['APP_DATABASE_URL', 'DATABASE_URL', 'TABLE_SYNC_SCHEDULE', ...['HOST', 'PORT', 'DB', 'USER', 'PASSWORD', 'SSLMODE'].flatMap((p) => [`APP_${p}`, `WH_${p}`])].map((k) => [k, '']),
);

beforeAll(async () => {
  db = await createTestDatabase('table_sync_cli');
  src = await createSourceDatabase('cli');
  await createUserTable(src.sql);
  await src.sql`insert into public."User" (uuid, name, email) select gen_random_uuid(), 'Athlete ' || g, 'a' || g || '@example.com' from generate_series(1, 500) g`;
});
afterAll(async () => {
  await src?.drop();
  await db?.drop();
});

const run = (env: Record<string, string>, args: string[] = []) =>
  spawnTs('scripts/sync.ts', ['--pipeline', 'athletes', '--no-migrate', ...args], { ...CLEAN, ...env });

async function latestRun() {
  const [r] = await db.sql`select run_id, status, error_message from keap_meta.etl_run_log where pipeline = 'athletes' order by run_id desc limit 1`;
  return r;
}

async function waitForRunning(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    // Running and past its plan (so its signal handlers are in place), now waiting on the source.
    const [r] = await db.sql`select count(*)::int as n from keap_meta.etl_run_log l join keap_meta.etl_run_events e using (run_id)
                              where l.pipeline = 'athletes' and l.status = 'running' and e.stage = 'plan'`;
    if (r!.n > 0) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('no athletes run started');
}

describe('npm run sync -- --pipeline athletes', () => {
  it('syncs and exits 0, printing the counts', async () => {
    const child = run({ DATABASE_URL: db.url, APP_DATABASE_URL: src.url });
    const { code } = await child.exit;
    expect(child.output()).toMatch(/succeeded: athletes full pass; 500 rows read .* 500 inserted, 0 updated, 0 unchanged, 0 deleted/);
    expect(code).toBe(0);
  });

  it('exits 1 naming the variable when the app database is not configured', async () => {
    const child = run({ DATABASE_URL: db.url });
    const { code } = await child.exit;
    expect(code).toBe(1);
    expect(child.output()).toMatch(/APP_DATABASE_URL is not set: set APP_DATABASE_URL .*, or APP_HOST, APP_DB and APP_USER/);
  });

  it('names each missing or bad old-style variable', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadTableSyncConfig({ ...env }, { loadDotEnv: false });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(problems({ APP_HOST: 'app.example.com', APP_USER: 'u' })).toMatch(/APP_DB is not set/);
    expect(problems({ APP_HOST: 'h', APP_DB: 'd', APP_USER: 'u', APP_PORT: 'abc' })).toMatch(/APP_PORT must be a port number/);
    expect(problems({ APP_HOST: 'h', APP_DB: 'd', APP_USER: 'u', APP_SSLMODE: 'maybe' })).toMatch(/APP_SSLMODE must be one of disable, allow, prefer, require, verify-ca, verify-full/);
    expect(problems({ APP_DATABASE_URL: 'postgres://u@h/d', APP_HOST: 'h' })).toMatch(/both APP_DATABASE_URL and APP_HOST are set/);
    expect(problems({ APP_DATABASE_URL: 'mysql://u:hunter2@h/d' })).toMatch(/APP_DATABASE_URL must be a postgres:\/\//);
    expect(problems({ APP_DATABASE_URL: 'mysql://u:hunter2@h/d' })).not.toMatch(/hunter2/);
    expect(problems({ APP_DATABASE_URL: 'postgres://u@h/d', WH_HOST: 'w', WH_DB: 'wh' })).toMatch(/WH_USER is not set/);
    const ok = loadTableSyncConfig({ APP_HOST: 'db.local', APP_PORT: '6543', APP_DB: 'app', APP_USER: 'reader', APP_PASSWORD: 'p@ss/word', APP_SSLMODE: 'require', WH_HOST: 'wh', WH_DB: 'dw', WH_USER: 'writer' }, { loadDotEnv: false });
    const u = new URL(ok.sourceUrl.reveal());
    expect([u.hostname, u.port, u.pathname, u.username, decodeURIComponent(u.password), u.searchParams.get('sslmode')]).toEqual(['db.local', '6543', '/app', 'reader', 'p@ss/word', 'require']);
    expect(String(ok.sourceUrl)).toBe('[redacted]');
    expect(new URL(ok.warehouseUrl!.reveal()).host).toBe('wh:5432');
  });

  it('exits 1 for an option table syncs do not take', async () => {
    const child = run({ DATABASE_URL: db.url, APP_DATABASE_URL: src.url }, ['--entity', 'contacts']);
    const { code } = await child.exit;
    expect(code).toBe(1);
    expect(child.output()).toMatch(/Unknown option '--entity'/);
  });

  it('maps an unexpected error to 4 and keeps the shared codes for the rest', () => {
    expect(tableSyncExitCode(new TypeError('boom'))).toBe(4);
    expect(tableSyncExitCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(2);
    expect(tableSyncExitCode(Object.assign(new Error('x'), { code: 'KR001' }))).toBe(5);
    expect(tableSyncExitCode(Object.assign(new Error('x'), { code: '42703' }))).toBe(3);
  });

  it('runs on a cron schedule in one process and stops cleanly on SIGINT', async () => {
    const child = run({ DATABASE_URL: db.url, APP_DATABASE_URL: src.url }, ['--schedule', '*/2 * * * * *']);
    await child.waitFor(/scheduled: syncing athletes/);
    await child.waitFor(/run \d+ succeeded: athletes/, 30_000);
    child.proc.kill('SIGINT');
    const { code } = await child.exit;
    expect(code, child.output()).toBe(0);
    const [r] = await db.sql`select count(*)::int as n from keap_meta.etl_run_log where pipeline = 'athletes' and trigger = 'schedule' and status = 'succeeded'`;
    expect(r!.n).toBeGreaterThan(0);
  });

  it('exits 1 for an unknown pipeline, listing the declared ones', async () => {
    const child = spawnTs('scripts/sync.ts', ['--pipeline', 'nope', '--no-migrate'], { ...CLEAN, DATABASE_URL: db.url, APP_DATABASE_URL: src.url });
    const { code } = await child.exit;
    expect(code).toBe(1);
    expect(child.output()).toMatch(/unknown pipeline 'nope': use keap or a declared table sync \(athletes\)/);
  });

  it('exits 2 when the app database cannot be reached, with the run recorded failed and no password printed', async () => {
    const child = run({ DATABASE_URL: db.url, APP_DATABASE_URL: 'postgres://reader:s3cretPw@127.0.0.1:1/app' });
    const { code } = await child.exit;
    expect(code).toBe(2);
    expect(child.output()).toMatch(/Could not connect to the source database at postgres:\/\/reader:\*\*\*\*@127\.0\.0\.1:1\/app/);
    expect(child.output()).not.toContain('s3cretPw');
    const r = await latestRun();
    expect(r!.status).toBe('failed');
    expect(r!.error_message).toMatch(/Could not connect to the source database/);
    expect(r!.error_message).not.toContain('s3cretPw');
  });

  it('exits 2 when the warehouse cannot be reached (old WH_* variables)', async () => {
    const child = run({ APP_DATABASE_URL: src.url, WH_HOST: '127.0.0.1', WH_PORT: '1', WH_DB: 'wh', WH_USER: 'writer' });
    const { code } = await child.exit;
    expect(code).toBe(2);
    expect(child.output()).toMatch(/Could not connect to PostgreSQL at postgres:\/\/writer@127\.0\.0\.1:1\/wh/);
  });

  it('two concurrent runs: one runs, the other exits 5 naming the running run; SIGINT cancels with 130', async () => {
    // Hold the source table so the first run waits inside its run.
    const holder = await src.sql.reserve();
    try {
      await holder`begin`;
      await holder`lock table public."User" in access exclusive mode`;
      const env = { DATABASE_URL: db.url, APP_DATABASE_URL: src.url };
      const a = run(env);
      await waitForRunning();
      const b = run(env);
      const eb = await b.exit;
      expect(eb.code).toBe(5);
      expect(b.output()).toMatch(/pipeline athletes already has a running run \(run_id \d+/);
      await holder`commit`;
      const ea = await a.exit;
      expect(ea.code).toBe(0);

      await holder`begin`;
      await holder`lock table public."User" in access exclusive mode`;
      const c = run(env);
      await waitForRunning();
      c.proc.kill('SIGINT');
      const ec = await c.exit;
      expect(ec.code, c.output()).toBe(130);
      expect((await latestRun())!.status).toBe('cancelled');
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
    }
  });

  it('the read-only app role reads exactly uuid and name, cannot write the source, and the sync runs as it and as the warehouse writer', async () => {
    await src.sql.unsafe(readFileSync(path.join(PROJECT_ROOT, 'sql/roles/app-reader-athletes.sql'), 'utf8'));
    await src.sql.unsafe(readFileSync(path.join(PROJECT_ROOT, 'sql/roles/app-reader-athletes.sql'), 'utf8')); // re-runnable
    await db.sql.unsafe(readFileSync(path.join(PROJECT_ROOT, 'sql/roles/warehouse-writer.sql'), 'utf8'));
    const readerPw = runtimePassword();
    const writerPw = runtimePassword();
    await src.sql.unsafe(`alter role athletes_reader password '${readerPw}'`);
    await db.sql.unsafe(`alter role analytics_writer password '${writerPw}'`);

    const postgres = (await import('postgres')).default;
    const reader = postgres(withUser(src.url, 'athletes_reader', readerPw), { max: 1, onnotice: () => {} });
    try {
      const rows = await reader`select uuid, name from public."User" limit 1`;
      expect(rows).toHaveLength(1);
      await expect(reader`select email from public."User" limit 1`).rejects.toMatchObject({ code: '42501' });
      await expect(reader`insert into public."User" (uuid, name) values (gen_random_uuid(), 'x')`).rejects.toMatchObject({ code: '25006' });
      // Even in a transaction it opens read-write, it has no right to write.
      await expect(reader.begin('read write', (tx) => tx`update public."User" set name = 'x'`)).rejects.toMatchObject({ code: '42501' });
      await expect(reader.begin('read write', (tx) => tx`delete from public."User"`)).rejects.toMatchObject({ code: '42501' });
      await expect(reader.begin('read write', (tx) => tx`insert into public."User" (uuid, name) values (gen_random_uuid(), 'x')`)).rejects.toMatchObject({ code: '42501' });
      await expect(reader`create table public.x (a int)`).rejects.toMatchObject({ code: '25006' });
    } finally {
      await reader.end({ timeout: 5 });
    }

    await src.sql`update public."User" set name = name || ' (renamed)' where name = 'Athlete 7'`;
    const child = run({ DATABASE_URL: withUser(db.url, 'analytics_writer', writerPw), APP_DATABASE_URL: withUser(src.url, 'athletes_reader', readerPw) });
    const { code } = await child.exit;
    expect(child.output()).toMatch(/1 updated/);
    expect(code).toBe(0);
  });
});
