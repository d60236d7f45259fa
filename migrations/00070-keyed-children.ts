// Merge layer: child collections keyed by an integer id of the item ("keyed"). SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
