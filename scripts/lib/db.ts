// The one way every script reaches PostgreSQL. DATABASE_URL when set; otherwise the project's
// embedded server (data in .data/pg, git-ignored), started on demand and stopped on exit by the
// process that started it, unless other clients are still connected to it.
// One postgres() instance per process, with application_name set so DBAs see us in pg_stat_activity.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { ensureEmbeddedServer, type EmbeddedServer } from './embedded-pg.ts';

export type Sql = postgres.Sql<Record<string, unknown>>;

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Exit code for "cannot reach the database" (documented in the README). */
export const EXIT_DB_CONNECTION = 2;

export interface Db {
  sql: Sql;
  /**
   * A separate single-connection client to the same database, for state that must live on one
   * connection we control (the run's advisory lock). `onClose` fires if that connection drops.
   */
  dedicated(applicationName: string, onClose: () => void): Sql;
  /** Connection string in use, with the password masked (safe to print). */
  displayUrl: string;
  /** Set when the embedded server is in use. */
  embedded?: EmbeddedServer;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Shown in pg_stat_activity; `keap-sync` plus the script's name is a good value. */
  applicationName: string;
  /** Pool size; tracking needs one reserved connection besides the data work. */
  max?: number;
  /** Overrides DATABASE_URL (tests). */
  url?: string;
}

export class DatabaseConnectionError extends Error {
  readonly exitCode = EXIT_DB_CONNECTION;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseConnectionError';
  }
}

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '(unparseable connection string)';
  }
}

export function embeddedDataDir(): string {
  return process.env.KEAP_EMBEDDED_PG_DIR ? path.resolve(process.env.KEAP_EMBEDDED_PG_DIR) : path.join(PROJECT_ROOT, '.data', 'pg');
}

/** Connect (starting the embedded server when no URL is configured) and check the connection works. */
export async function connect(opts: ConnectOptions): Promise<Db> {
  let url = opts.url ?? process.env.DATABASE_URL;
  let embedded: EmbeddedServer | undefined;
  if (!url) {
    try {
      embedded = await ensureEmbeddedServer({
        dataDir: embeddedDataDir(),
        port: process.env.KEAP_EMBEDDED_PG_PORT ? Number(process.env.KEAP_EMBEDDED_PG_PORT) : 0,
      });
    } catch (err) {
      throw new DatabaseConnectionError(`Could not start the embedded PostgreSQL: ${(err as Error).message}`, { cause: err });
    }
    url = embedded.url;
  }
  const sql = makeSql(url, opts.applicationName, opts.max ?? 4);
  try {
    await sql`select 1`;
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    if (embedded?.startedHere) await embedded.stop().catch(() => {});
    throw new DatabaseConnectionError(`Could not connect to PostgreSQL at ${maskUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  let closed = false;
  const dedicatedClients: Sql[] = [];
  return {
    sql,
    dedicated: (applicationName, onClose) => {
      const c = makeSql(url!, applicationName, 1, onClose);
      dedicatedClients.push(c);
      return c;
    },
    displayUrl: maskUrl(url),
    embedded,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all(dedicatedClients.map((c) => c.end({ timeout: 5 })));
      await sql.end({ timeout: 5 });
      if (embedded?.startedHere && !(await otherClientsConnected(embedded.adminUrl))) await embedded.stop();
    },
  };
}

/** Leave the embedded server up while another client (e.g. a concurrent sync) still uses it. */
async function otherClientsConnected(adminUrl: string): Promise<boolean> {
  const probe = postgres(adminUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'keap-sync shutdown check' } });
  try {
    const [row] = await probe`
      select count(*)::int as n from pg_stat_activity
      where backend_type = 'client backend' and pid <> pg_backend_pid()`;
    return Number(row?.n ?? 0) > 0;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 2 });
  }
}

function makeSql(url: string, applicationName: string, max: number, onClose?: () => void): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 15,
    // temp_buffers: the merges' working tables (a batch of records, about 2 KB each) stay in memory
    // instead of spilling to temporary files (allocated only as used; settable only at session start).
    connection: { application_name: applicationName, temp_buffers: '64MB' },
    // A dedicated connection must never be recycled behind our back: it holds session state.
    ...(onClose ? { onclose: () => onClose(), max_lifetime: 0, idle_timeout: 0 } : {}),
    // bigint (ids, counts) come back as JS numbers; Keap ids are far below 2^53.
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: number | bigint) => x.toString(),
        parse: (x: string) => {
          const n = Number(x);
          return Number.isSafeInteger(n) ? n : BigInt(x);
        },
      },
    },
    transform: { undefined: null },
  }) as unknown as Sql;
}
