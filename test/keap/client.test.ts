// KeapClient against the local Keap sandbox over real HTTP (PAT/SAK): the key header, pacing that
// never hits the throttle, retries through injected faults with exactly the right pages,
// Retry-After, unparseable bodies, the daily-quota reserve, cancellation, and no secret in the
// request log or in errors. Long rate-limit windows run on a virtual clock shared by the sandbox
// and the client, so a minute of throttle takes milliseconds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../scripts/lib/config.ts';
import { KeapApiError, KeapAuthError, KeapClient, QuotaReserveError, type KeapPage } from '../../scripts/lib/keap/client.ts';
import type { Clock } from '../../scripts/lib/keap/pacing.ts';
import { withRun, type RunContext } from '../../scripts/lib/run.ts';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';

const KEY = 'test-api-key-0123456789';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('keap_client');
});
afterAll(async () => {
  await db?.drop();
});

function config(url: string, extra: Record<string, string> = {}): Config {
  return loadConfig(
    {
      KEAP_API_URL: url,
      KEAP_API_KEY: KEY,
      KEAP_MAX_RPS: '1000',
      KEAP_BACKOFF_BASE_MS: '2',
      KEAP_BACKOFF_MAX_MS: '20',
      KEAP_MAX_RETRIES: '10',
      KEAP_QUOTA_RESERVE: '0',
      KEAP_REQUEST_TIMEOUT_MS: '2000',
      ...extra,
    },
    { loadDotEnv: false },
  );
}

type VClock = Clock & { t: number };
function virtualClock(): VClock {
  const c: VClock = {
    t: Date.now(),
    now: () => c.t,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      c.t += Math.max(0, ms);
      await new Promise((r) => setImmediate(r));
    },
  };
  return c;
}

let runSeq = 0;
function run<T>(fn: (ctx: RunContext) => Promise<T>): Promise<{ runId: number; value: T }> {
  return withRun(db, `test_keap_client_${++runSeq}`, { handleSignals: false }, fn);
}

/** Every page of /rest/v2/contacts, following next_page_token. */
async function allPages(client: KeapClient, ctx: RunContext, pageSize: number, max = 10_000): Promise<KeapPage[]> {
  const pages: KeapPage[] = [];
  let token: string | undefined;
  for (let i = 0; i < max; i++) {
    const p = await client.get(ctx, '/rest/v2/contacts', { page_size: pageSize, page_token: token, order_by: 'id asc' }, { entity: 'contacts', pageNo: i + 1 });
    pages.push(p);
    token = (p.body as { next_page_token?: string }).next_page_token || undefined;
    if (!token) break;
  }
  return pages;
}

async function requestLog(runId: number) {
  return db.sql`
    select request_id, endpoint, method, query_params, page_token, page_size, http_status, record_count, bytes, attempt,
           throttle_limit, throttle_available, quota_available, tenant_throttle_available, tenant_quota_available,
           retry_after_seconds, rate_limit_headers, error
      from keap_meta.etl_request_log where run_id = ${runId} order by request_id`;
}

