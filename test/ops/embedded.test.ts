// The embedded PostgreSQL's lifecycle through `npm run db`, and the first run as root from a
// private (0700) folder: the cluster is kept where the 'postgres' user can reach it, the first run
// says where, later runs reuse it silently. (.ci/run also runs the whole suite from a 0700 copy.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs } from '../helpers/child.ts';

const isRoot = process.getuid?.() === 0;
let priv: string;
let shared: string;
let env: Record<string, string>;

async function db(...args: string[]) {
  const child = spawnTs('scripts/db.ts', args, env);
  const { code } = await child.exit;
  return { code, out: child.output() };
}

beforeAll(() => {
  priv = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-private-'));
  fs.chmodSync(priv, 0o700);
  shared = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-shared-'));
  fs.chmodSync(shared, 0o755);
  env = { DATABASE_URL: '', KEAP_EMBEDDED_PG_DIR: path.join(priv, 'app', '.data', 'pg'), KEAP_EMBEDDED_PG_SHARED_DIR: shared };
});
afterAll(async () => {
  if (env) await db('stop');
  fs.rmSync(priv, { recursive: true, force: true });
  fs.rmSync(shared, { recursive: true, force: true });
});

describe('npm run db', () => {
  it('status before the first use says the cluster is not created yet and exits 3', async () => {
    const r = await db('status');
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/not created yet/);
  });

  it('start creates (as root in a private folder: says where it keeps the cluster) and starts the cluster, status shows it running, url connects, stop stops it', async () => {
    const started = await db('start');
    expect(started.code, started.out).toBe(0);
    if (isRoot) expect(started.out).toMatch(new RegExp(`the cluster for \\S+ is kept in ${shared}/clusters/`));
    expect(started.out).toMatch(/embedded PostgreSQL running: postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/keap_warehouse/);

    const status = await db('status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/state:\s+running/);

    const url = (await db('url')).out.trim().split('\n').pop()!;
    const { default: postgres } = await import('postgres');
    const sql = postgres(url, { max: 1 });
    const [row] = await sql`select current_database() as d`;
    await sql.end();
    expect(row!.d).toBe('keap_warehouse');

    const stopped = await db('stop');
    expect(stopped.out).toMatch(/embedded PostgreSQL stopped/);
    const after = await db('status');
    expect(after.code).toBe(3);
    expect(after.out).toMatch(/state:\s+stopped/);
    expect((await db('stop')).out).toMatch(/was not running/);
  });

  it.runIf(isRoot)('as root from a 0700 folder: the cluster lives in the shared folder, the first run says so, the next reuses it silently', async () => {
    const status = await db('status');
    expect(status.out).toContain(`cluster:  ${path.join(shared, 'clusters')}`);
    expect(status.out).toMatch(/instead of \S+\/app\/\.data\/pg: the 'postgres' user .* cannot reach/);
    // The first start (previous test) created it in the shared folder, owned by postgres.
    const clusterDir = status.out.match(/cluster:\s+(\S+)/)![1]!;
    expect(fs.existsSync(path.join(clusterDir, 'PG_VERSION'))).toBe(true);
    expect(fs.existsSync(path.join(priv, 'app', '.data', 'pg', 'PG_VERSION'))).toBe(false);

    const again = await db('start');
    expect(again.code).toBe(0);
    expect(again.out).not.toMatch(/is kept in/);
  });

  it('an unknown command is refused with the usage and exit code 1', async () => {
    const r = await db('restart-everything');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/unknown command 'restart-everything'/);
  });
});
