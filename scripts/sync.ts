// `npm run sync` — sync a Keap account into PostgreSQL: one tracked run (or, with --schedule /
// KEAP_SCHEDULE, runs on an in-process cron schedule). Exit codes are documented in the README and
// in --help; one catch at the run boundary turns every failure into its code.
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from './lib/config.ts';
import { runOnCron } from './lib/cron-loop.ts';
import { connect, type Db } from './lib/db.ts';
import { EXIT, describeError, exitCodeFor } from './lib/errors.ts';
import { migrate } from './lib/migrate.ts';
import { runSync, type SyncOptions } from './lib/sync/engine.ts';
import { printSummary, progressPrinter } from './lib/sync/report.ts';
import { entityNames, selectEntities } from './lib/sync/entities.ts';
import { requestedPipeline, tableSyncExitCode, tableSyncMain } from './lib/table-sync/cli.ts';

const HELP = `Usage: npm run sync -- [options]

Syncs a Keap account into PostgreSQL (schema keap). Incremental by default: each entity is read
from its saved watermark minus an overlap window; the first run, --full, a resumed crashed full
run and the periodic sweep (KEAP_FULL_SWEEP_HOURS) read everything and mark deletions.

Options:
  --pipeline <name>  keap (default), or a declared table sync such as athletes
                     (npm run sync -- --pipeline athletes --help)
  --entity a,b       only these entities (${entityNames().join(', ')})
  --full             full traversal of every entity, with delete detection
  --since <ISO>      incremental from this instant instead of the saved watermark
  --dry-run          check configuration, database and API access (one small page per entity)
                     and print the plan; writes no data (pending schema changes are still deployed)
  --schedule <cron>  keep running and sync on this cron schedule (default: KEAP_SCHEDULE; none = run once)
  --no-migrate       do not apply pending migrations first
  --help             this text

Exit codes:
  0   success
  1   configuration missing or contradictory (the message says what to set)
  2   cannot reach the database
  3   SQL error
  4   Keap API or auth failure (or a page Keap kept answering unreadably: partial run)
  5   another sync run is in progress
  6   stopped at the daily-quota reserve (partial run; the next run continues)
  130 cancelled (SIGINT/SIGTERM)

Configuration: environment variables or a .env file; see README.md.`;

function parse(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      pipeline: { type: 'string' },
      entity: { type: 'string' },
      full: { type: 'boolean' },
      since: { type: 'string' },
      'dry-run': { type: 'boolean' },
      schedule: { type: 'string' },
      'no-migrate': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  let since: Date | undefined;
  if (values.since !== undefined) {
    since = new Date(values.since);
    if (Number.isNaN(since.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(values.since)) {
      throw Object.assign(new Error(`--since needs an ISO-8601 time such as 2026-01-31T00:00:00Z, got '${values.since}'`), { exitCode: EXIT.CONFIG });
    }
  }
  return {
    help: !!values.help,
    entities: values.entity ? values.entity.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    full: !!values.full,
    since,
    dryRun: !!values['dry-run'],
    schedule: values.schedule,
    migrate: !values['no-migrate'],
  };
}

async function syncOnce(db: Db, config: Config, opts: SyncOptions): Promise<number> {
  const out = progressPrinter();
  try {
    const res = await runSync({ db, config }, { ...opts, onProgress: out.progress, onLine: out.line });
    out.end();
    printSummary(res.value, res.runId, res.status);
    return res.exitCode;
  } catch (err) {
    out.end();
    throw err;
  }
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (args.help) {
    console.log(HELP);
    return EXIT.OK;
  }
  selectEntities(args.entities); // an unknown entity is a usage error before anything connects
  const config = loadConfig();
  const db = await connect({ applicationName: 'keap-sync sync', max: 2 + 2 * config.syncConcurrency });
  try {
    if (args.migrate) {
      const r = await migrate(db.sql);
      if (r.migrationsApplied.length || r.filesChanged.length) {
        console.log(`schema updated: ${[...r.migrationsApplied, ...r.filesChanged].join(', ')}`);
      }
    }
    const opts: SyncOptions = { entities: args.entities, full: args.full, since: args.since, dryRun: args.dryRun };
    const schedule = args.schedule ?? config.schedule;
    if (!schedule || args.dryRun) return await syncOnce(db, config, opts);

    return await runOnCron(schedule, 'KEAP_SCHEDULE', 'syncing', async () => {
      try {
        const code = await syncOnce(db, config, { ...opts, trigger: 'schedule' });
        if (code !== 0) console.log(`sync ended with exit code ${code}`);
      } catch (err) {
        console.error(`sync failed: ${describeError(err)}`);
      }
    });
  } finally {
    await db.close();
  }
}

// --pipeline other than keap: a Postgres -> Postgres table sync, with its own options and exit codes.
const pipeline = requestedPipeline(process.argv.slice(2));
const tableSync = pipeline !== undefined && pipeline !== 'keap';
(tableSync ? tableSyncMain(process.argv.slice(2)) : main()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`sync failed: ${describeError(err)}`);
    process.exit(tableSync ? tableSyncExitCode(err) : exitCodeFor(err));
  },
);
