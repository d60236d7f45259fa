// What each kind of scheduled job does. Every job is a tracked run of its pipeline (so the run
// lock keeps two runs of a pipeline apart across processes and machines, and keap_ops.runs shows
// it): the Keap jobs call runSync() in this process; a table-sync pipeline runs as
// `npm run sync -- --pipeline <name>` (its own process, so a pipeline the sync CLI does not know
// fails that job with the CLI's message instead of the scheduler); retention and the OAuth
// keep-alive are small runs of their own pipelines. Each returns the same JobOutcome.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.ts';
import { PROJECT_ROOT, type Db } from '../db.ts';
import { EXIT, SQLSTATE, describeError, exitCodeFor, sqlstateOf } from '../errors.ts';
import { createAuth } from '../keap/auth.ts';
import { Redactor } from '../keap/redact.ts';
import { RunCancelledError, withRun } from '../run.ts';
import { runSync } from '../sync/engine.ts';
import type { JobDef, ScheduleConfig } from './schedule-config.ts';

export type JobStatus = 'succeeded' | 'partial' | 'failed' | 'cancelled' | 'skipped';

export interface JobOutcome {
  status: JobStatus;
  runId?: number | null;
  /** Skipped: the running run that held the pipeline. */
  holdingRunId?: number | null;
  message?: string | null;
  exitCode: number;
}

export interface JobDeps {
  db: Db;
  /** Keap configuration; required by the keap and oauth jobs only. */
  keap?: Config;
  schedule: ScheduleConfig;
  log: (line: string) => void;
  /** Child processes of pipeline jobs, so a stop can forward the signal. */
  children: Set<import('node:child_process').ChildProcess>;
}

/** The run this process (or a child) started for the pipeline since `since`. */
async function runStartedBy(db: Db, pipeline: string, pid: number, since: Date): Promise<number | null> {
  const [row] = await db.sql`
    select run_id from keap_meta.etl_run_log
     where pipeline = ${pipeline} and host = ${os.hostname()} and pid = ${pid} and started_at >= ${since}
     order by run_id desc limit 1`;
  return row ? Number(row.run_id) : null;
}

export async function runningRunOf(db: Db, pipeline: string): Promise<number | null> {
  const [row] = await db.sql`select run_id from keap_meta.etl_run_log where pipeline = ${pipeline} and status = 'running'`;
  return row ? Number(row.run_id) : null;
}

async function fromError(db: Db, job: JobDef, err: unknown, since: Date): Promise<JobOutcome> {
  if (sqlstateOf(err) === SQLSTATE.RUN_IN_PROGRESS) {
    const holding = await runningRunOf(db, job.pipeline).catch(() => null);
    return { status: 'skipped', holdingRunId: holding, message: `pipeline ${job.pipeline} is busy${holding ? ` (run ${holding} holds it)` : ''}: ${describeError(err)}`, exitCode: EXIT.RUN_IN_PROGRESS };
  }
  const runId = await runStartedBy(db, job.pipeline, process.pid, since).catch(() => null);
  if (err instanceof RunCancelledError) return { status: 'cancelled', runId, message: describeError(err), exitCode: EXIT.CANCELLED };
  return { status: 'failed', runId, message: describeError(err), exitCode: exitCodeFor(err) };
}

function needKeap(deps: JobDeps): Config {
  if (!deps.keap) throw Object.assign(new Error('no Keap configuration'), { exitCode: EXIT.CONFIG });
  return deps.keap;
}

