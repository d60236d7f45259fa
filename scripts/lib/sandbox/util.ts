// Small shared helpers for the Keap sandbox: stateless hashing and a seeded PRNG (so every
// generated record is a pure function of (seed, entity, index) and never has to be stored),
// Keap-style timestamp formatting/parsing, and the typed API error the server turns into a
// v2 Error body.

/** Finaliser from murmur3: cheap, well-distributed 32-bit mixing. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of up to four integers; used for attributes that must be derivable without the full record. */
export function hash4(a: number, b: number, c = 0, d = 0): number {
  let h = mix32((a | 0) ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(b | 0, 0x85ebca6b));
  h = mix32(h ^ Math.imul(c | 0, 0xc2b2ae35));
  h = mix32(h ^ Math.imul(d | 0, 0x27d4eb2f));
  return h;
}

/** Uniform float in [0, 1) from a 32-bit hash. */
export function unit(h: number): number {
  return h / 4294967296;
}

/** mulberry32: tiny seeded PRNG, good enough for fake data and deterministic fault schedules. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(arr: readonly T[]): T {
    return arr[Math.floor(this.next() * arr.length)] as T;
  }
}

/** Keap v2 timestamp: ISO-8601 UTC with milliseconds, e.g. 2026-09-14T08:05:17.412Z. */
export function iso(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rem = ms - days * 86_400_000;
  const h = Math.floor(rem / 3_600_000);
  rem -= h * 3_600_000;
  const mi = Math.floor(rem / 60_000);
  rem -= mi * 60_000;
  const sec = Math.floor(rem / 1000);
  const milli = rem - sec * 1000;
  return `${civil(days)}T${pad2(h)}:${pad2(mi)}:${pad2(sec)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

export function isoDate(ms: number): string {
  return civil(Math.floor(ms / 86_400_000));
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** YYYY-MM-DD for days since 1970-01-01 (Howard Hinnant's civil_from_days); much cheaper than Date#toISOString. */
function civil(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) return new Date(days * 86_400_000).toISOString().slice(0, 10);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`;
}

const FILTER_TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses a filter timestamp the way v2 demands: full date-time with milliseconds and an offset.
 * Returns epoch ms, or throws an ApiError(400) explaining what is wrong.
 */
export function parseFilterTime(field: string, value: string): number {
  const m = FILTER_TS.exec(value);
  if (!m) {
    let hint = 'expected ISO-8601 with milliseconds and an offset, e.g. 2026-01-01T00:00:00.000Z';
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) hint = 'date-only values are rejected; ' + hint;
    else if (/T\d{2}:\d{2}:\d{2}(Z|[+-])/.test(value)) hint = 'milliseconds are required; ' + hint;
    else if (/T\d{2}:\d{2}:\d{2}\.\d{3}$/.test(value)) hint = 'a timezone offset is required; ' + hint;
    else if (/ \d{2}:?\d{2}$/.test(value)) hint = "a '+' in the offset must be URL-encoded as %2B; " + hint;
    throw new ApiError(400, `Invalid value '${value}' for filter field '${field}': ${hint}`, [
      { domain: 'filter', resource: field },
    ]);
  }
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(ms)) {
    throw new ApiError(400, `Invalid date '${value}' for filter field '${field}'`, [{ domain: 'filter', resource: field }]);
  }
  return ms;
}

export interface ErrorDetail {
  domain: string;
  resource: string;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

/** An error that maps to Keap's v2 `Error {code, message, status, details}` body. */
export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
  body(): { code: number; message: string; status: string; details: ErrorDetail[] } {
    return { code: this.httpStatus, message: this.message, status: REASONS[this.httpStatus] ?? 'Error', details: this.details };
  }
}

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}
