// `npm run connect` end to end against the sandbox's OAuth flow (authorize page, redirect with a
// code, token endpoint), as a user would: the test plays the browser. Then the sync works with the
// stored pair alone; `--check` reports account and quota for an API key and exit 4 for a bad one.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../scripts/lib/db.ts';
import { freePort } from '../../scripts/lib/embedded-pg.ts';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { spawnTs } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig, sandboxEnv } from '../sync/helpers.ts';

let db: TestDb;
let sb: Sandbox;
const TOKEN_KEY = 'connect-test-token-key-0123456789';

beforeAll(async () => {
  db = await createTestDatabase('connect');
  sb = await startSandbox({
    contacts: 30,
    seed: 3,
    apiKeys: [API_KEY],
    limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 },
    oauth: { clientId: 'my-app', clientSecret: 'my-secret', refreshToken: 'never-handed-out' },
  });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

function oauthEnv(extra: Record<string, string>): Record<string, string> {
  return sandboxEnv(sb, db.url, {
    KEAP_API_KEY: '',
    KEAP_CLIENT_ID: 'my-app',
    KEAP_CLIENT_SECRET: 'my-secret',
    KEAP_TOKEN_URL: sb.tokenUrl,
    KEAP_AUTHORIZE_URL: sb.authorizeUrl,
    KEAP_TOKEN_KEY: TOKEN_KEY,
    ...extra,
  });
}

/** What the user's browser does: open the consent page, press Allow, follow the redirect. */
async function approveInBrowser(authorizeUrl: string, decision = 'allow'): Promise<{ status: number; text: string }> {
  const page = await fetch(authorizeUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toMatch(/Allow my-app to access the sandbox account/);
  const form = new URLSearchParams({ decision });
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1]!, m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))));
  const consent = await fetch(new URL(authorizeUrl).origin + new URL(authorizeUrl).pathname, { method: 'POST', body: form, redirect: 'manual' });
  expect(consent.status).toBe(302);
  const back = await fetch(consent.headers.get('location')!);
  return { status: back.status, text: await back.text() };
}

