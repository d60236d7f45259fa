// The merge layer v2: entity declarations as data (keap_meta.entity_columns / entity_children), _raw_hash, uncompressed staging.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
