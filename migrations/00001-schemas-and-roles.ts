// Schemas, the read-only role and the deploy log of repeatable SQL. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
