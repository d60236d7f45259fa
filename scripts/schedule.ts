// `npm run schedule` — the long-running process: every job on its own cron clock (Keap incremental
// and full sweep, each table-sync pipeline in SCHEDULE_PIPELINES, retention, OAuth keep-alive),
// with the effective schedule printed at start and kept in keap_ops.schedules. Stops cleanly on
// SIGTERM/SIGINT (exit 0). `--run <job>` runs one job now and exits with that job's code.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from './lib/config.ts';
import { connect } from './lib/db.ts';
import { EXIT, runScript } from './lib/errors.ts';
import { migrate, migrateStatus } from './lib/migrate.ts';
import { loadScheduleConfig } from './lib/ops/schedule-config.ts';
import { Scheduler } from './lib/ops/scheduler.ts';

const HELP = `Usage: npm run schedule -- [options]

Runs every job on its own cron schedule until stopped (SIGTERM or Ctrl-C: it stops ticking, lets a
running job finish its current page and merge — at most SCHEDULE_STOP_TIMEOUT_SECONDS —, ends the
run 'cancelled' and exits 0). Two schedulers against one database run each tick once, and never
two runs of one pipeline at a time. Jobs (each: SCHEDULE_<JOB>=<cron> or =off):
  keap-incremental   SCHEDULE_KEAP_INCREMENTAL  default */15 * * * *
  keap-full          SCHEDULE_KEAP_FULL         default 0 3 * * *   (full sweep, delete detection)
  pipeline:<name>    SCHEDULE_PIPELINE_<NAME>   default */15 * * * * (for each name in SCHEDULE_PIPELINES)
  retention          SCHEDULE_RETENTION         default 30 4 * * *
  oauth-keepalive    SCHEDULE_OAUTH_KEEPALIVE   default 0 5 * * 1   (OAuth only)
Times are UTC unless SCHEDULE_TIMEZONE says otherwise. See README.md for every setting.

Options:
  --run <job>    run this job once now (as a tick would) and exit with its exit code
  --no-migrate   do not apply pending migrations at start; jobs are held (recorded skipped)
                 until the schema matches the code (npm run migrate)
  --help         this text

Exit codes: 0 stopped cleanly, 1 configuration, 2 database unreachable, 3 SQL error
(with --run: the job's own exit code, as npm run sync documents them).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { run: { type: 'string' }, 'no-migrate': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT.OK;
  }
  // Keap settings are needed only when a Keap job is on; without credentials those jobs are off.
  let keap: Config | undefined;
  try {
    keap = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError) || !err.problems.every((p) => p.startsWith('no Keap credentials'))) throw err;
  }
  const schedule = loadScheduleConfig(process.env, keap?.auth.mode);
  if (!schedule.jobs.some((j) => j.cron) && !values.run) {
    throw new ConfigError(['every job is switched off (or no Keap credentials and no SCHEDULE_PIPELINES): nothing to schedule']);
  }

  const db = await connect({ applicationName: 'keap-sync schedule', max: 6 });
  try {
    let schemaReady = true;
    if (values['no-migrate']) {
      const s = await migrateStatus(db.sql);
      const pending = [...s.pendingMigrations, ...s.changedFiles];
      if (pending.length) {
        schemaReady = false;
        console.log(`the database schema is older than the code (--no-migrate): pending ${pending.join(', ')}\nno job runs until \`npm run migrate\``);
      }
    } else {
      const r = await migrate(db.sql);
      if (r.migrationsApplied.length || r.filesChanged.length) console.log(`schema updated: ${[...r.migrationsApplied, ...r.filesChanged].join(', ')}`);
    }

    const scheduler = new Scheduler({ db, schedule, ...(keap ? { keap } : {}), schemaReady });
    if (values.run) {
      const outcome = await scheduler.runNow(values.run);
      return outcome?.exitCode ?? EXIT.OK;
    }

    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    await scheduler.start();
    const signal = await stopped;
    await scheduler.stop(signal);
    console.log('scheduler stopped');
    return EXIT.OK;
  } finally {
    await db.close();
  }
}

runScript('schedule', main);
