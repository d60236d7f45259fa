// History: schema keap_history, keap_meta.create_history_table and a history table for every keap table; keap_meta.entities.has_history.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
