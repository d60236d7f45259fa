// Vitest global setup: one PostgreSQL for the whole suite — the embedded server in a throwaway
// directory, or TEST_DATABASE_URL's server when given — and one template database migrated with
// the real `npm run migrate` code path. Each test file clones the template (test/helpers/db.ts).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { ensureEmbeddedServer, freePort, stopEmbeddedServer } from '../scripts/lib/embedded-pg.ts';
import { PROJECT_ROOT } from '../scripts/lib/db.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDb: string;
  }
}

const run = promisify(execFile);

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let tmpDir: string | undefined;
  if (!adminUrl) {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-test-pg-'));
    fs.chmodSync(tmpDir, 0o755);
    const server = await ensureEmbeddedServer({
      dataDir: path.join(tmpDir, 'pg'),
      port: await freePort(),
      database: 'keap_test_admin',
      // A throwaway cluster: durability buys nothing here, speed does.
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 200 },
    });
    adminUrl = server.adminUrl;
  }
  const templateDb = `keap_test_tpl_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const [version] = await admin`select current_setting('server_version') as v`;
  console.log(`[test setup] PostgreSQL ${version?.v} at ${new URL(adminUrl).host}${tmpDir ? ' (embedded)' : ' (TEST_DATABASE_URL)'}`);
  await admin.unsafe(`drop database if exists ${templateDb}`);
  await admin.unsafe(`create database ${templateDb}`);
  const templateUrl = withDatabase(adminUrl, templateDb);
  try {
    await run(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/migrate.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: templateUrl },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`migrating the template database failed: ${e.stderr || e.stdout || e.message}`);
  }
  project.provide('pgAdminUrl', adminUrl);
  project.provide('templateDb', templateDb);

  return async () => {
    // Drop what the suite created (kept databases of failed files excepted, see KEEP_TEST_DB).
    if (!process.env.KEEP_TEST_DB) {
      const dbs = await admin`select datname from pg_database where datname like ${`keap_test_%`}`;
      for (const { datname } of dbs) await admin.unsafe(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
    await admin.end({ timeout: 5 });
    if (tmpDir) {
      await stopEmbeddedServer(path.join(tmpDir, 'pg'));
      if (!process.env.KEEP_TEST_DB) fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  };
}
