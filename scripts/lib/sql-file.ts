// Helper for ley migrations whose SQL lives in a sibling `.sql` file (ley ignores .sql files):
// `export const up = sqlFile(import.meta.url)` runs `<same name>.sql` inside ley's transaction.
import { readFileSync } from 'node:fs';
import type postgres from 'postgres';

export function sqlFile(migrationUrl: string): (sql: postgres.Sql) => Promise<void> {
  const sqlUrl = new URL(migrationUrl.replace(/\.[cm]?[tj]s$/, '.sql'));
  return async (sql) => {
    await sql.unsafe(readFileSync(sqlUrl, 'utf8'));
  };
}
