// Run tracking in SQL: lifecycle, clear errors, one running run per pipeline, no zombies after
// kill -9, snapshots with composite keys, cleanup. Real PostgreSQL, one cloned database per file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLSTATE } from '../scripts/lib/errors.ts';
import { spawnTs } from './helpers/child.ts';
import { createTestDatabase, type TestDb } from './helpers/db.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('run_tracking');
});
afterAll(async () => {
  await db?.drop();
});

async function pgError(p: Promise<unknown>): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string; hint?: string };
  }
  throw new Error('expected a database error');
}

describe('run lifecycle', () => {
  it('starts, logs a request with parsed rate-limit headers, heartbeats and ends succeeded', async () => {
    const conn = await db.sql.reserve();
    try {
      const [{ run_id }] = await conn`select keap_meta.start_run('life', 'manual', 'lifecycle test', 'host1', 42) as run_id`;
      const [{ request_id }] = await conn`
        select keap_meta.log_request(p_run_id => ${run_id}, p_endpoint => '/rest/v2/contacts',
          p_query_params => '{"page_size": "1000", "access_token": "s3cret", "page_token": "abc"}',
          p_http_status => 200, p_record_count => 1000, p_bytes => 12345, p_duration_ms => 87,
          p_headers => '{"x-keap-product-throttle-available": "1499", "x-keap-product-quota-available": "149000",
                         "x-keap-tenant-throttle-available": "9999|249999", "retry-after": "3", "content-type": "x"}') as request_id`;
      await conn`select keap_meta.heartbeat(${run_id}, '{"entity": "contacts", "pages": 1}')`;
      const [ended] = await conn`select (keap_meta.end_run(${run_id}, 'succeeded')).*`;
      expect(ended.status).toBe('succeeded');

      const [req] = await db.sql`select * from keap_meta.etl_request_log where request_id = ${request_id}`;
      expect(req.query_params).toEqual({ page_size: '1000', access_token: '[redacted]', page_token: 'abc' });
      expect(req.throttle_available).toBe(1499);
      expect(req.quota_available).toBe(149000);
      expect(req.tenant_throttle_available).toBe(9999);
      expect(req.tenant_quota_available).toBe(249999);
      expect(Number(req.retry_after_seconds)).toBe(3);
      expect(Object.keys(req.rate_limit_headers).sort()).toEqual([
        'retry-after', 'x-keap-product-quota-available', 'x-keap-product-throttle-available', 'x-keap-tenant-throttle-available']);
      const [run] = await db.sql`select * from keap_meta.etl_run_log where run_id = ${run_id}`;
      expect(run).toMatchObject({ status: 'succeeded', request_count: 1, record_count: 1000, host: 'host1', pid: 42 });
      // The progress as reported, completed in SQL with the quota figures of the run's last request.
      expect(run.progress).toEqual({ entity: 'contacts', pages: 1, quota_available: 149000, throttle_available: 1499 });
      expect(run.ended_at).not.toBeNull();
      const events = await db.sql`select stage, message from keap_meta.etl_run_events where run_id = ${run_id} order by event_id`;
      expect(events.map((e) => e.stage)).toEqual(['start', 'end']);
    } finally {
      conn.release();
    }
  });

  it('end_run is idempotent: ending twice keeps the first ending', async () => {
    const conn = await db.sql.reserve();
    try {
      const [{ run_id }] = await conn`select keap_meta.start_run('idem') as run_id`;
      const [first] = await conn`select (keap_meta.end_run(${run_id}, 'failed', '22P02', 'bad value', 'contacts')).*`;
      const [second] = await conn`select (keap_meta.end_run(${run_id}, 'succeeded')).*`;
      expect(second.status).toBe('failed');
      expect(second.ended_at).toEqual(first.ended_at);
      expect(second).toMatchObject({ error_sqlstate: '22P02', error_message: 'bad value', error_entity: 'contacts' });
    } finally {
      conn.release();
    }
  });

  it('log_request on an ended run fails with a clear message and a hint', async () => {
    const conn = await db.sql.reserve();
    try {
      const [{ run_id }] = await conn`select keap_meta.start_run('ended') as run_id`;
      await conn`select keap_meta.end_run(${run_id}, 'succeeded')`;
      const err = await pgError(conn`select keap_meta.log_request(${run_id}, '/rest/v2/tags')`);
      expect(err.code).toBe(SQLSTATE.RUN_NOT_RUNNING);
      expect(err.message).toMatch(new RegExp(`run ${run_id} is not running \\(status succeeded`));
      expect(err.hint).toMatch(/start a new run/);
    } finally {
      conn.release();
    }
  });

  it('log_request on an unknown run fails with a clear message and a hint', async () => {
    const err = await pgError(db.sql`select keap_meta.log_request(987654321, '/rest/v2/tags')`);
    expect(err.code).toBe(SQLSTATE.RUN_UNKNOWN);
    expect(err.message).toBe('run 987654321 does not exist');
    expect(err.hint).toMatch(/keap_meta\.start_run/);
  });

  it('a request row cannot exist without a run (foreign key)', async () => {
    const err = await pgError(db.sql`insert into keap_meta.etl_request_log (run_id, endpoint) values (987654321, '/x')`);
    expect(err.code).toBe('23503');
  });
});

