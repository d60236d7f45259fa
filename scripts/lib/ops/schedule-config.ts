// The scheduler's jobs, as data: each job is one entry (name, kind, pipeline, default cron), and
// configuration only changes its cron expression or switches it off. Adding a table-sync pipeline
// to the schedule is one name in SCHEDULE_PIPELINES. Validation happens here, once, with every
// problem listed (ConfigError, exit code 1), before the scheduler touches the database.
// Cron expressions are node-cron's (5 fields, or 6 with seconds first); nothing here parses them.
import cron from 'node-cron';
import { ConfigError } from '../config.ts';

export type JobKind = 'keap-incremental' | 'keap-full' | 'retention' | 'oauth-keepalive' | 'pipeline';

export interface JobDef {
  /** keap-incremental, keap-full, retention, oauth-keepalive, pipeline:<name>. */
  name: string;
  kind: JobKind;
  /** Pipeline whose run lock the job takes (two jobs on one pipeline never run at once). */
  pipeline: string;
  /** Cron expression in effect; undefined = switched off. */
  cron?: string;
  /** What it does, or why it is off. */
  description: string;
  /** The variable that sets its cron expression. */
  envVar: string;
}

export interface ScheduleConfig {
  timezone: string;
  jobs: JobDef[];
  /** A tick missed within this many minutes before start is run once at start (0 = never). */
  catchUpMinutes: number;
  /** How long a stop waits for running jobs to finish their page and merge. */
  stopTimeoutSeconds: number;
  retention: { stagingDays: number; logDays: number; batchSize: number };
  alert?: { url: string; format: 'slack' | 'json'; timeoutMs: number };
}

type Env = Record<string, string | undefined>;

export const DEFAULT_CRON = {
  'keap-incremental': '*/15 * * * *',
  'keap-full': '0 3 * * *',
  retention: '30 4 * * *',
  'oauth-keepalive': '0 5 * * 1',
  pipeline: '*/15 * * * *',
} as const;

const OFF = /^(off|none|false|no|disabled?)$/i;

/** SCHEDULE_PIPELINE_<NAME>: the pipeline name upper-cased, other characters as _. */
export function pipelineEnvVar(name: string): string {
  return `SCHEDULE_PIPELINE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Reads the schedule from the environment. `keapAuthMode` is how the Keap pipeline authenticates
 * (undefined when no Keap credentials are configured): the OAuth keep-alive only applies to OAuth.
 */
export function loadScheduleConfig(env: Env, keapAuthMode: 'api_key' | 'oauth' | undefined): ScheduleConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
      return fallback;
    }
    return n;
  };

  const timezone = get('SCHEDULE_TIMEZONE') ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    problems.push(`SCHEDULE_TIMEZONE must be an IANA time zone such as UTC or Europe/Berlin (got '${timezone}')`);
  }

  const cronOf = (envVar: string, fallback: string): string | undefined => {
    const raw = get(envVar);
    if (raw !== undefined && OFF.test(raw)) return undefined;
    const expr = raw ?? fallback;
    if (!cron.validate(expr)) {
      problems.push(`${envVar} must be a cron expression such as '*/15 * * * *' (6 fields with seconds first also work), or 'off' (got '${expr}')`);
      return undefined;
    }
    return expr;
  };

  const jobs: JobDef[] = [];
  const keapOff = keapAuthMode === undefined ? 'off: no Keap credentials configured (KEAP_API_KEY, or KEAP_CLIENT_ID + KEAP_CLIENT_SECRET)' : undefined;
  const add = (name: string, kind: JobKind, pipeline: string, envVar: string, what: string, offReason?: string) => {
    const expr = offReason ? undefined : cronOf(envVar, kind === 'pipeline' ? DEFAULT_CRON.pipeline : DEFAULT_CRON[kind]);
    jobs.push({
      name,
      kind,
      pipeline,
      envVar,
      ...(expr ? { cron: expr } : {}),
      description: expr ? what : `${what} — ${offReason ?? `off (${envVar}=off)`}`,
    });
  };
  add('keap-incremental', 'keap-incremental', 'keap', 'SCHEDULE_KEAP_INCREMENTAL', 'Keap incremental sync (changes since the saved watermark)', keapOff);
  add('keap-full', 'keap-full', 'keap', 'SCHEDULE_KEAP_FULL', 'Keap full sweep with delete detection', keapOff);
  for (const name of (get('SCHEDULE_PIPELINES') ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!/^[a-z][a-z0-9_.-]*$/.test(name) || name === 'keap') {
      problems.push(`SCHEDULE_PIPELINES lists '${name}', which is not a table-sync pipeline name (lower-case letters, digits, _ . -; keap has its own jobs)`);
      continue;
    }
    if (jobs.some((j) => j.name === `pipeline:${name}`)) continue;
    add(`pipeline:${name}`, 'pipeline', name, pipelineEnvVar(name), `table sync: npm run sync -- --pipeline ${name}`);
  }
  add('retention', 'retention', 'retention', 'SCHEDULE_RETENTION', 'retention: delete old staged pages, request log and run events in batches');
  add(
    'oauth-keepalive',
    'oauth-keepalive',
    'oauth-keepalive',
    'SCHEDULE_OAUTH_KEEPALIVE',
    'OAuth keep-alive: refresh the stored token so a quiet account never lets it expire',
    keapAuthMode === 'oauth' ? undefined : keapAuthMode === 'api_key' ? 'off: an API key has no token to keep alive' : 'off: no OAuth app configured',
  );

  const catchUpMinutes = num('SCHEDULE_CATCHUP_MINUTES', 60, 0, 10_080);
  const stopTimeoutSeconds = num('SCHEDULE_STOP_TIMEOUT_SECONDS', 60, 1, 3600);
  const retention = {
    stagingDays: num('RETENTION_STAGING_DAYS', 14, 0, 36_500),
    logDays: num('RETENTION_LOG_DAYS', 90, 0, 36_500),
    batchSize: num('RETENTION_BATCH_SIZE', 5000, 1, 1_000_000),
  };

  let alert: ScheduleConfig['alert'];
  const alertUrl = get('ALERT_WEBHOOK_URL');
  if (alertUrl !== undefined) {
    let u: URL | undefined;
    try {
      u = new URL(alertUrl);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') u = undefined;
    } catch {
      u = undefined;
    }
    if (!u) problems.push('ALERT_WEBHOOK_URL must be an http(s) URL');
    const fmt = (get('ALERT_WEBHOOK_FORMAT') ?? 'auto').toLowerCase();
    if (!['auto', 'slack', 'json'].includes(fmt)) problems.push(`ALERT_WEBHOOK_FORMAT must be auto, slack or json (got '${fmt}')`);
    const timeoutMs = num('ALERT_TIMEOUT_MS', 10_000, 100, 120_000);
    if (u) {
      const slack = fmt === 'slack' || (fmt === 'auto' && /(^|\.)slack\.com$/i.test(u.hostname));
      alert = { url: alertUrl, format: slack ? 'slack' : 'json', timeoutMs };
    }
  }

  if (problems.length) throw new ConfigError(problems);
  return { timezone, jobs, catchUpMinutes, stopTimeoutSeconds, retention, ...(alert ? { alert } : {}) };
}
