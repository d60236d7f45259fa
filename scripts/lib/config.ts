// Configuration of every script: environment variables, plus a `.env` file in the project root
// when present (real environment variables always win over the file). All validation happens here,
// once, so a bad setting stops the script before it touches the database or Keap, with one message
// that names exactly what to set (ConfigError, exit code 1).
// Secrets (API key, client secret, refresh token, token-store key) are wrapped in `Secret`, which
// prints as [redacted] in logs, JSON and util.inspect; only the code that needs the value calls
// `reveal()`. Error messages here never echo a secret's value.
import fs from 'node:fs';
import path from 'node:path';
import { inspect, parseEnv } from 'node:util';
import cron from 'node-cron';
import { PROJECT_ROOT } from './db.ts';
import { EXIT } from './errors.ts';

/** A secret value that never prints: String(), JSON.stringify() and console.log() all show [redacted]. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The real value; pass it straight to the place that needs it, never to a log. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

export class ConfigError extends Error {
  readonly exitCode = EXIT.CONFIG;
  /** Each problem on its own, in the order found. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? `Configuration error: ${problems[0]}` : `Configuration errors:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type AuthHeaderMode = 'x-keap-api-key' | 'bearer';

/** A Personal Access Token or Service Account Key: one tenant, sent on every request. */
export interface ApiKeyAuth {
  mode: 'api_key';
  /** KEAP_API_KEY: the PAT or SAK. */
  apiKey: Secret;
  /** KEAP_AUTH_HEADER: `x-keap-api-key` (documented, default) or `bearer` (`Authorization: Bearer <key>`, as the SDK samples do). */
  header: AuthHeaderMode;
}

/** OAuth2 with rotating refresh tokens, kept in keap_meta.oauth_tokens. */
export interface OAuthAuth {
  mode: 'oauth';
  /** KEAP_CLIENT_ID: the developer app's client id (also the key of the stored token row). */
  clientId: string;
  /** KEAP_CLIENT_SECRET: the developer app's client secret (sent as HTTP Basic to the token URL). */
  clientSecret: Secret;
  /**
   * KEAP_REFRESH_TOKEN: seeds the token store on the first run only. Once a token is stored for
   * this client id, the stored (newer, rotated) refresh token wins and this value is ignored.
   */
  refreshToken?: Secret;
  /** KEAP_TOKEN_URL: the OAuth token endpoint (default https://api.infusionsoft.com/token). */
  tokenUrl: string;
}

