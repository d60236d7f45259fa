// Merge layer: money data types, keyed / ordinal child collections (nested paths) and surrogate record keys.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
