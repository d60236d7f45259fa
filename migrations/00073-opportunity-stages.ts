// Opportunity pipeline stages with their checklist items: tables, staging table, entity row. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