export interface Config {
  /** DATABASE_URL: PostgreSQL connection string; unset = the project's embedded server. */
  databaseUrl?: string;
  /** KEAP_API_URL: Keap API base, without a trailing slash (default https://api.infusionsoft.com/crm); paths like /rest/v2/contacts are appended. */
  apiUrl: string;
  /** KEAP_API_KEY (+ KEAP_AUTH_HEADER), or KEAP_CLIENT_ID + KEAP_CLIENT_SECRET (+ KEAP_REFRESH_TOKEN, KEAP_TOKEN_URL). */
  auth: ApiKeyAuth | OAuthAuth;
  /** KEAP_TOKEN_KEY: passphrase that encrypts stored OAuth tokens (AES-256-GCM, key derived with scrypt); unset = stored in plain text (a warning says so). */
  tokenKey?: Secret;
  /** KEAP_REQUEST_TIMEOUT_MS: timeout of one HTTP request, body included (default 30000). */
  requestTimeoutMs: number;
  /** KEAP_MAX_RETRIES: retries after the first attempt on 429, 5xx, network errors and unparseable bodies (default 6). */
  maxRetries: number;
  /** KEAP_BACKOFF_BASE_MS: first backoff step; doubles per retry, full jitter (default 1000). */
  backoffBaseMs: number;
  /** KEAP_BACKOFF_MAX_MS: cap of one backoff sleep (default 60000). */
  backoffMaxMs: number;
  /** KEAP_MAX_RPS: token-bucket rate limit in requests per second (default 5 for PAT/SAK, 20 for OAuth). */
  maxRps: number;
  /** KEAP_QUOTA_RESERVE: daily requests to leave untouched; at or below it the run stops as `partial` (default 1000). */
  quotaReserve: number;
  /** KEAP_THROTTLE_RESERVE_PCT: share of the per-minute throttle left unused; below it the client waits for the window to roll (default 5). */
  throttleReservePct: number;
  /** KEAP_PAGE_SIZE: records per page requested by the engine, 1..1000 (default 1000; endpoints with lower maxima are capped by the engine). */
  pageSize: number;
  /** KEAP_OVERLAP_SECONDS: how far before the saved watermark an incremental run starts (default 300). */
  overlapSeconds: number;
  /** KEAP_MERGE_EVERY_PAGES: the engine merges staged pages every this many pages (default 10). */
  mergeEveryPages: number;
  /** KEAP_SYNC_CONCURRENCY: entities synced at the same time, each with its own requests and merges (default 2; 1 = one after the other). */
  syncConcurrency: number;
  /** KEAP_FULL_SWEEP_HOURS: hours between full sweeps with delete detection (default 168 = weekly; 0 = never). */
  fullSweepHours: number;
  /** KEAP_SCHEDULE: cron expression for the in-process scheduler; unset or empty = run once. */
  schedule?: string;
  /** KEAP_HEARTBEAT_SECONDS: how often a running run records its heartbeat (default 15). */
  heartbeatSeconds: number;
  /** KEAP_PROGRESS_INTERVAL_MS: progress is stored and published on keap_run_events at most this often (default 1000). */
  progressIntervalMs: number;
}

export const DEFAULT_API_URL = 'https://api.infusionsoft.com/crm';
export const DEFAULT_TOKEN_URL = 'https://api.infusionsoft.com/token';

export interface LoadConfigOptions {
  /**
   * Load a .env file (default: only when `env` is `process.env`). Into `process.env` via
   * process.loadEnvFile, otherwise into the given object; keys already set are never overridden.
   */
  loadDotEnv?: boolean;
  /** The .env file to load (default: `.env` in the project root). */
  envFile?: string;
}

type Env = Record<string, string | undefined>;

/**
 * Loads the project's `.env` (or opts.envFile) into `env` when asked (default: only when `env` is
 * `process.env`); variables already set always win. Shared by every pipeline's configuration.
 */
export function applyDotEnv(env: Env, opts: LoadConfigOptions = {}): void {
  const envFile = opts.envFile ?? path.join(PROJECT_ROOT, '.env');
  if ((opts.loadDotEnv ?? env === process.env) && fs.existsSync(envFile)) {
    if (env === process.env) {
      // Never overrides variables already in the environment.
      process.loadEnvFile(envFile);
    } else {
      try {
        const parsed = parseEnv(fs.readFileSync(envFile, 'utf8'));
        for (const [k, v] of Object.entries(parsed)) if (env[k] === undefined && v !== undefined) env[k] = v;
      } catch (err) {
        throw new ConfigError([`could not read ${envFile}: ${(err as Error).message}`]);
      }
    }
  }
}

