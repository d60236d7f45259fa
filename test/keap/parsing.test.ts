// Pure logic of the Keap HTTP layer: rate-limit headers (pipe-delimited tenant pair), both error
// body shapes, Retry-After, backoff with full jitter, the token bucket, the throttle gate's
// window arithmetic and the redactor.
import { describe, expect, it } from 'vitest';
import { KeapApiError, KeapAuthError, QuotaReserveError, describeKeapError, parseKeapError } from '../../scripts/lib/keap/errors.ts';
import { parseRateHeaders, parseRetryAfter, pipeParts } from '../../scripts/lib/keap/headers.ts';
import { DailyQuota, ThrottleGate, TokenBucket, backoffDelay, type Clock } from '../../scripts/lib/keap/pacing.ts';
import { Redactor } from '../../scripts/lib/keap/redact.ts';
import { EXIT, exitCodeFor } from '../../scripts/lib/errors.ts';

function virtualClock(start = 1_800_000_000_000): Clock & { t: number } {
  const c = {
    t: start,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

describe('rate-limit headers', () => {
  it('parses product throttle and quota, and the pipe-delimited tenant pair by time unit', () => {
    const r = parseRateHeaders({
      'x-keap-product-throttle-limit': '1500',
      'x-keap-product-throttle-available': '1499',
      'x-keap-product-quota-limit': '150000',
      'x-keap-product-quota-available': '149000',
      'x-keap-product-quota-expiry-time': '1800000000000',
      'x-keap-tenant-throttle-limit': '250000|10000',
      'x-keap-tenant-throttle-available': '249999|9999',
      'x-keap-tenant-throttle-time-unit': 'day|minute',
    });
    expect(r).toEqual({
      throttleLimit: 1500,
      throttleAvailable: 1499,
      quotaLimit: 150000,
      quotaAvailable: 149000,
      quotaExpiresAtMs: 1800000000000,
      tenantMinuteLimit: 10000,
      tenantMinuteAvailable: 9999,
      tenantDayLimit: 250000,
      tenantDayAvailable: 249999,
    });
  });

  it('defaults the tenant parts to minute|day and ignores junk', () => {
    expect(parseRateHeaders({ 'x-keap-tenant-throttle-available': '10|20', 'x-keap-product-throttle-available': 'lots' })).toEqual({ tenantMinuteAvailable: 10, tenantDayAvailable: 20 });
    expect(pipeParts(' 5 | x |7')).toEqual([5, undefined, 7]);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
    expect(parseRetryAfter(new Date(1_000_000 + 3000).toUTCString(), 1_000_000)).toBe(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('error bodies', () => {
  it('understands the v2 shape, the Apigee fault envelope and OAuth errors', () => {
    expect(parseKeapError({ code: '429', message: 'Quota Exceeded', status: 'Request Throttled', details: null })).toEqual({
      shape: 'v2',
      code: '429',
      message: 'Quota Exceeded',
      status: 'Request Throttled',
    });
    expect(parseKeapError({ code: 400, message: 'Invalid filter', status: 'Bad Request', details: [{ domain: 'filter' }] })).toMatchObject({ code: '400', message: 'Invalid filter' });
    const fault = parseKeapError({ fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } });
    expect(fault).toEqual({ shape: 'fault', code: 'oauth.v2.InvalidAccessToken', message: 'Invalid access token' });
    expect(describeKeapError(fault)).toBe('oauth.v2.InvalidAccessToken: Invalid access token');
    expect(parseKeapError({ error: 'invalid_grant', error_description: 'Invalid refresh token' })).toEqual({ shape: 'oauth', code: 'invalid_grant', message: 'Invalid refresh token' });
    expect(parseKeapError('<html>')).toEqual({ shape: 'unknown' });
    expect(describeKeapError({ shape: 'unknown' }, '<html>\n<body>Bad gateway</body>')).toBe('<html> <body>Bad gateway</body>');
  });

  it('gives each error class its exit code', () => {
    expect(exitCodeFor(new KeapApiError('x', { status: 400 }))).toBe(EXIT.KEAP_API);
    expect(exitCodeFor(new KeapAuthError('x'))).toBe(EXIT.KEAP_API);
    const q = new QuotaReserveError({ bucket: 'product', available: 10, reserve: 20, entity: 'contacts' });
    expect(exitCodeFor(q)).toBe(EXIT.QUOTA_RESERVE);
    expect(q.message).toMatch(/10 requests left, at or below the reserve of 20 \(KEAP_QUOTA_RESERVE\)/);
    expect(q.entity).toBe('contacts');
  });
});

describe('backoff and pacing', () => {
  it('backs off exponentially with full jitter, capped', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 1000, 60000, () => 0.999999))).toEqual([999, 1999, 3999, 7999, 15999, 31999, 59999, 59999]);
    expect(backoffDelay(3, 1000, 60000, () => 0)).toBe(0);
    expect(backoffDelay(40, 1000, 60000, () => 0.5)).toBe(30000);
  });

  it('spaces requests evenly at the token-bucket rate', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket(5, 1, clock);
    const start = clock.t;
    const times: number[] = [];
    for (let i = 0; i < 11; i++) {
      await bucket.take();
      times.push(clock.t - start);
    }
    expect(times[0]).toBe(0);
    expect(times[10]).toBe(2000);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(199);
  });

  it('waits, when the minute window is down to its reserve, until its own oldest requests leave it', async () => {
    const clock = virtualClock();
    const gate = new ThrottleGate(5, clock, 0); // limit 60 -> reserve 3
    const t0 = clock.t;
    // 56 requests; the server says 4 are left after the last one.
    for (let i = 0; i < 56; i++) {
      const done = gate.begin();
      clock.t += 10;
      done();
    }
    gate.observe({ throttleLimit: 60, throttleAvailable: 4 });
    expect(gate.waitMs()).toBe(0); // sending one more leaves 3 = the reserve
    const done = gate.begin();
    clock.t += 10;
    done();
    // Now 3 left by our count: the next must wait for the first request (done at t0+10) to leave.
    expect(gate.waitMs()).toBe(t0 + 10 + 60_000 - clock.t);
    clock.t = t0 + 10 + 60_000;
    expect(gate.waitMs()).toBe(0);
  });

  it('waits a whole window when the usage is not explained by its own requests', () => {
    const clock = virtualClock();
    const gate = new ThrottleGate(5, clock, 0);
    gate.observe({ throttleLimit: 100, throttleAvailable: 2 }); // someone else used 98
    expect(gate.waitMs()).toBe(60_000);
    clock.t += 60_000;
    expect(gate.waitMs()).toBe(0);
  });

  it('counts the daily quota down from the last response and forgets it after the reset', () => {
    const clock = virtualClock(Date.UTC(2026, 0, 1, 23, 0));
    const q = new DailyQuota(clock);
    q.observe({ quotaAvailable: 22 });
    expect(q.atReserve(20)).toBeUndefined();
    q.begin();
    expect(q.atReserve(20)).toBeUndefined();
    q.begin();
    expect(q.atReserve(20)).toEqual({ bucket: 'product', available: 20 });
    q.observe({ quotaAvailable: 5000, tenantDayAvailable: 15 });
    expect(q.atReserve(20)).toEqual({ bucket: 'tenant', available: 15 });
    clock.t = Date.UTC(2026, 0, 2, 0, 0, 1);
    expect(q.atReserve(20)).toBeUndefined();
  });
});

describe('Redactor', () => {
  it('removes known secrets and secret-shaped values', () => {
    const r = new Redactor();
    r.add('sk-abcdef123456');
    expect(r.scrub('key sk-abcdef123456 failed')).toBe('key [redacted] failed');
    expect(r.scrub('Authorization: Bearer abc.def-ghi')).toBe('Authorization: Bearer [redacted]');
    expect(r.scrub('sent Bearer abc.def-ghi')).toBe('sent Bearer [redacted]');
    expect(r.scrub('{"access_token":"zzz","refresh_token":"yyy"}')).toBe('{"access_token":"[redacted]","refresh_token":"[redacted]"}');
    expect(r.scrub('grant_type=refresh_token&refresh_token=abc')).toBe('grant_type=refresh_token&refresh_token=[redacted]');
  });
});
