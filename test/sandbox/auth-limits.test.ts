// Auth and rate limits behave as Keap documents: PAT/SAK keys in either header, OAuth refresh
// with rotation (the old refresh token dies with invalid_grant), expiring access tokens answered
// with Apigee faults, a rolling per-minute throttle and a daily quota with accurate x-keap-*
// headers, 429s in both real body shapes, and a header-pacing client that never gets a 429.
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../scripts/lib/sandbox/index.ts';
import { api, KEY } from './helpers.ts';

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

/** A controllable clock so windows and expiries can be tested without waiting. */
function fakeClock(start = Date.parse('2026-11-20T10:00:00.000Z')): { now: () => Date; advance: (ms: number) => void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}

async function start(opts: SandboxOptions = {}): Promise<Sandbox> {
  sb = await startSandbox({ contacts: 50, ...opts });
  return sb;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

async function refresh(s: Sandbox, refreshToken: string, authz = basic('sandbox-client', 'sandbox-secret')): Promise<{ status: number; body: any }> {
  const r = await fetch(s.tokenUrl, {
    method: 'POST',
    headers: { authorization: authz, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
  return { status: r.status, body: await r.json() };
}

describe('auth', () => {
  it('accepts a PAT/SAK key in X-Keap-API-Key or as a Bearer token, and rejects others with Apigee faults', async () => {
    const s = await start({ apiKeys: ['k1', 'k2'] });
    expect((await api(s, '/contacts?page_size=1', { 'X-Keap-API-Key': 'k1' })).status).toBe(200);
    expect((await api(s, '/contacts?page_size=1', { authorization: 'Bearer k2' })).status).toBe(200);
    const badKey = await api(s, '/contacts', { 'X-Keap-API-Key': 'nope' });
    expect(badKey.status).toBe(401);
    expect(badKey.body.fault.detail.errorcode).toBe('oauth.v2.InvalidApiKey');
    const none = await api(s, '/contacts', {});
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } });
    expect(none.headers.get('x-keap-tenant-id')).toBe('sandbox.infusionsoft.com');
  });

  it('refresh rotates the refresh token; the previous one then fails with invalid_grant', async () => {
    const s = await start();
    const first = s.currentRefreshToken();
    expect(first).toBe('sandbox-refresh-token-0');
    const r1 = await refresh(s, first);
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ token_type: 'bearer', expires_in: 86400, scope: 'full|sandbox.infusionsoft.com' });
    expect(r1.body.refresh_token).not.toBe(first);
    expect(s.currentRefreshToken()).toBe(r1.body.refresh_token);
    const ok = await api(s, '/contacts?page_size=1', { authorization: `Bearer ${r1.body.access_token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-keap-product-throttle-limit')).toBe('1500');
    const reused = await refresh(s, first);
    expect(reused.status).toBe(400);
    expect(reused.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid refresh token' });
    const r2 = await refresh(s, r1.body.refresh_token);
    expect(r2.status).toBe(200);
    expect((await refresh(s, r1.body.refresh_token)).status).toBe(400);
    const st = s.stats();
    expect(st.tokenRefreshes).toBe(2);
    expect(st.invalidGrants).toBe(2);
    expect(st.requests['POST /token']).toEqual({ '200': 2, '400': 2 });
  });

  it('bad client credentials get 401 invalid_client and do not rotate the token', async () => {
    const s = await start();
    const r = await refresh(s, s.currentRefreshToken(), basic('sandbox-client', 'wrong'));
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
    expect(s.currentRefreshToken()).toBe('sandbox-refresh-token-0');
    const noAuth = await fetch(s.tokenUrl, { method: 'POST', body: 'grant_type=refresh_token&refresh_token=sandbox-refresh-token-0', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(noAuth.status).toBe(401);
    expect((await fetch(s.tokenUrl)).status).toBe(405);
  });

  it('access tokens expire after their TTL with keymanagement.service.access_token_expired', async () => {
    const clock = fakeClock();
    const s = await start({ now: clock.now, oauth: { clientId: 'c', clientSecret: 's', refreshToken: 'r0', accessTokenTtlSeconds: 3 } });
    const t = await refresh(s, 'r0', basic('c', 's'));
    expect(t.body.expires_in).toBe(3);
    const h = { authorization: `Bearer ${t.body.access_token}` };
    clock.advance(2_900);
    expect((await api(s, '/contacts?page_size=1', h)).status).toBe(200);
    clock.advance(200);
    const expired = await api(s, '/contacts?page_size=1', h);
    expect(expired.status).toBe(401);
    expect(expired.body.fault).toEqual({ faultstring: 'Access Token expired', detail: { errorcode: 'keymanagement.service.access_token_expired' } });
    const unknown = await api(s, '/contacts', { authorization: 'Bearer not-a-token' });
    expect(unknown.body.fault.detail.errorcode).toBe('oauth.v2.InvalidAccessToken');
  });
});

describe('rate limits', () => {
  it('every response carries accurate product and tenant headers, pipe-delimited for the tenant', async () => {
    const s = await start({ now: fakeClock().now });
    const a = await api(s, '/contacts?page_size=1');
    const b = await api(s, '/tags?page_size=1');
    expect(a.headers.get('x-keap-product-throttle-limit')).toBe('240');
    expect(a.headers.get('x-keap-product-throttle-used')).toBe('1');
    expect(b.headers.get('x-keap-product-throttle-used')).toBe('2');
    expect(b.headers.get('x-keap-product-throttle-available')).toBe('238');
    expect(b.headers.get('x-keap-product-throttle-time-unit')).toBe('minute');
    expect(b.headers.get('x-keap-product-throttle-interval')).toBe('1');
    expect(b.headers.get('x-keap-product-quota-limit')).toBe('30000');
    expect(b.headers.get('x-keap-product-quota-available')).toBe('29998');
    expect(b.headers.get('x-keap-product-quota-used')).toBe('2');
    expect(b.headers.get('x-keap-product-quota-time-unit')).toBe('day');
    expect(b.headers.get('x-keap-product-quota-expiry-time')).toBe(String(Date.parse('2026-11-21T00:00:00.000Z')));
    expect(b.headers.get('x-keap-tenant-throttle-limit')).toBe('10000|250000');
    expect(b.headers.get('x-keap-tenant-throttle-available')).toBe('9998|249998');
    expect(b.headers.get('x-keap-tenant-throttle-used')).toBe('2|2');
    expect(b.headers.get('x-keap-tenant-throttle-time-unit')).toBe('minute|day');
    const notFound = await api(s, '/nope');
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('x-keap-product-throttle-used')).toBe('3');
  });

  it('the rolling minute window: 429 once exhausted, violations counted, both body shapes, recovery as it rolls', async () => {
    const clock = fakeClock();
    const s = await start({ now: clock.now, limits: { throttlePerMinute: 5, retryAfterProbability: 1 } });
    for (let i = 0; i < 5; i++) {
      const r = await api(s, '/contacts?page_size=1');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-keap-product-throttle-available')).toBe(String(4 - i));
      clock.advance(10_000);
    }
    const r1 = await api(s, '/contacts?page_size=1');
    const r2 = await api(s, '/contacts?page_size=1');
    expect([r1.status, r2.status]).toEqual([429, 429]);
    expect(r1.body).toEqual({ code: '429', message: 'Quota Exceeded', status: 'Request Throttled', details: null });
    expect(r2.body.fault.detail.errorcode).toBe('policies.ratelimit.QuotaViolation');
    // The oldest request (t=0) leaves the window at t=60s; now is t=50s.
    expect(r1.headers.get('retry-after')).toBe('10');
    expect(r1.headers.get('x-keap-product-throttle-available')).toBe('0');
    expect(s.stats().throttleViolations).toBe(2);
    clock.advance(10_001);
    expect((await api(s, '/contacts?page_size=1')).status).toBe(200);
    expect((await api(s, '/contacts?page_size=1')).status).toBe(429);
    expect(s.stats().throttleViolations).toBe(3);
    expect(s.stats().requests['GET /contacts']).toEqual({ '200': 6, '429': 3 });
  });

  it('Retry-After is optional: never sent when its probability is 0', async () => {
    const s = await start({ now: fakeClock().now, limits: { throttlePerMinute: 1, retryAfterProbability: 0 } });
    await api(s, '/tags');
    for (let i = 0; i < 4; i++) expect((await api(s, '/tags')).headers.get('retry-after')).toBeNull();
  });

  it('the daily quota resets at 00:00 UTC and counts quota rejections', async () => {
    const clock = fakeClock(Date.parse('2026-11-20T23:59:00.000Z'));
    const s = await start({ now: clock.now, limits: { dailyQuota: 3, throttlePerMinute: 100 } });
    for (let i = 0; i < 3; i++) expect((await api(s, '/tags')).status).toBe(200);
    const r = await api(s, '/tags');
    expect(r.status).toBe(429);
    expect(r.headers.get('x-keap-product-quota-available')).toBe('0');
    expect(s.stats().quotaRejections).toBe(1);
    expect(s.stats().throttleViolations).toBe(0);
    clock.advance(60_000);
    const next = await api(s, '/tags');
    expect(next.status).toBe(200);
    expect(next.headers.get('x-keap-product-quota-used')).toBe('1');
  });

  it('the tenant limit applies across credentials', async () => {
    const s = await start({ now: fakeClock().now, apiKeys: ['a', 'b'], limits: { tenantPerMinute: 3 } });
    expect((await api(s, '/tags', { 'X-Keap-API-Key': 'a' })).status).toBe(200);
    expect((await api(s, '/tags', { 'X-Keap-API-Key': 'b' })).status).toBe(200);
    const third = await api(s, '/tags', { 'X-Keap-API-Key': 'b' });
    expect(third.headers.get('x-keap-tenant-throttle-available')).toBe('0|249997');
    expect(third.headers.get('x-keap-product-throttle-used')).toBe('2');
    expect((await api(s, '/tags', { 'X-Keap-API-Key': 'a' })).status).toBe(429);
  });

  it('a client that paces on the headers never sees a 429', async () => {
    const clock = fakeClock();
    const s = await start({ contacts: 200, now: clock.now, limits: { throttlePerMinute: 7 } });
    let token: string | undefined;
    let pages = 0;
    const seen = new Set<string>();
    do {
      const r = await api(s, `/contacts?page_size=3${token ? `&page_token=${token}` : ''}`, KEY);
      expect(r.status).toBe(200);
      for (const c of r.body.contacts) seen.add(c.id);
      token = r.body.next_page_token;
      pages++;
      // Wait (on the fake clock) until the window rolls whenever the headers say it is spent.
      clock.advance(Number(r.headers.get('x-keap-product-throttle-available')) === 0 ? 60_000 : 100);
    } while (token);
    expect(seen.size).toBe(200);
    expect(pages).toBe(67);
    expect(s.stats().throttleViolations).toBe(0);
    expect(s.stats().requests['GET /contacts']).toEqual({ '200': 67 });
  });

  it('setLimits changes the given limits at run time and keeps the others', async () => {
    const s = await start({ now: fakeClock().now, limits: { dailyQuota: 500 } });
    s.setLimits({ throttlePerMinute: 2 });
    await api(s, '/tags');
    const r = await api(s, '/tags');
    expect(r.headers.get('x-keap-product-throttle-limit')).toBe('2');
    expect(r.headers.get('x-keap-product-quota-limit')).toBe('500');
    expect((await api(s, '/tags')).status).toBe(429);
    s.setLimits(undefined);
    const d = await api(s, '/tags');
    expect(d.headers.get('x-keap-product-throttle-limit')).toBe('240');
    expect(d.headers.get('x-keap-product-quota-limit')).toBe('30000');
  });
});
