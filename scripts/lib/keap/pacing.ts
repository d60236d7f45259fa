// Pacing for the Keap API (API-NOTES §2.4): a token bucket (PAT/SAK spike arrest is ~5 req/s),
// a gate that keeps a share of the rolling per-minute throttles (credential and tenant) unused and
// waits for the window to roll instead of running into a 429, the daily-quota reserve check, and
// exponential backoff with full jitter. Time comes from a Clock so tests can run minutes of
// rate-limit windows in milliseconds against a sandbox sharing the same virtual clock.
//
// The throttle is a rolling 60 s window counted by the server. The last response's
// `*-available` tells how much was left then; requests sent since then use it up; our own
// requests leave the window 60 s after they completed (the server counted them before that), so
// from our own timestamps we know when capacity frees up. Requests by other processes on the same
// credential are invisible until the next response; when our own timestamps cannot explain the
// usage, the gate waits for a whole window after the last response. The same reserve percentage
// applies to the tenant minute window (API-NOTES suggests ~2% there; 5% errs on the safe side, as
// the tenant budget is shared with every other integration).
import type { RateSnapshot } from './headers.ts';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    if (ms <= 0) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const realClock: Clock = { now: () => Date.now(), sleep: abortableSleep };

/** Full-jitter exponential backoff: uniform in [0, min(max, base * 2^(retry-1))]. `retry` starts at 1. */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(0, retry - 1), 30));
  return Math.floor(random() * ceiling);
}

/** Token bucket: at most `ratePerSecond` on average, bursts of at most `burst` requests. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
  }

  /** Takes one token, waiting as needed; returns the milliseconds waited. */
  async take(signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (;;) {
      this.refill();
      if (this.tokens >= 1 - 1e-9) {
        this.tokens -= 1;
        return waited;
      }
      const ms = Math.max(1, Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000));
      await this.clock.sleep(ms, signal);
      waited += ms;
    }
  }
}

export const WINDOW_MS = 60_000;

interface Sent {
  /** When we started sending it. */
  sentAt: number;
  /** When it completed (response or failure); the server counted it no later than this. */
  doneAt?: number;
}

interface Dimension {
  limit: number;
  available: number;
  /** When the response carrying these values was received. */
  seenAt: number;
  /** Requests started since then. */
  sentSince: number;
}

/** Keeps a reserve of the rolling per-minute throttles (credential and tenant). */
export class ThrottleGate {
  private sent: Sent[] = [];
  private dims: { product?: Dimension; tenant?: Dimension } = {};

  constructor(
    private readonly reservePct: number,
    private readonly clock: Clock,
    /** Safety margin added to "left the window" times (server timing, clock granularity). */
    private readonly marginMs = 250,
  ) {}

  /** Call when a request starts; call the returned function when it completes (either way). */
  begin(): () => void {
    const s: Sent = { sentAt: this.clock.now() };
    this.sent.push(s);
    for (const d of Object.values(this.dims)) if (d) d.sentSince++;
    return () => {
      s.doneAt ??= this.clock.now();
    };
  }

  /** Records the throttle values of a response that just arrived. */
  observe(r: RateSnapshot): void {
    const now = this.clock.now();
    if (r.throttleLimit !== undefined && r.throttleAvailable !== undefined) {
      this.dims.product = { limit: r.throttleLimit, available: r.throttleAvailable, seenAt: now, sentSince: 0 };
    }
    if (r.tenantMinuteLimit !== undefined && r.tenantMinuteAvailable !== undefined) {
      this.dims.tenant = { limit: r.tenantMinuteLimit, available: r.tenantMinuteAvailable, seenAt: now, sentSince: 0 };
    }
  }

  reserveOf(limit: number): number {
    return Math.floor((limit * this.reservePct) / 100);
  }

  private prune(now: number): void {
    // Keep two windows of history: enough to explain any header we may still hold.
    const cutoff = now - 2 * WINDOW_MS - this.marginMs;
    let i = 0;
    while (i < this.sent.length && this.sent[i]!.doneAt !== undefined && this.sent[i]!.doneAt! < cutoff) i++;
    if (i > 0) this.sent.splice(0, i);
  }

