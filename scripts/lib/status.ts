// What `npm run status` shows: running runs with a progress bar, the last runs and entity
// freshness, read from keap_ops views; and the live side — the JSON payloads of the
// keap_run_events LISTEN/NOTIFY channel (see keap_meta.notify_run_event) folded into that state, so
// `--watch` redraws on events instead of polling.
import type { Sql } from './db.ts';

/** The LISTEN/NOTIFY channel the run-tracking functions publish on. */
export const RUN_EVENTS_CHANNEL = 'keap_run_events';

/** One payload of the channel (the same shape for every kind; keys that do not apply are null). */
export interface RunEventPayload {
  v: 1;
  kind: 'run_started' | 'entity_started' | 'progress' | 'log' | 'entity_done' | 'run_done' | 'run_failed';
  run_id: number;
  pipeline: string | null;
  status: string | null;
  at: string;
  entity: string | null;
  stage: string | null;
  level: string | null;
  message: string | null;
  event_id: number | null;
  progress: Progress | null;
  data: Record<string, unknown>;
}

export interface Progress {
  entity?: string;
  traversal?: string;
  pages?: number;
  records?: number;
  records_per_second?: number;
  quota_available?: number;
  throttle_available?: number;
  expected_records?: number;
  entity_started_at?: string;
  /** Other entities of the run being synced at the same time (KEAP_SYNC_CONCURRENCY). */
  also_running?: string[];
}

export interface RunningRun {
  run_id: number;
  pipeline: string;
  started_at: Date;
  heartbeat_age_seconds: number | null;
  owner_alive: boolean | null;
  looks_stuck: boolean;
  progress: Progress;
  /** Last thing the run said (a log line or plan). */
  last_message?: string;
}

export interface StatusState {
  running: Map<number, RunningRun>;
  lastRuns: { run_id: number; pipeline: string; status: string; started_at: Date; duration_seconds: number; request_count: number; record_count: number; error_message: string | null }[];
  freshness: { entity: string; fresh_as_of: Date | null; lag_seconds: number | null; last_traversal: string | null; fresh_run_id: number | null }[];
  /** Entities in sync order, to place the running entity (k of n). */
  entities: string[];
  loadedAt: Date;
}

export function parsePayload(text: string): RunEventPayload | null {
  try {
    const p = JSON.parse(text) as RunEventPayload;
    return p && typeof p === 'object' && typeof p.kind === 'string' && typeof p.run_id === 'number' ? p : null;
  } catch {
    return null;
  }
}

/** Read the state from the views (one query each; used at start and after a run ends). */
export async function loadStatus(sql: Sql): Promise<StatusState> {
  const running = await sql`
    select run_id, pipeline, started_at, heartbeat_age_seconds, owner_alive, looks_stuck, progress
      from keap_ops.runs where status = 'running' order by run_id`;
  const lastRuns = await sql`
    select run_id, pipeline, status, started_at, duration_seconds, request_count, record_count, error_message
      from keap_ops.runs order by run_id desc limit 10`;
  const freshness = await sql`select entity, fresh_as_of, lag_seconds, last_traversal, fresh_run_id from keap_ops.entity_freshness order by sync_order`;
  const entities = await sql`select entity from keap_meta.entities order by sync_order`;
  return {
    running: new Map(
      running.map((r) => [
        Number(r.run_id),
        {
          run_id: Number(r.run_id),
          pipeline: String(r.pipeline),
          started_at: new Date(r.started_at),
          heartbeat_age_seconds: r.heartbeat_age_seconds == null ? null : Number(r.heartbeat_age_seconds),
          owner_alive: r.owner_alive ?? null,
          looks_stuck: !!r.looks_stuck,
          progress: (r.progress ?? {}) as Progress,
        },
      ]),
    ),
    lastRuns: lastRuns.map((r) => ({
      run_id: Number(r.run_id), pipeline: String(r.pipeline), status: String(r.status), started_at: new Date(r.started_at),
      duration_seconds: Number(r.duration_seconds), request_count: Number(r.request_count), record_count: Number(r.record_count),
      error_message: r.error_message ?? null,
    })),
    freshness: freshness.map((f) => ({
      entity: String(f.entity), fresh_as_of: f.fresh_as_of ? new Date(f.fresh_as_of) : null,
      lag_seconds: f.lag_seconds == null ? null : Number(f.lag_seconds), last_traversal: f.last_traversal ?? null,
      fresh_run_id: f.fresh_run_id == null ? null : Number(f.fresh_run_id),
    })),
    entities: entities.map((e) => String(e.entity)),
    loadedAt: new Date(),
  };
}

/**
 * Fold one channel payload into the state. Returns true when a run began or ended or an entity
 * finished, so the caller reloads the views (last runs, freshness) once, instead of polling.
 */
export function applyPayload(state: StatusState, p: RunEventPayload): boolean {
  if (p.kind === 'run_done' || p.kind === 'run_failed') {
    state.running.delete(p.run_id);
    return true;
  }
  let run = state.running.get(p.run_id);
  if (!run) {
    run = {
      run_id: p.run_id, pipeline: p.pipeline ?? '?', started_at: new Date(p.at), heartbeat_age_seconds: 0, owner_alive: true,
      looks_stuck: false, progress: {},
    };
    state.running.set(p.run_id, run);
  }
  run.heartbeat_age_seconds = 0;
  if (p.kind === 'progress' && p.progress) run.progress = p.progress;
  if (p.kind === 'entity_started' && p.entity) {
    run.progress = { entity: p.entity, traversal: (p.data?.traversal as string | undefined) ?? undefined, pages: 0, records: 0 };
  }
  if (p.kind === 'entity_done' && p.entity) {
    run.progress = { ...run.progress, entity: p.entity, pages: Number(p.data?.pages ?? run.progress.pages ?? 0), records: Number(p.data?.records ?? run.progress.records ?? 0) };
  }
  if (p.message && p.kind !== 'progress') run.last_message = p.message;
  // A run starting changes the run list, an entity finishing its freshness.
  return p.kind === 'run_started' || p.kind === 'entity_done';
}

