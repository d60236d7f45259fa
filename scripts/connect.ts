// `npm run connect` — connect a Keap account.
// - OAuth (KEAP_CLIENT_ID + KEAP_CLIENT_SECRET of your own developer app): the authorization-code
//   flow. Prints the authorize URL; the code comes back on a local redirect receiver (when
//   KEAP_REDIRECT_URI is an http://localhost or 127.0.0.1 address) or is pasted (the code, or the
//   whole address the browser was sent to); it is exchanged at the token URL, the pair is stored
//   exactly as the sync's refreshes store it (keap_meta.oauth_tokens, encrypted with
//   KEAP_TOKEN_KEY), and one API call proves it. From then on KEAP_REFRESH_TOKEN is not needed.
// - `--check` (any credentials, typically a personal access token or service account key): one
//   API call that says whether the credentials work, which account they reach and how much quota
//   is left. Both are tracked runs of the `connect` pipeline, so the calls are in the request log.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config, type OAuthAuth } from './lib/config.ts';
import { connect, type Db } from './lib/db.ts';
import { EXIT, describeError, runScript } from './lib/errors.ts';
import { OAuthTokenManager, createAuth } from './lib/keap/auth.ts';
import { KeapClient } from './lib/keap/client.ts';
import { KeapAuthError, describeKeapError, parseKeapError } from './lib/keap/errors.ts';
import { headerRecord } from './lib/keap/headers.ts';
import { Redactor } from './lib/keap/redact.ts';
import { migrate } from './lib/migrate.ts';
import { withRun, type RunContext } from './lib/run.ts';

const DEFAULT_AUTHORIZE_URL = 'https://accounts.infusionsoft.com/app/oauth/authorize';
const DEFAULT_REDIRECT_URI = 'http://localhost:8787/keap/callback';

const HELP = `Usage: npm run connect [-- options]

Without options: the OAuth authorization-code flow for your own Keap developer app
(KEAP_CLIENT_ID + KEAP_CLIENT_SECRET): open the printed URL, allow access, and the token pair is
stored encrypted (KEAP_TOKEN_KEY) in keap_meta.oauth_tokens; one API call proves it works.

Options:
  --check              check the configured credentials (API key or OAuth): do they work, which
                       account do they reach, how much quota is left
  --code <code|url>    the code (or the whole address Keap redirected the browser to) instead of
                       waiting for the redirect or a pasted line
  --timeout <seconds>  how long to wait for the authorization (default 600)
  --no-migrate         do not apply pending migrations first
  --help               this text

Settings (environment or .env): KEAP_CLIENT_ID, KEAP_CLIENT_SECRET, KEAP_TOKEN_KEY,
KEAP_REDIRECT_URI (default ${DEFAULT_REDIRECT_URI}; a localhost http address is
received here, any other is pasted back), KEAP_AUTHORIZE_URL (default ${DEFAULT_AUTHORIZE_URL}),
KEAP_TOKEN_URL. Exit codes: 0 connected / works, 1 configuration, 2 database, 4 Keap refused.`;

interface Identity {
  email?: string;
  given_name?: string;
  family_name?: string;
  tenant_id?: string;
  is_admin?: boolean;
}

