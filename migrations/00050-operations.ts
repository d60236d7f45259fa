// Operations bookkeeping: the scheduler's jobs and executions, alert state and deliveries, and the
// index the request log's foreign keys need for retention to delete old requests cheaply.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
