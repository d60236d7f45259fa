// Observability: indexes the keap_ops views read (none scans all staging or all request logs) and
// the last _synced_at of each table snapshot. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
