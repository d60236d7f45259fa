// Keap orders with their items, payment plan items and custom field values; the order custom field model.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