/** One API call (GET /rest/v2/oauth/connect/userinfo): who the credentials are, and the quota headers. */
async function whoAmI(ctx: RunContext, config: Config, db: Db): Promise<string[]> {
  // The check itself must not be refused by the quota reserve: it is one request.
  const client = new KeapClient({ config: { ...config, quotaReserve: 0 }, db, warn: (m) => console.warn(`warning: ${m}`) });
  const page = await client.get(ctx, '/rest/v2/oauth/connect/userinfo', {}, { entity: 'userinfo' });
  const who = (page.body ?? {}) as Identity;
  const q = client.stats().lastQuota;
  const name = [who.given_name, who.family_name].filter(Boolean).join(' ');
  const lines = [
    `account:  tenant ${who.tenant_id ?? '(not reported)'}; user ${name ? `${name} ` : ''}<${who.email ?? '?'}>${who.is_admin ? ' (admin)' : ''}`,
  ];
  if (q) {
    const part = (avail: number | null, limit: number | null, what: string) =>
      avail === null ? null : `${avail.toLocaleString('en-US')}${limit !== null ? ` of ${limit.toLocaleString('en-US')}` : ''} ${what}`;
    const parts = [
      part(q.quotaAvailable, q.quotaLimit, 'requests left today (product quota)'),
      part(q.throttleAvailable, q.throttleLimit, 'left this minute'),
      q.tenantDayAvailable !== null ? `${q.tenantDayAvailable.toLocaleString('en-US')} left today for this account (tenant)` : null,
    ].filter(Boolean);
    lines.push(`quota:    ${parts.length ? parts.join('; ') : 'Keap sent no quota headers'}`);
  } else {
    lines.push('quota:    Keap sent no quota headers');
  }
  return lines;
}

async function check(db: Db, config: Config): Promise<number> {
  const how = config.auth.mode === 'api_key' ? `API key (${config.auth.header === 'bearer' ? 'Authorization: Bearer' : 'X-Keap-API-Key'})` : `OAuth app ${config.auth.clientId}`;
  const res = await withRun(db, 'connect', { trigger: 'check', notes: 'npm run connect -- --check' }, (ctx) => whoAmI(ctx, config, db));
  console.log(`works:    yes — ${how} at ${config.apiUrl}`);
  for (const l of res.value) console.log(l);
  return EXIT.OK;
}

/** The code from a pasted line: the code itself, or the address the browser was redirected to. */
function codeFromInput(input: string, expectedState: string): string {
  const text = input.trim();
  if (!text) throw new ConfigError(['nothing was pasted: paste the code, or the whole address Keap redirected your browser to']);
  if (/^https?:\/\//i.test(text)) {
    const u = new URL(text);
    const err = u.searchParams.get('error');
    if (err) throw new KeapAuthError(`Keap did not authorize the app: ${err}${u.searchParams.get('error_description') ? ` (${u.searchParams.get('error_description')})` : ''}`);
    const state = u.searchParams.get('state');
    if (state !== null && state !== expectedState) throw new ConfigError(['the pasted address belongs to another authorization attempt (state does not match): open the URL printed this time']);
    const code = u.searchParams.get('code');
    if (!code) throw new ConfigError(['the pasted address has no code=… in it: paste the address your browser shows after you allowed access']);
    return code;
  }
  return text;
}

