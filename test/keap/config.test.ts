// loadConfig(): defaults, validation with messages that say exactly what to set (ConfigError,
// exit code 1), .env loading that never overrides the environment, and secrets that never print.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../scripts/lib/config.ts';
import { EXIT, exitCodeFor } from '../../scripts/lib/errors.ts';

function load(env: Record<string, string>): Config {
  return loadConfig(env, { loadDotEnv: false });
}

function problem(env: Record<string, string>): ConfigError {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(exitCodeFor(err)).toBe(EXIT.CONFIG);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults for a PAT/SAK', () => {
    const c = load({ KEAP_API_KEY: 'pat-123456' });
    expect(c).toMatchObject({
      apiUrl: 'https://api.infusionsoft.com/crm',
      auth: { mode: 'api_key', header: 'x-keap-api-key' },
      requestTimeoutMs: 30000,
      maxRetries: 6,
      backoffBaseMs: 1000,
      backoffMaxMs: 60000,
      maxRps: 5,
      quotaReserve: 1000,
      throttleReservePct: 5,
      pageSize: 1000,
      overlapSeconds: 300,
      mergeEveryPages: 10,
      syncConcurrency: 2,
      fullSweepHours: 168,
      heartbeatSeconds: 15,
      progressIntervalMs: 1000,
    });
    expect(c.schedule).toBeUndefined();
    expect(c.databaseUrl).toBeUndefined();
    expect(c.auth.mode === 'api_key' && c.auth.apiKey.reveal()).toBe('pat-123456');
  });

  it('gives OAuth its own defaults (20 req/s, the Keap token URL)', () => {
    const c = load({ KEAP_CLIENT_ID: 'cid', KEAP_CLIENT_SECRET: 'secret-value', KEAP_REFRESH_TOKEN: 'rt-value-1' });
    expect(c.maxRps).toBe(20);
    expect(c.auth).toMatchObject({ mode: 'oauth', clientId: 'cid', tokenUrl: 'https://api.infusionsoft.com/token' });
  });

  it('reads every setting and strips a trailing slash from the API URL', () => {
    const c = load({
      DATABASE_URL: 'postgres://u:p@localhost:5432/db',
      KEAP_API_URL: 'http://127.0.0.1:9999/crm/',
      KEAP_API_KEY: 'k-123456',
      KEAP_AUTH_HEADER: 'Bearer',
      KEAP_TOKEN_KEY: 'a-long-enough-passphrase',
      KEAP_REQUEST_TIMEOUT_MS: '5000',
      KEAP_MAX_RETRIES: '2',
      KEAP_BACKOFF_BASE_MS: '10',
      KEAP_BACKOFF_MAX_MS: '100',
      KEAP_MAX_RPS: '2.5',
      KEAP_QUOTA_RESERVE: '0',
      KEAP_THROTTLE_RESERVE_PCT: '10',
      KEAP_PAGE_SIZE: '250',
      KEAP_OVERLAP_SECONDS: '60',
      KEAP_MERGE_EVERY_PAGES: '3',
      KEAP_SYNC_CONCURRENCY: '3',
      KEAP_FULL_SWEEP_HOURS: '0',
      KEAP_SCHEDULE: '*/15 * * * *',
      KEAP_HEARTBEAT_SECONDS: '5',
      KEAP_PROGRESS_INTERVAL_MS: '250',
    });
    expect(c).toMatchObject({
      databaseUrl: 'postgres://u:p@localhost:5432/db',
      apiUrl: 'http://127.0.0.1:9999/crm',
      auth: { mode: 'api_key', header: 'bearer' },
      requestTimeoutMs: 5000,
      maxRetries: 2,
      backoffBaseMs: 10,
      backoffMaxMs: 100,
      maxRps: 2.5,
      quotaReserve: 0,
      throttleReservePct: 10,
      pageSize: 250,
      overlapSeconds: 60,
      mergeEveryPages: 3,
      syncConcurrency: 3,
      fullSweepHours: 0,
      schedule: '*/15 * * * *',
      heartbeatSeconds: 5,
      progressIntervalMs: 250,
    });
    expect(c.tokenKey?.reveal()).toBe('a-long-enough-passphrase');
  });

  it('refuses both an API key and OAuth settings as contradictory, naming both', () => {
    const e = problem({ KEAP_API_KEY: 'k-123456', KEAP_CLIENT_ID: 'cid' });
    expect(e.message).toMatch(/both KEAP_API_KEY and OAuth settings \(KEAP_CLIENT_ID\)/);
    expect(e.message).toMatch(/use one/);
  });

  it('asks for credentials when there are none', () => {
    expect(problem({}).message).toMatch(/set KEAP_API_KEY .* or KEAP_CLIENT_ID \+ KEAP_CLIENT_SECRET \+ KEAP_REFRESH_TOKEN/);
  });

  it('names the missing half of the OAuth client credentials', () => {
    expect(problem({ KEAP_CLIENT_ID: 'cid', KEAP_REFRESH_TOKEN: 'rt-123456' }).message).toMatch(/KEAP_CLIENT_SECRET is not set/);
    expect(problem({ KEAP_REFRESH_TOKEN: 'rt-123456' }).problems).toEqual([
      expect.stringMatching(/KEAP_CLIENT_ID is not set/),
      expect.stringMatching(/KEAP_CLIENT_SECRET is not set/),
    ]);
  });

  it('accepts OAuth without a refresh token (a stored token may exist; the client checks that)', () => {
    expect(load({ KEAP_CLIENT_ID: 'cid', KEAP_CLIENT_SECRET: 'secret-value' }).auth).toMatchObject({ mode: 'oauth' });
  });

  it('rejects KEAP_AUTH_HEADER values other than x-keap-api-key and bearer, and with OAuth', () => {
    expect(problem({ KEAP_API_KEY: 'k-123456', KEAP_AUTH_HEADER: 'basic' }).message).toMatch(/KEAP_AUTH_HEADER must be 'x-keap-api-key' \(default\) or 'bearer' \(got 'basic'\)/);
    expect(problem({ KEAP_CLIENT_ID: 'c', KEAP_CLIENT_SECRET: 'secret-value', KEAP_AUTH_HEADER: 'bearer' }).message).toMatch(/KEAP_AUTH_HEADER applies only to KEAP_API_KEY/);
  });

  it('reports every bad number and URL at once, each with its variable and allowed range', () => {
    const e = problem({
      KEAP_API_KEY: 'k-123456',
      KEAP_MAX_RETRIES: 'six',
      KEAP_PAGE_SIZE: '5000',
      KEAP_REQUEST_TIMEOUT_MS: '1.5',
      KEAP_API_URL: 'ftp://example.com',
      KEAP_PROGRESS_INTERVAL_MS: 'soon',
      KEAP_SCHEDULE: 'every minute',
    });
    expect(e.problems).toEqual([
      "KEAP_API_URL must be a https or http URL (got 'ftp://example.com')",
      "KEAP_REQUEST_TIMEOUT_MS must be a whole number from 100 to 600000 (got '1.5')",
      "KEAP_MAX_RETRIES must be a whole number from 0 to 20 (got 'six')",
      "KEAP_PAGE_SIZE must be a whole number from 1 to 1000 (got '5000')",
      "KEAP_PROGRESS_INTERVAL_MS must be a whole number from 0 to 3600000 (got 'soon')",
      expect.stringMatching(/^KEAP_SCHEDULE must be a cron expression/),
    ]);
    expect(e.message).toMatch(/^Configuration errors:\n- /);
  });

  it('refuses a backoff cap below its base and a too-short token key', () => {
    expect(problem({ KEAP_API_KEY: 'k-123456', KEAP_BACKOFF_BASE_MS: '500', KEAP_BACKOFF_MAX_MS: '100' }).message).toMatch(/KEAP_BACKOFF_MAX_MS \(100\) must not be below KEAP_BACKOFF_BASE_MS \(500\)/);
    expect(problem({ KEAP_API_KEY: 'k-123456', KEAP_TOKEN_KEY: 'short' }).message).toMatch(/KEAP_TOKEN_KEY must be at least 16 characters/);
  });

  it('never echoes a secret or a database password in a message', () => {
    const e = problem({ KEAP_API_KEY: 'very-secret-key', KEAP_CLIENT_SECRET: 'very-secret-secret', DATABASE_URL: 'mysql://u:hunter2pw@h/db', KEAP_TOKEN_KEY: 'tiny-key' });
    expect(e.message).not.toMatch(/very-secret|hunter2pw|tiny-key/);
    expect(e.message).toMatch(/DATABASE_URL must be a postgres or postgresql URL/);
  });

  it('treats empty values as unset', () => {
    expect(load({ KEAP_API_KEY: '', KEAP_CLIENT_ID: 'cid', KEAP_CLIENT_SECRET: 'secret-value', KEAP_SCHEDULE: '' }).auth.mode).toBe('oauth');
  });

  it('loads a .env file without overriding variables that are already set', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-env-'));
    const file = path.join(dir, '.env');
    fs.writeFileSync(file, 'KEAP_API_KEY=from-file-key\nKEAP_PAGE_SIZE=50\nKEAP_MAX_RETRIES=3\n');
    try {
      const c = loadConfig({ KEAP_MAX_RETRIES: '1' }, { loadDotEnv: true, envFile: file });
      expect(c.auth.mode === 'api_key' && c.auth.apiKey.reveal()).toBe('from-file-key');
      expect(c.pageSize).toBe(50);
      expect(c.maxRetries).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps secrets out of JSON, String() and console output of the config', () => {
    const c = load({ KEAP_CLIENT_ID: 'cid', KEAP_CLIENT_SECRET: 'client-secret-xyz', KEAP_REFRESH_TOKEN: 'refresh-token-xyz', KEAP_TOKEN_KEY: 'token-key-0123456789' });
    const shown = [JSON.stringify(c), inspect(c, { depth: 10 }), String(c.auth.mode === 'oauth' && c.auth.clientSecret)].join('\n');
    expect(shown).not.toMatch(/client-secret-xyz|refresh-token-xyz|token-key-0123456789/);
    expect(shown).toMatch(/\[redacted\]/);
  });
});
