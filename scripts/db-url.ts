// `npm run -s db-url` — print the connection string of the database the scripts use
// (DATABASE_URL, or the embedded server, which it starts if needed and leaves running for psql).
import { connect } from './lib/db.ts';
import { describeError, exitCodeFor } from './lib/errors.ts';

try {
  const db = await connect({ applicationName: 'keap-sync db-url', max: 1 });
  const url = process.env.DATABASE_URL ?? db.embedded!.url;
  // Keep the embedded server up: the point is to connect to it next.
  await db.sql.end({ timeout: 5 });
  console.log(url);
  process.exit(0);
} catch (err) {
  console.error(`db-url failed: ${describeError(err)}`);
  process.exit(exitCodeFor(err));
}
