// Opportunity stage moves (append-only history): table, staging table, entity row. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