/** Reads and validates the configuration; throws ConfigError (exit code 1) listing every problem. */
export function loadConfig(env: Env = process.env, opts: LoadConfigOptions = {}): Config {
  applyDotEnv(env, opts);

  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const url = (name: string, fallback: string | undefined, protocols: string[]): string | undefined => {
    const raw = get(name) ?? fallback;
    if (raw === undefined) return undefined;
    try {
      const u = new URL(raw);
      if (!protocols.includes(u.protocol)) throw new Error('protocol');
      if (u.username || u.password) {
        if (name !== 'DATABASE_URL') throw new Error('credentials');
      }
      return raw.replace(/\/+$/, '');
    } catch (err) {
      // DATABASE_URL may hold a password: never echo it.
      const shown = name === 'DATABASE_URL' ? '' : ` (got '${raw}')`;
      const why = (err as Error).message === 'credentials' ? ' without a user name or password in it' : '';
      problems.push(`${name} must be a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL${why}${shown}`);
      return undefined;
    }
  };

  const num = (name: string, fallback: number, min: number, max: number, integer = true): number => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(raw) || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      problems.push(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (got '${raw}')`);
      return fallback;
    }
    return n;
  };

  const databaseUrl = url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  const apiUrl = url('KEAP_API_URL', DEFAULT_API_URL, ['https:', 'http:']) ?? DEFAULT_API_URL;

  // --- credentials: exactly one mode ---
  const apiKey = get('KEAP_API_KEY');
  const oauthVars = ['KEAP_CLIENT_ID', 'KEAP_CLIENT_SECRET', 'KEAP_REFRESH_TOKEN'].filter((n) => get(n) !== undefined);
  const headerRaw = get('KEAP_AUTH_HEADER');
  let auth: ApiKeyAuth | OAuthAuth | undefined;
  if (apiKey !== undefined && oauthVars.length > 0) {
    problems.push(
      `both KEAP_API_KEY and OAuth settings (${oauthVars.join(', ')}) are set; use one: KEAP_API_KEY alone for a personal access token or service account key, or unset it and use KEAP_CLIENT_ID + KEAP_CLIENT_SECRET (+ KEAP_REFRESH_TOKEN) for OAuth`,
    );
  } else if (apiKey !== undefined) {
    let header: AuthHeaderMode = 'x-keap-api-key';
    if (headerRaw !== undefined) {
      const h = headerRaw.toLowerCase();
      if (h === 'x-keap-api-key' || h === 'bearer') header = h;
      else problems.push(`KEAP_AUTH_HEADER must be 'x-keap-api-key' (default) or 'bearer' (got '${headerRaw}')`);
    }
    auth = { mode: 'api_key', apiKey: new Secret(apiKey), header };
  } else if (oauthVars.length > 0) {
    const clientId = get('KEAP_CLIENT_ID');
    const clientSecret = get('KEAP_CLIENT_SECRET');
    if (clientId === undefined) problems.push('KEAP_CLIENT_ID is not set; OAuth needs KEAP_CLIENT_ID and KEAP_CLIENT_SECRET (your developer app\'s keys)');
    if (clientSecret === undefined) problems.push('KEAP_CLIENT_SECRET is not set; OAuth needs KEAP_CLIENT_ID and KEAP_CLIENT_SECRET (your developer app\'s keys)');
    if (headerRaw !== undefined) problems.push('KEAP_AUTH_HEADER applies only to KEAP_API_KEY; unset it when using OAuth');
    const tokenUrl = url('KEAP_TOKEN_URL', DEFAULT_TOKEN_URL, ['https:', 'http:']) ?? DEFAULT_TOKEN_URL;
    const refresh = get('KEAP_REFRESH_TOKEN');
    if (clientId !== undefined && clientSecret !== undefined) {
      auth = { mode: 'oauth', clientId, clientSecret: new Secret(clientSecret), tokenUrl, ...(refresh !== undefined ? { refreshToken: new Secret(refresh) } : {}) };
    }
  } else {
    problems.push(
      'no Keap credentials: set KEAP_API_KEY (a personal access token or service account key), or KEAP_CLIENT_ID + KEAP_CLIENT_SECRET + KEAP_REFRESH_TOKEN for OAuth',
    );
  }

  const tokenKeyRaw = get('KEAP_TOKEN_KEY');
  if (tokenKeyRaw !== undefined && tokenKeyRaw.length < 16) {
    problems.push('KEAP_TOKEN_KEY must be at least 16 characters (for example the output of `openssl rand -base64 32`)');
  }

  const isKey = auth?.mode !== 'oauth';
  const requestTimeoutMs = num('KEAP_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000);
  const maxRetries = num('KEAP_MAX_RETRIES', 6, 0, 20);
  const backoffBaseMs = num('KEAP_BACKOFF_BASE_MS', 1000, 0, 600_000);
  const backoffMaxMs = num('KEAP_BACKOFF_MAX_MS', 60_000, 0, 3_600_000);
  if (backoffMaxMs < backoffBaseMs) problems.push(`KEAP_BACKOFF_MAX_MS (${backoffMaxMs}) must not be below KEAP_BACKOFF_BASE_MS (${backoffBaseMs})`);
  const maxRps = num('KEAP_MAX_RPS', isKey ? 5 : 20, 0.01, 10_000, false);
  const quotaReserve = num('KEAP_QUOTA_RESERVE', 1000, 0, 10_000_000);
  const throttleReservePct = num('KEAP_THROTTLE_RESERVE_PCT', 5, 0, 90, false);
  const pageSize = num('KEAP_PAGE_SIZE', 1000, 1, 1000);
  const overlapSeconds = num('KEAP_OVERLAP_SECONDS', 300, 0, 30 * 86_400);
  const mergeEveryPages = num('KEAP_MERGE_EVERY_PAGES', 10, 1, 1_000_000);
  const syncConcurrency = num('KEAP_SYNC_CONCURRENCY', 2, 1, 8);
  const fullSweepHours = num('KEAP_FULL_SWEEP_HOURS', 168, 0, 100_000, false);
  const heartbeatSeconds = num('KEAP_HEARTBEAT_SECONDS', 15, 1, 3600);
  const progressIntervalMs = num('KEAP_PROGRESS_INTERVAL_MS', 1000, 0, 3_600_000);
  const schedule = get('KEAP_SCHEDULE');
  if (schedule !== undefined && !cron.validate(schedule)) {
    problems.push(`KEAP_SCHEDULE must be a cron expression such as '*/15 * * * *', or empty to run once (got '${schedule}')`);
  }

  if (problems.length > 0 || !auth) throw new ConfigError(problems);
  return {
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    apiUrl,
    auth,
    ...(tokenKeyRaw !== undefined ? { tokenKey: new Secret(tokenKeyRaw) } : {}),
    requestTimeoutMs,
    maxRetries,
    backoffBaseMs,
    backoffMaxMs,
    maxRps,
    quotaReserve,
    throttleReservePct,
    pageSize,
    overlapSeconds,
    mergeEveryPages,
    syncConcurrency,
    fullSweepHours,
    ...(schedule !== undefined ? { schedule } : {}),
    heartbeatSeconds,
    progressIntervalMs,
  };
}

/** A printable summary of the configuration (secrets shown only as set/unset). */
export function describeConfig(c: Config): Record<string, unknown> {
  return {
    apiUrl: c.apiUrl,
    auth: c.auth.mode === 'api_key' ? { mode: 'api_key', header: c.auth.header } : { mode: 'oauth', clientId: c.auth.clientId, tokenUrl: c.auth.tokenUrl, refreshTokenFromEnv: !!c.auth.refreshToken },
    tokensEncrypted: !!c.tokenKey,
    database: c.databaseUrl ? 'DATABASE_URL' : 'embedded',
    requestTimeoutMs: c.requestTimeoutMs,
    maxRetries: c.maxRetries,
    backoffBaseMs: c.backoffBaseMs,
    backoffMaxMs: c.backoffMaxMs,
    maxRps: c.maxRps,
    quotaReserve: c.quotaReserve,
    throttleReservePct: c.throttleReservePct,
    pageSize: c.pageSize,
    overlapSeconds: c.overlapSeconds,
    mergeEveryPages: c.mergeEveryPages,
    syncConcurrency: c.syncConcurrency,
    fullSweepHours: c.fullSweepHours,
    schedule: c.schedule ?? null,
    heartbeatSeconds: c.heartbeatSeconds,
    progressIntervalMs: c.progressIntervalMs,
  };
}