const n = (x: number | undefined | null) => (x == null ? '?' : Math.round(x).toLocaleString('en-US'));

function duration(seconds: number | null): string {
  if (seconds == null) return 'never';
  if (seconds < 90) return `${seconds.toFixed(0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(0)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** A bar for the running entity: records / expected records when a full traversal knows them. */
export function progressBar(p: Progress, width = 24): string {
  // Keap's count at the last full traversal is the 100 %; past it (the account grew) the total is unknown.
  if (p.expected_records && p.expected_records > 0 && p.records != null && p.records <= p.expected_records) {
    const f = Math.max(0, Math.min(1, p.records / p.expected_records));
    const filled = Math.round(f * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}%`;
  }
  // Unknown total (incremental): a marker that moves with the pages.
  const pos = (p.pages ?? 0) % width;
  return `[${'.'.repeat(pos)}#${'.'.repeat(width - pos - 1)}]  ...`;
}

export function progressLine(run: RunningRun, entities: string[]): string {
  const p = run.progress;
  const idx = p.entity ? entities.indexOf(p.entity) : -1;
  const where = p.entity ? `${p.entity}${idx >= 0 ? ` (${idx + 1}/${entities.length})` : ''}` : 'starting';
  const records = p.expected_records && (p.records ?? 0) <= p.expected_records ? `${n(p.records)}/${n(p.expected_records)}` : n(p.records ?? 0);
  return (
    `run ${run.run_id} ${run.pipeline} ${where} ${p.traversal ?? ''} ${progressBar(p)} ` +
    `pages ${n(p.pages ?? 0)} records ${records} ${p.records_per_second != null ? `${n(p.records_per_second)} rec/s` : ''} ` +
    `quota left ${n(p.quota_available)}` +
    (p.also_running?.length ? `  (also running: ${p.also_running.join(', ')})` : '') +
    (run.looks_stuck ? '  LOOKS STUCK (no heartbeat)' : '') +
    (run.owner_alive === false ? '  OWNER GONE (will be marked abandoned)' : '')
  ).replace(/ +/g, ' ');
}

/** The whole screen (also what a one-shot `npm run status` prints). */
export function renderStatus(state: StatusState, now = new Date()): string {
  const lines: string[] = [];
  lines.push(`keap sync status at ${now.toISOString()}`);
  lines.push('', 'Running:');
  if (state.running.size === 0) lines.push('  no run in progress');
  for (const run of state.running.values()) {
    lines.push(`  ${progressLine(run, state.entities)}`);
    if (run.last_message) lines.push(`    ${run.last_message}`);
  }
  lines.push('', 'Last runs:');
  if (state.lastRuns.length === 0) lines.push('  none yet');
  for (const r of state.lastRuns) {
    // A running run's row ages between reloads (the views are not re-read every second).
    const secs = r.status === 'running' ? (now.getTime() - r.started_at.getTime()) / 1000 : r.duration_seconds;
    lines.push(
      `  ${String(r.run_id).padStart(6)}  ${r.pipeline.padEnd(8)} ${r.status.padEnd(10)} ${r.started_at.toISOString()}  ` +
        `${secs.toFixed(1).padStart(7)} s ${String(r.request_count).padStart(6)} req ${String(r.record_count).padStart(8)} rec` +
        (r.error_message ? `  ${r.error_message.slice(0, 80)}` : ''),
    );
  }
  lines.push('', 'Freshness (complete up to; lag = now - that):');
  const width = Math.max(16, ...state.freshness.map((f) => f.entity.length));
  for (const f of state.freshness) {
    const lag = f.fresh_as_of ? (now.getTime() - f.fresh_as_of.getTime()) / 1000 : null;
    lines.push(
      `  ${f.entity.padEnd(width)} ${f.fresh_as_of ? f.fresh_as_of.toISOString() : 'never synced            '}  lag ${duration(lag).padStart(8)}` +
        (f.last_traversal ? `  (${f.last_traversal}, run ${f.fresh_run_id})` : ''),
    );
  }
  return lines.join('\n');
}

/** One plain line per channel event (non-TTY --watch: logs, CI). */
export function eventLine(p: RunEventPayload): string {
  const head = `${p.at} run ${p.run_id} ${p.kind}`;
  switch (p.kind) {
    case 'progress': {
      const g = p.progress ?? {};
      return `${head} ${g.entity ?? ''} pages=${g.pages ?? 0} records=${g.records ?? 0}` +
        `${g.expected_records ? `/${g.expected_records}` : ''}${g.records_per_second != null ? ` rate=${g.records_per_second}/s` : ''}` +
        `${g.quota_available != null ? ` quota_left=${g.quota_available}` : ''}`;
    }
    case 'run_done':
    case 'run_failed': {
      const d = p.data ?? {};
      return `${head} ${p.status}: ${d.request_count ?? 0} requests, ${d.record_count ?? 0} records, +${d.inserted_count ?? 0} ~${d.updated_count ?? 0} -${d.deleted_count ?? 0} !${d.rejected_count ?? 0}` +
        `${d.error_message ? ` — ${d.error_message}` : ''}`;
    }
    default:
      return `${head}${p.entity ? ` ${p.entity}` : ''}${p.level && p.level !== 'info' ? ` [${p.level}]` : ''}: ${p.message ?? ''}`;
  }
}
