// withRun(): the TypeScript run boundary always ends the run with the right status, keeps the
// request log outside data transactions, and fails cleanly when tracking is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../scripts/lib/errors.ts';
import { TrackingError, withRun } from '../scripts/lib/run.ts';
import { spawnTs } from './helpers/child.ts';
import { createTestDatabase, type TestDb } from './helpers/db.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('with_run');
});
afterAll(async () => {
  await db?.drop();
});

async function runRow(runId: number) {
  const [row] = await db.sql`select * from keap_meta.etl_run_log where run_id = ${runId}`;
  return row!;
}

describe('withRun', () => {
  it('ends the run succeeded when the work returns, with its requests counted', async () => {
    const res = await withRun(db, 'wr_ok', { trigger: 'test', handleSignals: false }, async (ctx) => {
      await ctx.logRequest({ endpoint: '/rest/v2/tags', httpStatus: 200, recordCount: 3, headers: { 'x-keap-product-quota-available': '100' } });
      await ctx.event('info', 'fetched tags', { stage: 'fetch', entity: 'tags', data: { pages: 1 } });
      return 'done';
    });
    expect(res).toMatchObject({ status: 'succeeded', value: 'done', exitCode: 0 });
    const row = await runRow(res.runId);
    expect(row).toMatchObject({ status: 'succeeded', trigger: 'test', request_count: 1, record_count: 3 });
    const events = await db.sql`select stage, entity, message from keap_meta.etl_run_events where run_id = ${res.runId} order by event_id`;
    expect(events).toEqual([
      { stage: 'start', entity: null, message: 'run started' },
      { stage: 'fetch', entity: 'tags', message: 'fetched tags' },
      { stage: 'end', entity: null, message: 'run succeeded' },
    ]);
  });

  it('ends the run failed with SQLSTATE, message and entity when the work throws, and rethrows', async () => {
    let runId = 0;
    const err = await withRun(db, 'wr_fail', { handleSignals: false }, async (ctx) => {
      runId = ctx.runId;
      ctx.setEntity('contacts');
      await ctx.sql`select 1 / 0`;
    }).then(() => null, (e: { code?: string }) => e);
    expect(err?.code).toBe('22012');
    expect(await runRow(runId)).toMatchObject({ status: 'failed', error_sqlstate: '22012', error_message: 'division by zero [SQLSTATE 22012]', error_entity: 'contacts' });
  });

  it('keeps the request log when the data transaction that made the requests rolls back', async () => {
    let runId = 0;
    await withRun(db, 'wr_rollback', { handleSignals: false }, async (ctx) => {
      runId = ctx.runId;
      await ctx.sql.begin(async (tx) => {
        await ctx.logRequest({ endpoint: '/rest/v2/contacts', httpStatus: 200, recordCount: 1000 });
        await tx`create temporary table wr_tmp (x int)`;
        throw new Error('merge failed');
      });
    }).catch(() => {});
    const [{ n }] = await db.sql`select count(*)::int as n from keap_meta.etl_request_log where run_id = ${runId}`;
    expect(n).toBe(1);
    expect((await runRow(runId)).status).toBe('failed');
  });

  it('ends the run partial with exit code 6 when the work marks it partial', async () => {
    const res = await withRun(db, 'wr_partial', { handleSignals: false }, async (ctx) => {
      ctx.setEntity('contacts');
      ctx.markPartial('stopped at the daily quota reserve');
    });
    expect(res).toMatchObject({ status: 'partial', exitCode: EXIT.QUOTA_RESERVE });
    expect(await runRow(res.runId)).toMatchObject({ status: 'partial', error_message: 'stopped at the daily quota reserve', error_entity: 'contacts' });
  });

  it('refuses to start while another run of the pipeline is alive, with exit code 5', async () => {
    const err = await withRun(db, 'wr_busy', { handleSignals: false }, async () => {
      return withRun(db, 'wr_busy', { handleSignals: false }, async () => 'never');
    }).then(() => null, (e: unknown) => e);
    const { exitCodeFor } = await import('../scripts/lib/errors.ts');
    expect(exitCodeFor(err)).toBe(EXIT.RUN_IN_PROGRESS);
  });

  it('fails the run cleanly, never silently untracked, when the tracking connection is lost', async () => {
    let runId = 0;
    const err = await withRun(db, 'wr_lost', { handleSignals: false }, async (ctx) => {
      runId = ctx.runId;
      const [{ backend_pid }] = await ctx.sql`select backend_pid from keap_meta.etl_run_log where run_id = ${ctx.runId}`;
      await ctx.sql`select pg_terminate_backend(${backend_pid})`;
      await ctx.logRequest({ endpoint: '/rest/v2/contacts', httpStatus: 200 });
      return 'unreachable';
    }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TrackingError);
    expect((err as Error).message).toMatch(/run-tracking database connection was lost|run tracking failed/);
    const row = await runRow(runId);
    expect(row.status).toBe('failed');
    // Which one the run records depends on whether the driver noticed the closed socket before
    // the next tracking write failed: both say the run lost its tracking.
    expect(row.error_message).toMatch(/run-tracking database connection was lost|run tracking failed/);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`ends the run cancelled and exits 130 on ${signal}`, async () => {
      const child = spawnTs('test/fixtures/run-child.ts', [`wr_${signal.toLowerCase()}`], { DATABASE_URL: db.url });
      const [, runId] = await child.waitFor(/READY (\d+)/);
      child.proc.kill(signal);
      const { code } = await child.exit;
      expect(code).toBe(EXIT.CANCELLED);
      expect(await runRow(Number(runId))).toMatchObject({ status: 'cancelled', error_message: `run cancelled by ${signal}`, error_entity: 'contacts' });
    });
  }
});
