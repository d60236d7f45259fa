// analytics.athlete_dim_rows: the table the athletes table sync fills. SQL in the sibling .sql file.
import { sqlFile } from '../scripts/lib/sql-file.ts';

export const up = sqlFile(import.meta.url);
