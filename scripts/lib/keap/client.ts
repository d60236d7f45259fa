// KeapClient: every GET to the Keap REST API goes through here (API-NOTES §2.4). Per request:
// daily-quota reserve check (QuotaReserveError before anything is sent), throttle gate (keeps
// KEAP_THROTTLE_RESERVE_PCT of the rolling minute windows unused and waits for them to roll),
// token bucket (KEAP_MAX_RPS), authentication, fetch with a timeout, then:
//   2xx + JSON             -> the page
//   2xx, body not JSON      -> retried like a 5xx; after the last retry returned with parseError set
//   401                     -> OAuth: refresh once and retry; otherwise KeapAuthError
//   429                     -> Retry-After when sent, else backoff; daily quota used up -> QuotaReserveError
//   5xx, network, timeout   -> exponential backoff with full jitter, capped, KEAP_MAX_RETRIES times
//   other 4xx               -> KeapApiError
// Every attempt, retries and failures included, is written with ctx.logRequest (with all response
// headers; the SQL keeps the rate-limit ones). Aborting ctx.signal stops at once, without retries.
// No key or token ever reaches an error message, a log entry or the request log (Redactor).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';
import type { RunContext } from '../run.ts';
import { createAuth, describeNetworkError, type KeapAuth } from './auth.ts';
import { KeapApiError, KeapAuthError, QuotaReserveError, describeKeapError, parseKeapError, type KeapErrorInfo } from './errors.ts';
import { headerRecord, parseRateHeaders, type RateSnapshot } from './headers.ts';
import { DailyQuota, ThrottleGate, TokenBucket, backoffDelay, realClock, type Clock } from './pacing.ts';
import { Redactor } from './redact.ts';

export { KeapApiError, KeapAuthError, QuotaReserveError } from './errors.ts';

export interface KeapPage {
  status: number;
  /** Parsed JSON; undefined when the body could not be parsed (see parseError) or was not parsed (get's `parse: false`). */
  body: unknown | undefined;
  rawText: string;
  /** Set when the body was not valid JSON even after every retry. */
  parseError?: string;
  /** request_id in keap_meta.etl_request_log of the attempt that produced this page. */
  requestId: number;
  headers: Record<string, string>;
  bytes: number;
}

export type Query = Record<string, string | number | undefined>;

export interface LastQuota {
  throttleLimit: number | null;
  throttleAvailable: number | null;
  quotaLimit: number | null;
  quotaAvailable: number | null;
  tenantMinuteAvailable: number | null;
  tenantDayAvailable: number | null;
  seenAt: Date;
}

export interface KeapClientStats {
  /** HTTP requests sent to the API (attempts, retries included; token calls excluded). */
  requests: number;
  /** Attempts that were retries (429, 5xx, network, unparseable body, 401 after refresh). */
  retries: number;
  /** Time spent waiting for the throttle (minute window, token bucket, Retry-After on 429). */
  throttleWaitsMs: number;
  /** Time spent in backoff after failures. */
  backoffWaitsMs: number;
  /** OAuth refreshes this client performed (0 for PAT/SAK). */
  tokenRefreshes: number;
  /** Rate-limit values of the last response that had them. */
  lastQuota?: LastQuota;
}

export interface KeapClientOptions {
  config: Config;
  db: Db;
  /** Time source for pacing, backoff and token expiry (tests share a virtual clock with the sandbox). */
  clock?: Clock;
  /** Random source of the backoff jitter, in [0, 1). */
  random?: () => number;
  /** Where warnings without a run go (default console.warn). */
  warn?: (message: string) => void;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** The length of the first array-valued property of a list page, else null. */
export function recordCountOf(body: unknown): number | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return Array.isArray(body) ? body.length : null;
  for (const v of Object.values(body as Record<string, unknown>)) if (Array.isArray(v)) return v.length;
  return null;
}

