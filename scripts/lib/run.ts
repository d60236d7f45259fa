// withRun(): the run boundary. Starts a tracked run on a dedicated tracking connection (it holds
// the pipeline's advisory lock, so the database knows the run's owner is alive), hands the work a
// RunContext with the run id explicit, and always ends the run: `succeeded` on return, `partial`
// when the work says so, `failed` with SQLSTATE/message/entity on throw, `cancelled` on
// SIGINT/SIGTERM. Request and event rows are written on the tracking connection, outside any data
// transaction, so a rolled-back merge never erases the record of the API calls made.
// A tracking write that fails is retried once; after that the run fails cleanly — it never goes on
// untracked. The tracking connection is a separate single-connection client rather than a
// reserved pool connection: postgres.js crashes the process when a reserved connection's socket
// drops, and a dropped tracking connection must instead fail the run cleanly.
import os from 'node:os';
import type { Db, Sql } from './db.ts';
import { EXIT, describeError, sqlstateOf } from './errors.ts';

export type RunStatus = 'succeeded' | 'failed' | 'partial' | 'cancelled';

export interface RequestLogEntry {
  entity?: string | null;
  endpoint: string;
  method?: string;
  queryParams?: Record<string, string | number | boolean | null | undefined>;
  pageToken?: string | null;
  pageOffset?: number | null;
  pageSize?: number | null;
  httpStatus?: number | null;
  recordCount?: number | null;
  bytes?: number | null;
  durationMs?: number | null;
  attempt?: number;
  /** Response headers (only x-keap-* and retry-after are kept). */
  headers?: Record<string, string>;
  error?: string | null;
  requestedAt?: Date;
}

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RunContext {
  readonly runId: number;
  readonly pipeline: string;
  /** The data pool (not the tracking connection). */
  readonly sql: Sql;
  /** Aborted on SIGINT/SIGTERM or when tracking is lost; pass it to fetch and check it between pages. */
  readonly signal: AbortSignal;
  logRequest(entry: RequestLogEntry): Promise<number>;
  event(level: EventLevel, message: string, opts?: { stage?: string; entity?: string; data?: unknown }): Promise<void>;
  heartbeat(): Promise<void>;
  /** Latest progress: stored and published on keap_run_events at most every progressIntervalMs (and with every heartbeat). */
  progress(p: Record<string, unknown>): void;
  /** The entity being worked on, recorded as error_entity if the run fails. */
  setEntity(entity: string | undefined): void;
  /** End the run as `partial` (e.g. stopped at the daily-quota reserve) instead of `succeeded`. */
  markPartial(reason: string, exitCode?: number): void;
  throwIfCancelled(): void;
}

export interface RunOptions {
  trigger?: string;
  notes?: string;
  heartbeatSeconds?: number;
  /** How long the work gets to stop after a signal before the run is ended as cancelled anyway. */
  cancelGraceMs?: number;
  /** Install SIGINT/SIGTERM handlers for the run's life (default true). */
  handleSignals?: boolean;
  /** Progress is stored and published (heartbeat) at most this often; default KEAP_PROGRESS_INTERVAL_MS or 1000. */
  progressIntervalMs?: number;
}

export interface RunResult<T> {
  runId: number;
  status: RunStatus;
  value: T;
  /** Exit code the script should use (0, or 6 for a partial run stopped at the quota reserve). */
  exitCode: number;
}

export class RunCancelledError extends Error {
  readonly exitCode = EXIT.CANCELLED;
  readonly sqlstate = '57014'; // query_canceled: the closest standard meaning
  constructor(readonly signalName: string) {
    super(`run cancelled by ${signalName}`);
    this.name = 'RunCancelledError';
  }
}

export class TrackingError extends Error {
  readonly exitCode = EXIT.DB_CONNECTION;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TrackingError';
  }
}

/** Retry a tracking write once; a second failure is a TrackingError. */
async function tracked<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (first) {
    // Errors that a retry cannot fix (the run is not running, a bad argument) are not retried.
    const state = sqlstateOf(first);
    if (state && state.startsWith('KR')) throw first;
    try {
      return await fn();
    } catch (second) {
      throw new TrackingError(`run tracking failed (${what}) twice: ${describeError(second)}`, { cause: second });
    }
  }
}

