// OAuth against the local Keap sandbox over real HTTP: the token store in keap_meta (seeded once
// from KEAP_REFRESH_TOKEN, the stored rotated token wins afterwards), an access token expiring
// mid-run refreshed once, two processes refreshing at the same moment without an invalid_grant
// lockout, encryption at rest with KEAP_TOKEN_KEY (and a clear error for a wrong key), clear
// errors for invalid_grant / invalid_client, and no token or secret in the request log.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../scripts/lib/config.ts';
import { EXIT, exitCodeFor } from '../../scripts/lib/errors.ts';
import { KeapAuthError, KeapClient } from '../../scripts/lib/keap/client.ts';
import { withRun, type RunContext } from '../../scripts/lib/run.ts';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { spawnTs } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';

const SECRET = 'client-secret-0123456789';
const TOKEN_KEY = 'token-store-passphrase-0123456789';

let db: TestDb;
let clientSeq = 0;

beforeAll(async () => {
  db = await createTestDatabase('keap_oauth');
});
afterAll(async () => {
  await db?.drop();
});

/** Client config for sandbox `s`, with its own token row (client id) per test. */
function oauthConfig(s: Sandbox, clientId: string, extra: Record<string, string> = {}): Config {
  return loadConfig(
    {
      KEAP_API_URL: s.url,
      KEAP_TOKEN_URL: s.tokenUrl,
      KEAP_CLIENT_ID: clientId,
      KEAP_CLIENT_SECRET: SECRET,
      KEAP_REFRESH_TOKEN: s.currentRefreshToken(),
      KEAP_BACKOFF_BASE_MS: '2',
      KEAP_BACKOFF_MAX_MS: '20',
      KEAP_QUOTA_RESERVE: '0',
      KEAP_MAX_RPS: '1000',
      ...extra,
    },
    { loadDotEnv: false },
  );
}

/** A sandbox whose OAuth app is `clientId`; its clock runs `offset.ms` ahead of ours, so its tokens can expire while we still trust them. */
async function oauthSandbox(clientId: string, ttl = 3600, extra: Partial<Parameters<typeof startSandbox>[0]> = {}): Promise<Sandbox & { offset: { ms: number } }> {
  const offset = { ms: 0 };
  const s = await startSandbox({
    contacts: 30,
    seed: 2,
    apiKeys: [],
    oauth: { clientId, clientSecret: SECRET, refreshToken: `seed-refresh-token-${clientId}`, accessTokenTtlSeconds: ttl },
    now: () => new Date(Date.now() + offset.ms),
    ...extra,
  });
  return Object.assign(s, { offset });
}

function run<T>(fn: (ctx: RunContext) => Promise<T>): Promise<{ runId: number; value: T }> {
  return withRun(db, `test_keap_oauth_${++clientSeq}`, { handleSignals: false }, fn);
}

const get = (client: KeapClient, ctx: RunContext) => client.get(ctx, '/rest/v2/contacts', { page_size: 5 }, { entity: 'contacts' });

async function tokenRow(clientId: string) {
  const [row] = await db.sql`select * from keap_meta.oauth_tokens where client_id = ${clientId}`;
  return row;
}