interface AttemptBase {
  status?: number;
  headers: Record<string, string>;
  bytes: number | null;
}
type Attempt = AttemptBase &
  (
    | { kind: 'ok'; page: Omit<KeapPage, 'requestId'> }
    | { kind: 'malformed'; page: Omit<KeapPage, 'requestId'>; error: string }
    | { kind: 'unauthorized'; status: number; info: KeapErrorInfo; error: string }
    | { kind: 'retry'; info?: KeapErrorInfo; error: string; retryAfterMs?: number }
    | { kind: 'quota'; status: number; info: KeapErrorInfo; error: string; bucket: 'product' | 'tenant' }
    | { kind: 'fatal'; status: number; info: KeapErrorInfo; error: string }
    | { kind: 'cancelled'; error: string; reason: unknown }
  );

interface PacingState {
  gate: ThrottleGate;
  daily: DailyQuota;
  bucket: TokenBucket;
  /** Pacing decisions are taken one request at a time, so concurrent callers share the budget. */
  chain: Promise<unknown>;
}

/**
 * Pacing state per clock and credential, shared by every KeapClient of the process: a scheduled
 * sync creates a new client per run, and two clients on one key must share one budget. With the
 * history of earlier clients' requests, a new client knows when their slots leave the window
 * instead of waiting for a whole one.
 */
const pacingStates = new WeakMap<Clock, Map<string, PacingState>>();

function pacingStateFor(config: Config, clock: Clock): PacingState {
  const who =
    config.auth.mode === 'api_key'
      ? `key:${createHash('sha256').update(config.auth.apiKey.reveal()).digest('hex').slice(0, 16)}`
      : `oauth:${config.auth.clientId}`;
  const key = `${config.apiUrl}|${who}|${config.maxRps}|${config.throttleReservePct}`;
  let byKey = pacingStates.get(clock);
  if (!byKey) pacingStates.set(clock, (byKey = new Map()));
  let st = byKey.get(key);
  if (!st) {
    st = {
      gate: new ThrottleGate(config.throttleReservePct, clock),
      daily: new DailyQuota(clock),
      bucket: new TokenBucket(config.maxRps, 1, clock),
      chain: Promise.resolve(),
    };
    byKey.set(key, st);
  }
  return st;
}

export class KeapClient {
  private readonly config: Config;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly redactor = new Redactor();
  private readonly auth: KeapAuth;
  private readonly pacing: PacingState;
  private readonly gate: ThrottleGate;
  private readonly daily: DailyQuota;
  private readonly s: Omit<KeapClientStats, 'tokenRefreshes'> = { requests: 0, retries: 0, throttleWaitsMs: 0, backoffWaitsMs: 0 };

  constructor(opts: KeapClientOptions) {
    this.config = opts.config;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.auth = createAuth(opts.config, opts.db, this.redactor, { clock: this.clock, ...(opts.warn ? { warn: opts.warn } : {}) });
    this.pacing = pacingStateFor(opts.config, this.clock);
    this.gate = this.pacing.gate;
    this.daily = this.pacing.daily;
  }

  stats(): KeapClientStats {
    const refreshes = 'refreshes' in this.auth ? Number((this.auth as { refreshes: number }).refreshes) : 0;
    return { ...this.s, tokenRefreshes: refreshes, ...(this.s.lastQuota ? { lastQuota: { ...this.s.lastQuota } } : {}) };
  }

  /** Removes known secrets and secret-shaped values from a string. */
  scrub(text: string): string {
    return this.redactor.scrub(text);
  }

  /** GET `path` (e.g. /rest/v2/contacts) with `query`; see the module header for what happens on failures. */
  /**
   * `meta.parse: false` leaves a 2xx body as text (body undefined, never a parseError): the caller
   * hands it to PostgreSQL, which parses it anyway, and keeps no parsed copy in memory; it must then
   * validate the body itself and ask again with parsing on when the body is not JSON.
   */
  async get(ctx: RunContext, path: string, query: Query, meta: { entity: string; pageNo?: number; parse?: boolean }): Promise<KeapPage> {
    const url = new URL(this.config.apiUrl + (path.startsWith('/') ? path : `/${path}`));
    const logged: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      url.searchParams.set(k, String(v));
      if (k !== 'page_token') logged[k] = typeof v === 'number' ? v : this.scrub(v);
    }
    const pageToken = query.page_token === undefined ? null : String(query.page_token);
    const pageSize = query.page_size === undefined ? null : Number(query.page_size);
    const endpoint = url.pathname.startsWith(new URL(this.config.apiUrl).pathname)
      ? url.pathname.slice(new URL(this.config.apiUrl).pathname.replace(/\/$/, '').length) || '/'
      : url.pathname;

