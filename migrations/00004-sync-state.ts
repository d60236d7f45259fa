// Sync cursors: per entity, the incremental watermark and the keyset position of a full traversal.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