describe('OAuth token store', () => {
  it('seeds from KEAP_REFRESH_TOKEN, refreshes once, and stores the rotated pair', async () => {
    const s = await oauthSandbox('seed-client');
    try {
      const { runId, value } = await run(async (ctx) => {
        const client = new KeapClient({ config: oauthConfig(s, 'seed-client'), db, warn: () => {} });
        const pages = [await get(client, ctx), await get(client, ctx), await get(client, ctx)];
        return { pages, stats: client.stats() };
      });
      expect(value.pages.map((p) => p.status)).toEqual([200, 200, 200]);
      expect(value.stats.tokenRefreshes).toBe(1);
      expect(s.stats()).toMatchObject({ tokenRefreshes: 1, invalidGrants: 0 });
      const row = await tokenRow('seed-client');
      expect(row).toMatchObject({ encryption: 'none', source: 'refresh', refresh_count: 1, refreshed_run_id: runId, token_type: 'bearer' });
      expect(row!.refresh_token.toString('utf8')).toBe(s.currentRefreshToken());
      expect(row!.scope).toMatch(/^full\|/);
      const log = await db.sql`select endpoint, method, http_status, query_params, error from keap_meta.etl_request_log where run_id = ${runId} order by request_id`;
      expect(log[0]).toMatchObject({ endpoint: '/token', method: 'POST', http_status: 200, query_params: {}, error: null });
      expect(log.slice(1).map((r) => r.endpoint)).toEqual(['/rest/v2/contacts', '/rest/v2/contacts', '/rest/v2/contacts']);
      const events = await db.sql`select level, message from keap_meta.etl_run_events where run_id = ${runId} and level = 'warn'`;
      expect(events.map((e) => e.message).join()).toMatch(/stored unencrypted.*set KEAP_TOKEN_KEY/);
    } finally {
      await s.close();
    }
  });

  it('refreshes once when the access token expires mid-run (401), and retries the request', async () => {
    const s = await oauthSandbox('expiry-client');
    try {
      const { runId, value } = await run(async (ctx) => {
        const client = new KeapClient({ config: oauthConfig(s, 'expiry-client'), db, warn: () => {} });
        const first = await get(client, ctx);
        s.offset.ms += 2 * 3600_000; // the token expired at Keap, and we do not know it yet
        const second = await get(client, ctx);
        const third = await get(client, ctx);
        return { statuses: [first.status, second.status, third.status], stats: client.stats() };
      });
      expect(value.statuses).toEqual([200, 200, 200]);
      expect(value.stats.tokenRefreshes).toBe(2);
      expect(s.stats()).toMatchObject({ tokenRefreshes: 2, invalidGrants: 0 });
      const log = await db.sql`select endpoint, http_status, attempt, error from keap_meta.etl_request_log where run_id = ${runId} order by request_id`;
      expect(log.map((r) => [r.endpoint, r.http_status, r.attempt])).toEqual([
        ['/token', 200, 1],
        ['/rest/v2/contacts', 200, 1],
        ['/rest/v2/contacts', 401, 1],
        ['/token', 200, 1],
        ['/rest/v2/contacts', 200, 2],
        ['/rest/v2/contacts', 200, 1],
      ]);
      expect(log[2]!.error).toMatch(/HTTP 401: keymanagement.service.access_token_expired/);
    } finally {
      await s.close();
    }
  });

  it('refreshes ahead of expiry when it knows the token is about to expire, without a 401', async () => {
    const s = await oauthSandbox('ahead-client', 2);
    try {
      const { value } = await run(async (ctx) => {
        const client = new KeapClient({ config: oauthConfig(s, 'ahead-client'), db, warn: () => {} });
        await get(client, ctx);
        await new Promise((r) => setTimeout(r, 1900));
        await get(client, ctx);
        return client.stats();
      });
      expect(value.tokenRefreshes).toBe(2);
      expect(s.stats().requests['GET /contacts']?.['401']).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('fails with KeapAuthError when the token is rejected again right after a refresh', async () => {
    const s = await oauthSandbox('dead-client');
    // The API is another sandbox, which knows none of the tokens this token URL issues.
    const other = await oauthSandbox('other-client');
    try {
      const cfg = oauthConfig(s, 'dead-client', { KEAP_API_URL: other.url });
      const err = await run(async (ctx) => get(new KeapClient({ config: cfg, db, warn: () => {} }), ctx)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeapAuthError);
      expect(err).toMatchObject({ status: 401, code: 'oauth.v2.InvalidAccessToken', attempts: 2 });
      expect((err as Error).message).toMatch(/even after a token refresh.*Re-authorize the Keap app/);
      expect(s.stats()).toMatchObject({ tokenRefreshes: 2, invalidGrants: 0 });
    } finally {
      await s.close();
      await other.close();
    }
  });

  it('prefers the stored (rotated) refresh token over a stale KEAP_REFRESH_TOKEN', async () => {
    const s = await oauthSandbox('stale-env-client');
    try {
      const staleEnv = s.currentRefreshToken();
      await run(async (ctx) => get(new KeapClient({ config: oauthConfig(s, 'stale-env-client'), db, warn: () => {} }), ctx));
      expect(s.currentRefreshToken()).not.toBe(staleEnv);
      s.offset.ms += 2 * 3600_000;
      const { value } = await run(async (ctx) => {
        const client = new KeapClient({ config: oauthConfig(s, 'stale-env-client', { KEAP_REFRESH_TOKEN: staleEnv }), db, warn: () => {} });
        return { page: await get(client, ctx), stats: client.stats() };
      });
      expect(value.page.status).toBe(200);
      expect(s.stats()).toMatchObject({ tokenRefreshes: 2, invalidGrants: 0 });
    } finally {
      await s.close();
    }
  });

  it('reuses a still-valid stored access token in a new process instead of refreshing', async () => {
    const s = await oauthSandbox('reuse-client');
    try {
      await run(async (ctx) => get(new KeapClient({ config: oauthConfig(s, 'reuse-client'), db, warn: () => {} }), ctx));
      const { value } = await run(async (ctx) => {
        const client = new KeapClient({ config: oauthConfig(s, 'reuse-client'), db, warn: () => {} });
        await get(client, ctx);
        return client.stats();
      });
      expect(value.tokenRefreshes).toBe(0);
      expect(s.stats().tokenRefreshes).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('asks for KEAP_REFRESH_TOKEN (exit code 1) when nothing is stored and none is set', async () => {
    const s = await oauthSandbox('empty-client');
    try {
      const cfg = loadConfig({ KEAP_API_URL: s.url, KEAP_TOKEN_URL: s.tokenUrl, KEAP_CLIENT_ID: 'empty-client', KEAP_CLIENT_SECRET: SECRET }, { loadDotEnv: false });
      const err = await run(async (ctx) => get(new KeapClient({ config: cfg, db, warn: () => {} }), ctx)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect(exitCodeFor(err)).toBe(EXIT.CONFIG);
      expect((err as Error).message).toMatch(/no OAuth token is stored for client id 'empty-client' and KEAP_REFRESH_TOKEN is not set/);
      expect(await tokenRow('empty-client')).toBeUndefined();
    } finally {
      await s.close();
    }
  });

  it('reports invalid_grant clearly, without the token, and says how to re-authorize', async () => {
    const s = await oauthSandbox('grant-client');
    const bogus = 'bogus-refresh-token-abcdef';
    try {
      const err = await run(async (ctx) =>
        get(new KeapClient({ config: oauthConfig(s, 'grant-client', { KEAP_REFRESH_TOKEN: bogus }), db, warn: () => {} }), ctx),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeapAuthError);
      const e = err as KeapAuthError;
      expect(e).toMatchObject({ status: 400, code: 'invalid_grant', endpoint: '/token', exitCode: 4 });
      expect(e.message).toMatch(/refresh token from KEAP_REFRESH_TOKEN \(invalid_grant: Invalid refresh token\)/);
      expect(e.message).toMatch(/delete the row of client id 'grant-client' in keap_meta.oauth_tokens and set KEAP_REFRESH_TOKEN/);
      expect(e.message).not.toContain(bogus);
    } finally {
      await s.close();
    }
  });

  it('reports invalid_client with a hint about KEAP_CLIENT_ID / KEAP_CLIENT_SECRET, without the secret', async () => {
    const s = await oauthSandbox('secret-client');
    try {
      const wrong = 'wrong-client-secret-987654';
      const err = await run(async (ctx) =>
        get(new KeapClient({ config: oauthConfig(s, 'secret-client', { KEAP_CLIENT_SECRET: wrong }), db, warn: () => {} }), ctx),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeapAuthError);
      expect((err as KeapAuthError).code).toBe('invalid_client');
      expect((err as Error).message).toMatch(/Check KEAP_CLIENT_ID and KEAP_CLIENT_SECRET/);
      expect((err as Error).message).not.toContain(wrong);
    } finally {
      await s.close();
    }
  });
});

describe('OAuth encryption at rest', () => {
  it('stores tokens encrypted with KEAP_TOKEN_KEY: the raw columns do not contain them', async () => {
    const s = await oauthSandbox('enc-client');
    try {
      await run(async (ctx) => get(new KeapClient({ config: oauthConfig(s, 'enc-client', { KEAP_TOKEN_KEY: TOKEN_KEY }), db, warn: () => {} }), ctx));
      const row = await tokenRow('enc-client');
      expect(row).toMatchObject({ encryption: 'aes-256-gcm', source: 'refresh' });
      expect(row!.key_check).toMatch(/^[0-9a-f]{16}$/);
      expect(row!.refresh_token_iv).toHaveLength(12);
      expect(row!.refresh_token_tag).toHaveLength(16);
      const rt = s.currentRefreshToken();
      const [found] = await db.sql`
        select position(convert_to(${rt}, 'utf8') in refresh_token) as in_refresh,
               position(convert_to('sbx-', 'utf8') in access_token) as in_access,
               t::text like ${'%' + rt + '%'} as in_text,
               t::text like '%sbx-at-%' as access_in_text
          from keap_meta.oauth_tokens t where client_id = 'enc-client'`;
      expect(found).toEqual({ in_refresh: 0, in_access: 0, in_text: false, access_in_text: false });

      // The same key reads them back (no refresh needed); a wrong or missing key is a clear config error.
      const { value } = await run(async (ctx) => {
        const client = new KeapClient({ config: oauthConfig(s, 'enc-client', { KEAP_TOKEN_KEY: TOKEN_KEY }), db, warn: () => {} });
        await get(client, ctx);
        return client.stats();
      });
      expect(value.tokenRefreshes).toBe(0);
      const wrong = await run(async (ctx) =>
        get(new KeapClient({ config: oauthConfig(s, 'enc-client', { KEAP_TOKEN_KEY: 'not-the-right-passphrase' }), db, warn: () => {} }), ctx),
      ).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(ConfigError);
      expect((wrong as Error).message).toMatch(/KEAP_TOKEN_KEY is not the key the stored OAuth tokens of client id 'enc-client' were encrypted with/);
      expect((wrong as Error).message).not.toContain('not-the-right-passphrase');
      const missing = await run(async (ctx) => get(new KeapClient({ config: oauthConfig(s, 'enc-client'), db, warn: () => {} }), ctx)).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(ConfigError);
      expect((missing as Error).message).toMatch(/are encrypted: set KEAP_TOKEN_KEY/);
      expect(s.stats().invalidGrants).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('encrypts tokens stored in plain text once KEAP_TOKEN_KEY is set', async () => {
    const s = await oauthSandbox('upgrade-client');
    try {
      await run(async (ctx) => get(new KeapClient({ config: oauthConfig(s, 'upgrade-client'), db, warn: () => {} }), ctx));
      expect((await tokenRow('upgrade-client'))!.encryption).toBe('none');
      await run(async (ctx) => get(new KeapClient({ config: oauthConfig(s, 'upgrade-client', { KEAP_TOKEN_KEY: TOKEN_KEY }), db, warn: () => {} }), ctx));
      const row = await tokenRow('upgrade-client');
      expect(row!.encryption).toBe('aes-256-gcm');
      expect(row!.refresh_token.toString('utf8')).not.toBe(s.currentRefreshToken());
    } finally {
      await s.close();
    }
  });

  it('keeps the token table away from keap_reader, with a comment on the table and every column', async () => {
    const [priv] = await db.sql`
      select has_schema_privilege('keap_reader', 'keap_meta', 'usage') as schema_usage,
             has_table_privilege('keap_reader', 'keap_meta.oauth_tokens', 'select') as table_select`;
    expect(priv).toEqual({ schema_usage: false, table_select: false });
    const missing = await db.sql`
      select a.attname from pg_attribute a
       where a.attrelid = 'keap_meta.oauth_tokens'::regclass and a.attnum > 0 and not a.attisdropped
         and col_description(a.attrelid, a.attnum) is null`;
    expect(missing).toEqual([]);
    const [t] = await db.sql`select obj_description('keap_meta.oauth_tokens'::regclass, 'pg_class') as c`;
    expect(t!.c).toBeTruthy();
  });
});

describe('OAuth across processes', () => {
  it('two processes refreshing at the same moment: exactly one refresh at Keap, no invalid_grant, both proceed', async () => {
    const s = await oauthSandbox('race-client', 3600, { latencyMs: 150 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-oauth-race-'));
    const barrier = path.join(dir, 'go');
    try {
      const env = {
        DATABASE_URL: db.url,
        KEAP_API_URL: s.url,
        KEAP_TOKEN_URL: s.tokenUrl,
        KEAP_CLIENT_ID: 'race-client',
        KEAP_CLIENT_SECRET: SECRET,
        KEAP_REFRESH_TOKEN: s.currentRefreshToken(),
        KEAP_TOKEN_KEY: TOKEN_KEY,
        KEAP_API_KEY: '',
        KEAP_QUOTA_RESERVE: '0',
        KEAP_BACKOFF_BASE_MS: '2',
        KEAP_BACKOFF_MAX_MS: '20',
        TEST_BARRIER_FILE: barrier,
      };
      const a = spawnTs('test/keap/oauth-child.ts', ['oauth_race_a'], env);
      const b = spawnTs('test/keap/oauth-child.ts', ['oauth_race_b'], env);
      await Promise.all([a.waitFor(/READY/), b.waitFor(/READY/)]);
      fs.writeFileSync(barrier, 'go');
      const [ea, eb] = await Promise.all([a.exit, b.exit]);
      expect([ea.code, eb.code], a.output() + b.output()).toEqual([0, 0]);
      const refreshes = [a.output(), b.output()].map((o) => Number(/OK status=200 refreshes=(\d+)/.exec(o)?.[1]));
      expect(refreshes.sort()).toEqual([0, 1]);
      expect(s.stats()).toMatchObject({ tokenRefreshes: 1, invalidGrants: 0 });
      expect((await tokenRow('race-client'))!.refresh_count).toBe(1);

      // Later, both hold the same expired access token and get a 401 at the same moment.
      s.offset.ms += 2 * 3600_000;
      fs.rmSync(barrier);
      const c = spawnTs('test/keap/oauth-child.ts', ['oauth_race_c'], env);
      const d = spawnTs('test/keap/oauth-child.ts', ['oauth_race_d'], env);
      await Promise.all([c.waitFor(/READY/), d.waitFor(/READY/)]);
      fs.writeFileSync(barrier, 'go');
      const [ec, ed] = await Promise.all([c.exit, d.exit]);
      expect([ec.code, ed.code], c.output() + d.output()).toEqual([0, 0]);
      expect(s.stats()).toMatchObject({ tokenRefreshes: 2, invalidGrants: 0 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await s.close();
    }
  });

  it('never writes a token, refresh token or client secret to the request log', async () => {
    const [row] = await db.sql`select string_agg(l::text, ' ') as text, count(*) filter (where endpoint = '/token') as token_calls from keap_meta.etl_request_log l`;
    expect(Number(row!.token_calls)).toBeGreaterThan(5);
    expect(row!.text).not.toMatch(/sbx-at-|sbx-rt-|seed-refresh-token|bogus-refresh-token/);
    expect(row!.text).not.toContain(SECRET);
  });
});
