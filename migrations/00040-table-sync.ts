// Postgres → Postgres table syncs: the analytics schemas, the declaration and state tables. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
