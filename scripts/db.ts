// `npm run db -- <command>` — the lifecycle of the database the scripts use: the embedded
// PostgreSQL (started on demand by every script, left running by `start`/`url`/`psql`, stopped by
// `stop`), or DATABASE_URL's server, which it only reports on. Replaces `npm run -s db-url`
// (kept as an alias of `npm run -s db -- url`).
import { parseArgs } from 'node:util';
import { $, which } from 'zx';
import { connect, embeddedDataDir, maskUrl } from './lib/db.ts';
import { embeddedStatus, stopEmbeddedServer } from './lib/embedded-pg.ts';
import { EXIT, runScript } from './lib/errors.ts';

const HELP = `Usage: npm run db -- <command>

Commands:
  status   where the database is, whether the embedded server runs, its port, data and log
           (exit 0 when the database answers, 3 when the embedded server is stopped or not created)
  start    start the embedded server (creating it on first use) and leave it running
  stop     stop the embedded server (fast shutdown: open transactions roll back; no data is lost)
  url      print the connection string (starts the embedded server if needed and leaves it up);
           use with -s:  psql "$(npm run -s db -- url)"
  psql     open psql on the database (needs a psql client on PATH; any version from 14 works)

Database: DATABASE_URL when set (start/stop then do nothing to it), else the embedded PostgreSQL
whose cluster is .data/pg (KEAP_EMBEDDED_PG_DIR), or — running as root in a folder the 'postgres'
user cannot reach — a folder under KEAP_EMBEDDED_PG_SHARED_DIR (default /var/lib/keap-warehouse-sync).
Exit codes: 0 ok, 1 bad command, 2 database unreachable, 3 not running (status).`;

const NOT_RUNNING = 3;

async function keepRunningUrl(): Promise<string> {
  const db = await connect({ applicationName: 'keap-sync db', max: 1 });
  const url = process.env.DATABASE_URL || db.embedded!.url;
  // Keep the embedded server up: the point is to connect to it next.
  await db.sql.end({ timeout: 5 });
  return url;
}

async function main(): Promise<number> {
  // Everything after `psql` goes to psql untouched (e.g. -c 'select 1').
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({ args: command === 'psql' ? [] : process.argv.slice(2), options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help || !command) {
    console.log(HELP);
    return values.help ? EXIT.OK : EXIT.CONFIG;
  }
  const external = process.env.DATABASE_URL;
  switch (command) {
    case 'status': {
      if (external) {
        console.log(`database: DATABASE_URL ${maskUrl(external)} (the embedded server is not used)`);
        const db = await connect({ applicationName: 'keap-sync db status', max: 1 });
        try {
          const [row] = await db.sql`select current_setting('server_version') as v`;
          console.log(`answers: yes (PostgreSQL ${row!.v})`);
        } finally {
          await db.close();
        }
        return EXIT.OK;
      }
      const s = await embeddedStatus(embeddedDataDir());
      console.log('database: embedded PostgreSQL');
      console.log(`cluster:  ${s.dataDir}${s.relocatedBecause ? `\n          (instead of ${s.requested}: ${s.relocatedBecause})` : ''}`);
      if (!s.exists) {
        console.log('state:    not created yet (the first script that needs it creates it)');
        return NOT_RUNNING;
      }
      console.log(`state:    ${s.running ? 'running' : 'stopped'}`);
      if (s.port) console.log(`port:     127.0.0.1:${s.port}`);
      if (s.url) console.log(`url:      ${maskUrl(s.url)}  (full: npm run -s db -- url)`);
      if (s.binaries) console.log(`binaries: ${s.binaries}`);
      console.log(`log:      ${s.serverLog}`);
      return s.running ? EXIT.OK : NOT_RUNNING;
    }
    case 'start': {
      const url = await keepRunningUrl();
      console.log(external ? `DATABASE_URL is set; nothing to start (${maskUrl(url)} answers)` : `embedded PostgreSQL running: ${maskUrl(url)} (stop it with npm run db -- stop)`);
      return EXIT.OK;
    }
    case 'stop': {
      if (external) {
        console.log('DATABASE_URL is set: that server is not ours to stop.');
        return EXIT.OK;
      }
      const stopped = await stopEmbeddedServer(embeddedDataDir());
      console.log(stopped ? 'embedded PostgreSQL stopped' : 'embedded PostgreSQL was not running');
      return EXIT.OK;
    }
    case 'url': {
      console.log(await keepRunningUrl());
      return EXIT.OK;
    }
    case 'psql': {
      const psql = await which('psql', { nothrow: true });
      if (!psql) {
        console.error('psql is not installed (Debian/Ubuntu: apt-get install postgresql-client). The connection string is: npm run -s db -- url');
        return EXIT.CONFIG;
      }
      const url = await keepRunningUrl();
      const res = await $({ stdio: 'inherit', nothrow: true, verbose: false })`${psql} ${url} ${rest}`;
      return res.exitCode ?? EXIT.OK;
    }
    default:
      console.error(`unknown command '${command}'\n\n${HELP}`);
      return EXIT.CONFIG;
  }
}

runScript('db', main);
