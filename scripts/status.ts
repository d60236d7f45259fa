// `npm run status [-- --watch]` — running runs with a progress bar, the last runs and entity
// freshness. --watch follows the keap_run_events LISTEN/NOTIFY channel and redraws on every event
// until Ctrl-C (the views are re-read only when a run starts or ends or an entity finishes, and
// every 30 s for runs whose process died silently); on a non-TTY it prints one plain line per event.
import { parseArgs } from 'node:util';
import { connect } from './lib/db.ts';
import { EXIT, describeError, runScript } from './lib/errors.ts';
import { RUN_EVENTS_CHANNEL, applyPayload, eventLine, loadStatus, parsePayload, renderStatus, type StatusState } from './lib/status.ts';

const HELP = `Usage: npm run status [-- --watch]

Shows running sync runs (entity, pages, records, rate, quota left, with a progress bar), the last
ten runs and how current each entity is (keap_ops.entity_freshness).

  --watch   keep following: listens on the PostgreSQL channel ${RUN_EVENTS_CHANNEL} and redraws on
            every event until Ctrl-C. On a non-terminal (a pipe, a log) it prints one line per event.
  --help    this text

Database: DATABASE_URL, or the embedded PostgreSQL in .data/pg when unset.
Exit codes: 0 ok (also after Ctrl-C in --watch), 1 bad arguments, 2 database connection, 3 SQL error.`;

/** Re-read the views this often while watching, to notice runs whose process died without an event. */
const RELOAD_MS = 30_000;

async function main(): Promise<number> {
  let values: { watch?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { watch: { type: 'boolean', short: 'w' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (err) {
    throw Object.assign(new Error(`${(err as Error).message}\n\n${HELP}`), { exitCode: EXIT.CONFIG });
  }
  if (values.help) {
    console.log(HELP);
    return EXIT.OK;
  }
  const db = await connect({ applicationName: values.watch ? 'keap-sync status --watch' : 'keap-sync status', max: 2 });
  try {
    if (!values.watch) {
      console.log(renderStatus(await loadStatus(db.sql)));
      return EXIT.OK;
    }
    const tty = process.stdout.isTTY === true;
    let state: StatusState = await loadStatus(db.sql);
    let dirty = true;
    let reloading = false;
    let again = false;
    const reload = async (): Promise<void> => {
      // One reload at a time; a request meanwhile (the run ended during it) reloads once more after.
      if (reloading) {
        again = true;
        return;
      }
      reloading = true;
      try {
        do {
          again = false;
          const fresh = await loadStatus(db.sql);
          // Keep the live progress of runs the views also list as running (the channel is newer).
          for (const [id, run] of fresh.running) {
            const live = state.running.get(id);
            if (live) fresh.running.set(id, { ...run, progress: live.progress, last_message: live.last_message });
          }
          state = fresh;
          dirty = true;
        } while (again);
      } finally {
        reloading = false;
      }
    };
    const draw = () => {
      if (!tty) return;
      process.stdout.write('\x1b[H\x1b[2J');
      process.stdout.write(`${renderStatus(state)}\n\n(watching ${RUN_EVENTS_CHANNEL}; Ctrl-C to stop)\n`);
      dirty = false;
    };

    if (!tty) console.log(renderStatus(state));
    await db.sql.listen(RUN_EVENTS_CHANNEL, (text) => {
      const p = parsePayload(text);
      if (!p) return;
      if (!tty) console.log(eventLine(p));
      if (applyPayload(state, p)) void reload().catch((err) => console.error(`status: ${describeError(err)}`));
      dirty = true;
    });
    if (!tty) console.log(`listening on ${RUN_EVENTS_CHANNEL}`);
    draw();
    // A terminal redraw at most 10 times a second, and every second so ages and lags tick (no query).
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
      if (tty && (dirty || ticks % 10 === 0)) draw();
    }, 100);
    const reloader = setInterval(() => void reload().catch((err) => console.error(`status: ${describeError(err)}`)), RELOAD_MS);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    clearInterval(timer);
    clearInterval(reloader);
    return EXIT.OK;
  } finally {
    await db.close();
  }
}

runScript('status', main);
