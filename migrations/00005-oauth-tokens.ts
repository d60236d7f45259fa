// OAuth token store: one row per OAuth client id with the current access and rotating refresh token.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
