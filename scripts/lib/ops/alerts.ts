// Alerts of `npm run schedule` to ALERT_WEBHOOK_URL: one message when a job starts failing and one
// when it recovers, never one per failed tick. Whether a job is failing lives in
// keap_meta.alert_state, so two schedulers (or a restart) do not repeat an alert; the state flips
// in one statement and only the process whose statement flipped it sends.
// Slack incoming webhooks get Slack's JSON (text + blocks); any other URL gets a generic JSON
// document, which also carries `text` so Slack-compatible receivers (Mattermost, Rocket.Chat, …)
// show it. Delivery is best effort: a webhook that is down or slow never fails or delays a sync
// beyond ALERT_TIMEOUT_MS per attempt; every attempt's outcome is recorded in
// keap_meta.alert_deliveries. The URL (whose path is often a secret) is never logged, only its host.
import os from 'node:os';
import type { Sql } from '../db.ts';
import { describeError } from '../errors.ts';

export interface AlertTarget {
  url: string;
  format: 'slack' | 'json';
  timeoutMs: number;
}

export interface JobAlert {
  kind: 'failure' | 'recovery';
  job: string;
  pipeline: string;
  runId?: number | null;
  error?: string | null;
  failingSince?: Date | null;
}

export function traceCommand(runId: number | null | undefined): string | undefined {
  return runId ? `npm run trace -- ${runId}` : undefined;
}

function messageText(a: JobAlert): string {
  if (a.kind === 'failure') {
    const trace = traceCommand(a.runId);
    return [
      `:red_circle: keap-warehouse-sync: job ${a.job} (pipeline ${a.pipeline}) failed${a.runId ? ` in run ${a.runId}` : ''} on ${os.hostname()}.`,
      a.error ? `Error: ${a.error}` : '',
      trace ? `Trace: ${trace}` : '',
      'No further alert is sent for this job until it succeeds again.',
    ].filter(Boolean).join('\n');
  }
  return `:large_green_circle: keap-warehouse-sync: job ${a.job} (pipeline ${a.pipeline}) recovered${a.runId ? ` in run ${a.runId}` : ''}${a.failingSince ? ` (failing since ${a.failingSince.toISOString()})` : ''}.`;
}

export function alertBody(a: JobAlert, format: 'slack' | 'json'): unknown {
  const text = messageText(a);
  if (format === 'slack') return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
  return {
    text,
    event: a.kind === 'failure' ? 'job_failed' : 'job_recovered',
    job: a.job,
    pipeline: a.pipeline,
    run_id: a.runId ?? null,
    error: a.error ?? null,
    trace_command: traceCommand(a.runId) ?? null,
    failing_since: a.failingSince?.toISOString() ?? null,
    host: os.hostname(),
    at: new Date().toISOString(),
  };
}

/** POST with a timeout; a failed attempt is retried once. Never throws. */
export async function deliver(target: AlertTarget, body: unknown): Promise<{ ok: boolean; status: number | null; error: string | null; attempts: number }> {
  let last = { ok: false, status: null as number | null, error: null as string | null };
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'keap-warehouse-sync' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, status: res.status, error: null, attempts: attempt };
      last = { ok: false, status: res.status, error: `HTTP ${res.status} ${res.statusText}`.trim() };
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string; message?: string } };
      last = { ok: false, status: null, error: e?.name === 'TimeoutError' ? `timeout after ${target.timeoutMs} ms` : `network error: ${e?.cause?.code ?? ''} ${e?.cause?.message ?? describeError(err)}`.trim() };
    }
    if (attempt === 1) await new Promise((r) => setTimeout(r, 500));
  }
  return { ...last, attempts: 2 };
}

export interface Alerter {
  /** After every finished execution: flips the job's alert state and sends when it flipped. Never throws. */
  afterExecution(e: { job: string; pipeline: string; status: string; runId?: number | null; message?: string | null }): Promise<void>;
}

export function createAlerter(sql: Sql, target: AlertTarget | undefined, log: (line: string) => void): Alerter {
  const send = async (a: JobAlert): Promise<void> => {
    if (!target) return;
    const r = await deliver(target, alertBody(a, target.format));
    let host = '';
    try {
      host = new URL(target.url).host;
    } catch {
      host = '(unparseable)';
    }
    log(r.ok ? `alert sent (${a.kind} of ${a.job}) to ${host}` : `alert NOT delivered (${a.kind} of ${a.job}) to ${host}: ${r.error}; recorded in keap_meta.alert_deliveries`);
    await sql`
      insert into keap_meta.alert_deliveries (job, kind, run_id, target, ok, http_status, error, attempts)
      values (${a.job}, ${a.kind}, ${a.runId ?? null}, ${host}, ${r.ok}, ${r.status}, ${r.error}, ${r.attempts})`.catch((err: unknown) =>
      log(`could not record the alert delivery: ${describeError(err)}`),
    );
  };
  return {
    afterExecution: async (e) => {
      try {
        if (e.status === 'failed') {
          const flipped = await sql`
            insert into keap_meta.alert_state as s (job, failing, failing_since, last_run_id, last_error)
            values (${e.job}, true, clock_timestamp(), ${e.runId ?? null}, ${e.message ?? null})
            on conflict (job) do update
              set failing = true, failing_since = clock_timestamp(), last_run_id = excluded.last_run_id,
                  last_error = excluded.last_error, updated_at = clock_timestamp()
              where not s.failing
            returning failing_since`;
          if (flipped.length) await send({ kind: 'failure', job: e.job, pipeline: e.pipeline, runId: e.runId ?? null, error: e.message ?? null });
        } else if (e.status === 'succeeded' || e.status === 'partial') {
          const flipped = await sql`
            update keap_meta.alert_state s
               set failing = false, last_run_id = ${e.runId ?? null}, updated_at = clock_timestamp()
              from (select failing_since from keap_meta.alert_state where job = ${e.job} for update) old
             where s.job = ${e.job} and s.failing
            returning old.failing_since`;
          if (flipped.length) await send({ kind: 'recovery', job: e.job, pipeline: e.pipeline, runId: e.runId ?? null, failingSince: flipped[0]!.failing_since as Date });
        }
      } catch (err) {
        log(`alerting failed (the job's result stands): ${describeError(err)}`);
      }
    },
  };
}
