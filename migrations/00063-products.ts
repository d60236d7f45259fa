// Keap products with their options, subscription plans and categories; product categories.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