    let retries = 0;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      await this.pace(ctx, meta.entity);
      const authHeaders = await this.auth.headers(ctx);
      const requestedAt = new Date();
      const t0 = performance.now();
      const done = this.gate.begin();
      this.daily.begin();
      this.s.requests++;
      const result = await this.attempt(ctx, url, authHeaders, meta.parse ?? true);
      done();
      const durationMs = performance.now() - t0;

      const page = 'page' in result ? result.page : undefined;
      const logEntry = {
        entity: meta.entity,
        endpoint,
        queryParams: logged,
        pageToken,
        pageSize,
        httpStatus: result.status ?? null,
        recordCount: result.kind === 'ok' ? recordCountOf(page!.body) : null,
        bytes: result.bytes,
        durationMs,
        attempt,
        headers: result.headers,
        error: result.kind === 'ok' ? null : this.scrub(result.error),
        requestedAt,
      };
      if (result.kind === 'cancelled') {
        // Best effort: the tracking connection may be what went away.
        await ctx.logRequest(logEntry).catch(() => {});
        throw result.reason;
      }
      const requestId = await ctx.logRequest(logEntry);

      const fail = (status: number | undefined, info: KeapErrorInfo | undefined, message: string, hint?: string): KeapApiError =>
        new KeapApiError(this.scrub(message), {
          ...(status !== undefined ? { status } : {}),
          ...(info ? { info } : {}),
          entity: meta.entity,
          endpoint,
          requestId,
          attempts: attempt,
          ...(hint ? { hint } : {}),
        });

