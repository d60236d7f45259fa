// The staging page-table shape, and the helper every entity migration uses to create its own.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
