// Keap's rate-limit response headers, parsed into numbers (API-NOTES §2.2): the per-credential
// ("product") per-minute throttle and daily quota, and the per-tenant pair, which arrives
// pipe-delimited ("10000|250000" with time-unit "minute|day") and must never be parsed as one int.
// Also Retry-After (seconds or an HTTP date; Keap does not document it, so it is optional).

export interface RateSnapshot {
  throttleLimit?: number;
  throttleAvailable?: number;
  quotaLimit?: number;
  quotaAvailable?: number;
  /** x-keap-product-quota-expiry-time: when the daily bucket resets (epoch ms). */
  quotaExpiresAtMs?: number;
  tenantMinuteLimit?: number;
  tenantMinuteAvailable?: number;
  tenantDayLimit?: number;
  tenantDayAvailable?: number;
  /** Retry-After in milliseconds, when sent. */
  retryAfterMs?: number;
}

/** Lower-cased header map of a fetch Response (or any iterable of pairs). */
export function headerRecord(headers: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of headers) out[k.toLowerCase()] = v;
  return out;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^-?\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The parts of a pipe-delimited header as integers (undefined where a part is not one). */
export function pipeParts(v: string | undefined): (number | undefined)[] {
  if (v === undefined) return [];
  return v.split('|').map((p) => int(p));
}

/** Retry-After as milliseconds: delta-seconds (fractions allowed) or an HTTP date. */
export function parseRetryAfter(v: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const date = Date.parse(t);
  if (Number.isNaN(date) || !/[a-z]/i.test(t)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Epoch ms from the quota expiry header (epoch ms, epoch seconds, or an ISO/HTTP date). */
function parseExpiry(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = int(v);
  if (n !== undefined) return n < 100_000_000_000 ? n * 1000 : n;
  const d = Date.parse(v);
  return Number.isNaN(d) ? undefined : d;
}

export function parseRateHeaders(h: Record<string, string>, nowMs: number = Date.now()): RateSnapshot {
  const s: RateSnapshot = {};
  const set = <K extends keyof RateSnapshot>(k: K, v: RateSnapshot[K] | undefined): void => {
    if (v !== undefined) s[k] = v;
  };
  set('throttleLimit', int(h['x-keap-product-throttle-limit']));
  set('throttleAvailable', int(h['x-keap-product-throttle-available']));
  set('quotaLimit', int(h['x-keap-product-quota-limit']));
  set('quotaAvailable', int(h['x-keap-product-quota-available']));
  set('quotaExpiresAtMs', parseExpiry(h['x-keap-product-quota-expiry-time']));

  // Tenant pair: place each part by its time unit when the unit header says so, else minute|day.
  const units = (h['x-keap-tenant-throttle-time-unit'] ?? 'minute|day').split('|').map((u) => u.trim().toLowerCase());
  const limits = pipeParts(h['x-keap-tenant-throttle-limit']);
  const avail = pipeParts(h['x-keap-tenant-throttle-available']);
  const idx = (unit: string, fallback: number): number => {
    const i = units.indexOf(unit);
    return i >= 0 ? i : units.length <= 1 && fallback > 0 ? -1 : fallback;
  };
  const mi = idx('minute', 0);
  const di = idx('day', 1);
  if (mi >= 0) {
    set('tenantMinuteLimit', limits[mi]);
    set('tenantMinuteAvailable', avail[mi]);
  }
  if (di >= 0) {
    set('tenantDayLimit', limits[di]);
    set('tenantDayAvailable', avail[di]);
  }
  set('retryAfterMs', parseRetryAfter(h['retry-after'], nowMs));
  return s;
}
