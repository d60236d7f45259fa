// Authentication for the Keap API (API-NOTES §1).
// - PAT/SAK: the key on every request as `X-Keap-API-Key` (documented) or `Authorization: Bearer`
//   (KEAP_AUTH_HEADER=bearer, as the official SDK samples do). Nothing to refresh.
// - OAuth: the token pair lives in keap_meta.oauth_tokens (one row per client id), encrypted with
//   AES-256-GCM when KEAP_TOKEN_KEY is set. Keap rotates the refresh token on every refresh and the
//   old one dies at once, so a refresh happens inside ONE transaction that holds
//   pg_advisory_xact_lock(<key of the client id>): re-read the row (another process may have just
//   refreshed: then use its access token, no refresh), else POST grant_type=refresh_token with
//   HTTP Basic client auth, write the new pair, commit, and only then use the new access token.
//   Two processes can therefore never present the same refresh token twice.
//   The store is seeded from KEAP_REFRESH_TOKEN only while no row exists for the client id: a
//   stored refresh token is newer than the env one (it was rotated since) and always wins. To
//   re-authorize, delete the row and set KEAP_REFRESH_TOKEN to the new token.
// Token calls are logged in the request log (endpoint /token, never a body); no token ever
// appears in a log line or an error message.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ConfigError, type Config, type OAuthAuth, type Secret } from '../config.ts';
import type postgres from 'postgres';
import type { Db } from '../db.ts';
import type { RunContext } from '../run.ts';
import { KeapApiError, KeapAuthError, describeKeapError, parseKeapError } from './errors.ts';
import { headerRecord } from './headers.ts';
import { backoffDelay, realClock, type Clock } from './pacing.ts';
import type { Redactor } from './redact.ts';
import { TokenCipher, type Sealed } from './token-crypto.ts';

export interface KeapAuth {
  readonly mode: 'api_key' | 'oauth';
  /** Headers that authenticate the next request (OAuth: refreshed first when missing or about to expire). */
  headers(ctx: RunContext): Promise<Record<string, string>>;
  /** After a 401 with `sent` headers: true when fresh credentials were obtained and the request may be retried once. */
  renew(ctx: RunContext, sent: Record<string, string>): Promise<boolean>;
  /** What to do when the credentials are rejected. */
  readonly rejectedHint: string;
}

export class ApiKeyAuth implements KeapAuth {
  readonly mode = 'api_key' as const;
  readonly rejectedHint: string;
  private readonly h: Record<string, string>;
  constructor(key: Secret, header: 'x-keap-api-key' | 'bearer', redactor: Redactor) {
    redactor.add(key.reveal());
    this.h = header === 'bearer' ? { authorization: `Bearer ${key.reveal()}` } : { 'x-keap-api-key': key.reveal() };
    this.rejectedHint =
      header === 'bearer'
        ? 'Check KEAP_API_KEY (a personal access token or service account key from Settings > API Settings; deleted keys stop working), or set KEAP_AUTH_HEADER=x-keap-api-key'
        : 'Check KEAP_API_KEY (a personal access token or service account key from Settings > API Settings; deleted keys stop working), or try KEAP_AUTH_HEADER=bearer';
  }
  async headers(): Promise<Record<string, string>> {
    return this.h;
  }
  async renew(): Promise<boolean> {
    return false;
  }
}

export interface OAuthOptions {
  auth: OAuthAuth;
  tokenKey?: Secret;
  db: Db;
  redactor: Redactor;
  clock?: Clock;
  requestTimeoutMs: number;
  maxRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Where the once-per-process "tokens stored unencrypted" warning goes besides the run's events (default console.warn). */
  warn?: (message: string) => void;
}

interface StoredRow {
  client_id: string;
  encryption: 'none' | 'aes-256-gcm';
  key_check: string | null;
  refresh_token: Buffer;
  refresh_token_iv: Buffer | null;
  refresh_token_tag: Buffer | null;
  access_token: Buffer | null;
  access_token_iv: Buffer | null;
  access_token_tag: Buffer | null;
  access_expires_at: Date | null;
  source: TokenSource;
}

