// Keap's rate limits as the sandbox enforces them: a rolling 60-second throttle and a daily quota
// (reset at 00:00 UTC) per credential ("product": a PAT/SAK key, or an OAuth client across all
// its tokens), plus the per-tenant pair shared by everyone. Every API response carries the
// x-keap-* headers computed after counting the request, so a client that stops when
// `-available` reaches 0 and waits for the window to roll never sees a 429.
//
// Rejected requests are not counted against the windows (as Apigee's Quota policy does); each
// one that arrives while a minute window is already exhausted is a throttle violation.
import { Rng } from './util.ts';

export interface LimitOptions {
  throttlePerMinute?: number;
  dailyQuota?: number;
  tenantPerMinute?: number;
  tenantPerDay?: number;
  retryAfterProbability?: number;
}

const DEFAULTS = {
  key: { minute: 240, day: 30000 },
  oauth: { minute: 1500, day: 150000 },
  tenant: { minute: 10000, day: 250000 },
};

const MINUTE = 60_000;
const DAY = 86_400_000;

class Rolling {
  private times: number[] = [];
  private head = 0;
  used(now: number): number {
    while (this.head < this.times.length && (this.times[this.head] as number) <= now - MINUTE) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }
  add(now: number): void {
    this.times.push(now);
  }
  /** Ms until the oldest counted request leaves the window. */
  freesIn(now: number): number {
    const oldest = this.times[this.head];
    return oldest === undefined ? 0 : Math.max(0, oldest + MINUTE - now);
  }
}

class Daily {
  private day = -1;
  private count = 0;
  used(now: number): number {
    const d = Math.floor(now / DAY);
    if (d !== this.day) {
      this.day = d;
      this.count = 0;
    }
    return this.count;
  }
  add(now: number): void {
    this.used(now);
    this.count++;
  }
}

export type LimitOutcome = { allowed: true; headers: Record<string, string> } | { allowed: false; headers: Record<string, string>; reason: 'throttle' | 'quota'; body: unknown; retryAfterSeconds?: number };

export class Limits {
  private opts: LimitOptions;
  private buckets = new Map<string, { minute: Rolling; day: Daily }>();
  private tenantMinute = new Rolling();
  private tenantDay = new Daily();
  private rng: Rng;
  private rejections = 0;
  throttleViolations = 0;
  quotaRejections = 0;

  constructor(
    opts: LimitOptions | undefined,
    seed: number,
    readonly tenantId: string,
  ) {
    this.opts = { ...opts };
    this.rng = new Rng(seed ^ 0x5eed);
  }

  /** Changes the given limits only (a key set to undefined goes back to Keap's default); `undefined` resets all. */
  set(opts: LimitOptions | undefined): void {
    this.opts = opts === undefined ? {} : { ...this.opts, ...opts };
  }

  resetCounters(): void {
    this.throttleViolations = 0;
    this.quotaRejections = 0;
  }

  private limitsFor(kind: 'key' | 'oauth'): { minute: number; day: number } {
    return { minute: this.opts.throttlePerMinute ?? DEFAULTS[kind].minute, day: this.opts.dailyQuota ?? DEFAULTS[kind].day };
  }

  check(bucketKey: string, kind: 'key' | 'oauth', now: number): LimitOutcome {
    let b = this.buckets.get(bucketKey);
    if (!b) this.buckets.set(bucketKey, (b = { minute: new Rolling(), day: new Daily() }));
    const lim = this.limitsFor(kind);
    const tMin = this.opts.tenantPerMinute ?? DEFAULTS.tenant.minute;
    const tDay = this.opts.tenantPerDay ?? DEFAULTS.tenant.day;
    const usedMin = b.minute.used(now);
    const usedDay = b.day.used(now);
    const tUsedMin = this.tenantMinute.used(now);
    const tUsedDay = this.tenantDay.used(now);
    let reason: 'throttle' | 'quota' | null = null;
    let waitMs = 0;
    if (usedDay >= lim.day || tUsedDay >= tDay) {
      reason = 'quota';
      waitMs = DAY - (now % DAY);
    } else if (usedMin >= lim.minute || tUsedMin >= tMin) {
      reason = 'throttle';
      waitMs = Math.max(usedMin >= lim.minute ? b.minute.freesIn(now) : 0, tUsedMin >= tMin ? this.tenantMinute.freesIn(now) : 0);
    }
    if (!reason) {
      b.minute.add(now);
      b.day.add(now);
      this.tenantMinute.add(now);
      this.tenantDay.add(now);
    }
    const headers = this.headers(lim, b, now, tMin, tDay);
    if (!reason) return { allowed: true, headers };
    if (reason === 'throttle') this.throttleViolations++;
    else this.quotaRejections++;
    // Keap has been seen answering 429 with two different bodies; alternate between them.
    const body =
      this.rejections++ % 2 === 0
        ? { code: '429', message: 'Quota Exceeded', status: 'Request Throttled', details: null }
        : { fault: { faultstring: 'Rate limit quota violation. Quota limit exceeded. Identifier : _default', detail: { errorcode: 'policies.ratelimit.QuotaViolation' } } };
    const p = this.opts.retryAfterProbability ?? 0.5;
    const retryAfterSeconds = this.rng.next() < p ? Math.max(1, Math.ceil(waitMs / 1000)) : undefined;
    return { allowed: false, headers, reason, body, retryAfterSeconds };
  }

  /** Headers when the caller is not identified (e.g. 401): tenant-level only. */
  tenantHeaders(now: number): Record<string, string> {
    const tMin = this.opts.tenantPerMinute ?? DEFAULTS.tenant.minute;
    const tDay = this.opts.tenantPerDay ?? DEFAULTS.tenant.day;
    return this.tenantPart(now, tMin, tDay);
  }

  private tenantPart(now: number, tMin: number, tDay: number): Record<string, string> {
    const um = this.tenantMinute.used(now);
    const ud = this.tenantDay.used(now);
    return {
      'x-keap-tenant-throttle-limit': `${tMin}|${tDay}`,
      'x-keap-tenant-throttle-available': `${Math.max(0, tMin - um)}|${Math.max(0, tDay - ud)}`,
      'x-keap-tenant-throttle-used': `${um}|${ud}`,
      'x-keap-tenant-throttle-time-unit': 'minute|day',
      'x-keap-tenant-throttle-interval': '1|1',
      'x-keap-tenant-id': this.tenantId,
    };
  }

  private headers(lim: { minute: number; day: number }, b: { minute: Rolling; day: Daily }, now: number, tMin: number, tDay: number): Record<string, string> {
    const um = b.minute.used(now);
    const ud = b.day.used(now);
    return {
      'x-keap-product-throttle-limit': String(lim.minute),
      'x-keap-product-throttle-available': String(Math.max(0, lim.minute - um)),
      'x-keap-product-throttle-used': String(um),
      'x-keap-product-throttle-time-unit': 'minute',
      'x-keap-product-throttle-interval': '1',
      'x-keap-product-quota-limit': String(lim.day),
      'x-keap-product-quota-available': String(Math.max(0, lim.day - ud)),
      'x-keap-product-quota-used': String(ud),
      'x-keap-product-quota-time-unit': 'day',
      'x-keap-product-quota-interval': '1',
      'x-keap-product-quota-expiry-time': String(Math.floor(now / DAY) * DAY + DAY),
      ...this.tenantPart(now, tMin, tDay),
    };
  }
}