describe('KeapClient with a PAT/SAK', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ contacts: 200, seed: 1, apiKeys: [KEY] });
  });
  afterAll(async () => {
    await sb?.close();
  });

  it('sends the key as X-Keap-API-Key by default and as a Bearer token with KEAP_AUTH_HEADER=bearer', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"contacts":[{"id":"1"}],"next_page_token":""}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm`;
    try {
      await run(async (ctx) => {
        await new KeapClient({ config: config(url), db }).get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' });
        await new KeapClient({ config: config(url, { KEAP_AUTH_HEADER: 'bearer' }), db }).get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' });
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(seen[0]!['x-keap-api-key']).toBe(KEY);
    expect(seen[0]!.authorization).toBeUndefined();
    expect(seen[1]!.authorization).toBe(`Bearer ${KEY}`);
    expect(seen[1]!['x-keap-api-key']).toBeUndefined();
  });

  it('is accepted by the sandbox in both header forms, and a wrong key is a KeapAuthError without the key in it', async () => {
    await run(async (ctx) => {
      for (const header of ['x-keap-api-key', 'bearer']) {
        const p = await new KeapClient({ config: config(sb.url, { KEAP_AUTH_HEADER: header }), db }).get(ctx, '/rest/v2/contacts', { page_size: 3 }, { entity: 'contacts' });
        expect(p.status).toBe(200);
      }
      const wrong = 'wrong-key-abcdef123456';
      const err = await new KeapClient({ config: config(sb.url, { KEAP_API_KEY: wrong }), db })
        .get(ctx, '/rest/v2/contacts', { page_size: 3 }, { entity: 'contacts' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeapAuthError);
      const e = err as KeapAuthError;
      expect(e).toMatchObject({ status: 401, code: 'oauth.v2.InvalidApiKey', keapMessage: 'Invalid ApiKey', entity: 'contacts', exitCode: 4 });
      expect(e.message).toMatch(/Check KEAP_API_KEY/);
      expect(e.message).not.toContain(wrong);
    });
  });

  it('logs every request with its query, page size, record count, bytes and rate-limit headers', async () => {
    const { runId, value } = await run(async (ctx) => {
      const client = new KeapClient({ config: config(sb.url), db });
      const pages = await allPages(client, ctx, 50);
      return { pages, stats: client.stats() };
    });
    expect(value.pages.map((p) => (p.body as { contacts: unknown[] }).contacts.length)).toEqual([50, 50, 50, 50]);
    const log = await requestLog(runId);
    expect(log).toHaveLength(4);
    expect(log[0]).toMatchObject({
      endpoint: '/rest/v2/contacts',
      method: 'GET',
      query_params: { page_size: 50, order_by: 'id asc' },
      page_token: null,
      page_size: 50,
      http_status: 200,
      record_count: 50,
      attempt: 1,
      throttle_limit: 240,
      error: null,
    });
    expect(log[1]!.page_token).toBeTruthy();
    expect(log[0]!.bytes).toBe(value.pages[0]!.bytes);
    expect(Number(log[3]!.quota_available)).toBe(Number(value.pages[3]!.headers['x-keap-product-quota-available']));
    expect(log[0]!.rate_limit_headers).toHaveProperty('x-keap-tenant-throttle-available');
    expect(value.pages[0]!.requestId).toBe(Number(log[0]!.request_id));
    expect(value.stats).toMatchObject({ requests: 4, retries: 0, tokenRefreshes: 0 });
    expect(value.stats.lastQuota?.throttleLimit).toBe(240);
  });

  it('never hits a 60/min throttle over 100 requests: zero throttle violations', async () => {
    const clock = virtualClock();
    const s = await startSandbox({ contacts: 200, seed: 2, apiKeys: [KEY], limits: { throttlePerMinute: 60 }, now: () => new Date(clock.t) });
    try {
      const start = clock.t;
      const { value } = await run(async (ctx) => {
        const client = new KeapClient({ config: config(s.url), db, clock });
        const pages = await allPages(client, ctx, 2);
        return { pages, stats: client.stats() };
      });
      expect(value.pages).toHaveLength(100);
      const ids = value.pages.flatMap((p) => (p.body as { contacts: { id: string }[] }).contacts.map((c) => c.id));
      expect(ids).toEqual([...s.store.list('contacts')].map((c) => (c as { id: string }).id));
      expect(s.stats().throttleViolations).toBe(0);
      expect(s.stats().totalRequests).toBe(100);
      expect(value.stats.retries).toBe(0);
      // 57 per minute (3 = 5% kept in reserve): the second minute had to be waited for.
      expect(clock.t - start).toBeGreaterThanOrEqual(60_000);
      expect(value.stats.throttleWaitsMs).toBeGreaterThanOrEqual(59_000);
    } finally {
      await s.close();
    }
  });

  it('shares pacing between clients of one process: a new client knows when the earlier requests leave the window', async () => {
    const clock = virtualClock();
    const s = await startSandbox({ contacts: 100, seed: 2, apiKeys: [KEY], limits: { throttlePerMinute: 60 }, now: () => new Date(clock.t) });
    try {
      const t0 = clock.t;
      await run(async (ctx) => {
        const first = new KeapClient({ config: config(s.url), db, clock });
        for (let i = 0; i < 57; i++) {
          await first.get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' });
          clock.t += 500;
        }
      });
      const { value } = await run(async (ctx) => {
        const second = new KeapClient({ config: config(s.url), db, clock });
        return second.get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' });
      });
      expect(value.status).toBe(200);
      // The first request left the window at ~t0 + 60 s; a client without that history would
      // have waited a whole window after the last response (~t0 + 88 s).
      expect(clock.t - t0).toBeGreaterThanOrEqual(60_000);
      expect(clock.t - t0).toBeLessThan(62_000);
      expect(s.stats().throttleViolations).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('keeps PAT/SAK requests at KEAP_MAX_RPS (token bucket)', async () => {
    const clock = virtualClock();
    const start = clock.t;
    await run(async (ctx) => {
      const client = new KeapClient({ config: config(sb.url, { KEAP_MAX_RPS: '5' }), db, clock });
      for (let i = 0; i < 11; i++) await client.get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' });
    });
    expect(clock.t - start).toBeGreaterThanOrEqual(2000);
  });

  for (const rate of [0.05, 0.3]) {
    it(`returns exactly the right pages with ${rate * 100}% injected faults of every kind`, async () => {
      const s = await startSandbox({ contacts: 200, seed: 3, apiKeys: [KEY] });
      try {
        const { value: clean } = await run(async (ctx) => allPages(new KeapClient({ config: config(s.url), db }), ctx, 10));
        s.setFaults({ rate, kinds: ['500', '502', '503', 'reset', 'slow', 'malformed'], seed: 7, slowMs: 400 });
        s.resetStats();
        const { runId, value } = await run(async (ctx) => {
          const client = new KeapClient({ config: config(s.url, { KEAP_REQUEST_TIMEOUT_MS: '300' }), db });
          return { pages: await allPages(client, ctx, 10), stats: client.stats() };
        });
        expect(value.pages.map((p) => p.body)).toEqual(clean.map((p) => p.body));
        expect(value.pages.every((p) => p.parseError === undefined && p.status === 200)).toBe(true);
        const injected = Object.values(s.stats().faultsInjected).reduce((a, b) => a + b, 0);
        expect(injected).toBeGreaterThan(0);
        const log = await requestLog(runId);
        expect(log.filter((r) => r.error !== null).length).toBe(value.stats.retries);
        expect(log.filter((r) => r.attempt > 1).length).toBe(value.stats.retries);
        expect(log.filter((r) => r.error === null).length).toBe(clean.length);
      } finally {
        await s.close();
      }
    });
  }

  it('retries 5xx with both error body shapes recorded in the request log', async () => {
    const s = await startSandbox({ contacts: 20, seed: 4, apiKeys: [KEY], faults: { rate: 0.6, kinds: ['500', '502'], seed: 12 } });
    try {
      const { runId } = await run(async (ctx) => allPages(new KeapClient({ config: config(s.url), db }), ctx, 5));
      const errors = (await requestLog(runId)).map((r) => r.error).filter(Boolean);
      expect(errors).toContain('HTTP 500: 500: Internal Server Error');
      expect(errors).toContain('HTTP 502: messaging.adaptors.http.flow.UnexpectedEOFAtTarget: Unexpected EOF at target');
    } finally {
      await s.close();
    }
  });

  it('honours Retry-After on a 429 (and records it), then succeeds', async () => {
    const clock = virtualClock();
    const s = await startSandbox({ contacts: 20, seed: 5, apiKeys: [KEY], limits: { throttlePerMinute: 5, retryAfterProbability: 1 }, now: () => new Date(clock.t) });
    try {
      // Another process on the same key used up the minute.
      for (let i = 0; i < 5; i++) expect((await fetch(`${s.url}/rest/v2/tags`, { headers: { 'x-keap-api-key': KEY } })).status).toBe(200);
      clock.t += 1000;
      const start = clock.t;
      const { runId, value } = await run(async (ctx) => {
        const client = new KeapClient({ config: config(s.url, { KEAP_BACKOFF_MAX_MS: '10' }), db, clock });
        return client.get(ctx, '/rest/v2/contacts', { page_size: 5 }, { entity: 'contacts' });
      });
      expect(value.status).toBe(200);
      const log = await requestLog(runId);
      expect(log.map((r) => [r.http_status, r.attempt])).toEqual([
        [429, 1],
        [200, 2],
      ]);
      expect(Number(log[0]!.retry_after_seconds)).toBe(59);
      expect(log[0]!.error).toMatch(/^HTTP 429: (429: Quota Exceeded|policies\.ratelimit\.QuotaViolation: Rate limit quota violation)/);
      expect(clock.t - start).toBeGreaterThanOrEqual(59_000);
      expect(s.stats().throttleViolations).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('honours Retry-After from a server that sends no rate-limit headers', async () => {
    let calls = 0;
    const server = http.createServer((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
        res.end('{"fault":{"faultstring":"Spike arrest violation","detail":{"errorcode":"policies.ratelimit.SpikeArrestViolation"}}}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"tags":[]}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const clock = virtualClock();
    const start = clock.t;
    try {
      const { value } = await run(async (ctx) => {
        const client = new KeapClient({ config: config(`http://127.0.0.1:${(server.address() as AddressInfo).port}/crm`, { KEAP_BACKOFF_MAX_MS: '10' }), db, clock });
        return { page: await client.get(ctx, '/rest/v2/tags', {}, { entity: 'tags' }), stats: client.stats() };
      });
      expect(value.page.status).toBe(200);
      expect(clock.t - start).toBeGreaterThanOrEqual(3000);
      expect(value.stats.throttleWaitsMs).toBeGreaterThanOrEqual(3000);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('retries an unparseable body and returns the page once it parses', async () => {
    const s = await startSandbox({ contacts: 30, seed: 6, apiKeys: [KEY], faults: { rate: 0.5, kinds: ['malformed'], seed: 3 } });
    try {
      const { runId, value } = await run(async (ctx) => allPages(new KeapClient({ config: config(s.url), db }), ctx, 10));
      expect(value.flatMap((p) => (p.body as { contacts: unknown[] }).contacts)).toHaveLength(30);
      const log = await requestLog(runId);
      expect(log.filter((r) => r.error?.startsWith('body is not valid JSON')).length).toBe(s.stats().faultsInjected.malformed);
      expect(s.stats().faultsInjected.malformed).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });

  it('returns a persistently unparseable page with parseError and the raw text after the last retry', async () => {
    const s = await startSandbox({ contacts: 30, seed: 6, apiKeys: [KEY], faults: { rate: 1, kinds: ['malformed'] } });
    try {
      const { runId, value } = await run(async (ctx) =>
        new KeapClient({ config: config(s.url, { KEAP_MAX_RETRIES: '3' }), db }).get(ctx, '/rest/v2/contacts', { page_size: 10 }, { entity: 'contacts' }),
      );
      expect(value.status).toBe(200);
      expect(value.body).toBeUndefined();
      expect(value.parseError).toMatch(/^body is not valid JSON/);
      expect(value.rawText.startsWith('{"contacts":[')).toBe(true);
      expect(value.bytes).toBe(Buffer.byteLength(value.rawText));
      const log = await requestLog(runId);
      expect(log.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
      expect(value.requestId).toBe(Number(log[3]!.request_id));
    } finally {
      await s.close();
    }
  });

  it('gives up after KEAP_MAX_RETRIES with a KeapApiError naming the last failure', async () => {
    const s = await startSandbox({ contacts: 10, seed: 6, apiKeys: [KEY], faults: { rate: 1, kinds: ['503'] } });
    try {
      const err = await run(async (ctx) =>
        new KeapClient({ config: config(s.url, { KEAP_MAX_RETRIES: '2' }), db }).get(ctx, '/rest/v2/contacts', { page_size: 10 }, { entity: 'contacts' }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeapApiError);
      expect(err).toMatchObject({ status: 503, code: 'messaging.adaptors.http.flow.ServiceUnavailable', attempts: 3, entity: 'contacts', exitCode: 4 });
      expect(s.stats().totalRequests).toBe(3);
    } finally {
      await s.close();
    }
  });

  it('times out a request that takes longer than KEAP_REQUEST_TIMEOUT_MS and retries it', async () => {
    const s = await startSandbox({ contacts: 10, seed: 6, apiKeys: [KEY], latencyMs: 600 });
    try {
      const t0 = Date.now();
      const err = await run(async (ctx) =>
        new KeapClient({ config: config(s.url, { KEAP_MAX_RETRIES: '1', KEAP_REQUEST_TIMEOUT_MS: '200' }), db }).get(ctx, '/rest/v2/contacts', { page_size: 10 }, { entity: 'contacts' }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeapApiError);
      expect((err as KeapApiError).status).toBeUndefined();
      expect((err as Error).message).toMatch(/failed after 2 attempts: timeout after 200 ms/);
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      await s.close();
    }
  });

  it('does not retry a 400 and reports Keap\'s v2 error', async () => {
    const err = await run(async (ctx) =>
      new KeapClient({ config: config(sb.url), db }).get(ctx, '/rest/v2/contacts', { page_size: 10, filter: 'no_such_field==1' }, { entity: 'contacts' }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeapApiError);
    expect(err).not.toBeInstanceOf(KeapAuthError);
    expect((err as KeapApiError).status).toBe(400);
    expect((err as KeapApiError).attempts).toBe(1);
    expect((err as KeapApiError).keapMessage).toBeTruthy();
  });

  it('stops with QuotaReserveError before the daily quota goes below the reserve, and continues after the reset', async () => {
    const clock = virtualClock();
    clock.t = Date.UTC(2026, 10, 23, 20, 0, 0);
    const s = await startSandbox({ contacts: 100, seed: 8, apiKeys: [KEY], limits: { dailyQuota: 50 }, now: () => new Date(clock.t) });
    try {
      let ok = 0;
      const client = new KeapClient({ config: config(s.url, { KEAP_QUOTA_RESERVE: '20' }), db, clock });
      const err = await run(async (ctx) => {
        for (;;) {
          await client.get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' });
          ok++;
        }
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuotaReserveError);
      expect(err).toMatchObject({ bucket: 'product', available: 20, reserve: 20, exitCode: 6, entity: 'contacts' });
      expect(ok).toBe(30);
      expect(s.stats()).toMatchObject({ totalRequests: 30, quotaRejections: 0, throttleViolations: 0 });

      // After 00:00 UTC the quota is back, and the same client goes on.
      clock.t = Date.UTC(2026, 10, 24, 0, 0, 1);
      const { value } = await run(async (ctx) => client.get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' }));
      expect(value.status).toBe(200);
      expect(Number(value.headers['x-keap-product-quota-available'])).toBe(49);
    } finally {
      await s.close();
    }
  });

  it('turns a 429 for an exhausted daily quota into QuotaReserveError instead of waiting for hours', async () => {
    const s = await startSandbox({ contacts: 10, seed: 9, apiKeys: [KEY], limits: { dailyQuota: 3, retryAfterProbability: 1 } });
    try {
      for (let i = 0; i < 3; i++) await fetch(`${s.url}/rest/v2/tags`, { headers: { 'x-keap-api-key': KEY } });
      const t0 = Date.now();
      const err = await run(async (ctx) => new KeapClient({ config: config(s.url), db }).get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuotaReserveError);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(s.stats().quotaRejections).toBe(1);
    } finally {
      await s.close();
    }
  });

  it('stops promptly when the run is cancelled, without further retries', async () => {
    const s = await startSandbox({ contacts: 10, seed: 10, apiKeys: [KEY], latencyMs: 3000 });
    try {
      const controller = new AbortController();
      const reason = new Error('cancelled by test');
      const t0 = Date.now();
      const err = await run(async (ctx) => {
        const c: RunContext = { ...ctx, signal: controller.signal, throwIfCancelled: () => controller.signal.throwIfAborted() };
        setTimeout(() => controller.abort(reason), 200);
        return new KeapClient({ config: config(s.url, { KEAP_REQUEST_TIMEOUT_MS: '10000' }), db }).get(c, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' });
      }).catch((e: unknown) => e);
      expect(err).toBe(reason);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await s.close();
    }
  });

  it('never writes the key to the request log, even as a query parameter', async () => {
    const { runId } = await run(async (ctx) => {
      const client = new KeapClient({ config: config(sb.url), db });
      await client.get(ctx, '/rest/v2/contacts', { page_size: 1, note: `x ${KEY} y` }, { entity: 'contacts' }).catch(() => {});
      await new KeapClient({ config: config(sb.url, { KEAP_API_KEY: 'another-wrong-key-987654' }), db }).get(ctx, '/rest/v2/contacts', { page_size: 1 }, { entity: 'contacts' }).catch(() => {});
    });
    const [row] = await db.sql`
      select string_agg(l::text, ' ') as text from keap_meta.etl_request_log l where run_id = ${runId}`;
    expect(row!.text).toBeTruthy();
    expect(row!.text).not.toContain(KEY);
    expect(row!.text).not.toContain('another-wrong-key-987654');
  });
});
