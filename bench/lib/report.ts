// Shared bench helpers: a result row (figure beside its baseline from the same run, judged as a
// ratio against a goal), printed as one `BENCH_ROW <json>` line the runner collects; peak RSS; a
// fresh, migrated database on the configured server (DATABASE_URL, else the embedded one).
import { connect, type Db } from '../../scripts/lib/db.ts';
import { migrate } from '../../scripts/lib/migrate.ts';

export interface BenchRow {
  bench: string;
  /** Tenant size in contacts, or source rows for a table sync. */
  size: number;
  figure: string;
  value: number;
  unit: 's' | 'ms' | 'MB' | 'rows';
  baseline?: string;
  baseline_value?: number;
  ratio?: number;
  goal: string;
  /** A row for reading the others (no goal of its own): shown as "info", never fails the bench. */
  info?: boolean;
  pass: boolean;
  note?: string;
}

export function emit(row: BenchRow): void {
  console.log(`BENCH_ROW ${JSON.stringify(row)}`);
}

export function rssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export const UNLIMITED = { throttlePerMinute: 1e9, dailyQuota: 1e9, tenantPerMinute: 1e9, tenantPerDay: 1e9 };

/** Bench sizes from BENCH_SIZES (comma list of contact counts; the runner sets it). */
export function sizes(): number[] {
  return (process.env.BENCH_SIZES ?? '10000,100000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
}

export interface BenchDb extends Db {
  url: string;
  drop(): Promise<void>;
}

/** A new database `<prefix>_<pid>_<n>` on the configured server, migrated; drop() removes it. */
export async function freshDatabase(prefix: string): Promise<BenchDb> {
  const base = await connect({ applicationName: 'keap-sync bench admin', max: 1 });
  const name = `${prefix}_${process.pid}_${Math.floor(performance.now())}`;
  await base.sql.unsafe(`create database ${name}`);
  const u = new URL(process.env.DATABASE_URL ?? base.embedded!.url);
  u.pathname = `/${name}`;
  const db = await connect({ applicationName: 'keap-sync bench', url: u.toString(), max: 4 });
  await migrate(db.sql);
  return {
    ...db,
    url: u.toString(),
    drop: async () => {
      await db.close();
      await base.sql.unsafe(`drop database if exists ${name} with (force)`);
      await base.close();
    },
  };
}
