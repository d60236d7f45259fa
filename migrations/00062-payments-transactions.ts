// Keap payments (with their orders) and sales transactions (surrogate key: Keap gives them no id).
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
