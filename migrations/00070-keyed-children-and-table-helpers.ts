// Merge layer additions: child collections keyed by an integer id of the item ("keyed"), and helpers
// that give entity and child tables their standard ETL columns. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
