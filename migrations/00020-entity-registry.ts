// The registry of synced entities: which warehouse table each one fills, for the monitoring views.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