describe('one running run per pipeline', () => {
  it('two concurrent starts: exactly one wins, the other is refused naming the running run', async () => {
    const a = await db.sql.reserve();
    const b = await db.sql.reserve();
    try {
      const results = await Promise.allSettled([
        a`select keap_meta.start_run('race') as run_id`,
        b`select keap_meta.start_run('race') as run_id`,
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const runId = (won[0] as unknown as PromiseFulfilledResult<{ run_id: number }[]>).value[0]!.run_id;
      expect(lost[0]!.reason.code).toBe(SQLSTATE.RUN_IN_PROGRESS);
      expect(lost[0]!.reason.message).toContain(`run_id ${runId}`);
      const [{ n }] = await db.sql`select count(*)::int as n from keap_meta.etl_run_log where pipeline = 'race' and status = 'running'`;
      expect(n).toBe(1);
    } finally {
      for (const c of [a, b]) {
        await c`select keap_meta.end_run(run_id, 'succeeded') from keap_meta.etl_run_log where pipeline = 'race' and status = 'running' and backend_pid = pg_backend_pid()`;
        c.release();
      }
    }
  });

  it('the database refuses a second running row for a pipeline even without start_run', async () => {
    const conn = await db.sql.reserve();
    try {
      await conn`select keap_meta.start_run('direct')`;
      const err = await pgError(db.sql`insert into keap_meta.etl_run_log (pipeline) values ('direct')`);
      expect(err.code).toBe(SQLSTATE.UNIQUE_VIOLATION);
    } finally {
      await conn`select keap_meta.end_run(run_id, 'succeeded') from keap_meta.etl_run_log where pipeline = 'direct' and status = 'running'`;
      conn.release();
    }
  });

  it('different pipelines run side by side', async () => {
    const a = await db.sql.reserve();
    const b = await db.sql.reserve();
    try {
      const [[ra], [rb]] = await Promise.all([a`select keap_meta.start_run('side_a') as id`, b`select keap_meta.start_run('side_b') as id`]);
      expect(ra!.id).not.toBe(rb!.id);
      await a`select keap_meta.end_run(${ra!.id}, 'succeeded')`;
      await b`select keap_meta.end_run(${rb!.id}, 'succeeded')`;
    } finally {
      a.release();
      b.release();
    }
  });

  it('a run whose process was killed with SIGKILL does not block the next start, which marks it abandoned', async () => {
    const child = spawnTs('test/fixtures/run-child.ts', ['killed_pipeline'], { DATABASE_URL: db.url });
    const [, childRun] = await child.waitFor(/READY (\d+)/);
    const [before] = await db.sql`select status, keap_meta.run_owner_alive('killed_pipeline') as alive from keap_meta.etl_run_log where run_id = ${childRun}`;
    expect(before).toEqual({ status: 'running', alive: true });

    child.proc.kill('SIGKILL');
    await child.exit;
    // PostgreSQL notices the dead client quickly; the new start must not wait for a heartbeat timeout.
    const conn = await db.sql.reserve();
    try {
      let runId: number | undefined;
      const deadline = Date.now() + 10_000;
      while (runId === undefined) {
        try {
          [{ run_id: runId }] = await conn`select keap_meta.start_run('killed_pipeline') as run_id`;
        } catch (err) {
          if ((err as { code?: string }).code !== SQLSTATE.RUN_IN_PROGRESS || Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const [old] = await db.sql`select status, ended_at, error_message from keap_meta.etl_run_log where run_id = ${childRun}`;
      expect(old!.status).toBe('abandoned');
      expect(old!.ended_at).not.toBeNull();
      const [req] = await db.sql`select count(*)::int as n from keap_meta.etl_request_log where run_id = ${childRun}`;
      expect(req!.n).toBe(1);
      await conn`select keap_meta.end_run(${runId}, 'succeeded')`;
    } finally {
      conn.release();
    }
  });

  it('a live but silent run looks stuck in keap_ops.runs once its heartbeat is stale', async () => {
    const conn = await db.sql.reserve();
    try {
      const [{ run_id }] = await conn`select keap_meta.start_run('stuck') as run_id`;
      await db.sql`update keap_meta.etl_run_log set heartbeat_at = now() - interval '1 hour' where run_id = ${run_id}`;
      const [row] = await db.sql`select owner_alive, looks_stuck from keap_ops.runs where run_id = ${run_id}`;
      expect(row).toEqual({ owner_alive: true, looks_stuck: true });
      await conn`select keap_meta.heartbeat(${run_id})`;
      const [after] = await db.sql`select looks_stuck from keap_ops.runs where run_id = ${run_id}`;
      expect(after!.looks_stuck).toBe(false);
      await conn`select keap_meta.end_run(${run_id}, 'succeeded')`;
    } finally {
      conn.release();
    }
  });
});

describe('counts, snapshots and cleanup', () => {
  it('records source counts and snapshots a composite-key table with min/max keys in key order', async () => {
    const conn = await db.sql.reserve();
    try {
      await db.sql`create table keap.snap_test (b_id bigint, a_id bigint, _deleted_at timestamptz, primary key (b_id, a_id))`;
      await db.sql`insert into keap.snap_test values (2, 1, null), (1, 9, null), (1, 3, now()), (2, 0, null)`;
      const [{ run_id }] = await conn`select keap_meta.start_run('snap') as run_id`;
      await conn`select keap_meta.log_source_count(${run_id}, 'contacts', 100, 98)`;
      const [snap] = await conn`select (keap_meta.take_table_snapshot(${run_id}, 'keap.snap_test')).*`;
      expect(snap).toMatchObject({ row_count: 4, live_count: 3, key_columns: ['b_id', 'a_id'], min_key: [1, 3], max_key: [2, 1] });
      const [sc] = await db.sql`select source_count, warehouse_count from keap_meta.source_counts where run_id = ${run_id}`;
      expect(sc).toEqual({ source_count: 100, warehouse_count: 98 });
      await conn`select keap_meta.end_run(${run_id}, 'succeeded')`;
    } finally {
      await db.sql`drop table if exists keap.snap_test`;
      conn.release();
    }
  });

  it('cleanup_old_runs deletes old runs with all their rows and staged pages, and keeps recent and running runs', async () => {
    await db.sql`select keap_meta.create_staging_table('cleanup_test')`;
    const conn = await db.sql.reserve();
    const ids: number[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const [{ run_id }] = await conn`select keap_meta.start_run('cleanup') as run_id`;
        for (let r = 0; r < 5; r++) {
          const [{ request_id }] = await conn`select keap_meta.log_request(${run_id}, '/rest/v2/contacts') as request_id`;
          await conn`insert into keap_staging.cleanup_test (run_id, request_id, page_no, payload) values (${run_id}, ${request_id}, ${r + 1}, '{}')`;
        }
        await conn`select keap_meta.log_event(${run_id}, 'info', 'hello')`;
        await conn`select keap_meta.log_source_count(${run_id}, 'contacts', 1, 1)`;
        await conn`select keap_meta.end_run(${run_id}, 'succeeded')`;
        ids.push(run_id);
      }
      // Two runs are old, one is recent; a running run is never touched even if old.
      await db.sql`update keap_meta.etl_run_log set started_at = now() - interval '40 days', ended_at = now() - interval '40 days' where run_id in ${db.sql(ids.slice(0, 2))}`;
      const [{ run_id: running }] = await conn`select keap_meta.start_run('cleanup') as run_id`;
      await db.sql`update keap_meta.etl_run_log set started_at = now() - interval '40 days' where run_id = ${running}`;

      const [res] = await db.sql`call keap_meta.cleanup_old_runs(30, 2)`;
      expect(res).toEqual({ p_deleted_runs: 2, p_deleted_rows: 2 * (5 + 5 + 3 + 1) });
      const left = await db.sql`select run_id from keap_meta.etl_run_log where pipeline = 'cleanup' order by run_id`;
      expect(left.map((r) => r.run_id)).toEqual([ids[2], running]);
      const [{ pages }] = await db.sql`select count(*)::int as pages from keap_staging.cleanup_test`;
      expect(pages).toBe(5);
      const [{ reqs }] = await db.sql`select count(*)::int as reqs from keap_meta.etl_request_log where run_id in ${db.sql(ids)}`;
      expect(reqs).toBe(5);
      await conn`select keap_meta.end_run(${running}, 'succeeded')`;
    } finally {
      conn.release();
    }
  });
});