  private leftAt(s: Sent): number {
    return s.doneAt === undefined ? Infinity : s.doneAt + WINDOW_MS + this.marginMs;
  }

  /** Estimated requests available now in one window, and when the next slot frees up if short. */
  private estimate(d: Dimension, now: number): { available: number; freeAt: (need: number) => number } {
    const windowRolled = now >= d.seenAt + WINDOW_MS + this.marginMs;
    if (windowRolled) {
      // Everything the header counted has left; only our own recent requests can still be in.
      const inWindow = this.sent.filter((s) => this.leftAt(s) > now);
      return {
        available: d.limit - inWindow.length,
        freeAt: (need) => {
          const times = inWindow.map((s) => this.leftAt(s)).sort((a, b) => a - b);
          return times[need - 1] ?? now + WINDOW_MS;
        },
      };
    }
    // Our requests that the header counted (sent after the window's start as of the header) and
    // that have left the window since.
    const counted = this.sent.filter((s) => s.sentAt > d.seenAt - WINDOW_MS && s.sentAt <= d.seenAt);
    const freed = counted.filter((s) => this.leftAt(s) <= now).length;
    return {
      available: d.available - d.sentSince + freed,
      freeAt: (need) => {
        const pending = counted.map((s) => this.leftAt(s)).filter((t) => t > now).sort((a, b) => a - b);
        const t = pending[need - 1];
        // Not enough of our own requests to explain the usage: wait for the whole window to roll.
        return t !== undefined && Number.isFinite(t) ? t : d.seenAt + WINDOW_MS + this.marginMs;
      },
    };
  }

  /** Milliseconds to wait before the next request keeps every minute window above its reserve (0 = go). */
  waitMs(): number {
    const now = this.clock.now();
    this.prune(now);
    let wait = 0;
    for (const d of Object.values(this.dims)) {
      if (!d) continue;
      const reserve = this.reserveOf(d.limit);
      const e = this.estimate(d, now);
      if (e.available - 1 >= reserve) continue;
      const need = reserve + 1 - e.available;
      wait = Math.max(wait, Math.max(1, e.freeAt(need) - now));
    }
    return wait;
  }

  /** Estimated available requests in the credential's minute window (for progress display). */
  productAvailable(): number | undefined {
    const d = this.dims.product;
    return d ? this.estimate(d, this.clock.now()).available : undefined;
  }
}

interface DailySeen {
  available: number;
  seenAt: number;
  /** When the daily bucket resets (next 00:00 UTC unless the header says otherwise). */
  resetsAt: number;
  sentSince: number;
}

function nextUtcMidnight(ms: number): number {
  return Math.floor(ms / 86_400_000) * 86_400_000 + 86_400_000;
}

/** The daily quotas (credential and tenant) as last seen, minus what was sent since. */
export class DailyQuota {
  private product?: DailySeen;
  private tenant?: DailySeen;
  constructor(private readonly clock: Clock) {}

  begin(): void {
    if (this.product) this.product.sentSince++;
    if (this.tenant) this.tenant.sentSince++;
  }

  observe(r: RateSnapshot): void {
    const now = this.clock.now();
    if (r.quotaAvailable !== undefined) {
      const resetsAt = r.quotaExpiresAtMs !== undefined && r.quotaExpiresAtMs > now ? r.quotaExpiresAtMs : nextUtcMidnight(now);
      this.product = { available: r.quotaAvailable, seenAt: now, resetsAt, sentSince: 0 };
    }
    if (r.tenantDayAvailable !== undefined) {
      this.tenant = { available: r.tenantDayAvailable, seenAt: now, resetsAt: nextUtcMidnight(now), sentSince: 0 };
    }
  }

  /** The bucket at or below `reserve`, if any (values from before a daily reset are ignored). */
  atReserve(reserve: number): { bucket: 'product' | 'tenant'; available: number } | undefined {
    const now = this.clock.now();
    for (const [bucket, d] of [['product', this.product], ['tenant', this.tenant]] as const) {
      if (!d || now >= d.resetsAt) continue;
      const available = d.available - d.sentSince;
      if (available <= reserve) return { bucket, available: Math.max(0, available) };
    }
    return undefined;
  }
}
