// The scheduler behind `npm run schedule`: one node-cron task per enabled job, every tick handled
// the same way —
//   1. claim the tick in keap_meta.job_executions (unique per job and instant: of two schedulers
//      side by side, exactly one handles it; the other says so and does nothing),
//   2. refuse while the schema is older than the code (--no-migrate) or while this process already
//      runs the job's pipeline (recorded `skipped`, with the run that holds it),
//   3. run the job as a tracked run (jobs.ts) — the database's run lock refuses a pipeline that
//      another process or machine is running, which is recorded `skipped` too,
//   4. record the outcome, refresh next_run_at, and let the alerter flip the job's alert state.
// At start the effective schedule is stored (keap_ops.schedules) and printed, and a tick missed
// during downtime (within SCHEDULE_CATCHUP_MINUTES) is run once. stop() stops ticking and waits,
// bounded by SCHEDULE_STOP_TIMEOUT_SECONDS, for running jobs (their runs end `cancelled` by the
// run boundary's own signal handling; pipeline child processes get the signal forwarded).
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';
import { describeError } from '../errors.ts';
import { migrateStatus } from '../migrate.ts';
import { createAlerter, type Alerter } from './alerts.ts';
import { runJob, runningRunOf, type JobOutcome } from './jobs.ts';
import type { JobDef, ScheduleConfig } from './schedule-config.ts';

export interface SchedulerOptions {
  db: Db;
  schedule: ScheduleConfig;
  keap?: Config;
  /** False (--no-migrate): jobs wait until the schema matches the code. */
  schemaReady: boolean;
  log?: (line: string) => void;
}

type Trigger = 'tick' | 'catch-up' | 'manual';

const me = `${os.hostname()}:${process.pid}`;

