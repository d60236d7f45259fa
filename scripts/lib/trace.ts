// The trace of one run, as a support engineer pastes it into a ticket: Timeline, Data flow,
// Requests and Validation. Everything is read from the run-tracking tables and keap_ops views
// (events, requests, merge log, counts, cursors); the Validation checklist is computed from them,
// never printed blindly. renderTraceMarkdown() is the terminal form, the Trace object itself the
// JSON form (`npm run trace -- <run_id|latest> --json`).
import type { Sql } from './db.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'n/a';

export interface TraceRun {
  run_id: number;
  pipeline: string;
  trigger: string;
  status: string;
  started_at: string;
  ended_at: string | null;
  duration_seconds: number;
  request_count: number;
  record_count: number;
  inserted_count: number;
  updated_count: number;
  unchanged_count: number;
  deleted_count: number;
  rejected_count: number;
  error_sqlstate: string | null;
  error_message: string | null;
  error_entity: string | null;
  notes: string | null;
  host: string | null;
}

export interface TimelineRow {
  /** Seconds since the run started. */
  t: number;
  stage: string;
  entity: string | null;
  event: string;
  level: 'debug' | 'info' | 'warn' | 'error';
}

export interface EntityFlow {
  entity: string;
  traversal: string;
  status: string;
  pages: number;
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  duration_seconds: number | null;
}

export interface EndpointStats {
  endpoint: string;
  calls: number;
  ok: number;
  retries: number;
  throttled_429: number;
  errors: number;
  records: number;
  p50_ms: number | null;
  p95_ms: number | null;
  max_ms: number | null;
}

export interface SlowRequest {
  request_id: number;
  t: number;
  endpoint: string;
  http_status: number | null;
  attempt: number;
  duration_ms: number | null;
  record_count: number | null;
}

export interface QuotaAtEnd {
  at: string;
  throttle_available: number | null;
  throttle_limit: number | null;
  quota_available: number | null;
  quota_limit: number | null;
  tenant_throttle_available: number | null;
  tenant_quota_available: number | null;
}

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
}

export interface Trace {
  run: TraceRun;
  timeline: TimelineRow[];
  data_flow: EntityFlow[];
  requests: { by_endpoint: EndpointStats[]; slowest: SlowRequest[]; quota_at_end: QuotaAtEnd | null };
  validation: Check[];
}