      switch (result.kind) {
        case 'ok':
          return { ...result.page, requestId };
        case 'unauthorized':
          if (!refreshed && this.auth.mode === 'oauth') {
            refreshed = true;
            this.s.retries++;
            await this.auth.renew(ctx, authHeaders);
            continue;
          }
          throw new KeapAuthError(
            this.scrub(`Keap rejected the credentials for GET ${endpoint} (HTTP ${result.status}: ${describeKeapError(result.info)})${refreshed ? ' even after a token refresh' : ''}`),
            { status: result.status, info: result.info, entity: meta.entity, endpoint, requestId, attempts: attempt, hint: this.auth.rejectedHint },
          );
        case 'quota':
          throw new QuotaReserveError({ bucket: result.bucket, available: 0, reserve: this.config.quotaReserve, entity: meta.entity });
        case 'fatal':
          throw fail(
            result.status,
            result.info,
            `Keap API error on GET ${endpoint}: HTTP ${result.status} ${describeKeapError(result.info)}`,
            result.status === 403 ? 'The credential lacks permission for this endpoint (a PAT runs with its user\'s permissions)' : undefined,
          );
        case 'malformed':
          if (retries >= this.config.maxRetries) return { ...result.page, parseError: result.error, body: undefined, requestId };
          break;
        case 'retry':
          if (retries >= this.config.maxRetries) {
            throw fail(result.status, result.info, `Keap API GET ${endpoint} failed after ${attempt} attempts: ${result.error}`);
          }
          break;
      }
      retries++;
      this.s.retries++;
      const backoff = backoffDelay(retries, this.config.backoffBaseMs, this.config.backoffMaxMs, this.random);
      if (result.kind === 'retry' && result.retryAfterMs !== undefined) {
        // Keap said how long: wait that long (at least), never less.
        const wait = Math.max(result.retryAfterMs, 0);
        this.s.throttleWaitsMs += wait;
        await this.clock.sleep(wait, ctx.signal);
      } else {
        this.s.backoffWaitsMs += backoff;
        await this.clock.sleep(backoff, ctx.signal);
      }
    }
  }

  /** Quota reserve, throttle window, token bucket: one caller at a time. */
  private pace(ctx: RunContext, entity: string): Promise<void> {
    const run = async (): Promise<void> => {
      const q = this.daily.atReserve(this.config.quotaReserve);
      if (q) throw new QuotaReserveError({ ...q, reserve: this.config.quotaReserve, entity });
      for (;;) {
        const w = this.gate.waitMs();
        if (w <= 0) break;
        this.s.throttleWaitsMs += w;
        await this.clock.sleep(w, ctx.signal);
      }
      this.s.throttleWaitsMs += await this.pacing.bucket.take(ctx.signal);
    };
    const p = this.pacing.chain.then(run);
    this.pacing.chain = p.catch(() => {});
    return p;
  }

  private observe(h: Record<string, string>): RateSnapshot {
    const r = parseRateHeaders(h, this.clock.now());
    this.gate.observe(r);
    this.daily.observe(r);
    if (r.throttleAvailable !== undefined || r.quotaAvailable !== undefined || r.tenantDayAvailable !== undefined) {
      const prev = this.s.lastQuota;
      this.s.lastQuota = {
        throttleLimit: r.throttleLimit ?? prev?.throttleLimit ?? null,
        throttleAvailable: r.throttleAvailable ?? prev?.throttleAvailable ?? null,
        quotaLimit: r.quotaLimit ?? prev?.quotaLimit ?? null,
        quotaAvailable: r.quotaAvailable ?? prev?.quotaAvailable ?? null,
        tenantMinuteAvailable: r.tenantMinuteAvailable ?? prev?.tenantMinuteAvailable ?? null,
        tenantDayAvailable: r.tenantDayAvailable ?? prev?.tenantDayAvailable ?? null,
        seenAt: new Date(),
      };
    }
    return r;
  }

  /** One HTTP attempt, classified; never throws. */
  private async attempt(ctx: RunContext, url: URL, authHeaders: Record<string, string>, parse: boolean): Promise<Attempt> {
    const timeoutMs = this.config.requestTimeoutMs;
    let status: number | undefined;
    let headers: Record<string, string> = {};
    let buf: Buffer;
    try {
      const res = await fetch(url, {
        headers: { accept: 'application/json', ...authHeaders },
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
      });
      status = res.status;
      headers = headerRecord(res.headers);
      buf = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      const base = { ...(status !== undefined ? { status } : {}), headers, bytes: null };
      if (Object.keys(headers).length > 0) this.observe(headers);
      if (ctx.signal.aborted) return { ...base, kind: 'cancelled', error: 'cancelled', reason: ctx.signal.reason };
      return { ...base, kind: 'retry', error: describeNetworkError(err, timeoutMs) };
    }
    const bytes = buf.length;
    const rate = this.observe(headers);
    const rawText = buf.toString('utf8');
    let body: unknown;
    let parseError: string | undefined;
    if (parse || status < 200 || status >= 300) {
      try {
        body = JSON.parse(rawText);
      } catch (err) {
        parseError = `body is not valid JSON: ${(err as Error).message}`;
      }
    }
    const base = { status, headers, bytes };
    const page = { status, body, rawText, headers, bytes };
    if (status >= 200 && status < 300) {
      if (parseError === undefined) return { ...base, kind: 'ok', page };
      return { ...base, kind: 'malformed', page, error: parseError };
    }
    const info = parseKeapError(body);
    const error = `HTTP ${status}: ${describeKeapError(info, rawText)}`;
    if (status === 401) return { ...base, kind: 'unauthorized', info, error };
    if (status === 429) {
      // The daily quota is gone (not the minute throttle): waiting for hours is not a retry.
      if (rate.quotaAvailable === 0) return { ...base, kind: 'quota', info, error, bucket: 'product' };
      if (rate.tenantDayAvailable === 0) return { ...base, kind: 'quota', info, error, bucket: 'tenant' };
    }
    if (RETRYABLE_STATUS.has(status)) {
      return { ...base, kind: 'retry', info, error, ...(rate.retryAfterMs !== undefined ? { retryAfterMs: rate.retryAfterMs } : {}) };
    }
    return { ...base, kind: 'fatal', info, error };
  }
}
