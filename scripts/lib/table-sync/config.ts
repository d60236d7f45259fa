// Configuration of the Postgres → Postgres table syncs (`npm run sync -- --pipeline athletes`):
// where the source (app) database and the warehouse are. Environment variables or `.env` (real
// variables win), validated once; a problem is a ConfigError (exit 1) naming what to set.
//   source:    APP_DATABASE_URL, or the old tool's APP_HOST / APP_PORT / APP_DB / APP_USER /
//              APP_PASSWORD / APP_SSLMODE
//   warehouse: DATABASE_URL, or the old tool's WH_HOST / WH_PORT / WH_DB / WH_USER / WH_PASSWORD /
//              WH_SSLMODE; neither = the project's embedded server, as for the Keap pipeline.
// Connection strings carry passwords: they are wrapped in Secret and never printed unmasked.
import cron from 'node-cron';
import { ConfigError, Secret, applyDotEnv, type LoadConfigOptions } from '../config.ts';
import { maskUrl } from '../db.ts';

type Env = Record<string, string | undefined>;

export interface TableSyncConfig {
  /** The source database's connection string (APP_DATABASE_URL or built from APP_*). */
  sourceUrl: Secret;
  /** Which variables gave the source: for messages. */
  sourceFrom: 'APP_DATABASE_URL' | 'APP_HOST';
  /** The warehouse (DATABASE_URL or built from WH_*); unset = the embedded server. */
  warehouseUrl?: Secret;
  warehouseFrom?: 'DATABASE_URL' | 'WH_HOST';
  /** TABLE_SYNC_SCHEDULE: cron expression for --schedule's default; unset = run once. */
  schedule?: string;
}

const SSLMODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** Reads and validates the table-sync configuration; throws ConfigError (exit 1) listing every problem. */
export function loadTableSyncConfig(env: Env = process.env, opts: LoadConfigOptions = {}): TableSyncConfig {
  applyDotEnv(env, opts);
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  /** A URL from a *_DATABASE_URL variable, or one built from the old tool's PREFIX_* variables. */
  const database = (urlVar: string, prefix: 'APP' | 'WH', required: boolean): { url: Secret; from: string } | undefined => {
    const raw = get(urlVar);
    const parts = ['HOST', 'PORT', 'DB', 'USER', 'PASSWORD', 'SSLMODE'].map((p) => `${prefix}_${p}`);
    const partsSet = parts.filter((p) => get(p) !== undefined);
    if (raw !== undefined && partsSet.length > 0) {
      problems.push(`both ${urlVar} and ${partsSet.join(', ')} are set; use ${urlVar} alone, or unset it and use the ${prefix}_* variables`);
      return undefined;
    }
    if (raw !== undefined) {
      try {
        const u = new URL(raw);
        if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('protocol');
        if (!u.hostname) throw new Error('host');
        return { url: new Secret(raw), from: urlVar };
      } catch {
        // May hold a password: never echo it.
        problems.push(`${urlVar} must be a postgres:// or postgresql:// URL such as postgres://user@host:5432/dbname`);
        return undefined;
      }
    }
    if (partsSet.length === 0) {
      if (required) {
        problems.push(`${urlVar} is not set: set ${urlVar} (postgres://user@host:5432/dbname), or ${prefix}_HOST, ${prefix}_DB and ${prefix}_USER (${prefix}_PORT, ${prefix}_PASSWORD, ${prefix}_SSLMODE optional)`);
      }
      return undefined;
    }
    const host = get(`${prefix}_HOST`);
    const db = get(`${prefix}_DB`);
    const user = get(`${prefix}_USER`);
    const port = get(`${prefix}_PORT`) ?? '5432';
    const sslmode = get(`${prefix}_SSLMODE`);
    const before = problems.length;
    for (const [name, v] of [[`${prefix}_HOST`, host], [`${prefix}_DB`, db], [`${prefix}_USER`, user]] as const) {
      if (v === undefined) problems.push(`${name} is not set (needed with ${partsSet.join(', ')}; or set ${urlVar} instead)`);
    }
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) problems.push(`${prefix}_PORT must be a port number from 1 to 65535 (got '${port}')`);
    if (sslmode !== undefined && !SSLMODES.includes(sslmode)) problems.push(`${prefix}_SSLMODE must be one of ${SSLMODES.join(', ')} (got '${sslmode}')`);
    if (problems.length > before) return undefined;
    const u = new URL('postgres://localhost');
    u.hostname = host!.includes(':') && !host!.startsWith('[') ? `[${host}]` : host!;
    u.port = port;
    u.pathname = `/${encodeURIComponent(db!)}`;
    u.username = encodeURIComponent(user!);
    const password = env[`${prefix}_PASSWORD`];
    if (password !== undefined && password !== '') u.password = encodeURIComponent(password);
    // postgres.js reads sslmode from the URL; 'disable' is its default (no TLS).
    if (sslmode !== undefined && sslmode !== 'disable') u.searchParams.set('sslmode', sslmode);
    return { url: new Secret(u.toString()), from: `${prefix}_HOST` };
  };

  const source = database('APP_DATABASE_URL', 'APP', true);
  const warehouse = database('DATABASE_URL', 'WH', false);
  const schedule = get('TABLE_SYNC_SCHEDULE');
  if (schedule !== undefined && !cron.validate(schedule)) {
    problems.push(`TABLE_SYNC_SCHEDULE must be a cron expression such as '0 * * * *', or empty to run once (got '${schedule}')`);
  }
  if (problems.length > 0 || !source) throw new ConfigError(problems);
  return {
    sourceUrl: source.url,
    sourceFrom: source.from as TableSyncConfig['sourceFrom'],
    ...(warehouse ? { warehouseUrl: warehouse.url, warehouseFrom: warehouse.from as 'DATABASE_URL' | 'WH_HOST' } : {}),
    ...(schedule !== undefined ? { schedule } : {}),
  };
}

/** The source as safe to print (password masked). */
export function describeSource(c: TableSyncConfig): string {
  return maskUrl(c.sourceUrl.reveal());
}
