// Operations in one process: the schedule's configuration, catch-up instants found with
// node-cron's matcher, alerts (once on failure, once on recovery, a dead webhook never fails a
// job and is recorded) and the retention job (only what is old goes; every run row stays).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import cron from 'node-cron';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../scripts/lib/config.ts';
import { freePort } from '../../scripts/lib/embedded-pg.ts';
import { loadScheduleConfig } from '../../scripts/lib/ops/schedule-config.ts';
import { latestTickBetween, Scheduler } from '../../scripts/lib/ops/scheduler.ts';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig } from '../sync/helpers.ts';

let db: TestDb;
let sb: Sandbox;

beforeAll(async () => {
  db = await createTestDatabase('ops');
  sb = await startSandbox({ contacts: 40, seed: 5, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

describe('schedule configuration', () => {
  it('with no settings every job has its default cron in UTC, and the OAuth keep-alive is off for an API key', () => {
    const c = loadScheduleConfig({}, 'api_key');
    expect(c.timezone).toBe('UTC');
    expect(Object.fromEntries(c.jobs.map((j) => [j.name, j.cron ?? 'off']))).toEqual({
      'keap-incremental': '*/15 * * * *',
      'keap-full': '0 3 * * *',
      retention: '30 4 * * *',
      'oauth-keepalive': 'off',
    });
    expect(c.jobs.find((j) => j.name === 'oauth-keepalive')!.description).toMatch(/API key has no token/);
    expect(c.retention).toEqual({ stagingDays: 14, logDays: 90, batchSize: 5000 });
    expect(c.catchUpMinutes).toBe(60);
  });

  it('each job can be changed or switched off, and a table-sync pipeline is one more entry', () => {
    const c = loadScheduleConfig(
      { SCHEDULE_KEAP_FULL: 'off', SCHEDULE_KEAP_INCREMENTAL: '*/5 * * * *', SCHEDULE_PIPELINES: 'athletes, coaches', SCHEDULE_PIPELINE_COACHES: '0 * * * *', SCHEDULE_TIMEZONE: 'Europe/Berlin' },
      'oauth',
    );
    const byName = Object.fromEntries(c.jobs.map((j) => [j.name, j]));
    expect(byName['keap-full']!.cron).toBeUndefined();
    expect(byName['keap-incremental']!.cron).toBe('*/5 * * * *');
    expect(byName['pipeline:athletes']).toMatchObject({ kind: 'pipeline', pipeline: 'athletes', cron: '*/15 * * * *' });
    expect(byName['pipeline:coaches']!.cron).toBe('0 * * * *');
    expect(byName['oauth-keepalive']!.cron).toBe('0 5 * * 1');
    expect(c.timezone).toBe('Europe/Berlin');
  });

  it('bad settings are refused with every problem named', () => {
    let err: unknown;
    try {
      loadScheduleConfig({ SCHEDULE_RETENTION: 'every night', SCHEDULE_TIMEZONE: 'Mars/Olympus', RETENTION_LOG_DAYS: '-1', ALERT_WEBHOOK_URL: 'ftp://x', SCHEDULE_PIPELINES: 'Bad Name' }, 'api_key');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = (err as ConfigError).problems.join('\n');
    expect(text).toMatch(/SCHEDULE_RETENTION must be a cron expression .*got 'every night'/);
    expect(text).toMatch(/SCHEDULE_TIMEZONE must be an IANA time zone/);
    expect(text).toMatch(/RETENTION_LOG_DAYS must be a whole number/);
    expect(text).toMatch(/ALERT_WEBHOOK_URL must be an http\(s\) URL/);
    expect(text).toMatch(/SCHEDULE_PIPELINES lists 'Bad Name'/);
  });

  it('Slack webhooks get Slack JSON, other URLs generic JSON', () => {
    expect(loadScheduleConfig({ ALERT_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/x' }, 'api_key').alert!.format).toBe('slack');
    expect(loadScheduleConfig({ ALERT_WEBHOOK_URL: 'https://example.org/hook' }, 'api_key').alert!.format).toBe('json');
  });
});

describe('catch-up instants (node-cron matcher)', () => {
  const task = (expr: string, tz = 'UTC') => cron.createTask(expr, () => {}, { timezone: tz });

  it('finds the newest missed tick after the last execution, and none when nothing was missed', () => {
    const t = task('0 3 * * *');
    expect(latestTickBetween(t, '0 3 * * *', new Date('2026-03-01T03:00:00Z'), new Date('2026-03-03T10:00:00Z'))?.toISOString()).toBe('2026-03-03T03:00:00.000Z');
    expect(latestTickBetween(t, '0 3 * * *', new Date('2026-03-03T03:00:00Z'), new Date('2026-03-03T10:00:00Z'))).toBeUndefined();
  });

  it('works at second granularity and in a configured time zone', () => {
    expect(latestTickBetween(task('*/10 * * * * *'), '*/10 * * * * *', new Date('2026-03-01T00:00:00Z'), new Date('2026-03-01T00:00:37Z'))?.toISOString()).toBe('2026-03-01T00:00:30.000Z');
    // 03:00 in Berlin (CET, UTC+1) is 02:00 UTC.
    expect(latestTickBetween(task('0 3 * * *', 'Europe/Berlin'), '0 3 * * *', new Date('2026-03-01T00:00:00Z'), new Date('2026-03-01T12:00:00Z'))?.toISOString()).toBe('2026-03-01T02:00:00.000Z');
  });
});

interface Received {
  body: Record<string, unknown>;
}

async function receiver(): Promise<{ url: string; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const srv = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      got.push({ body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, got, close: () => new Promise((r) => srv.close(() => r())) };
}

function scheduler(env: Record<string, string>, extraKeap: Record<string, string> = {}): Scheduler {
  const keap = sandboxConfig(sb, { KEAP_MAX_RETRIES: '0', ...extraKeap });
  return new Scheduler({ db, schedule: loadScheduleConfig(env, keap.auth.mode), keap, schemaReady: true, log: () => {} });
}

describe('alerts', () => {
  it('one message when a job starts failing (with run, error and trace command), none for further failures, one on recovery', async () => {
    const hook = await receiver();
    try {
      const s = scheduler({ ALERT_WEBHOOK_URL: hook.url, SCHEDULE_KEAP_FULL: 'off' });
      sb.setFaults({ rate: 1, kinds: ['500'] });
      const first = await s.runNow('keap-incremental');
      const second = await s.runNow('keap-incremental');
      sb.setFaults({ rate: 0 });
      expect(first?.status).toBe('failed');
      expect(second?.status).toBe('failed');
      expect(hook.got).toHaveLength(1);
      const failure = hook.got[0]!.body;
      expect(failure).toMatchObject({ event: 'job_failed', job: 'keap-incremental', pipeline: 'keap', run_id: first!.runId, trace_command: `npm run trace -- ${first!.runId}` });
      expect(String(failure.error)).toMatch(/500/);
      expect(String(failure.text)).toContain(`failed in run ${first!.runId}`);

      const third = await s.runNow('keap-incremental');
      const fourth = await s.runNow('keap-incremental');
      expect(third?.status).toBe('succeeded');
      expect(fourth?.status).toBe('succeeded');
      expect(hook.got).toHaveLength(2);
      expect(hook.got[1]!.body).toMatchObject({ event: 'job_recovered', job: 'keap-incremental', run_id: third!.runId });
      const deliveries = await db.sql`select kind, ok, http_status from keap_meta.alert_deliveries where job = 'keap-incremental' order by delivery_id`;
      expect(deliveries).toEqual([{ kind: 'failure', ok: true, http_status: 200 }, { kind: 'recovery', ok: true, http_status: 200 }]);
    } finally {
      sb.setFaults({ rate: 0 });
      await hook.close();
    }
  });

  it('a webhook that is down never fails the job, and the failed delivery is recorded', async () => {
    const deadPort = await freePort();
    const s2 = scheduler({ ALERT_WEBHOOK_URL: `http://127.0.0.1:${deadPort}/hook`, ALERT_TIMEOUT_MS: '500' });
    sb.setFaults({ rate: 1, kinds: ['500'] });
    const out = await s2.runNow('keap-full');
    sb.setFaults({ rate: 0 });
    expect(out?.status).toBe('failed');
    const recovered = await s2.runNow('keap-full');
    expect(recovered?.status).toBe('succeeded');
    const deliveries = await db.sql`select kind, ok, error, attempts from keap_meta.alert_deliveries where job = 'keap-full' order by delivery_id`;
    expect(deliveries.map((d) => [d.kind, d.ok, d.attempts])).toEqual([['failure', false, 2], ['recovery', false, 2]]);
    expect(deliveries[0]!.error).toMatch(/network error|ECONNREFUSED/);
    const [exec] = await db.sql`select status from keap_meta.job_executions where job = 'keap-full' order by execution_id desc limit 1`;
    expect(exec!.status).toBe('succeeded');
  });
});

describe('OAuth keep-alive', () => {
  it('refreshes the stored token of a quiet account (rotating its refresh token), and does nothing while the access token is fresh', async () => {
    const oauthSb = await startSandbox({ contacts: 5, seed: 9, oauth: { clientId: 'ka-app', clientSecret: 'ka-secret', refreshToken: 'ka-rt-0' } });
    try {
      const keap = sandboxConfig(oauthSb, { KEAP_API_KEY: '', KEAP_CLIENT_ID: 'ka-app', KEAP_CLIENT_SECRET: 'ka-secret', KEAP_REFRESH_TOKEN: 'ka-rt-0', KEAP_TOKEN_URL: oauthSb.tokenUrl, KEAP_TOKEN_KEY: 'keepalive-test-key-0123456789' });
      const s = new Scheduler({ db, schedule: loadScheduleConfig({}, 'oauth'), keap, schemaReady: true, log: () => {} });
      const first = await s.runNow('oauth-keepalive');
      expect(first).toMatchObject({ status: 'succeeded' });
      expect(first!.message).toMatch(/OAuth token refreshed/);
      expect(oauthSb.currentRefreshToken()).not.toBe('ka-rt-0');
      const [row] = await db.sql`select refresh_count, refreshed_run_id from keap_meta.oauth_tokens where client_id = 'ka-app'`;
      expect(row).toMatchObject({ refresh_count: 1, refreshed_run_id: first!.runId });
      const second = await s.runNow('oauth-keepalive');
      expect(second!.message).toMatch(/still valid/);
      expect(oauthSb.stats().tokenRefreshes).toBe(1);
    } finally {
      await oauthSb.close();
    }
  });
});

describe('retention', () => {
  it('deletes merged staged pages, requests and events older than their ages in batches, keeps newer and unmerged ones and every run row', async () => {
    // Two ended runs (60 and 120 days old) and a fresh one, each with a request, events and pages.
    const runs: number[] = [];
    for (const age of [120, 60, 0]) {
      // start_run's advisory lock belongs to its connection: start and end each run on one.
      const conn = await db.sql.reserve();
      const [r] = await conn`select keap_meta.start_run('keap', 'test') as id`;
      const id = Number(r!.id);
      await conn`select keap_meta.log_request(p_run_id => ${id}, p_endpoint => '/v2/contacts')`;
      await conn`select keap_meta.end_run(${id}, 'succeeded')`;
      conn.release();
      await db.sql`update keap_meta.etl_request_log set requested_at = now() - make_interval(days => ${age}) where run_id = ${id}`;
      await db.sql`update keap_meta.etl_run_events set at = now() - make_interval(days => ${age}) where run_id = ${id}`;
      const [req] = await db.sql`select request_id from keap_meta.etl_request_log where run_id = ${id}`;
      // A merged page, and one never merged (kept as evidence), per run.
      await db.sql`insert into keap_staging.tags (run_id, request_id, page_no, payload, fetched_at, merged_at)
                   values (${id}, ${req!.request_id}, 1, '{"tags":[]}', now() - make_interval(days => ${age}), now() - make_interval(days => ${age})),
                          (${id}, null, 2, '{"tags":[]}', now() - make_interval(days => ${age}), null)`;
      runs.push(id);
    }
    const [old120, old60, fresh] = runs as [number, number, number];

    const s = scheduler({ RETENTION_STAGING_DAYS: '14', RETENTION_LOG_DAYS: '90', RETENTION_BATCH_SIZE: '1' });
    const out = await s.runNow('retention');

    expect(out?.status).toBe('succeeded');
    expect(out?.message).toMatch(/retention freed 2 staged page\(s\) .*, 1 request-log row\(s\), \d+ run event\(s\); run rows kept/);
    const pages = await db.sql`select run_id, page_no from keap_staging.tags where run_id = any(${runs}) order by run_id, page_no`;
    expect(pages.map((p) => `${p.run_id}:${p.page_no}`)).toEqual([`${old120}:2`, `${old60}:2`, `${fresh}:1`, `${fresh}:2`]);
    const requests = await db.sql`select run_id from keap_meta.etl_request_log where run_id = any(${runs}) order by run_id`;
    expect(requests.map((r) => Number(r.run_id))).toEqual([old60, fresh]);
    const [events] = await db.sql`select count(*)::int as n from keap_meta.etl_run_events where run_id = ${old120}`;
    expect(events!.n).toBe(0);
    const [kept] = await db.sql`select count(*)::int as n from keap_meta.etl_run_events where run_id in (${old60}, ${fresh})`;
    expect(kept!.n).toBeGreaterThan(0);
    const runRows = await db.sql`select run_id from keap_meta.etl_run_log where run_id = any(${runs})`;
    expect(runRows).toHaveLength(3);
    // The retention run itself is recorded with what it freed.
    const [ev] = await db.sql`select data from keap_meta.etl_run_events where run_id = ${out!.runId} and stage = 'retention'`;
    expect(ev!.data).toMatchObject({ staged_pages: 2, requests: 1, staging_days: 14, log_days: 90 });
  });

  it('keap_ops.bookkeeping_sizes lists every bookkeeping and staging table with its size', async () => {
    const rows = await db.sql`select table_name, total_bytes, retention from keap_ops.bookkeeping_sizes`;
    const names = rows.map((r) => r.table_name);
    expect(names).toEqual(expect.arrayContaining(['keap_meta.etl_request_log', 'keap_meta.etl_run_events', 'keap_meta.etl_run_log', 'keap_staging.contacts']));
    expect(rows.every((r) => Number(r.total_bytes) > 0)).toBe(true);
    expect(rows.find((r) => r.table_name === 'keap_meta.etl_run_log')!.retention).toBeNull();
  });
});