export async function runJob(job: JobDef, deps: JobDeps): Promise<JobOutcome> {
  const since = new Date(Date.now() - 1000);
  const { db } = deps;
  try {
    switch (job.kind) {
      case 'keap-incremental':
      case 'keap-full': {
        const res = await runSync({ db, config: needKeap(deps) }, { trigger: 'schedule', full: job.kind === 'keap-full', notes: `schedule: ${job.name}` });
        const s = res.value;
        const records = s.entities.reduce((n, e) => n + e.records, 0);
        const changed = s.entities.reduce((n, e) => n + e.inserted + e.updated + e.deleted, 0);
        return {
          status: res.status === 'partial' ? 'partial' : 'succeeded',
          runId: res.runId,
          message: `${records} records read, ${changed} rows changed${s.stoppedEarly ? `; stopped early: ${s.stoppedEarly}` : ''}`,
          exitCode: res.exitCode,
        };
      }
      case 'retention': {
        const r = deps.schedule.retention;
        const res = await withRun(db, 'retention', { trigger: 'schedule', notes: `staging ${r.stagingDays} d, logs ${r.logDays} d` }, async (ctx) => {
          const [row] = await ctx.sql`call keap_meta.apply_retention(${r.stagingDays}, ${r.logDays}, ${r.batchSize})`;
          const freed = {
            staged_pages: Number(row!.p_staged_pages_deleted),
            staged_bytes: Number(row!.p_staged_bytes_freed),
            requests: Number(row!.p_requests_deleted),
            events: Number(row!.p_events_deleted),
          };
          const text = `retention freed ${freed.staged_pages} staged page(s) (${(freed.staged_bytes / 1048576).toFixed(1)} MiB of payload), ${freed.requests} request-log row(s), ${freed.events} run event(s); run rows kept`;
          await ctx.event('info', text, { stage: 'retention', data: { ...freed, staging_days: r.stagingDays, log_days: r.logDays } });
          return text;
        });
        return { status: 'succeeded', runId: res.runId, message: res.value, exitCode: EXIT.OK };
      }
      case 'oauth-keepalive': {
        const config = needKeap(deps);
        const res = await withRun(db, 'oauth-keepalive', { trigger: 'schedule' }, async (ctx) => {
          const auth = createAuth(config, db, new Redactor(), { warn: deps.log });
          if (auth.mode !== 'oauth') return 'API key in use: no OAuth token to keep alive';
          await auth.headers(ctx);
          const refreshes = (auth as unknown as { refreshes?: number }).refreshes ?? 0;
          const text = refreshes > 0 ? 'OAuth token refreshed (the refresh token is rotated, so it stays alive)' : 'OAuth access token still valid (refreshed recently): nothing to do';
          await ctx.event('info', text, { stage: 'auth' });
          return text;
        });
        return { status: 'succeeded', runId: res.runId, message: res.value, exitCode: EXIT.OK };
      }
      case 'pipeline':
        return await runPipelineProcess(job, deps, since);
    }
  } catch (err) {
    return fromError(db, job, err, since);
  }
}

/** `npm run sync -- --pipeline <name>` as a child process (node --import tsx, so signals reach it). */
async function runPipelineProcess(job: JobDef, deps: JobDeps, since: Date): Promise<JobOutcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'sync.ts'), '--pipeline', job.pipeline, '--no-migrate'], {
    cwd: PROJECT_ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  deps.children.add(child);
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const code: number = await new Promise((resolve) => {
    child.on('error', (err) => {
      tail += describeError(err);
      resolve(1);
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 1)));
  });
  deps.children.delete(child);
  const lastLines = tail.trim().split('\n').slice(-3).join(' | ');
  const runId = child.pid ? await runStartedBy(deps.db, job.pipeline, child.pid, since).catch(() => null) : null;
  if (code === EXIT.OK) return { status: 'succeeded', runId, message: lastLines || null, exitCode: code };
  if (code === EXIT.QUOTA_RESERVE) return { status: 'partial', runId, message: lastLines, exitCode: code };
  if (code === EXIT.RUN_IN_PROGRESS) {
    const holding = await runningRunOf(deps.db, job.pipeline).catch(() => null);
    return { status: 'skipped', holdingRunId: holding, message: `pipeline ${job.pipeline} is busy${holding ? ` (run ${holding} holds it)` : ''}`, exitCode: code };
  }
  if (code === EXIT.CANCELLED || code === 143) return { status: 'cancelled', runId, message: lastLines, exitCode: code };
  if (/Unknown option '--pipeline'/.test(tail)) {
    return { status: 'failed', runId, message: `this version of npm run sync has no --pipeline option, so table-sync pipeline ${job.pipeline} cannot run; remove it from SCHEDULE_PIPELINES`, exitCode: EXIT.CONFIG };
  }
  return { status: 'failed', runId, message: `npm run sync -- --pipeline ${job.pipeline} exited with ${code}: ${lastLines}`, exitCode: code };
}
