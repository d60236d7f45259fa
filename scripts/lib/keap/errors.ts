// Errors of the Keap HTTP layer and the parsing of Keap's error bodies. Keap answers in two shapes
// (API-NOTES §2.3): the v2 API's `{code, message, status, details}` and the Apigee gateway's fault
// envelope `{fault: {faultstring, detail: {errorcode}}}` (auth failures, 429s, 5xx); the token
// endpoint uses OAuth's `{error, error_description}`. Every class carries `exitCode` (see
// scripts/lib/errors.ts) and `entity`, which the run boundary records. Messages never contain
// a key or token: they are built from parsed fields and passed through the client's redactor.
import { EXIT } from '../errors.ts';

export interface KeapErrorInfo {
  /** v2 `code` (e.g. "429", 400), Apigee `detail.errorcode` (e.g. policies.ratelimit.QuotaViolation) or OAuth `error` (invalid_grant). */
  code?: string;
  /** v2 `message`, Apigee `faultstring` or OAuth `error_description`. */
  message?: string;
  /** v2 `status` text (e.g. "Request Throttled"). */
  status?: string;
  shape: 'v2' | 'fault' | 'oauth' | 'unknown';
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Reads whichever error shape the body has; `unknown` (with nothing set) when none matches. */
export function parseKeapError(body: unknown): KeapErrorInfo {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    const fault = b.fault;
    if (fault && typeof fault === 'object') {
      const f = fault as Record<string, unknown>;
      const detail = f.detail && typeof f.detail === 'object' ? (f.detail as Record<string, unknown>) : {};
      return { shape: 'fault', ...opt('code', str(detail.errorcode)), ...opt('message', str(f.faultstring)) };
    }
    if (typeof b.error === 'string') {
      return { shape: 'oauth', code: b.error, ...opt('message', str(b.error_description)) };
    }
    if ('code' in b || 'message' in b) {
      return { shape: 'v2', ...opt('code', str(b.code)), ...opt('message', str(b.message)), ...opt('status', str(b.status)) };
    }
  }
  return { shape: 'unknown' };
}

function opt<K extends string>(k: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: string };
}

/** One line for an error body: "code: message" from either shape, else a short snippet of the text. */
export function describeKeapError(info: KeapErrorInfo, rawText?: string): string {
  if (info.code || info.message) return [info.code, info.message].filter(Boolean).join(': ');
  const t = (rawText ?? '').replace(/\s+/g, ' ').trim();
  return t ? t.slice(0, 200) : '(empty body)';
}

export interface KeapApiErrorOptions {
  status?: number;
  info?: KeapErrorInfo;
  entity?: string;
  endpoint?: string;
  requestId?: number;
  attempts?: number;
  hint?: string;
  cause?: unknown;
}

/** A Keap API failure that retries cannot fix (4xx, or 429/5xx/network errors after the last retry). */
export class KeapApiError extends Error {
  readonly exitCode: number = EXIT.KEAP_API;
  /** HTTP status; undefined for network errors and timeouts. */
  readonly status?: number;
  /** Keap's error code from either body shape (v2 code, Apigee errorcode, OAuth error). */
  readonly code?: string;
  /** Keap's error message from either body shape. */
  readonly keapMessage?: string;
  readonly entity?: string;
  readonly endpoint?: string;
  /** request_id in keap_meta.etl_request_log of the last attempt. */
  readonly requestId?: number;
  readonly attempts?: number;
  /** What to do about it. */
  readonly hint?: string;
  constructor(message: string, o: KeapApiErrorOptions = {}) {
    super(o.hint ? `${message}. ${o.hint}` : message, o.cause !== undefined ? { cause: o.cause } : undefined);
    this.name = 'KeapApiError';
    if (o.status !== undefined) this.status = o.status;
    if (o.info?.code !== undefined) this.code = o.info.code;
    if (o.info?.message !== undefined) this.keapMessage = o.info.message;
    if (o.entity !== undefined) this.entity = o.entity;
    if (o.endpoint !== undefined) this.endpoint = o.endpoint;
    if (o.requestId !== undefined) this.requestId = o.requestId;
    if (o.attempts !== undefined) this.attempts = o.attempts;
    if (o.hint !== undefined) this.hint = o.hint;
  }
}

/** Credentials rejected: 401 after a refresh, 401 with a key, invalid_grant, invalid_client. */
export class KeapAuthError extends KeapApiError {
  constructor(message: string, o: KeapApiErrorOptions = {}) {
    super(message, o);
    this.name = 'KeapAuthError';
  }
}

export interface QuotaReserveDetails {
  /** Which daily bucket reached the reserve. */
  bucket: 'product' | 'tenant';
  /** Estimated daily requests still available when the request was refused. */
  available: number;
  reserve: number;
  entity?: string;
}

/**
 * Raised before a request is sent when the daily quota left is at or below KEAP_QUOTA_RESERVE (or
 * when Keap refuses a request because the daily quota is used up): the engine ends the run as
 * `partial` with its cursor kept, and the next run (after the 00:00 UTC reset) continues.
 */
export class QuotaReserveError extends Error {
  readonly exitCode = EXIT.QUOTA_RESERVE;
  readonly bucket: 'product' | 'tenant';
  readonly available: number;
  readonly reserve: number;
  readonly entity?: string;
  constructor(d: QuotaReserveDetails) {
    super(
      `daily ${d.bucket === 'product' ? 'API quota' : 'tenant quota'} has ${d.available} requests left, at or below the reserve of ${d.reserve} (KEAP_QUOTA_RESERVE); stopping so other integrations keep their share; the next run continues after the 00:00 UTC reset`,
    );
    this.name = 'QuotaReserveError';
    this.bucket = d.bucket;
    this.available = d.available;
    this.reserve = d.reserve;
    if (d.entity !== undefined) this.entity = d.entity;
  }
}
