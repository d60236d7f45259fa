// Custom field definitions of companies, opportunities, notes and tasks: entity rows and staging tables. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
