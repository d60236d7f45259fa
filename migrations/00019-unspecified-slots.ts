// Contact child slots accept the spec's *_UNSPECIFIED values. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