/** Waits for the redirect on a local receiver, a pasted line, or --code; whichever comes first. */
/** `ready` runs once the code can arrive (the local receiver is listening): then the user is told where to go. */
async function receiveCode(redirectUri: URL, state: string, given: string | undefined, timeoutMs: number, ready: () => void = () => {}): Promise<string> {
  if (given) return codeFromInput(given, state);
  const local = redirectUri.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(redirectUri.hostname);
  const cleanups: Array<() => void> = [];
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ConfigError([`no authorization arrived within ${Math.round(timeoutMs / 1000)} s; run npm run connect again (or pass --code)`])), timeoutMs);
      cleanups.push(() => clearTimeout(timer));
      if (local) {
        const server = http.createServer((req, res) => {
          const u = new URL(req.url ?? '/', redirectUri);
          if (u.pathname !== redirectUri.pathname) {
            res.writeHead(404).end();
            return;
          }
          try {
            const code = codeFromInput(u.toString(), state);
            res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Connected</title><p>Authorization received. You can close this tab and return to the terminal.</p>');
            resolve(code);
          } catch (err) {
            res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(err as Error).message}\n`);
            reject(err);
          }
        });
        server.on('error', (err) => reject(new ConfigError([`cannot listen on ${redirectUri.host} for the redirect (${(err as Error).message}); set KEAP_REDIRECT_URI to another port, or pass --code`])));
        server.listen(Number(redirectUri.port || 80), redirectUri.hostname.replace(/^\[|\]$/g, ''), ready);
        cleanups.push(() => {
          server.closeAllConnections();
          server.close();
        });
      }
      if (!local) ready();
      if (!process.stdin.destroyed) {
        const rl = readline.createInterface({ input: process.stdin, terminal: false });
        rl.on('line', (line) => {
          if (!line.trim()) return;
          try {
            resolve(codeFromInput(line, state));
          } catch (err) {
            reject(err);
          }
        });
        rl.on('close', () => {
          if (!local) reject(new ConfigError(['no code: stdin closed. Paste the code when asked, or pass --code']));
        });
        cleanups.push(() => rl.close());
      } else if (!local) {
        reject(new ConfigError(['no code: pass --code, or use a localhost KEAP_REDIRECT_URI']));
      }
    });
  } finally {
    for (const c of cleanups) c();
  }
}

async function exchange(ctx: RunContext, auth: OAuthAuth, code: string, redirectUri: string, redactor: Redactor, timeoutMs: number) {
  // Code exchange as Keap documents it: client id and secret in the form body.
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: auth.clientId, client_secret: auth.clientSecret.reveal() });
  redactor.add(code);
  redactor.add(auth.clientSecret.reveal());
  const t0 = performance.now();
  let status: number | undefined;
  let text = '';
  let headers: Record<string, string> = {};
  let failure: string | undefined;
  try {
    const res = await fetch(auth.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
    });
    status = res.status;
    headers = headerRecord(res.headers);
    text = await res.text();
  } catch (err) {
    failure = `network error: ${describeError(err)}`;
  }
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    parsed = undefined;
  }
  const ok = status !== undefined && status >= 200 && status < 300 && typeof parsed?.access_token === 'string' && typeof parsed?.refresh_token === 'string';
  const info = parseKeapError(parsed);
  const error = ok ? null : redactor.scrub(failure ?? `HTTP ${status}: ${describeKeapError(info, text || '(empty response)')}`);
  await ctx.logRequest({ endpoint: '/token', method: 'POST', httpStatus: status ?? null, bytes: Buffer.byteLength(text), durationMs: performance.now() - t0, headers, error });
  if (!ok) {
    throw new KeapAuthError(`the authorization code was not accepted by ${auth.tokenUrl}: ${error}`, {
      ...(status !== undefined ? { status } : {}),
      info,
      endpoint: '/token',
      hint: info.code === 'invalid_client' ? 'Check KEAP_CLIENT_ID and KEAP_CLIENT_SECRET' : 'A code works once and for a few minutes: run npm run connect again',
    });
  }
  return {
    accessToken: parsed!.access_token as string,
    refreshToken: parsed!.refresh_token as string,
    ...(Number(parsed!.expires_in) > 0 ? { expiresInSeconds: Number(parsed!.expires_in) } : {}),
    ...(typeof parsed!.token_type === 'string' ? { tokenType: parsed!.token_type } : {}),
    ...(typeof parsed!.scope === 'string' ? { scope: parsed!.scope } : {}),
  };
}

async function authorize(db: Db, config: Config, opts: { code?: string; timeoutMs: number }): Promise<number> {
  if (config.auth.mode !== 'oauth') {
    throw new ConfigError([
      'npm run connect runs the OAuth flow of your own Keap developer app: set KEAP_CLIENT_ID and KEAP_CLIENT_SECRET (and unset KEAP_API_KEY). With a personal access token or service account key there is nothing to authorize: run npm run connect -- --check',
    ]);
  }
  const auth = config.auth;
  const env = (n: string) => (process.env[n]?.trim() ? process.env[n]!.trim() : undefined);
  const problems: string[] = [];
  const urlSetting = (name: string, fallback: string): URL | undefined => {
    try {
      const u = new URL(env(name) ?? fallback);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
      return u;
    } catch {
      problems.push(`${name} must be an http(s) URL (got '${env(name)}')`);
      return undefined;
    }
  };
  const authorizeUrl = urlSetting('KEAP_AUTHORIZE_URL', DEFAULT_AUTHORIZE_URL);
  const redirectUri = urlSetting('KEAP_REDIRECT_URI', DEFAULT_REDIRECT_URI);
  if (problems.length || !authorizeUrl || !redirectUri) throw new ConfigError(problems);
  if (!config.tokenKey) console.log('note: KEAP_TOKEN_KEY is not set, so the tokens are stored unencrypted (set it, e.g. `openssl rand -base64 32`, before connecting)');

  const redactor = new Redactor();
  const res = await withRun(db, 'connect', { trigger: 'connect', notes: 'npm run connect (authorization code)' }, async (ctx) => {
    const state = randomBytes(16).toString('hex');
    const url = new URL(authorizeUrl);
    url.searchParams.set('client_id', auth.clientId);
    url.searchParams.set('redirect_uri', redirectUri.toString());
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', 'full');
    url.searchParams.set('state', state);
    const local = redirectUri.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(redirectUri.hostname);
    await ctx.event('info', 'waiting for the authorization code', { stage: 'auth' });
    // The address is printed once the local receiver listens, so the browser can never get there first.
    const code = await receiveCode(redirectUri, state, opts.code, opts.timeoutMs, () => {
      console.log(`1. Open this address in a browser, sign in to Keap and allow access:\n\n   ${url.toString()}\n`);
      console.log(
        local
          ? `2. Keap then sends the browser to ${redirectUri.toString()}, where this command is listening.\n   (If that page cannot load, paste the address it shows, or just its code=… value, here.)`
          : `2. Keap then sends the browser to ${redirectUri.toString()}?code=…: paste that whole address (or just the code) here and press Enter:`,
      );
    });
    const tokens = await exchange(ctx, auth, code, redirectUri.toString(), redactor, config.requestTimeoutMs);
    const manager = createAuth(config, db, redactor) as OAuthTokenManager;
    await manager.storeAuthorized(tokens, ctx.runId);
    await ctx.event('info', `token pair stored for client id ${auth.clientId} (${config.tokenKey ? 'encrypted' : 'unencrypted'})`, { stage: 'auth', data: { scope: tokens.scope ?? null } });
    return { lines: await whoAmI(ctx, config, db), scope: tokens.scope };
  });
  console.log(`connected: the token pair of client id ${auth.clientId} is stored ${config.tokenKey ? 'encrypted (KEAP_TOKEN_KEY)' : 'UNENCRYPTED'} in keap_meta.oauth_tokens${res.value.scope ? ` (scope ${res.value.scope})` : ''}`);
  for (const l of res.value.lines) console.log(l);
  if (auth.refreshToken) console.log('KEAP_REFRESH_TOKEN is no longer needed (the stored, newer token wins): you can remove it.');
  console.log('next: npm run sync   (or npm run schedule)');
  return EXIT.OK;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      check: { type: 'boolean' },
      code: { type: 'string' },
      timeout: { type: 'string' },
      'no-migrate': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return EXIT.OK;
  }
  const timeoutSeconds = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new ConfigError([`--timeout must be a whole number of seconds (got '${values.timeout}')`]);
  const config = loadConfig();
  const db = await connect({ applicationName: 'keap-sync connect', max: 3 });
  try {
    if (!values['no-migrate']) await migrate(db.sql);
    if (values.check) return await check(db, config);
    return await authorize(db, config, { ...(values.code ? { code: values.code } : {}), timeoutMs: timeoutSeconds * 1000 });
  } finally {
    await db.close();
  }
}

runScript('connect', main);