function second(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export class Scheduler {
  private readonly db: Db;
  private readonly cfg: ScheduleConfig;
  private readonly keap?: Config;
  private readonly log: (line: string) => void;
  private readonly alerter: Alerter;
  private readonly tasks = new Map<string, ScheduledTask>();
  /** Pipeline -> the execution of this process running it. */
  private readonly busy = new Map<string, { job: string; runId: Promise<number | null> }>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly children = new Set<ChildProcess>();
  private schemaReady: boolean;
  private stopping = false;
  private heartbeat?: NodeJS.Timeout;

  constructor(o: SchedulerOptions) {
    this.db = o.db;
    this.cfg = o.schedule;
    this.keap = o.keap;
    this.schemaReady = o.schemaReady;
    this.log = o.log ?? ((l) => console.log(l));
    this.alerter = createAlerter(this.db.sql, this.cfg.alert, this.log);
  }

  get enabledJobs(): JobDef[] {
    return this.cfg.jobs.filter((j) => j.cron);
  }

  /** Store and print the schedule, run missed ticks once, start ticking. */
  async start(): Promise<void> {
    const sql = this.db.sql;
    // A task per enabled job (node-cron computes every instant; nothing here parses cron).
    for (const job of this.enabledJobs) {
      const task = cron.createTask(job.cron!, (ctx) => this.onTick(job, ctx.date), { timezone: this.cfg.timezone, name: job.name });
      this.tasks.set(job.name, task);
    }
    const previous = new Map<string, Date>();
    for (const job of this.cfg.jobs) {
      const [row] = await sql`
        select greatest(j.first_registered_at, (select max(scheduled_for) from keap_meta.job_executions x where x.job = j.job)) as since
          from keap_meta.schedule_jobs j where j.job = ${job.name}`;
      if (row?.since) previous.set(job.name, row.since as Date);
      await sql`
        insert into keap_meta.schedule_jobs (job, kind, pipeline, cron, timezone, enabled, description, scheduler, seen_at)
        values (${job.name}, ${job.kind}, ${job.pipeline}, ${job.cron ?? null}, ${this.cfg.timezone}, ${!!job.cron}, ${job.description}, ${me}, clock_timestamp())
        on conflict (job) do update
          set kind = excluded.kind, pipeline = excluded.pipeline, cron = excluded.cron, timezone = excluded.timezone,
              enabled = excluded.enabled, description = excluded.description, scheduler = excluded.scheduler,
              registered_at = clock_timestamp(), seen_at = clock_timestamp()`;
    }
    await sql`
      update keap_meta.schedule_jobs set enabled = false, next_run_at = null,
             description = 'not scheduled by the scheduler started last (' || ${me} || ')'
       where job <> all(${this.cfg.jobs.map((j) => j.name)})`;

    for (const task of this.tasks.values()) await task.start();
    await this.storeNextRuns();
    this.printSchedule();

    this.heartbeat = setInterval(() => {
      void this.storeNextRuns().catch((err: unknown) => this.log(`could not record the scheduler heartbeat: ${describeError(err)}`));
    }, 30_000);
    this.heartbeat.unref();

    // Catch-up: the newest tick missed since the last execution (or the job's first declaration),
    // within the window — run once, never a burst.
    if (this.cfg.catchUpMinutes > 0) {
      const now = new Date();
      const windowStart = new Date(now.getTime() - this.cfg.catchUpMinutes * 60_000);
      for (const job of this.enabledJobs) {
        const since = previous.get(job.name);
        if (!since) continue;
        const from = since > windowStart ? since : windowStart;
        const missed = latestTickBetween(this.tasks.get(job.name)!, job.cron!, from, now);
        if (missed) {
          this.log(`${job.name}: the tick of ${missed.toISOString()} was missed while no scheduler ran; running it once now (catch-up)`);
          this.track(this.execute(job, missed, 'catch-up'));
        }
      }
    }
  }

  private printSchedule(): void {
    const width = Math.max(...this.cfg.jobs.map((j) => j.name.length));
    const lines = this.cfg.jobs.map((j) => {
      const task = this.tasks.get(j.name);
      const next = task?.getNextRun();
      return j.cron
        ? `  ${j.name.padEnd(width)}  ${j.cron.padEnd(14)}  next ${next ? next.toISOString() : '?'}  (${j.envVar})`
        : `  ${j.name.padEnd(width)}  ${j.description.replace(/^.* — /, '')}`;
    });
    this.log(`schedule (time zone ${this.cfg.timezone}; scheduler ${me}):\n${lines.join('\n')}`);
    if (!this.schemaReady) this.log('jobs are held until the schema is migrated (npm run migrate)');
  }

  private async storeNextRuns(): Promise<void> {
    for (const [name, task] of this.tasks) {
      await this.db.sql`
        update keap_meta.schedule_jobs set next_run_at = ${task.getNextRun()}, seen_at = clock_timestamp(), scheduler = ${me}
         where job = ${name}`;
    }
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private onTick(job: JobDef, date: Date): void {
    if (this.stopping) return;
    this.track(this.execute(job, second(date), 'tick'));
  }

  /** Run one job now (npm run schedule -- --run <job>), through the same path as a tick. */
  async runNow(jobName: string): Promise<JobOutcome | undefined> {
    const job = this.cfg.jobs.find((j) => j.name === jobName);
    if (!job) throw Object.assign(new Error(`no job '${jobName}'; jobs: ${this.cfg.jobs.map((j) => j.name).join(', ')}`), { exitCode: 1 });
    return this.execute(job, new Date(), 'manual');
  }

  /** Handle one tick of a job; returns its outcome, or undefined when another scheduler has it. */
  private async execute(job: JobDef, scheduledFor: Date, trigger: Trigger): Promise<JobOutcome | undefined> {
    const sql = this.db.sql;
    let executionId: number;
    try {
      const [claimed] = await sql`
        insert into keap_meta.job_executions (job, scheduled_for, trigger, status, host, pid)
        values (${job.name}, ${scheduledFor}, ${trigger}, 'running', ${os.hostname()}, ${process.pid})
        on conflict (job, scheduled_for) do nothing
        returning execution_id`;
      if (!claimed) {
        this.log(`${job.name}: tick ${scheduledFor.toISOString()} is handled by another scheduler`);
        return undefined;
      }
      executionId = Number(claimed.execution_id);
    } catch (err) {
      this.log(`${job.name}: could not record the tick ${scheduledFor.toISOString()}: ${describeError(err)}`);
      return undefined;
    }

    let outcome: JobOutcome;
    const held = this.busy.get(job.pipeline);
    if (!this.schemaReady && !(await this.recheckSchema())) {
      outcome = { status: 'skipped', message: 'the database schema is older than the code: run npm run migrate (started with --no-migrate)', exitCode: 3 };
    } else if (held) {
      const holding = (await held.runId) ?? (await runningRunOf(this.db, job.pipeline).catch(() => null));
      outcome = { status: 'skipped', holdingRunId: holding, message: `pipeline ${job.pipeline} is busy with ${held.job}${holding ? ` (run ${holding})` : ''}`, exitCode: 5 };
    } else {
      this.log(`${job.name}: started (${trigger} ${scheduledFor.toISOString()})`);
      let resolveRun: (id: number | null) => void = () => {};
      this.busy.set(job.pipeline, { job: job.name, runId: new Promise((r) => (resolveRun = r)) });
      // The run id, as soon as the run row exists (for a busy tick's "held by run N").
      const poll = setInterval(() => {
        void runningRunOf(this.db, job.pipeline).then((id) => {
          if (id) resolveRun(id);
        }, () => {});
      }, 200);
      try {
        outcome = await runJob(job, { db: this.db, ...(this.keap ? { keap: this.keap } : {}), schedule: this.cfg, log: this.log, children: this.children });
      } finally {
        clearInterval(poll);
        resolveRun(null);
        this.busy.delete(job.pipeline);
      }
    }

    const runText = outcome.runId ? ` run ${outcome.runId}` : '';
    this.log(`${job.name}: ${outcome.status}${runText}${outcome.message ? ` — ${outcome.message}` : ''}`);
    try {
      await sql`
        update keap_meta.job_executions
           set status = ${outcome.status}, run_id = ${outcome.runId ?? null}, holding_run_id = ${outcome.holdingRunId ?? null},
               message = ${outcome.message ? outcome.message.slice(0, 4000) : null}, exit_code = ${outcome.exitCode}, ended_at = clock_timestamp()
         where execution_id = ${executionId}`;
      const task = this.tasks.get(job.name);
      if (task) await sql`update keap_meta.schedule_jobs set next_run_at = ${task.getNextRun()}, seen_at = clock_timestamp() where job = ${job.name}`;
    } catch (err) {
      this.log(`${job.name}: could not record the outcome: ${describeError(err)}`);
    }
    await this.alerter.afterExecution({ job: job.name, pipeline: job.pipeline, status: outcome.status, runId: outcome.runId ?? null, message: outcome.message ?? null });
    return outcome;
  }

  private async recheckSchema(): Promise<boolean> {
    const s = await migrateStatus(this.db.sql).catch(() => undefined);
    if (s && !s.pendingMigrations.length && !s.changedFiles.length) {
      this.schemaReady = true;
      this.log('the schema is up to date now: jobs run from here on');
    }
    return this.schemaReady;
  }

  /** Stop ticking; wait (bounded) for running jobs; mark what is left cancelled. */
  async stop(signal: NodeJS.Signals): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.heartbeat);
    for (const task of this.tasks.values()) await task.stop();
    for (const child of this.children) child.kill(signal);
    if (this.inflight.size) {
      this.log(`${signal}: stopped ticking; waiting up to ${this.cfg.stopTimeoutSeconds} s for ${this.inflight.size} running job(s) to finish their page and merge`);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.allSettled([...this.inflight]).then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.cfg.stopTimeoutSeconds * 1000))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.log('stop timeout reached: the remaining job(s) are recorded cancelled; their runs end when this process exits');
        await this.db.sql`
          update keap_meta.job_executions set status = 'cancelled', ended_at = clock_timestamp(),
                 message = coalesce(message, 'scheduler stopped before the job finished')
           where status = 'running' and host = ${os.hostname()} and pid = ${process.pid}`.catch(() => {});
      }
    } else {
      this.log(`${signal}: stopped ticking (no job was running)`);
    }
    await this.db.sql`update keap_meta.schedule_jobs set seen_at = null, next_run_at = null where scheduler = ${me}`.catch(() => {});
    for (const task of this.tasks.values()) await task.destroy();
  }
}

/**
 * The newest instant in (from, to] the task matches, found with node-cron's own matcher
 * (cron.parse gives the seconds field, so a 5-field expression is tried once a minute, not every
 * second). Undefined when none.
 */
export function latestTickBetween(task: ScheduledTask, expression: string, from: Date, to: Date): Date | undefined {
  const seconds = [...cron.parse(expression).second].sort((a, b) => b - a);
  const start = from.getTime();
  for (let minute = Math.floor(to.getTime() / 60_000) * 60_000; minute + 59_000 > start; minute -= 60_000) {
    for (const s of seconds) {
      const t = minute + s * 1000;
      if (t > to.getTime() || t <= start) continue;
      const d = new Date(t);
      if (task.match(d)) return d;
    }
  }
  return undefined;
}