/** Where the stored refresh token came from: KEAP_REFRESH_TOKEN, a refresh, or `npm run connect`. */
type TokenSource = 'env' | 'refresh' | 'authorize';

interface Tokens {
  refreshToken: string;
  accessToken?: string;
  expiresAt?: number;
}

/** Advisory lock key of a client id's token row: class 'kotk' in the high half, hash of the id low. */
const LOCK_CLASS = 0x6b6f746b;

let warnedPlain = false;

type Tx = postgres.TransactionSql<Record<string, unknown>>;

export class OAuthTokenManager implements KeapAuth {
  readonly mode = 'oauth' as const;
  readonly rejectedHint: string;
  private readonly o: OAuthOptions;
  private readonly clock: Clock;
  private readonly cipher: TokenCipher | null;
  private current?: { accessToken: string; expiresAt?: number };
  private inflight?: Promise<string>;
  /** Successful refreshes done by this process (token endpoint calls that returned a new pair). */
  refreshes = 0;

  constructor(o: OAuthOptions) {
    this.o = o;
    this.clock = o.clock ?? realClock;
    this.cipher = o.tokenKey ? new TokenCipher(o.tokenKey.reveal()) : null;
    o.redactor.add(o.auth.clientSecret.reveal());
    o.redactor.add(o.auth.refreshToken?.reveal());
    this.rejectedHint = `Re-authorize the Keap app, then delete the row of client id '${o.auth.clientId}' in keap_meta.oauth_tokens and set KEAP_REFRESH_TOKEN to the new refresh token`;
  }

  async headers(ctx: RunContext): Promise<Record<string, string>> {
    const c = this.current;
    if (!c || this.expiringSoon(c.expiresAt)) await this.refresh(ctx, c?.accessToken);
    return { authorization: `Bearer ${this.current!.accessToken}` };
  }

  async renew(ctx: RunContext, sent: Record<string, string>): Promise<boolean> {
    const used = /^Bearer\s+(.+)$/i.exec(sent.authorization ?? '')?.[1];
    await this.refresh(ctx, used);
    return true;
  }

  /** Refresh when fewer than this many ms are left: a tenth of the lifetime, at most a minute. */
  private expiringSoon(expiresAt: number | undefined): boolean {
    if (expiresAt === undefined) return false;
    return this.clock.now() >= expiresAt - this.skewMs;
  }
  private skewMs = 60_000;

