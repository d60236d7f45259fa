// Run tracking tables (etl_run_log, etl_request_log, events, counts, snapshots, merge log, row issues).
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
