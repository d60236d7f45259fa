// Helpers that give entity and child tables their standard ETL columns and create custom-field
// value tables. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
