// Keap subscriptions with their custom field values; the subscription custom field model.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
