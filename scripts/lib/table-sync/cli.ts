// `npm run sync -- --pipeline <table sync>`: the command line of the Postgres → Postgres table syncs
// (athletes, …). scripts/sync.ts hands over every --pipeline other than keap. One tracked run, or
// runs on a cron schedule; exit codes as the old athlete tool documented them (0 ok, 1 configuration,
// 2 cannot connect to either database, 3 SQL error, 4 unexpected error) plus 5 (another run of this
// pipeline in progress) and 130 (cancelled).
import { parseArgs } from 'node:util';
import { runOnCron } from '../cron-loop.ts';
import { connect, type Db } from '../db.ts';
import { EXIT, describeError, exitCodeFor, isConnectionError, sqlstateOf } from '../errors.ts';
import { migrate } from '../migrate.ts';
import { loadTableSyncConfig, type TableSyncConfig } from './config.ts';
import { UnknownPipelineError, declaredTableSyncs, formatSummary, runTableSync } from './run.ts';

/** Exit code of an unexpected error (the old athlete tool's 4; Keap's 4 means an API failure). */
const UNEXPECTED = 4;

export const TABLE_SYNC_HELP = `Usage: npm run sync -- --pipeline <name> [options]

Copies a declared table of another PostgreSQL database (the app database) into the warehouse
(schema analytics): COPY streamed into staging, then one SQL merge that inserts new rows, updates
changed ones, leaves unchanged rows untouched and soft-deletes rows gone from the source.
Pipelines: keap (default, see npm run sync -- --help) and the declared table syncs, e.g. athletes.

Options:
  --pipeline <name>  the table sync to run (analytics_staging.table_syncs)
  --full             full pass with delete detection, even when an incremental one is possible
  --schedule <cron>  keep running and sync on this cron schedule (default: TABLE_SYNC_SCHEDULE; none = run once)
  --no-migrate       do not apply pending migrations first
  --help             this text

Exit codes:
  0   success
  1   configuration error (the message names the variable), or an unknown pipeline
  2   cannot connect to the warehouse or to the app database (the run is recorded failed)
  3   SQL error (e.g. a source column changed type: the message names it)
  4   unexpected error
  5   another run of this pipeline is in progress
  130 cancelled (SIGINT/SIGTERM)

Configuration (environment or .env): APP_DATABASE_URL, or APP_HOST, APP_PORT, APP_DB, APP_USER,
APP_PASSWORD, APP_SSLMODE for the app database; DATABASE_URL, or WH_HOST, WH_PORT, WH_DB, WH_USER,
WH_PASSWORD, WH_SSLMODE for the warehouse. See README.md.`;

/** The documented exit code of a table-sync failure: as every script's, except that an error that is
 *  neither ours, nor the database's, nor a lost connection is 4 ("unexpected", the old tool's code). */
export function tableSyncExitCode(err: unknown): number {
  const known = typeof (err as { exitCode?: unknown })?.exitCode === 'number' || sqlstateOf(err) !== undefined || isConnectionError(err);
  return known ? exitCodeFor(err) : UNEXPECTED;
}

function parse(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        pipeline: { type: 'string' },
        full: { type: 'boolean' },
        schedule: { type: 'string' },
        'no-migrate': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    // A usage mistake is a configuration error (exit 1), not an unexpected one.
    throw Object.assign(new Error(`${(err as Error).message} (table syncs take --pipeline, --full, --schedule, --no-migrate, --help)`), { exitCode: EXIT.CONFIG });
  }
  const { values } = parsed;
  return { pipeline: values.pipeline ?? '', full: !!values.full, schedule: values.schedule, migrate: !values['no-migrate'], help: !!values.help };
}

async function once(db: Db, config: TableSyncConfig, pipeline: string, full: boolean, trigger: string): Promise<number> {
  const res = await runTableSync({ db, sourceUrl: config.sourceUrl.reveal() }, pipeline, { full, trigger, onLine: (l) => console.log(l) });
  console.log(formatSummary(res.value, res.runId, res.status));
  return res.exitCode;
}

/** Runs the table-sync command line; resolves to the exit code, rejects with an error carrying one. */
export async function tableSyncMain(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (args.help) {
    console.log(TABLE_SYNC_HELP);
    return EXIT.OK;
  }
  const config = loadTableSyncConfig();
  const db = await connect({ applicationName: `keap-sync sync ${args.pipeline}`, max: 4, ...(config.warehouseUrl ? { url: config.warehouseUrl.reveal() } : {}) });
  try {
    if (args.migrate) {
      const r = await migrate(db.sql);
      if (r.migrationsApplied.length || r.filesChanged.length) console.log(`schema updated: ${[...r.migrationsApplied, ...r.filesChanged].join(', ')}`);
    }
    const known = await declaredTableSyncs(db);
    if (!known.includes(args.pipeline)) throw new UnknownPipelineError(args.pipeline, known);

    const schedule = args.schedule ?? config.schedule;
    if (!schedule) return await once(db, config, args.pipeline, args.full, 'manual');
    return await runOnCron(schedule, 'TABLE_SYNC_SCHEDULE', `syncing ${args.pipeline}`, async () => {
      try {
        await once(db, config, args.pipeline, args.full, 'schedule');
      } catch (err) {
        console.error(`${args.pipeline} failed (exit ${tableSyncExitCode(err)}): ${describeError(err)}`);
      }
    });
  } finally {
    await db.close();
  }
}

/** The value of --pipeline (or --pipeline=…) in a command line, if given. */
export function requestedPipeline(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--pipeline') return argv[i + 1] ?? '';
    if (a.startsWith('--pipeline=')) return a.slice('--pipeline='.length);
  }
  return undefined;
}