describe('npm run connect', () => {
  it('authorizes through the consent page and a local redirect, stores the pair encrypted as the sync does, proves it with one call, and the sync then runs on it', async () => {
    const port = await freePort();
    const child = spawnTs('scripts/connect.ts', [], oauthEnv({ KEAP_REDIRECT_URI: `http://127.0.0.1:${port}/keap/callback` }));
    const [, url] = await child.waitFor(/Open this address in a browser.*\n\n\s+(\S+)/);
    expect(url).toContain(`${sb.authorizeUrl}?client_id=my-app&redirect_uri=`);
    await child.waitFor(/where this command is listening/);
    const landed = await approveInBrowser(url!);
    expect(landed).toMatchObject({ status: 200 });
    expect(landed.text).toMatch(/Authorization received/);
    const { code } = await child.exit;
    expect(code, child.output()).toBe(0);
    expect(child.output()).toMatch(/connected: the token pair of client id my-app is stored encrypted \(KEAP_TOKEN_KEY\) in keap_meta\.oauth_tokens \(scope full\|sandbox\.infusionsoft\.com\)/);
    expect(child.output()).toMatch(/account:\s+tenant sandbox\.infusionsoft\.com; user .*<[^>]+@[^>]+>/);

    const [row] = await db.sql`select encryption, source, scope, refresh_token, access_token from keap_meta.oauth_tokens where client_id = 'my-app'`;
    expect(row).toMatchObject({ encryption: 'aes-256-gcm', source: 'authorize', scope: 'full|sandbox.infusionsoft.com' });
    // Ciphertext, not the token.
    expect(Buffer.from(row!.refresh_token as Buffer).toString('utf8')).not.toBe(sb.currentRefreshToken());
    // The connect run logged the exchange and the proving call, and no secret.
    const requests = await db.sql`
      select q.endpoint, q.http_status, q.query_params::text as params from keap_meta.etl_request_log q
        join keap_meta.etl_run_log r using (run_id) where r.pipeline = 'connect' order by q.request_id`;
    expect(requests.map((r) => `${r.endpoint} ${r.http_status}`)).toEqual(['/token 200', '/rest/v2/oauth/connect/userinfo 200']);

    // The sync needs nothing else: no KEAP_REFRESH_TOKEN.
    const config = sandboxConfig(sb, { KEAP_API_KEY: '', KEAP_CLIENT_ID: 'my-app', KEAP_CLIENT_SECRET: 'my-secret', KEAP_TOKEN_URL: sb.tokenUrl, KEAP_TOKEN_KEY: TOKEN_KEY });
    const res = await runSync({ db, config }, { trigger: 'test', entities: ['tags'] });
    expect(res.status).toBe('succeeded');
  });

  it('accepts the redirected address pasted (--code) when the redirect cannot be received, and refuses a code used twice', async () => {
    // The browser was sent to an https address nobody listens on; the user copies it.
    const redirect = 'https://example.invalid/keap/callback';
    const page = await fetch(`${sb.authorizeUrl}?client_id=my-app&redirect_uri=${encodeURIComponent(redirect)}&response_type=code&scope=full`);
    expect(page.status).toBe(200);
    const consent = await fetch(sb.authorizeUrl, {
      method: 'POST',
      body: new URLSearchParams({ client_id: 'my-app', redirect_uri: redirect, response_type: 'code', decision: 'allow' }),
      redirect: 'manual',
    });
    const landedAt = consent.headers.get('location')!;
    expect(landedAt).toMatch(/^https:\/\/example\.invalid\/keap\/callback\?code=/);

    const first = spawnTs('scripts/connect.ts', ['--code', landedAt], oauthEnv({ KEAP_REDIRECT_URI: redirect }));
    expect((await first.exit).code, first.output()).toBe(0);
    const again = spawnTs('scripts/connect.ts', ['--code', landedAt], oauthEnv({ KEAP_REDIRECT_URI: redirect }));
    expect((await again.exit).code).toBe(4);
    expect(again.output()).toMatch(/authorization code was not accepted .*invalid_grant.*run npm run connect again/);
    expect(again.output()).not.toContain(new URL(landedAt).searchParams.get('code')!);
  });

  it('with an https redirect it asks for the address to be pasted, and takes it from the terminal', async () => {
    const redirect = 'https://example.invalid/after-consent';
    const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/connect.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...oauthEnv({ KEAP_REDIRECT_URI: redirect }) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    const deadline = Date.now() + 30_000;
    while (!/paste that whole address/.test(out)) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`no paste prompt: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = /Open this address in a browser.*\n\n\s+(\S+)/.exec(out)![1]!;
    const page = await fetch(url);
    const html = await page.text();
    const form = new URLSearchParams({ decision: 'allow' });
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1]!, m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))));
    const consent = await fetch(sb.authorizeUrl, { method: 'POST', body: form, redirect: 'manual' });
    proc.stdin!.write(`${consent.headers.get('location')}\n`);
    expect(await exited, out).toBe(0);
    expect(out).toMatch(/connected: the token pair of client id my-app/);
  });

  it('when the user denies access, it says so and exits 4', async () => {
    const port = await freePort();
    const child = spawnTs('scripts/connect.ts', [], oauthEnv({ KEAP_REDIRECT_URI: `http://127.0.0.1:${port}/cb` }));
    const [, url] = await child.waitFor(/Open this address in a browser.*\n\n\s+(\S+)/);
    const landed = await approveInBrowser(url!, 'deny');
    expect(landed.status).toBe(400);
    const { code } = await child.exit;
    expect(code).toBe(4);
    expect(child.output()).toMatch(/Keap did not authorize the app: access_denied/);
  });

  it('with an API key there is nothing to authorize: it points to --check (exit 1)', async () => {
    const child = spawnTs('scripts/connect.ts', [], sandboxEnv(sb, db.url));
    expect((await child.exit).code).toBe(1);
    expect(child.output()).toMatch(/npm run connect -- --check/);
  });

  it('--check with a key says it works, which account it reaches and how much quota is left', async () => {
    const child = spawnTs('scripts/connect.ts', ['--check'], sandboxEnv(sb, db.url));
    const { code } = await child.exit;
    expect(code, child.output()).toBe(0);
    expect(child.output()).toMatch(/works:\s+yes — API key \(X-Keap-API-Key\)/);
    expect(child.output()).toMatch(/account:\s+tenant sandbox\.infusionsoft\.com; user .+ \(admin\)/);
    expect(child.output()).toMatch(/quota:\s+[\d,]+ of [\d,]+ requests left today \(product quota\)/);
  });

  it('--check with a wrong key exits 4 and says what to check', async () => {
    const child = spawnTs('scripts/connect.ts', ['--check'], sandboxEnv(sb, db.url, { KEAP_API_KEY: 'not-a-key' }));
    expect((await child.exit).code).toBe(4);
    expect(child.output()).toMatch(/Keap rejected the credentials .* Check KEAP_API_KEY/);
  });
});