function errorEntityOf(err: unknown): string | undefined {
  const e = (err as { entity?: unknown })?.entity;
  return typeof e === 'string' ? e : undefined;
}

function errorSqlstateOf(err: unknown): string | null {
  const own = (err as { sqlstate?: unknown })?.sqlstate;
  if (typeof own === 'string' && /^[0-9A-Z]{5}$/.test(own)) return own;
  return sqlstateOf(err) ?? null;
}

export async function withRun<T>(
  db: Db,
  pipeline: string,
  opts: RunOptions,
  fn: (ctx: RunContext) => Promise<T>,
): Promise<RunResult<T>> {
  const sql = db.sql;
  let finished = false;
  let lostConnection = false;
  let onLost: () => void = () => {};
  const track = db.dedicated(`keap-sync run-tracking ${pipeline}`, () => {
    if (finished) return;
    // The advisory lock went with the connection: this run can no longer prove it is alive.
    lostConnection = true;
    onLost();
  });
  let runId: number;
  try {
    const [row] = await track`
      select keap_meta.start_run(${pipeline}, ${opts.trigger ?? 'manual'}, ${opts.notes ?? null},
                                 ${os.hostname()}, ${process.pid}) as run_id`;
    runId = Number(row!.run_id);
  } catch (err) {
    finished = true;
    await track.end({ timeout: 5 });
    throw err;
  }

  const controller = new AbortController();
  let entity: string | undefined;
  let latestProgress: Record<string, unknown> | undefined;
  let partial: { reason: string; exitCode: number } | undefined;
  let trackingFailure: TrackingError | undefined;

  onLost = () => {
    const te = new TrackingError('the run-tracking database connection was lost (the run lock went with it)');
    trackingFailure ??= te;
    if (!controller.signal.aborted) controller.abort(te);
  };

  /** Every tracking write: refused at once after the tracking connection was lost. */
  const guarded = <R>(what: string, q: () => Promise<R>): Promise<R> =>
    tracked(what, () => {
      if (lostConnection) return Promise.reject(trackingFailure ?? new TrackingError('tracking connection lost'));
      return q();
    });

  const failTracking = (err: unknown): never => {
    const te = err instanceof TrackingError ? err : new TrackingError(describeError(err), { cause: err });
    trackingFailure ??= te;
    if (!controller.signal.aborted) controller.abort(te);
    throw te;
  };

  const envProgressMs = Number(process.env.KEAP_PROGRESS_INTERVAL_MS ?? 1000);
  const progressMs = Math.max(0, opts.progressIntervalMs ?? (Number.isFinite(envProgressMs) ? envProgressMs : 1000));
  let lastProgressBeat = 0;
  const progressEntities = new Set<unknown>();
  const heartbeat = async (): Promise<void> => {
    await guarded('heartbeat', () => track`select keap_meta.heartbeat(${runId}, ${latestProgress ? track.json(latestProgress as never) : null})`).catch(failTracking);
  };

  const ctx: RunContext = {
    runId,
    pipeline,
    sql,
    signal: controller.signal,
    logRequest: async (e) => {
      const [row] = await guarded('log_request', () => track`
        select keap_meta.log_request(
          p_run_id => ${runId}, p_endpoint => ${e.endpoint}, p_method => ${e.method ?? 'GET'},
          p_query_params => ${track.json((e.queryParams ?? {}) as never)},
          p_page_token => ${e.pageToken ?? null}, p_page_offset => ${e.pageOffset ?? null},
          p_page_size => ${e.pageSize ?? null}, p_http_status => ${e.httpStatus ?? null},
          p_record_count => ${e.recordCount ?? null}, p_bytes => ${e.bytes ?? null},
          p_duration_ms => ${e.durationMs == null ? null : Math.round(e.durationMs)}, p_attempt => ${e.attempt ?? 1},
          p_headers => ${track.json((e.headers ?? {}) as never)}, p_error => ${e.error ?? null},
          p_entity => ${e.entity ?? entity ?? null}, p_requested_at => ${e.requestedAt ?? null}
        ) as request_id`).catch(failTracking);
      return Number(row!.request_id);
    },
    event: async (level, message, o = {}) => {
      await guarded('log_event', () => track`
        select keap_meta.log_event(${runId}, ${level}, ${message}, ${o.stage ?? null}, ${o.entity ?? entity ?? null},
                                   ${track.json((o.data ?? {}) as never)})`).catch(failTracking);
    },
    heartbeat,
    progress: (p) => {
      latestProgress = p;
      // Published live (keap_run_events, kind progress) at most every progressMs, not every page,
      // and at once when the work reaches another entity (entities synced side by side take turns:
      // only the first progress of each entity is published at once).
      const now = Date.now();
      if (now - lastProgressBeat >= progressMs || !progressEntities.has(p.entity)) {
        lastProgressBeat = now;
        progressEntities.add(p.entity);
        heartbeat().catch(() => {});
      }
    },
    setEntity: (e) => {
      entity = e;
    },
    markPartial: (reason, exitCode = EXIT.QUOTA_RESERVE) => {
      partial = { reason, exitCode };
    },
    throwIfCancelled: () => {
      if (controller.signal.aborted) throw controller.signal.reason;
    },
  };

  const hbMs = Math.max(1, opts.heartbeatSeconds ?? Number(process.env.KEAP_HEARTBEAT_SECONDS ?? 15)) * 1000;
  const hbTimer = setInterval(() => {
    heartbeat().catch(() => {});
  }, hbMs);
  hbTimer.unref();

  let cancelledBy: string | undefined;
  let resolveCancel: () => void = () => {};
  const cancelled = new Promise<void>((r) => (resolveCancel = r));
  const onSignal = (sig: NodeJS.Signals) => {
    if (cancelledBy) {
      // A second signal: the user insists. The run row is ended by the next start (abandoned).
      process.exit(EXIT.CANCELLED);
    }
    cancelledBy = sig;
    controller.abort(new RunCancelledError(sig));
    resolveCancel();
  };
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const grace = opts.cancelGraceMs ?? 10_000;
  type Outcome = { ok: true; value: T } | { ok: false; error: unknown };
  const work: Promise<Outcome> = fn(ctx).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const outcome: Outcome = await Promise.race([
    work,
    cancelled.then(() => Promise.race([work, new Promise<Outcome>((r) => setTimeout(() => r({ ok: false, error: new RunCancelledError(cancelledBy!) }), grace).unref())])),
  ]);

  clearInterval(hbTimer);
  if (handleSignals) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  let status: RunStatus;
  let error: unknown;
  if (outcome.ok && !trackingFailure) {
    status = partial ? 'partial' : 'succeeded';
  } else {
    error = outcome.ok ? trackingFailure : outcome.error;
    if (cancelledBy && !(error instanceof TrackingError)) {
      status = 'cancelled';
      error = new RunCancelledError(cancelledBy);
    } else {
      status = 'failed';
    }
  }

  const endArgs = {
    sqlstate: error ? errorSqlstateOf(error) : null,
    message: error ? describeError(error) : partial ? partial.reason : null,
    entity: error ? (errorEntityOf(error) ?? entity ?? null) : partial ? (entity ?? null) : null,
  };
  // End on the tracking connection (which releases the lock); if it was lost, from the pool, so
  // the run is never left running.
  const endVia = lostConnection ? sql : track;
  try {
    await tracked('end_run', () => endVia`
      select keap_meta.end_run(${runId}, ${status}, ${endArgs.sqlstate}, ${endArgs.message}, ${endArgs.entity})`);
  } catch (endErr) {
    finished = true;
    await track.end({ timeout: 5 }).catch(() => {});
    throw error ?? endErr;
  }
  finished = true;
  await track.end({ timeout: 5 }).catch(() => {});

  if (error) throw error;
  return { runId, status, value: (outcome as { ok: true; value: T }).value, exitCode: partial ? partial.exitCode : EXIT.OK };
}
