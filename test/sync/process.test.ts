// The sync CLI as separate processes against one sandbox and one database: kill -9 in the middle
// and run again (equal, the killed run not left running); two concurrent syncs (one exits 5);
// an OAuth access token expiring mid-run is refreshed without an invalid_grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { spawnTs } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, expectWarehouseEqualsSandbox, sandboxConfig, sandboxEnv } from './helpers.ts';

let db: TestDb;
let sb: Sandbox;

beforeAll(async () => {
  db = await createTestDatabase('sync_process');
  sb = await startSandbox({
    contacts: 300,
    seed: 11,
    apiKeys: [API_KEY],
    limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 },
    oauth: { clientId: 'cid', clientSecret: 'csecret', refreshToken: 'rt-0', accessTokenTtlSeconds: 1 },
  });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

describe('sync processes', () => {
  it('kill -9 in the middle of a full sync: the next run succeeds at once, resumes, ends equal, and the killed run is abandoned', async () => {
    sb.setLatency(40);
    const child = spawnTs('scripts/sync.ts', ['--full'], sandboxEnv(sb, db.url, { KEAP_PAGE_SIZE: '20', KEAP_MERGE_EVERY_PAGES: '2' }));
    // Wait until the contact traversal is under way and some pages were merged.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await db.sql`select count(*)::int as n from keap_staging.contacts where merged_at is not null`.catch(() => [{ n: 0 }]);
      if (row.n >= 4) break;
      if (Date.now() > deadline || child.proc.exitCode !== null) throw new Error(`sync never got going: ${child.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.proc.kill('SIGKILL');
    await child.exit;
    sb.setLatency(0);
    const [killed] = await db.sql`select run_id, status from keap_meta.etl_run_log order by run_id desc limit 1`;
    expect(killed.status).toBe('running');
    const [cursor] = await db.sql`select full_after_id from keap_meta.sync_cursors where entity = 'contacts'`;
    expect(Number(cursor.full_after_id)).toBeGreaterThan(0);

    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    expect(res.value.entities.find((e) => e.entity === 'contacts')?.plan).toMatch(/resuming after id \d+/);
    const [after] = await db.sql`select status from keap_meta.etl_run_log where run_id = ${killed.run_id}`;
    expect(after.status).toBe('abandoned');
    await expectWarehouseEqualsSandbox(db.sql, sb);
  });

  it('two concurrent syncs: one runs, the other exits with code 5 naming the running run', async () => {
    sb.setLatency(30);
    const env = sandboxEnv(sb, db.url, { KEAP_PAGE_SIZE: '50' });
    const a = spawnTs('scripts/sync.ts', ['--full'], env);
    const b = spawnTs('scripts/sync.ts', ['--full'], env);
    const [ea, eb] = await Promise.all([a.exit, b.exit]);
    sb.setLatency(0);
    const codes = [ea.code, eb.code].sort();
    expect(codes).toEqual([0, 5]);
    const loser = ea.code === 5 ? a : b;
    expect(loser.output()).toMatch(/already has a running run \(run_id \d+/);
  });

  it('an OAuth access token expiring mid-run is refreshed and the run succeeds without invalid_grant', async () => {
    // ~15 pages at ~120 ms outlive the 1-second access token at least once.
    sb.setLatency(120);
    sb.store.updateContact(Number(([...sb.store.list('contacts')] as { id: string }[])[0].id), { job_title: 'OAuth test' });
    const before = sb.stats();
    const config = sandboxConfig(sb, {
      KEAP_API_KEY: '',
      KEAP_CLIENT_ID: 'cid',
      KEAP_CLIENT_SECRET: 'csecret',
      KEAP_REFRESH_TOKEN: sb.currentRefreshToken(),
      KEAP_TOKEN_URL: sb.tokenUrl,
      KEAP_PAGE_SIZE: '20',
    });
    const res = await runSync({ db, config }, { trigger: 'test', full: true, entities: ['contacts'] });
    sb.setLatency(0);
    expect(res.status).toBe('succeeded');
    const after = sb.stats();
    expect(after.tokenRefreshes - before.tokenRefreshes).toBeGreaterThanOrEqual(2);
    expect(after.invalidGrants - before.invalidGrants).toBe(0);
    await expectWarehouseEqualsSandbox(db.sql, sb);
    const leaked = await db.sql`
      select count(*)::int as n from keap_meta.etl_request_log
       where query_params::text ~ 'rt-|csecret' or coalesce(error, '') ~ 'rt-|csecret' or rate_limit_headers::text ~ 'rt-|csecret'`;
    expect(leaked[0].n).toBe(0);
  });

  it('--schedule runs syncs on the cron schedule in one process, and SIGINT stops it cleanly', async () => {
    const [{ before }] = await db.sql`select coalesce(max(run_id), 0)::int as before from keap_meta.etl_run_log`;
    // Every second (node-cron's six-field form): at least two scheduled runs, one at a time.
    const child = spawnTs('scripts/sync.ts', ['--schedule', '* * * * * *', '--entity', 'tags'], sandboxEnv(sb, db.url));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [row] = await db.sql`select count(*)::int as n from keap_meta.etl_run_log where run_id > ${before} and status = 'succeeded' and trigger = 'schedule'`;
      if (row.n >= 2) break;
      if (Date.now() > deadline || child.proc.exitCode !== null) throw new Error(`scheduled runs did not happen: ${child.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.proc.kill('SIGINT');
    const { code } = await child.exit;
    expect(code).toBe(0);
    expect(child.output()).toMatch(/scheduled: syncing on '\* \* \* \* \* \*'/);
    const running = await db.sql`select run_id from keap_meta.etl_run_log where status = 'running'`;
    expect(running).toEqual([]);
  });
});
