// `npm run schedule` as real processes against one sandbox and a database per test: second-level
// ticks, busy ticks recorded skipped with the run that held the pipeline, catch-up run once,
// --no-migrate holding jobs until the schema is migrated, SIGTERM mid-run (run cancelled, exit 0)
// and two schedulers side by side never running the pipeline twice.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../scripts/lib/migrate.ts';
import { withRun } from '../../scripts/lib/run.ts';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { spawnTs, type Child } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxEnv } from '../sync/helpers.ts';

let sb: Sandbox;
const dbs: TestDb[] = [];
const children: Child[] = [];

beforeAll(async () => {
  sb = await startSandbox({ contacts: 60, seed: 7, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterEach(async () => {
  sb.setLatency(0);
  for (const c of children.splice(0)) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
});
afterAll(async () => {
  await sb?.close();
  for (const d of dbs) await d.drop();
});

async function freshDb(label: string): Promise<TestDb> {
  const d = await createTestDatabase(label);
  dbs.push(d);
  return d;
}

/** Only the incremental job, on the given cron; everything else off. */
function schedule(db: TestDb, cron: string, args: string[] = [], extra: Record<string, string> = {}): Child {
  const c = spawnTs('scripts/schedule.ts', args, sandboxEnv(sb, db.url, {
    SCHEDULE_KEAP_INCREMENTAL: cron,
    SCHEDULE_KEAP_FULL: 'off',
    SCHEDULE_RETENTION: 'off',
    ...extra,
  }));
  children.push(c);
  return c;
}

async function until<T>(what: string, child: Child | undefined, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child ? `: ${child.output()}` : ''}`);
    if (child && child.proc.exitCode !== null) throw new Error(`scheduler exited (${child.proc.exitCode}) before ${what}: ${child.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function executions(db: TestDb, job = 'keap-incremental') {
  return db.sql`select scheduled_for, trigger, status, run_id, holding_run_id, message from keap_meta.job_executions where job = ${job} order by scheduled_for`;
}

describe('npm run schedule', () => {
  it('ticks at second granularity, prints the effective schedule, shows it in keap_ops.schedules, and stops on SIGTERM with exit 0', async () => {
    const db = await freshDb('sched_ticks');
    const child = schedule(db, '*/2 * * * * *');
    await until('two succeeded ticks', child, async () => (await executions(db)).filter((e) => e.status === 'succeeded').length >= 2);

    expect(child.output()).toMatch(/schedule \(time zone UTC; scheduler [^)]+\):\n\s+keap-incremental\s+\*\/2 \* \* \* \* \*\s+next \d{4}-\d\d-\d\dT/);
    expect(child.output()).toMatch(/keap-full\s+off \(SCHEDULE_KEAP_FULL=off\)/);
    const ticks = (await executions(db)).filter((e) => e.status === 'succeeded');
    // Each tick is an even second, two seconds or more apart.
    expect(ticks.every((t) => (t.scheduled_for as Date).getUTCSeconds() % 2 === 0)).toBe(true);
    const [view] = await db.sql`select * from keap_ops.schedules where job = 'keap-incremental'`;
    expect(view).toMatchObject({ cron: '*/2 * * * * *', timezone: 'UTC', enabled: true, scheduler_alive: true, pipeline: 'keap' });
    expect(view!.next_run_at).toBeInstanceOf(Date);
    // A run longer than the 2 s interval (a loaded machine, every entity) makes the next tick skip: also right.
    expect(['succeeded', 'running', 'skipped']).toContain(view!.last_status);
    const [off] = await db.sql`select enabled, cron, description from keap_ops.schedules where job = 'keap-full'`;
    expect(off).toMatchObject({ enabled: false, cron: null });

    child.proc.kill('SIGTERM');
    const { code } = await child.exit;
    expect(code, child.output()).toBe(0);
    expect(child.output()).toMatch(/scheduler stopped/);
    const running = await db.sql`select run_id from keap_meta.etl_run_log where status = 'running'`;
    expect(running).toEqual([]);
  });

  it('a tick that finds its pipeline busy — in this process or another — is recorded skipped with the run that holds it', async () => {
    const db = await freshDb('sched_busy');
    // Another process (here: the test) holds the keap pipeline.
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    let holderRunId = 0;
    const holder = withRun(db, 'keap', { trigger: 'test', handleSignals: false }, async (ctx) => {
      holderRunId = ctx.runId;
      await held;
    });
    await until('the holder run', undefined, async () => holderRunId > 0);
    const child = schedule(db, '* * * * * *');
    const skipped = await until('a skipped tick', child, async () => (await executions(db)).find((e) => e.status === 'skipped'));
    expect(Number(skipped.holding_run_id)).toBe(holderRunId);
    expect(skipped.message).toMatch(/pipeline keap is busy/);
    release();
    await holder;

    // Now runs take longer than a second (slow pages), so the process's own next ticks find it busy.
    sb.setLatency(150);
    const own = await until('a tick skipped because this scheduler is still running the pipeline', child, async () =>
      (await executions(db)).find((e) => e.status === 'skipped' && e.holding_run_id && Number(e.holding_run_id) !== holderRunId),
    );
    const [holdingRun] = await db.sql`select trigger, pid from keap_meta.etl_run_log where run_id = ${own.holding_run_id}`;
    expect(holdingRun).toMatchObject({ trigger: 'schedule', pid: child.proc.pid });
    child.proc.kill('SIGTERM');
    expect((await child.exit).code).toBe(0);
    // Never two runs of the pipeline at once.
    const runs = await db.sql`select started_at, ended_at from keap_meta.etl_run_log where pipeline = 'keap' order by started_at`;
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.ended_at.getTime());
  });

  it('a tick missed while no scheduler ran is run once at start (catch-up), never as a burst', async () => {
    const db = await freshDb('sched_catchup');
    // The last scheduler handled the 10:00-ish tick 10 minutes ago and then stopped.
    await db.sql`insert into keap_meta.schedule_jobs (job, kind, pipeline, cron, first_registered_at)
                 values ('keap-incremental', 'keap-incremental', 'keap', '0 * * * * *', now() - interval '1 hour')`;
    await db.sql`insert into keap_meta.job_executions (job, scheduled_for, trigger, status, ended_at)
                 values ('keap-incremental', date_trunc('minute', now()) - interval '10 minutes', 'tick', 'succeeded', now() - interval '10 minutes')`;
    const child = schedule(db, '0 * * * * *', [], { SCHEDULE_CATCHUP_MINUTES: '30' });
    const caught = await until('the catch-up execution', child, async () => (await executions(db)).find((e) => e.trigger === 'catch-up' && e.status !== 'running'));
    expect(caught.status).toBe('succeeded');
    // The newest missed minute (this minute's or the previous one's second 0), not the oldest.
    expect(Date.now() - (caught.scheduled_for as Date).getTime()).toBeLessThan(61_000 + 30_000);
    expect(child.output()).toMatch(/was missed while no scheduler ran; running it once now \(catch-up\)/);
    child.proc.kill('SIGTERM');
    expect((await child.exit).code).toBe(0);
    const catchUps = (await executions(db)).filter((e) => e.trigger === 'catch-up');
    expect(catchUps).toHaveLength(1);
  });

  it('with --no-migrate and a schema older than the code, it says what is pending and runs no job until npm run migrate', async () => {
    const db = await freshDb('sched_nomigrate');
    await db.sql`update keap_meta.sql_deploys set sha256 = repeat('0', 64) where file = 'sql/views/001-runs.sql'`;
    const child = schedule(db, '* * * * * *', ['--no-migrate']);
    await until('a held tick', child, async () => (await executions(db)).find((e) => e.status === 'skipped'));
    expect(child.output()).toMatch(/schema is older than the code \(--no-migrate\): pending sql\/views\/001-runs\.sql/);
    const [runs] = await db.sql`select count(*)::int as n from keap_meta.etl_run_log`;
    expect(runs!.n).toBe(0);
    const held = (await executions(db)).find((e) => e.status === 'skipped')!;
    expect(held.message).toMatch(/run npm run migrate/);

    await migrate(db.sql);
    await until('a job after the migration', child, async () => (await executions(db)).find((e) => e.status === 'succeeded'));
    expect(child.output()).toMatch(/the schema is up to date now/);
    child.proc.kill('SIGTERM');
    expect((await child.exit).code).toBe(0);
  });

  it('SIGTERM in the middle of a run: ticking stops, the run ends cancelled, the process exits 0', async () => {
    const db = await freshDb('sched_sigterm');
    sb.setLatency(150);
    const child = schedule(db, '* * * * * *', [], { KEAP_PAGE_SIZE: '10', KEAP_MERGE_EVERY_PAGES: '1' });
    const runId = await until('a run with merged pages', child, async () => {
      const [r] = await db.sql`select run_id from keap_meta.etl_run_log r where status = 'running'
                                 and exists (select from keap_meta.merge_log m where m.run_id = r.run_id)`;
      return r ? Number(r.run_id) : undefined;
    });
    child.proc.kill('SIGTERM');
    const { code } = await child.exit;
    expect(code, child.output()).toBe(0);
    const [run] = await db.sql`select status, error_message from keap_meta.etl_run_log where run_id = ${runId}`;
    expect(run).toMatchObject({ status: 'cancelled', error_message: 'run cancelled by SIGTERM' });
    const [exec] = await db.sql`select status from keap_meta.job_executions where run_id = ${runId}`;
    expect(exec!.status).toBe('cancelled');
    const after = await db.sql`select count(*)::int as n from keap_meta.etl_run_log where run_id > ${runId}`;
    expect(after[0]!.n).toBe(0);
  });

  it('two schedulers side by side: each tick is handled once and the pipeline never runs twice at a time', async () => {
    const db = await freshDb('sched_two');
    sb.setLatency(40);
    const a = schedule(db, '* * * * * *');
    const b = schedule(db, '* * * * * *');
    await until('four succeeded runs', a, async () => {
      const [r] = await db.sql`select count(*)::int as n from keap_meta.etl_run_log where pipeline = 'keap' and status = 'succeeded'`;
      return r!.n >= 4;
    }, 90_000);
    a.proc.kill('SIGTERM');
    b.proc.kill('SIGTERM');
    const [ea, eb] = await Promise.all([a.exit, b.exit]);
    expect([ea.code, eb.code]).toEqual([0, 0]);

    const runs = await db.sql`select run_id, pid, started_at, ended_at from keap_meta.etl_run_log where pipeline = 'keap' order by started_at`;
    for (let i = 1; i < runs.length; i++) expect(runs[i]!.started_at.getTime()).toBeGreaterThanOrEqual(runs[i - 1]!.ended_at.getTime());
    // No tick was handled twice (the key is unique; count per tick is 1), and the scheduler that lost a
    // tick says so (which one wins each tick is a race: one may win them all).
    const byPid = await db.sql`select pid, count(*)::int as n from keap_meta.job_executions group by pid`;
    expect(byPid.length).toBeGreaterThanOrEqual(1);
    expect(byPid.length).toBeLessThanOrEqual(2);
    const [dup] = await db.sql`select count(*)::int as n from (select job, scheduled_for from keap_meta.job_executions group by 1, 2 having count(*) > 1) d`;
    expect(dup!.n).toBe(0);
    expect(a.output() + b.output()).toMatch(/is handled by another scheduler/);
  });
});
