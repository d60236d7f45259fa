// `npm run trace -- <run_id|latest> [--json]` — what a support engineer pastes into a ticket: the
// run's Timeline, Data flow, Requests and a computed Validation checklist (Markdown, or JSON with
// --json). An unknown run id exits 1 and lists the ten most recent runs.
import { parseArgs } from 'node:util';
import { connect } from './lib/db.ts';
import { EXIT, runScript } from './lib/errors.ts';
import { loadTrace, recentRuns, renderRecentRuns, renderTraceMarkdown, resolveRunId } from './lib/trace.ts';

const HELP = `Usage: npm run trace -- <run_id|latest> [--json]

Prints the trace of one sync run: Timeline (T+seconds, stage, entity, event: plans, pages
fetched, merges with their counts, retries and 429s, warnings, the end), Data flow (per entity:
pages -> records -> inserted / updated / unchanged / deleted / rejected), Requests (per endpoint,
slowest requests, quota left at the end) and Validation (a checklist computed from the database).

  <run_id>   a run of keap_ops.runs
  latest     the newest run
  --json     the same trace as JSON
  --help     this text

Database: DATABASE_URL, or the embedded PostgreSQL in .data/pg when unset.
Exit codes: 0 trace printed, 1 unknown run or bad arguments, 2 database connection, 3 SQL error.`;

function usage(message: string): never {
  throw Object.assign(new Error(`${message}\n\n${HELP}`), { exitCode: EXIT.CONFIG });
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return EXIT.OK;
  }
  if (positionals.length !== 1) usage('trace needs exactly one run id (or latest)');
  const arg = positionals[0]!;
  if (arg !== 'latest' && !/^[0-9]+$/.test(arg)) usage(`'${arg}' is not a run id: give a number from keap_ops.runs, or latest`);
  const ref = arg === 'latest' ? 'latest' : Number(arg);

  const db = await connect({ applicationName: 'keap-sync trace', max: 2 });
  try {
    const runId = await resolveRunId(db.sql, ref);
    const trace = runId === null ? null : await loadTrace(db.sql, runId);
    if (!trace) {
      const recent = await recentRuns(db.sql, 10);
      const message = ref === 'latest' ? 'no runs yet' : `run ${ref} not found`;
      if (values.json) console.log(JSON.stringify({ error: message, recent_runs: recent }, null, 2));
      console.error(message);
      if (ref !== 'latest') console.error(renderRecentRuns(recent));
      return EXIT.CONFIG;
    }
    console.log(values.json ? JSON.stringify(trace, null, 2) : renderTraceMarkdown(trace));
    return EXIT.OK;
  } finally {
    await db.close();
  }
}

runScript('trace', main);
