// `npm run migrate` — deploy the schema: pending ley migrations, then the repeatable SQL in
// sql/transforms and sql/views, in one transaction under an advisory lock. Prints what changed.
// `npm run migrate -- --status` lists pending migrations and changed SQL files without applying.
import { parseArgs } from 'node:util';
import { connect, DatabaseConnectionError } from './lib/db.ts';
import { migrate, migrateStatus } from './lib/migrate.ts';
import { exitCodeFor, describeError } from './lib/errors.ts';

const HELP = `Usage: npm run migrate [-- --status]

Applies pending migrations (migrations/) and every changed repeatable SQL file
(sql/transforms/, sql/views/) in one transaction under an advisory lock.

  --status   list pending migrations and changed SQL files; change nothing
  --help     this text

Database: DATABASE_URL, or the embedded PostgreSQL in .data/pg when unset.
Exit codes: 0 ok, 2 database connection, 3 SQL error.`;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { status: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const db = await connect({ applicationName: 'keap-sync migrate', max: 1 });
  try {
    if (values.status) {
      const s = await migrateStatus(db.sql);
      console.log(`database: ${db.displayUrl}`);
      console.log(s.pendingMigrations.length ? `pending migrations:\n${s.pendingMigrations.map((m) => `  ${m}`).join('\n')}` : 'pending migrations: none');
      console.log(s.changedFiles.length ? `changed SQL files:\n${s.changedFiles.map((m) => `  ${m}`).join('\n')}` : 'changed SQL files: none');
      if (s.removedFiles.length) console.log(`SQL files deployed but no longer present:\n${s.removedFiles.map((m) => `  ${m}`).join('\n')}`);
      return 0;
    }
    const r = await migrate(db.sql);
    console.log(`database: ${db.displayUrl}`);
    if (!r.migrationsApplied.length && !r.filesApplied.length) {
      console.log('everything is up to date: no pending migrations, no changed SQL files');
      return 0;
    }
    for (const m of r.migrationsApplied) console.log(`migration applied: ${m}`);
    for (const f of r.filesChanged) console.log(`SQL file changed and applied: ${f}`);
    const reapplied = r.filesApplied.length - r.filesChanged.length;
    if (reapplied > 0) console.log(`${reapplied} unchanged SQL file(s) re-applied in order`);
    for (const f of r.filesRemoved) console.log(`SQL file removed from the project (its objects stay until a migration drops them): ${f}`);
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`migrate failed: ${describeError(err)}`);
    process.exit(err instanceof DatabaseConnectionError ? err.exitCode : exitCodeFor(err));
  },
);