export interface RecentRun {
  run_id: number;
  pipeline: string;
  status: string;
  started_at: string;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const isoOf = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/** The ten (or n) most recent runs, newest first. */
export async function recentRuns(sql: Sql, n = 10): Promise<RecentRun[]> {
  const rows = await sql`select run_id, pipeline, status, started_at from keap_ops.runs order by run_id desc limit ${n}`;
  return rows.map((r) => ({ run_id: num(r.run_id), pipeline: String(r.pipeline), status: String(r.status), started_at: isoOf(r.started_at) }));
}

/** Resolve `latest` or a run id; null when there is no such run. */
export async function resolveRunId(sql: Sql, ref: 'latest' | number): Promise<number | null> {
  const [row] = ref === 'latest'
    ? await sql`select max(run_id) as run_id from keap_meta.etl_run_log`
    : await sql`select run_id from keap_meta.etl_run_log where run_id = ${ref}`;
  return row?.run_id == null ? null : Number(row.run_id);
}

interface RequestRow {
  request_id: number;
  t: number;
  entity: string | null;
  endpoint: string;
  http_status: number | null;
  attempt: number;
  record_count: number | null;
  retry_after_seconds: number | null;
  error: string | null;
}

/**
 * Timeline: run events, merges and requests in time order. Consecutive successful first-attempt
 * page fetches of one entity fold into one row ("pages 4-6 fetched, 300 records"); retries, 429s and
 * failed requests keep a row each, so a trace of a 1,000-page run stays readable.
 */
function buildTimeline(
  events: { t: number; level: string; stage: string | null; entity: string | null; message: string }[],
  merges: { t: number; entity: string; pages: number; ins: number; upd: number; unch: number; del: number; rej: number; ms: number | null }[],
  requests: RequestRow[],
): TimelineRow[] {
  type Item = { t: number; order: number; row?: TimelineRow; req?: RequestRow };
  const items: Item[] = [];
  events.forEach((e, i) =>
    items.push({ t: e.t, order: i, row: { t: e.t, stage: e.stage ?? '', entity: e.entity, event: e.message, level: e.level as TimelineRow['level'] } }),
  );
  for (const m of merges) {
    items.push({
      t: m.t,
      order: 0,
      row: {
        t: m.t,
        stage: 'merge',
        entity: m.entity,
        event: `merged ${m.pages} page${m.pages === 1 ? '' : 's'}: +${m.ins} inserted, ~${m.upd} updated, =${m.unch} unchanged, -${m.del} deleted, !${m.rej} rejected${m.ms == null ? '' : ` (${m.ms} ms)`}`,
        level: m.rej > 0 ? 'warn' : 'info',
      },
    });
  }
  // requested_at has millisecond precision (the client's clock when it sent the request), events
  // microseconds: sort a request at the end of its millisecond, so the plan logged just before it
  // stays first.
  for (const r of requests) items.push({ t: r.t + 0.000999, order: 0, req: r });
  // Stable: by time, events in their own order.
  items.sort((a, b) => a.t - b.t || a.order - b.order);

  const out: TimelineRow[] = [];
  const pagesByEntity = new Map<string, number>();
  let fold: { row: TimelineRow; entity: string; first: number; last: number; records: number; until: number } | undefined;
  const closeFold = () => {
    if (!fold) return;
    const { first, last, records, until } = fold;
    fold.row.event = `${first === last ? `page ${first}` : `pages ${first}-${last}`} fetched, ${records} record${records === 1 ? '' : 's'}` +
      (first === last ? '' : ` (until T+${until.toFixed(1)}s)`);
    fold = undefined;
  };
  for (const it of items) {
    if (it.row) {
      closeFold();
      out.push(it.row);
      continue;
    }
    const r = it.req!;
    const key = r.entity ?? r.endpoint;
    const ok = r.http_status !== null && r.http_status >= 200 && r.http_status < 300;
    if (ok) pagesByEntity.set(key, (pagesByEntity.get(key) ?? 0) + 1);
    if (ok && r.attempt === 1) {
      const pageNo = pagesByEntity.get(key)!;
      if (fold && fold.entity === key) {
        fold.last = pageNo;
        fold.until = r.t;
        fold.records += r.record_count ?? 0;
        continue;
      }
      closeFold();
      const row: TimelineRow = { t: r.t, stage: 'fetch', entity: r.entity, event: '', level: 'info' };
      out.push(row);
      fold = { row, entity: key, first: pageNo, last: pageNo, records: r.record_count ?? 0, until: r.t };
      continue;
    }
    closeFold();
    let event: string;
    if (r.http_status === 429) {
      event = `429 throttled on ${r.endpoint} (attempt ${r.attempt}${r.retry_after_seconds != null ? `, Retry-After ${r.retry_after_seconds}s` : ''})`;
    } else if (ok) {
      event = `retry ${r.attempt - 1} succeeded: ${r.endpoint} ${r.http_status}, ${r.record_count ?? 0} records`;
    } else {
      event = `request failed (attempt ${r.attempt}): ${r.endpoint} ${r.http_status ?? 'no response'}${r.error ? ` — ${r.error.slice(0, 120)}` : ''}`;
    }
    out.push({ t: r.t, stage: 'fetch', entity: r.entity, event, level: ok ? 'info' : 'warn' });
  }
  closeFold();
  return out;
}

/** Load the whole trace of a run; null when the run does not exist. */
export async function loadTrace(sql: Sql, runId: number): Promise<Trace | null> {
  const [r] = await sql`
    select run_id, pipeline, trigger, status, started_at, ended_at, duration_seconds, request_count, record_count,
           inserted_count, updated_count, unchanged_count, deleted_count, rejected_count,
           error_sqlstate, error_message, error_entity, notes, host
      from keap_ops.runs where run_id = ${runId}`;
  if (!r) return null;
  const run: TraceRun = {
    run_id: num(r.run_id),
    pipeline: String(r.pipeline),
    trigger: String(r.trigger),
    status: String(r.status),
    started_at: isoOf(r.started_at),
    ended_at: r.ended_at ? isoOf(r.ended_at) : null,
    duration_seconds: num(r.duration_seconds),
    request_count: num(r.request_count),
    record_count: num(r.record_count),
    inserted_count: num(r.inserted_count),
    updated_count: num(r.updated_count),
    unchanged_count: num(r.unchanged_count),
    deleted_count: num(r.deleted_count),
    rejected_count: num(r.rejected_count),
    error_sqlstate: r.error_sqlstate ?? null,
    error_message: r.error_message ?? null,
    error_entity: r.error_entity ?? null,
    notes: r.notes ?? null,
    host: r.host ?? null,
  };
  const t0 = sql`(select started_at from keap_meta.etl_run_log where run_id = ${runId})`;

  const events = await sql`
    select round(extract(epoch from at - ${t0})::numeric, 3) as t, level,
           case when keap_meta.event_kind(stage, data) = 'entity_done' then 'done' else stage end as stage, entity, message
      from keap_meta.etl_run_events where run_id = ${runId} order by event_id`;
  const merges = await sql`
    select round(extract(epoch from merged_at - ${t0})::numeric, 3) as t, entity, pages_merged, inserted_count, updated_count,
           unchanged_count, deleted_count, rejected_count, duration_ms
      from keap_meta.merge_log where run_id = ${runId} order by merge_id`;
  const requests = await sql`
    select request_id, round(extract(epoch from requested_at - ${t0})::numeric, 3) as t, entity,
           keap_meta.endpoint_pattern(endpoint) as endpoint, http_status, attempt, record_count,
           retry_after_seconds, error
      from keap_meta.etl_request_log where run_id = ${runId} order by request_id`;
  const timeline = buildTimeline(
    events.map((e) => ({ t: num(e.t), level: String(e.level), stage: e.stage ?? null, entity: e.entity ?? null, message: String(e.message) })),
    merges.map((m) => ({
      t: num(m.t), entity: String(m.entity), pages: num(m.pages_merged), ins: num(m.inserted_count), upd: num(m.updated_count),
      unch: num(m.unchanged_count), del: num(m.deleted_count), rej: num(m.rejected_count), ms: numOrNull(m.duration_ms),
    })),
    requests.map((q) => ({
      request_id: num(q.request_id), t: num(q.t), entity: q.entity ?? null, endpoint: String(q.endpoint), http_status: numOrNull(q.http_status),
      attempt: num(q.attempt), record_count: numOrNull(q.record_count), retry_after_seconds: numOrNull(q.retry_after_seconds), error: q.error ?? null,
    })),
  );

  const flows = await sql`
    select entity, traversal, status, coalesce(pages, 0) as pages, coalesce(fetched, 0) as fetched, inserted, updated, unchanged,
           deleted, rejected, duration_seconds
      from keap_ops.run_entities where run_id = ${runId} order by first_event_id nulls last, entity`;
  const data_flow: EntityFlow[] = flows.map((f) => ({
    entity: String(f.entity), traversal: String(f.traversal), status: String(f.status), pages: num(f.pages), fetched: num(f.fetched),
    inserted: num(f.inserted), updated: num(f.updated), unchanged: num(f.unchanged), deleted: num(f.deleted), rejected: num(f.rejected),
    duration_seconds: numOrNull(f.duration_seconds),
  }));

  const byEndpoint = await sql`
    select keap_meta.endpoint_pattern(endpoint) as endpoint, count(*) as calls,
           count(*) filter (where http_status between 200 and 299) as ok,
           count(*) filter (where attempt > 1) as retries,
           count(*) filter (where http_status = 429) as throttled_429,
           count(*) filter (where (http_status is null or http_status >= 400) and http_status is distinct from 429) as errors,
           coalesce(sum(record_count), 0) as records,
           percentile_cont(0.5) within group (order by duration_ms)::integer as p50_ms,
           percentile_cont(0.95) within group (order by duration_ms)::integer as p95_ms,
           max(duration_ms) as max_ms
      from keap_meta.etl_request_log where run_id = ${runId}
     group by 1 order by calls desc, endpoint`;
  const slowest = await sql`
    select request_id, round(extract(epoch from requested_at - ${t0})::numeric, 3) as t, endpoint, http_status, attempt, duration_ms, record_count
      from keap_meta.etl_request_log where run_id = ${runId} and duration_ms is not null
     order by duration_ms desc, request_id limit 5`;
  const [quota] = await sql`
    select requested_at, throttle_available, throttle_limit, quota_available, quota_limit, tenant_throttle_available, tenant_quota_available
      from keap_meta.etl_request_log
     where run_id = ${runId} and (quota_available is not null or throttle_available is not null)
     order by request_id desc limit 1`;

  const validation = await validate(sql, run, data_flow, byEndpoint.reduce((n, e) => n + num(e.throttled_429), 0));

  return {
    run,
    timeline,
    data_flow,
    requests: {
      by_endpoint: byEndpoint.map((e) => ({
        endpoint: String(e.endpoint), calls: num(e.calls), ok: num(e.ok), retries: num(e.retries), throttled_429: num(e.throttled_429),
        errors: num(e.errors), records: num(e.records), p50_ms: numOrNull(e.p50_ms), p95_ms: numOrNull(e.p95_ms), max_ms: numOrNull(e.max_ms),
      })),
      slowest: slowest.map((s) => ({
        request_id: num(s.request_id), t: num(s.t), endpoint: String(s.endpoint), http_status: numOrNull(s.http_status), attempt: num(s.attempt),
        duration_ms: numOrNull(s.duration_ms), record_count: numOrNull(s.record_count),
      })),
      quota_at_end: quota
        ? {
            at: isoOf(quota.requested_at), throttle_available: numOrNull(quota.throttle_available), throttle_limit: numOrNull(quota.throttle_limit),
            quota_available: numOrNull(quota.quota_available), quota_limit: numOrNull(quota.quota_limit),
            tenant_throttle_available: numOrNull(quota.tenant_throttle_available), tenant_quota_available: numOrNull(quota.tenant_quota_available),
          }
        : null,
    },
    validation,
  };
}

/** The checklist: each item computed from the database, with the evidence in its detail. */
async function validate(sql: Sql, run: TraceRun, flows: EntityFlow[], throttled: number): Promise<Check[]> {
  const checks: Check[] = [];
  const statusCheck: CheckStatus = run.status === 'succeeded' ? 'pass' : run.status === 'partial' || run.status === 'running' ? 'warn' : 'fail';
  checks.push({
    check: 'run status',
    status: statusCheck,
    detail: run.status + (run.error_message ? `: ${run.error_message}${run.error_entity ? ` (entity ${run.error_entity})` : ''}${run.error_sqlstate ? ` [SQLSTATE ${run.error_sqlstate}]` : ''}` : ''),
  });

  const dry = flows.length > 0 && flows.every((f) => f.status === 'checked');
  const notMerged = flows.filter((f) => f.status !== 'done');
  checks.push({
    check: 'every entity merged',
    status: dry ? 'n/a' : flows.length === 0 ? 'fail' : notMerged.length === 0 ? 'pass' : 'fail',
    detail: dry
      ? 'dry run: fetched one page per entity, merged nothing'
      : flows.length === 0
        ? 'the run did not reach any entity'
        : notMerged.length === 0
          ? `${flows.length} of ${flows.length} entities merged (${flows.map((f) => f.entity).join(', ')})`
          : `not merged: ${notMerged.map((f) => `${f.entity} (${f.status})`).join(', ')}`,
  });

  const counts = await sql`
    select entity, source_count, warehouse_count from keap_meta.source_counts where run_id = ${run.run_id} order by entity`;
  const counted = counts.filter((c) => c.source_count !== null && c.warehouse_count !== null);
  const mismatched = counted.filter((c) => Number(c.source_count) !== Number(c.warehouse_count));
  checks.push({
    check: 'source and warehouse counts agree',
    status: counted.length === 0 ? 'n/a' : mismatched.length === 0 ? 'pass' : 'fail',
    detail: counted.length === 0
      ? 'nothing counted in this run (counts are taken at the end of a complete full traversal)'
      : mismatched.length === 0
        ? counted.map((c) => `${c.entity} ${c.source_count} = ${c.warehouse_count}`).join(', ')
        : `differ: ${mismatched.map((c) => `${c.entity} Keap ${c.source_count} vs warehouse ${c.warehouse_count}`).join(', ')}`,
  });

  const issues = await sql`
    select entity, count(*) as n from keap_meta.row_issues where run_id = ${run.run_id} group by entity order by entity`;
  const issueCount = issues.reduce((n, i) => n + Number(i.n), 0);
  checks.push({
    check: 'row issues',
    status: issueCount === 0 ? 'pass' : 'warn',
    detail: issueCount === 0
      ? 'none'
      : `${issueCount} (${issues.map((i) => `${i.entity} ${i.n}`).join(', ')}): select * from keap_ops.recent_row_issues where run_id = ${run.run_id}`,
  });

  // A cursor must have moved for every entity that brought new or changed rows; one whose
  // records were all unchanged (the overlap window) has nothing to move past.
  const cursors = await sql`select entity, last_run_id from keap_meta.sync_cursors`;
  const cursorOf = new Map(cursors.map((c) => [String(c.entity), c.last_run_id == null ? null : Number(c.last_run_id)]));
  const needMove = flows.filter((f) => f.status === 'done' && f.inserted + f.updated + f.deleted > 0);
  const stuck = needMove.filter((f) => (cursorOf.get(f.entity) ?? -1) < run.run_id);
  checks.push({
    check: 'cursors advanced',
    status: dry || needMove.length === 0 ? 'n/a' : stuck.length === 0 ? 'pass' : 'fail',
    detail: dry
      ? 'dry run'
      : needMove.length === 0
        ? 'no entity brought new or changed rows, so no cursor had to move'
        : stuck.length === 0
          ? `moved by this run or a later one: ${needMove.map((f) => f.entity).join(', ')}`
          : `not moved although rows changed: ${stuck.map((f) => f.entity).join(', ')}`,
  });

  checks.push({
    check: 'no throttle violation',
    status: throttled === 0 ? 'pass' : 'fail',
    detail: throttled === 0 ? 'no 429 responses' : `${throttled} request(s) refused with 429: pacing did not keep within Keap's limits`,
  });
  return checks;
}

const fmtT = (t: number) => `T+${t.toFixed(1)}s`;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const mark: Record<CheckStatus, string> = { pass: '[x] pass', warn: '[ ] WARN', fail: '[ ] FAIL', 'n/a': '[x] n/a ' };

/** The trace as Markdown (what `npm run trace` prints on a terminal). */
export function renderTraceMarkdown(tr: Trace): string {
  const { run } = tr;
  const lines: string[] = [];
  lines.push(`# Run ${run.run_id} (${run.pipeline}): ${run.status}`);
  lines.push('');
  lines.push(
    `started ${run.started_at}${run.ended_at ? `, ended ${run.ended_at}` : ', still running'}, ${run.duration_seconds.toFixed(1)} s; trigger ${run.trigger}` +
      `${run.notes ? `; options ${run.notes}` : ''}${run.host ? `; host ${run.host}` : ''}`,
  );
  lines.push(
    `${run.request_count} requests, ${run.record_count} records; +${run.inserted_count} inserted, ~${run.updated_count} updated, ` +
      `=${run.unchanged_count} unchanged, -${run.deleted_count} deleted, !${run.rejected_count} rejected`,
  );
  if (run.error_message) lines.push(`error${run.error_entity ? ` in ${run.error_entity}` : ''}: ${run.error_message}${run.error_sqlstate ? ` [SQLSTATE ${run.error_sqlstate}]` : ''}`);

  lines.push('', '## Timeline', '', '| time | stage | entity | event |', '|---:|---|---|---|');
  for (const row of tr.timeline) {
    const ev = row.level === 'warn' || row.level === 'error' ? `**${row.level}**: ${row.event}` : row.event;
    lines.push(`| ${fmtT(row.t)} | ${cell(row.stage)} | ${cell(row.entity ?? '')} | ${cell(ev)} |`);
  }

  lines.push('', '## Data flow', '', '```text');
  if (tr.data_flow.length === 0) lines.push('(no entity reached)');
  for (const f of tr.data_flow) {
    lines.push(`${f.entity} (${f.traversal}, ${f.status}${f.duration_seconds != null ? `, ${f.duration_seconds.toFixed(1)} s` : ''})`);
    lines.push(`└─ ${f.pages} page${f.pages === 1 ? '' : 's'} → ${f.fetched} record${f.fetched === 1 ? '' : 's'} fetched`);
    const parts: [string, number][] = [
      ['inserted', f.inserted], ['updated', f.updated], ['unchanged', f.unchanged], ['deleted', f.deleted], ['rejected', f.rejected],
    ];
    parts.forEach(([label, n], i) => lines.push(`   ${i === parts.length - 1 ? '└─' : '├─'} ${label.padEnd(9)} ${String(n).padStart(8)}`));
  }
  lines.push('```');

  lines.push('', '## Requests', '');
  lines.push('| endpoint | calls | ok | retries | 429s | errors | records | p50 ms | p95 ms | max ms |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const e of tr.requests.by_endpoint) {
    lines.push(`| ${cell(e.endpoint)} | ${e.calls} | ${e.ok} | ${e.retries} | ${e.throttled_429} | ${e.errors} | ${e.records} | ${e.p50_ms ?? ''} | ${e.p95_ms ?? ''} | ${e.max_ms ?? ''} |`);
  }
  if (tr.requests.by_endpoint.length === 0) lines.push('| (no requests) | | | | | | | | | |');
  if (tr.requests.slowest.length) {
    lines.push('', 'Slowest requests:', '', '| time | request | endpoint | status | attempt | ms | records |', '|---:|---:|---|---:|---:|---:|---:|');
    for (const s of tr.requests.slowest) {
      lines.push(`| ${fmtT(s.t)} | ${s.request_id} | ${cell(s.endpoint)} | ${s.http_status ?? 'none'} | ${s.attempt} | ${s.duration_ms ?? ''} | ${s.record_count ?? ''} |`);
    }
  }
  const q = tr.requests.quota_at_end;
  lines.push('');
  if (q) {
    const pct = (a: number | null, l: number | null) => (a != null && l ? ` (${((100 * a) / l).toFixed(1)} % left)` : '');
    lines.push(
      `Quota left at the end (${q.at}): daily ${q.quota_available ?? '?'} of ${q.quota_limit ?? '?'}${pct(q.quota_available, q.quota_limit)}, ` +
        `this minute ${q.throttle_available ?? '?'} of ${q.throttle_limit ?? '?'}` +
        (q.tenant_throttle_available != null || q.tenant_quota_available != null
          ? `; tenant-wide ${q.tenant_throttle_available ?? '?'} this minute, ${q.tenant_quota_available ?? '?'} today`
          : ''),
    );
  } else {
    lines.push('Quota left at the end: unknown (no response carried rate-limit headers)');
  }

  lines.push('', '## Validation', '');
  for (const c of tr.validation) lines.push(`- ${mark[c.status]} — ${c.check}: ${c.detail}`);
  return lines.join('\n');
}

export function renderRecentRuns(runs: RecentRun[]): string {
  if (runs.length === 0) return 'no runs yet';
  return ['recent runs:', ...runs.map((r) => `  ${String(r.run_id).padStart(6)}  ${r.pipeline.padEnd(12)} ${r.status.padEnd(10)} started ${r.started_at}`)].join('\n');
}
