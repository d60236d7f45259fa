// Child process for the OAuth race test: configured from its environment like a real sync, starts
// a run, prints READY, waits until the barrier file exists (so two children hit an expired or
// missing access token at the same moment), fetches one page and prints OK with how many token
// refreshes it did itself. Exits with the code a real script would use.
import fs from 'node:fs';
import { loadConfig } from '../../scripts/lib/config.ts';
import { connect } from '../../scripts/lib/db.ts';
import { describeError, exitCodeFor } from '../../scripts/lib/errors.ts';
import { KeapClient } from '../../scripts/lib/keap/client.ts';
import { withRun } from '../../scripts/lib/run.ts';

const pipeline = process.argv[2] ?? 'oauth_child';
const barrier = process.env.TEST_BARRIER_FILE!;
const config = loadConfig(process.env, { loadDotEnv: false });
const db = await connect({ applicationName: `keap-test ${pipeline}` });
try {
  await withRun(db, pipeline, { trigger: 'test', handleSignals: false }, async (ctx) => {
    const client = new KeapClient({ config, db, warn: () => {} });
    console.log('READY');
    while (!fs.existsSync(barrier)) await new Promise((r) => setTimeout(r, 2));
    const page = await client.get(ctx, '/rest/v2/contacts', { page_size: 5 }, { entity: 'contacts' });
    console.log(`OK status=${page.status} refreshes=${client.stats().tokenRefreshes}`);
  });
  await db.close();
  process.exit(0);
} catch (err) {
  console.log(`FAILED ${describeError(err)}`);
  await db.close().catch(() => {});
  process.exit(exitCodeFor(err));
}