  /** Makes `current` a usable access token other than `stale`; one refresh at a time per process. */
  private refresh(ctx: RunContext, stale: string | undefined): Promise<string> {
    this.inflight ??= this.refreshLocked(ctx, stale).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async refreshLocked(ctx: RunContext, stale: string | undefined): Promise<string> {
    const { clientId } = this.o.auth;
    const result = await this.o.db.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_CLASS}::bigint << 32 | (hashtext(${clientId})::bigint & 4294967295))`;
      let row = await this.readRow(tx);
      if (!row) {
        const seed = this.o.auth.refreshToken?.reveal();
        if (!seed) {
          throw new ConfigError([
            `no OAuth token is stored for client id '${clientId}' and KEAP_REFRESH_TOKEN is not set: complete the OAuth consent for the app once and set KEAP_REFRESH_TOKEN to the refresh token it returns (it is only needed until the first refresh is stored)`,
          ]);
        }
        await this.writeRow(tx, { refreshToken: seed }, 'env', false, ctx.runId);
        row = (await this.readRow(tx))!;
      }
      const stored = this.decode(row);
      if (row.encryption === 'none') this.warnPlainOnce(ctx);
      else if (!this.cipher) {
        throw new ConfigError([`the stored OAuth tokens of client id '${clientId}' are encrypted: set KEAP_TOKEN_KEY to the key they were stored with`]);
      }
      const fresh = stored.accessToken && stored.accessToken !== stale && !this.expiringSoon(stored.expiresAt);
      if (fresh) {
        // Another process refreshed a moment ago (or an earlier run's token is still good): use it.
        if (row.encryption === 'none' && this.cipher) await this.writeRow(tx, stored, row.source, false, null);
        return { accessToken: stored.accessToken!, ...(stored.expiresAt !== undefined ? { expiresAt: stored.expiresAt } : {}) };
      }
      const next = await this.callTokenEndpoint(ctx, stored.refreshToken, row.source);
      this.o.redactor.add(next.refreshToken);
      this.o.redactor.add(next.accessToken);
      await this.writeRow(tx, next, 'refresh', true, ctx.runId, next.tokenType, next.scope);
      this.refreshes++;
      return { accessToken: next.accessToken!, ...(next.expiresAt !== undefined ? { expiresAt: next.expiresAt } : {}) };
    });
    // Committed: only now is the new access token used.
    this.o.redactor.add(result.accessToken);
    this.current = result;
    return result.accessToken;
  }

  /**
   * Stores a token pair obtained by the authorization-code flow (`npm run connect`) the way a
   * refresh stores one — same row, same encryption, under the same lock — replacing whatever was
   * stored for the client id. From here on the sync refreshes it as usual.
   */
  async storeAuthorized(t: { accessToken: string; refreshToken: string; expiresInSeconds?: number; tokenType?: string; scope?: string }, runId: number | null): Promise<void> {
    const { clientId } = this.o.auth;
    const tokens: Tokens = {
      refreshToken: t.refreshToken,
      accessToken: t.accessToken,
      ...(t.expiresInSeconds && t.expiresInSeconds > 0 ? { expiresAt: this.clock.now() + t.expiresInSeconds * 1000 } : {}),
    };
    this.o.redactor.add(t.refreshToken);
    this.o.redactor.add(t.accessToken);
    await this.o.db.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_CLASS}::bigint << 32 | (hashtext(${clientId})::bigint & 4294967295))`;
      await this.writeRow(tx, tokens, 'authorize', false, runId, t.tokenType, t.scope);
    });
    this.current = { accessToken: t.accessToken, ...(tokens.expiresAt !== undefined ? { expiresAt: tokens.expiresAt } : {}) };
  }

  private warnPlainOnce(ctx: RunContext): void {
    if (warnedPlain || this.cipher) return;
    warnedPlain = true;
    const msg = 'OAuth tokens are stored unencrypted in keap_meta.oauth_tokens; set KEAP_TOKEN_KEY to encrypt them at rest';
    (this.o.warn ?? ((m: string) => console.warn(`warning: ${m}`)))(msg);
    void ctx.event('warn', msg, { stage: 'auth' }).catch(() => {});
  }

  private async readRow(tx: Tx): Promise<StoredRow | undefined> {
    const [row] = await tx`select * from keap_meta.oauth_tokens where client_id = ${this.o.auth.clientId} for update`;
    return row as unknown as StoredRow | undefined;
  }

  private decode(row: StoredRow): Tokens {
    const id = row.client_id;
    if (row.encryption === 'none') {
      return {
        refreshToken: row.refresh_token.toString('utf8'),
        ...(row.access_token ? { accessToken: row.access_token.toString('utf8') } : {}),
        ...(row.access_expires_at ? { expiresAt: row.access_expires_at.getTime() } : {}),
      };
    }
    if (!this.cipher) {
      throw new ConfigError([`the stored OAuth tokens of client id '${id}' are encrypted: set KEAP_TOKEN_KEY to the key they were stored with`]);
    }
    if (row.key_check !== this.cipher.keyCheck) {
      throw new ConfigError([
        `KEAP_TOKEN_KEY is not the key the stored OAuth tokens of client id '${id}' were encrypted with: set the original KEAP_TOKEN_KEY, or delete that row in keap_meta.oauth_tokens and set KEAP_REFRESH_TOKEN to re-authorize`,
      ]);
    }
    const open = (data: Buffer, iv: Buffer | null, tag: Buffer | null, column: string): string => {
      try {
        return this.cipher!.open({ data, iv: iv!, tag: tag! }, `${id}:${column}`);
      } catch {
        throw new ConfigError([`the stored OAuth ${column} of client id '${id}' cannot be decrypted with KEAP_TOKEN_KEY (wrong key or damaged row): delete that row in keap_meta.oauth_tokens and set KEAP_REFRESH_TOKEN to re-authorize`]);
      }
    };
    return {
      refreshToken: open(row.refresh_token, row.refresh_token_iv, row.refresh_token_tag, 'refresh_token'),
      ...(row.access_token ? { accessToken: open(row.access_token, row.access_token_iv, row.access_token_tag, 'access_token') } : {}),
      ...(row.access_expires_at ? { expiresAt: row.access_expires_at.getTime() } : {}),
    };
  }

  private async writeRow(tx: Tx, t: Tokens, source: TokenSource, refreshed: boolean, runId: number | null, tokenType?: string, scope?: string): Promise<void> {
    const id = this.o.auth.clientId;
    const seal = (v: string | undefined, column: string): Sealed | { data: Buffer | null; iv: null; tag: null } => {
      if (v === undefined) return { data: null, iv: null, tag: null };
      return this.cipher ? this.cipher.seal(v, `${id}:${column}`) : { data: Buffer.from(v, 'utf8'), iv: null, tag: null };
    };
    const r = seal(t.refreshToken, 'refresh_token');
    const a = seal(t.accessToken, 'access_token');
    const row = {
      client_id: id,
      encryption: this.cipher ? 'aes-256-gcm' : 'none',
      key_check: this.cipher?.keyCheck ?? null,
      refresh_token: r.data,
      refresh_token_iv: r.iv,
      refresh_token_tag: r.tag,
      access_token: a.data,
      access_token_iv: a.iv,
      access_token_tag: a.tag,
      access_expires_at: t.expiresAt !== undefined ? new Date(t.expiresAt) : null,
      source,
      token_type: tokenType ?? null,
      scope: scope ?? null,
    };
    const by = `${os.hostname()}:${process.pid}`;
    await tx`
      insert into keap_meta.oauth_tokens ${tx(row as never)}
      on conflict (client_id) do update set
        encryption = excluded.encryption, key_check = excluded.key_check,
        refresh_token = excluded.refresh_token, refresh_token_iv = excluded.refresh_token_iv, refresh_token_tag = excluded.refresh_token_tag,
        access_token = excluded.access_token, access_token_iv = excluded.access_token_iv, access_token_tag = excluded.access_token_tag,
        access_expires_at = excluded.access_expires_at, source = excluded.source,
        token_type = coalesce(${tokenType ?? null}, keap_meta.oauth_tokens.token_type),
        scope = coalesce(${scope ?? null}, keap_meta.oauth_tokens.scope),
        refresh_count = keap_meta.oauth_tokens.refresh_count + ${refreshed ? 1 : 0},
        refreshed_at = case when ${refreshed} then clock_timestamp() else keap_meta.oauth_tokens.refreshed_at end,
        refreshed_by = case when ${refreshed} then ${by} else keap_meta.oauth_tokens.refreshed_by end,
        refreshed_run_id = case when ${refreshed} then ${runId} else keap_meta.oauth_tokens.refreshed_run_id end,
        updated_at = clock_timestamp()`;
  }

  /** POST grant_type=refresh_token; retries 5xx/network errors; logs every attempt as /token. */
  private async callTokenEndpoint(ctx: RunContext, refreshToken: string, source: TokenSource): Promise<Tokens & { tokenType?: string; scope?: string }> {
    const { clientId, clientSecret, tokenUrl } = this.o.auth;
    const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret.reveal())}`).toString('base64');
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString();
    const scrub = (s: string) => this.o.redactor.scrub(s);
    for (let attempt = 1; ; attempt++) {
      ctx.throwIfCancelled();
      const requestedAt = new Date();
      const t0 = performance.now();
      let status: number | undefined;
      let headers: Record<string, string> = {};
      let text = '';
      let failure: string | undefined;
      try {
        const res = await fetch(tokenUrl, {
          method: 'POST',
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body,
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(this.o.requestTimeoutMs)]),
        });
        status = res.status;
        headers = headerRecord(res.headers);
        text = await res.text();
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        failure = describeNetworkError(err, this.o.requestTimeoutMs);
      }
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      const ok = status !== undefined && status >= 200 && status < 300 && parsed && typeof parsed === 'object' && typeof (parsed as Record<string, unknown>).access_token === 'string';
      const info = parseKeapError(parsed);
      const errText = ok ? null : scrub(failure ?? `HTTP ${status}: ${describeKeapError(info, info.shape === 'unknown' ? '(unreadable token response)' : text)}`);
      await ctx.logRequest({
        endpoint: '/token',
        method: 'POST',
        httpStatus: status ?? null,
        bytes: Buffer.byteLength(text),
        durationMs: performance.now() - t0,
        attempt,
        headers,
        error: errText,
        requestedAt,
      });
      if (ok) {
        const p = parsed as Record<string, unknown>;
        const expiresIn = Number(p.expires_in);
        const now = this.clock.now();
        if (Number.isFinite(expiresIn) && expiresIn > 0) this.skewMs = Math.min(60_000, expiresIn * 100);
        const next: Tokens & { tokenType?: string; scope?: string } = {
          accessToken: p.access_token as string,
          // Keap always rotates; if a server ever did not, the old refresh token stays valid.
          refreshToken: typeof p.refresh_token === 'string' && p.refresh_token ? p.refresh_token : refreshToken,
          ...(Number.isFinite(expiresIn) && expiresIn > 0 ? { expiresAt: now + expiresIn * 1000 } : {}),
          ...(typeof p.token_type === 'string' ? { tokenType: p.token_type } : {}),
          ...(typeof p.scope === 'string' ? { scope: p.scope } : {}),
        };
        return next;
      }
      const retryable = status === undefined || status === 429 || status >= 500 || (status >= 200 && status < 300);
      if (!retryable || attempt > this.o.maxRetries) {
        const opts = { ...(status !== undefined ? { status } : {}), info, endpoint: '/token', attempts: attempt };
        if (info.code === 'invalid_grant') {
          throw new KeapAuthError(scrub(`Keap rejected the ${source === 'env' ? 'refresh token from KEAP_REFRESH_TOKEN' : 'stored refresh token'} (invalid_grant${info.message ? `: ${info.message}` : ''}); it was already used or rotated elsewhere, or expired after 45 days unused`), {
            ...opts,
            hint: this.rejectedHint,
          });
        }
        if (info.code === 'invalid_client' || status === 401) {
          throw new KeapAuthError(scrub(`Keap rejected the OAuth client credentials (${describeKeapError(info, text)})`), {
            ...opts,
            hint: `Check KEAP_CLIENT_ID and KEAP_CLIENT_SECRET (the keys of your app at keys.developer.keap.com) and KEAP_TOKEN_URL`,
          });
        }
        throw new KeapApiError(scrub(`OAuth token refresh failed after ${attempt} attempt(s): ${errText ?? 'unreadable response'}`), opts);
      }
      await this.clock.sleep(backoffDelay(attempt, this.o.backoffBaseMs, this.o.backoffMaxMs), ctx.signal);
    }
  }
}

export function describeNetworkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  const code = e?.cause?.code;
  const msg = e?.cause?.message ?? e?.message ?? String(err);
  return `network error: ${code ? `${code} ` : ''}${msg}`.trim();
}

export function createAuth(config: Config, db: Db, redactor: Redactor, opts: { clock?: Clock; warn?: (m: string) => void } = {}): KeapAuth {
  if (config.auth.mode === 'api_key') return new ApiKeyAuth(config.auth.apiKey, config.auth.header, redactor);
  return new OAuthTokenManager({
    auth: config.auth,
    ...(config.tokenKey ? { tokenKey: config.tokenKey } : {}),
    db,
    redactor,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.warn ? { warn: opts.warn } : {}),
    requestTimeoutMs: config.requestTimeoutMs,
    maxRetries: config.maxRetries,
    backoffBaseMs: config.backoffBaseMs,
    backoffMaxMs: config.backoffMaxMs,
  });
}
