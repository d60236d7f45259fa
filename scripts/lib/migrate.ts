// Schema deployment: ley's versioned migrations (migrations/), then every repeatable SQL file
// (sql/transforms, then sql/views, in name order) — all in ONE transaction under an advisory lock,
// so two concurrent deploys serialise and a failure leaves the database as it was.
// Repeatable files are recorded with their sha256 in keap_meta.sql_deploys; when nothing changed,
// nothing is executed.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ley from 'ley';
import type { Sql } from './db.ts';
import { PROJECT_ROOT } from './db.ts';

/** pg_advisory_xact_lock key for deploys ('keap' 'depl'). */
const DEPLOY_LOCK_KEY = 7756121372891652460n;

export const REPEATABLE_DIRS = ['sql/transforms', 'sql/views'];

export interface RepeatableFile {
  file: string;
  abs: string;
  sha256: string;
  content: string;
}

export interface MigrateReport {
  migrationsApplied: string[];
  filesChanged: string[];
  filesApplied: string[];
  filesRemoved: string[];
}

export function repeatableFiles(root = PROJECT_ROOT): RepeatableFile[] {
  const out: RepeatableFile[] = [];
  for (const dir of REPEATABLE_DIRS) {
    let names: string[] = [];
    try {
      names = readdirSync(path.join(root, dir)).filter((n) => n.endsWith('.sql'));
    } catch {
      continue;
    }
    names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    for (const name of names) {
      const abs = path.join(root, dir, name);
      const content = readFileSync(abs, 'utf8');
      out.push({ file: `${dir}/${name}`, abs, content, sha256: createHash('sha256').update(content).digest('hex') });
    }
  }
  return out;
}

type TxSql = Sql;

/** ley driver that runs inside our transaction instead of opening its own connection. */
function leyDriver(tx: TxSql) {
  return {
    connect: async () => tx,
    setup: async (sql: TxSql) => {
      // Same table ley's own postgres client creates, so the `ley` CLI agrees with us.
      await sql`create table if not exists public.migrations (
        id serial primary key, name varchar(255) not null, created_at timestamp not null)`;
      return sql`select name from public.migrations order by id asc`;
    },
    loop: async (sql: TxSql, files: { name: string; abs: string }[], method: string) => {
      if (method !== 'up') throw new Error('migrations are roll-forward only');
      for (const f of files) {
        const mod = (await import(pathToFileHref(f.abs))) as { up?: (s: TxSql) => Promise<void>; default?: { up?: (s: TxSql) => Promise<void> } };
        const up = mod.up ?? mod.default?.up;
        if (typeof up !== 'function') throw new Error(`migration ${f.name} has no up() export`);
        try {
          await up(sql);
        } catch (err) {
          const e = err as Error;
          e.message = `migration ${f.name} failed: ${e.message}`;
          throw e;
        }
        await sql`insert into public.migrations (name, created_at) values (${f.name}, now())`;
      }
    },
    end: async () => {},
  };
}

function pathToFileHref(abs: string): string {
  return new URL(`file://${abs}`).href;
}

async function deployedShas(sql: TxSql): Promise<Map<string, string>> {
  const [exists] = await sql`select to_regclass('keap_meta.sql_deploys') is not null as ok`;
  if (!exists?.ok) return new Map();
  const rows = await sql`select file, sha256 from keap_meta.sql_deploys`;
  return new Map(rows.map((r) => [String(r.file), String(r.sha256)]));
}

export interface MigrateOptions {
  root?: string;
  /** Re-apply every repeatable file even when unchanged (used by tests to prove they converge). */
  forceRepeatable?: boolean;
}

/** Run pending migrations and (re)apply repeatable SQL; returns what changed. */
export async function migrate(sql: Sql, opts: MigrateOptions = {}): Promise<MigrateReport> {
  const root = opts.root ?? PROJECT_ROOT;
  return (await sql.begin(async (tx) => {
    const t = tx as unknown as TxSql;
    await t`select pg_advisory_xact_lock(${DEPLOY_LOCK_KEY.toString()}::bigint)`;
    // Notices from idempotent DDL (e.g. "already exists, skipping") are noise here.
    await t`set local client_min_messages = warning`;
    const migrationsApplied: string[] = await ley.up({ cwd: root, dir: 'migrations', driver: leyDriver(t) as never, config: {} });

    const files = repeatableFiles(root);
    const deployed = await deployedShas(t);
    const filesChanged = files.filter((f) => deployed.get(f.file) !== f.sha256).map((f) => f.file);
    const present = new Set(files.map((f) => f.file));
    const filesRemoved = [...deployed.keys()].filter((f) => !present.has(f));
    let filesApplied: string[] = [];
    // Any change re-applies every repeatable file in order: a changed helper may have been
    // dropped and re-created, and what depends on it must be re-created after it.
    if (opts.forceRepeatable || filesChanged.length || migrationsApplied.length || filesRemoved.length) {
      for (const f of files) {
        try {
          await t.unsafe(f.content);
        } catch (err) {
          const e = err as Error;
          e.message = `${f.file}: ${e.message}`;
          throw e;
        }
        await t`
          insert into keap_meta.sql_deploys (file, sha256, applied_at) values (${f.file}, ${f.sha256}, now())
          on conflict (file) do update set sha256 = excluded.sha256, applied_at = excluded.applied_at
          where keap_meta.sql_deploys.sha256 is distinct from excluded.sha256`;
      }
      filesApplied = files.map((f) => f.file);
      if (filesRemoved.length) await t`delete from keap_meta.sql_deploys where file in ${t(filesRemoved)}`;
    }
    return { migrationsApplied, filesChanged, filesApplied, filesRemoved };
  })) as MigrateReport;
}

export interface MigrateStatus {
  pendingMigrations: string[];
  changedFiles: string[];
  removedFiles: string[];
}

/** What `migrate` would do, without doing it. */
export async function migrateStatus(sql: Sql, root = PROJECT_ROOT): Promise<MigrateStatus> {
  return (await sql.begin(async (tx) => {
    const t = tx as unknown as TxSql;
    const [hasTable] = await t`select to_regclass('public.migrations') is not null as ok`;
    let pendingMigrations: string[];
    if (hasTable?.ok) {
      pendingMigrations = await ley.status({ cwd: root, dir: 'migrations', driver: leyDriver(t) as never, config: {} });
    } else {
      pendingMigrations = readdirSync(path.join(root, 'migrations'))
        .filter((n) => /\.[cm]?[tj]s$/.test(n))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    }
    const files = repeatableFiles(root);
    const deployed = await deployedShas(t);
    const present = new Set(files.map((f) => f.file));
    // Status must not write: roll back ley's bookkeeping-table creation, if any.
    const result = {
      pendingMigrations,
      changedFiles: files.filter((f) => deployed.get(f.file) !== f.sha256).map((f) => f.file),
      removedFiles: [...deployed.keys()].filter((f) => !present.has(f)),
    };
    throw new StatusRollback(result);
  }).catch((e: unknown) => {
    if (e instanceof StatusRollback) return e.result;
    throw e;
  })) as MigrateStatus;
}

class StatusRollback extends Error {
  constructor(readonly result: MigrateStatus) {
    super('status rollback');
  }
}
