// Partial indexes on soft-deleted rows of the contact-family tables. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
