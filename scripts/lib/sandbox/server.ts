// The sandbox HTTP server (node:http, bound to 127.0.0.1): routes Keap REST v2 paths under
// /crm/rest/v2 and the OAuth token endpoint at /token, and applies, in order, latency, auth
// (401 Apigee faults), rate limits (429 + x-keap-* headers), routing (404/405 with v2 Error
// bodies), fault injection, churn, then the endpoint itself. It also keeps the request stats.
//
// Served (GET): the list endpoints in endpoints.ts (contacts, companies, tags, tags/categories,
// opportunities, opportunities/stages, opportunities/stageMoves, orders, products, subscriptions,
// notes, tasks, users),
// /tags/{id}/contacts, /contacts/{id}/tags, /contacts/{id}, single records of tags, companies,
// orders, tasks, opportunities, subscriptions and users, the seven /{entity}/model endpoints and
// /oauth/connect/userinfo. Writes go through the in-process store, not HTTP.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuthManager, type OAuthConfig } from './auth.ts';
import { cmpPos, timeKey, stringKey, type Item, type Pos, type SortDef } from './collection.ts';
import { buildEndpoints, customFilterLookup, project, validateFields, CONTACT_DEFAULT_FIELDS, type FieldsSpec, type ListEndpoint } from './endpoints.ts';
import { Faults, faultBody, malformed, type FaultKind, type FaultOptions } from './faults.ts';
import { tenantShape, type EntityName, type ModelEntity, type Rec } from './generate.ts';
import { Limits, type LimitOptions } from './limits.ts';
import { collectPage, decodeToken, encodeToken, parseFields, parseFilter, parseOrderBy, parsePageSize, positions, text, timeBound, bad, type FilterField } from './query.ts';
import { SandboxStore, TENANT_ID, type TaggedContact } from './store.ts';
import { ApiError, Rng, iso } from './util.ts';

export interface SandboxOptions {
  seed?: number;
  contacts?: number;
  port?: number;
  latencyMs?: number | [number, number];
  apiKeys?: string[];
  oauth?: OAuthConfig;
  limits?: LimitOptions;
  faults?: FaultOptions;
  churn?: { updatesPerRequest?: number };
  now?: () => Date;
  /** Emit explicit nulls for absent optional fields, like the live API (not valid per the spec). Default false. */
  nulls?: boolean;
}

export interface SandboxStats {
  requests: { [endpoint: string]: { [status: string]: number } };
  totalRequests: number;
  throttleViolations: number;
  quotaRejections: number;
  tokenRefreshes: number;
  invalidGrants: number;
  peakConcurrency: number;
  faultsInjected: { [kind: string]: number };
}

export interface Sandbox {
  url: string;
  tokenUrl: string;
  /** The OAuth consent page (Keap: https://accounts.infusionsoft.com/app/oauth/authorize). */
  authorizeUrl: string;
  store: SandboxStore;
  stats(): SandboxStats;
  resetStats(): void;
  /** Replaces the fault configuration and restarts its deterministic schedule. */
  setFaults(f: SandboxOptions['faults']): void;
  /** Changes the given limits, keeping the others (undefined resets all to Keap's defaults). */
  setLimits(l: SandboxOptions['limits']): void;
  setLatency(ms: SandboxOptions['latencyMs']): void;
  setChurn(c: SandboxOptions['churn'] | undefined): void;
  currentRefreshToken(): string;
  close(): Promise<void>;
}

const MODEL_ROUTES: Record<string, ModelEntity> = {
  '/contacts/model': 'contacts',
  '/companies/model': 'companies',
  '/opportunities/model': 'opportunities',
  '/orders/model': 'orders',
  '/subscriptions/model': 'subscriptions',
  '/notes/model': 'notes',
  '/tasks/model': 'tasks',
};

const TAGGED_SORTS: Record<string, ((r: TaggedContact) => string | number) | null> = {
  id: null,
  given_name: (r) => stringKey(r.given_name),
  family_name: (r) => stringKey(r.family_name),
  email: (r) => stringKey(r.email),
  applied_time: null,
};

const TAGGED_FILTERS: Record<string, FilterField> = {
  given_name: text((r) => r.given_name, { wildcard: true, none: true }),
  family_name: text((r) => r.family_name, { wildcard: true, none: true }),
  email: text((r) => r.email, { wildcard: true, none: true }),
  since_applied_time: timeBound('since', 'applied_time', (item) => timeKey(item.rec().applied_time)),
  until_applied_time: timeBound('until', 'applied_time', (item) => timeKey(item.rec().applied_time)),
};

/** Single-record GETs whose v2 shape is the same as the list item's. */
const SINGLE: Record<string, [EntityName, string]> = {
  tags: ['tags', 'tag'],
  companies: ['companies', 'company'],
  orders: ['orders', 'order'],
  tasks: ['tasks', 'task'],
  opportunities: ['opportunities', 'opportunity'],
  subscriptions: ['subscriptions', 'subscription'],
  users: ['users', 'user'],
};

const tagOf = (r: Rec): Rec => (r.tag as Rec | undefined) ?? {};
const CONTACT_TAG_SORTS: Record<string, () => SortDef> = Object.fromEntries(
  (
    [
      ['id', 'number', (r: Rec) => Number(tagOf(r).id)],
      ['name', 'string', (r: Rec) => stringKey(tagOf(r).name)],
      ['create_time', 'number', (r: Rec) => timeKey(tagOf(r).create_time)],
      ['update_time', 'number', (r: Rec) => timeKey(tagOf(r).update_time)],
      ['applied_time', 'number', (r: Rec) => timeKey(r.applied_time)],
      ['category_id', 'number', (r: Rec) => Number((tagOf(r).category as Rec | undefined)?.id ?? -1)],
    ] as const
  ).map(([name, kind, key]) => [name, () => ({ name, kind, key }) as SortDef]),
);

const itemTime = (get: (r: Rec) => unknown) => (item: Item): number => timeKey(get(item.rec()));
const CONTACT_TAG_FILTERS: Record<string, FilterField> = {
  name: text((r) => tagOf(r).name, { wildcard: true }),
  description: text((r) => tagOf(r).description, { wildcard: true, none: true }),
  category_id: {
    ops: ['=='],
    build: (_op, value, field) => {
      if (value === 'NONE') return { test: (item) => tagOf(item.rec()).category === undefined };
      if (!/^\d+$/.test(value)) throw bad(`Invalid value '${value}' for filter field '${field}': expected an integer or NONE`, field);
      return { test: (item) => (tagOf(item.rec()).category as Rec | undefined)?.id === value };
    },
  },
  since_applied_time: timeBound('since', 'applied_time', itemTime((r) => r.applied_time)),
  until_applied_time: timeBound('until', 'applied_time', itemTime((r) => r.applied_time)),
  since_create_time: timeBound('since', 'create_time', itemTime((r) => tagOf(r).create_time)),
  until_create_time: timeBound('until', 'create_time', itemTime((r) => tagOf(r).create_time)),
  since_update_time: timeBound('since', 'update_time', itemTime((r) => tagOf(r).update_time)),
  until_update_time: timeBound('until', 'update_time', itemTime((r) => tagOf(r).update_time)),
};

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

function emptyStats(): SandboxStats {
  return { requests: {}, totalRequests: 0, throttleViolations: 0, quotaRejections: 0, tokenRefreshes: 0, invalidGrants: 0, peakConcurrency: 0, faultsInjected: {} };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function readBody(req: http.IncomingMessage, limit = 1 << 20): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new ApiError(400, 'Request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const seed = opts.seed ?? 1;
  const contacts = opts.contacts ?? 2000;
  if (!Number.isInteger(contacts) || contacts < 0) throw new Error(`contacts must be a non-negative integer (got ${contacts})`);
  const clock = opts.now ?? (() => new Date());
  const nowMs = (): number => clock().getTime();
  const store = new SandboxStore(tenantShape(seed, contacts, nowMs(), opts.nulls ?? false), clock);
  const endpoints = buildEndpoints(store);
  const auth = new AuthManager(
    opts.apiKeys ?? ['sandbox-api-key'],
    opts.oauth ?? { clientId: 'sandbox-client', clientSecret: 'sandbox-secret', refreshToken: 'sandbox-refresh-token-0', accessTokenTtlSeconds: 86400 },
    nowMs,
    `full|${TENANT_ID}`,
  );
  const limits = new Limits(opts.limits, seed, TENANT_ID);
  const faults = new Faults(opts.faults, seed);
  let latency = opts.latencyMs;
  let churn = opts.churn;
  const latencyRng = new Rng(seed ^ 0x1a7e);
  const churnRng = new Rng(seed ^ 0xc4a2);
  let stats = emptyStats();
  let inFlight = 0;

  const count = (endpoint: string, status: string): void => {
    stats.totalRequests++;
    const e = (stats.requests[endpoint] ??= {});
    e[status] = (e[status] ?? 0) + 1;
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, rawOverride?: string): void => {
    const buf = Buffer.from(rawOverride ?? JSON.stringify(body), 'utf8');
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(buf.length), ...headers });
    res.end(buf);
  };

  const listPage = (ep: ListEndpoint, params: URLSearchParams): Reply => {
    const pageSize = parsePageSize(params.get('page_size'), ep.maxPageSize);
    const order = parseOrderBy(params.get('order_by'), ep.sorts, ep.defaultOrder);
    const filter = params.get('filter');
    let clauses = parseFilter(filter, ep.filters, customFilterLookup(store, ep));
    if (ep.finish) clauses = ep.finish(clauses);
    const fields = parseFields(params);
    validateFields(ep.fields, fields);
    const qp = [ep.route, filter ?? '', order.text, String(pageSize)];
    const token = params.get('page_token');
    const tokenPos = token ? decodeToken(token, qp, order.sort.kind) : null;
    const { after, stop } = positions(order, clauses, tokenPos);
    const col = store.collection(ep.entity);
    const page = collectPage(col.iterate(order.sort, order.dir, after, stop), clauses, pageSize);
    const records = page.items.map((item) => project(store.present(ep.entity, item.id, item.rec(), item.k >= 0), ep.fields, fields));
    const body: Rec = { [ep.wrapper]: records };
    if (page.next) body.next_page_token = encodeToken(qp, page.next);
    else if (ep.endToken === 'empty') body.next_page_token = '';
    return { status: 200, body };
  };

  const taggedPage = (tagId: number, params: URLSearchParams): Reply => {
    if (!store.collection('tags').exists(tagId)) throw new ApiError(404, `Tag ${tagId} not found`, [{ domain: 'tags', resource: String(tagId) }]);
    const pageSize = parsePageSize(params.get('page_size'), 1000);
    const sorts = Object.fromEntries(
      Object.keys(TAGGED_SORTS).map((name) => [name, () => ({ name, kind: name === 'id' || name === 'applied_time' ? ('number' as const) : ('string' as const), key: () => 0 })]),
    );
    const order = parseOrderBy(params.get('order_by'), sorts, 'id asc');
    const filter = params.get('filter');
    const clauses = parseFilter(filter, TAGGED_FILTERS);
    const qp = [`/tags/${tagId}/contacts`, filter ?? '', order.text, String(pageSize)];
    const token = params.get('page_token');
    const tokenPos = token ? decodeToken(token, qp, order.sort.kind) : null;
    const { after, stop } = positions(order, clauses, tokenPos);
    const sortName = order.sort.name;
    const rows = store.taggedContactRows(tagId, sortName, TAGGED_SORTS[sortName] ?? null);
    const page = collectPage(
      arrayItems(
        rows.map((r) => {
          let row: Rec | undefined;
          return { key: r.key, id: r.id, rec: () => (row ??= store.taggedRow(r.id, r.applied) as unknown as Rec) };
        }),
        order.dir,
        after,
        stop,
      ),
      clauses,
      pageSize,
    );
    const body: Rec = { contacts: page.items.map((i) => ({ ...(i.rec() as Rec) })) };
    body.next_page_token = page.next ? encodeToken(qp, page.next) : '';
    return { status: 200, body };
  };

  /** Items of an in-memory list sorted ascending by (key, id), honouring direction and bounds. */
  function* arrayItems(rows: Array<{ key: string | number; id: number; rec: () => Rec }>, dir: 1 | -1, after: Pos | null, stop: Pos | null): Generator<Item> {
    let lo = 0;
    let hi = rows.length;
    if (after) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const r = rows[mid] as (typeof rows)[number];
        const c = cmpPos(r.key, r.id, after[0], after[1]);
        if (dir === 1 ? c <= 0 : c < 0) lo = mid + 1;
        else hi = mid;
      }
    } else lo = dir === 1 ? 0 : rows.length;
    for (let i = dir === 1 ? lo : lo - 1; i >= 0 && i < rows.length; i += dir) {
      const r = rows[i] as (typeof rows)[number];
      if (stop) {
        const c = cmpPos(r.key, r.id, stop[0], stop[1]);
        if (dir === 1 ? c > 0 : c < 0) return;
      }
      yield { id: r.id, k: -1, key: r.key, rec: r.rec };
    }
  }

  const contactTagsPage = (contactId: number, params: URLSearchParams): Reply => {
    if (!store.collection('contacts').exists(contactId)) throw new ApiError(404, `Contact ${contactId} not found`, [{ domain: 'contacts', resource: String(contactId) }]);
    const pageSize = parsePageSize(params.get('page_size'), 1000);
    const order = parseOrderBy(params.get('order_by'), CONTACT_TAG_SORTS, 'id asc');
    const filter = params.get('filter');
    const clauses = parseFilter(filter, CONTACT_TAG_FILTERS);
    const qp = [`/contacts/${contactId}/tags`, filter ?? '', order.text, String(pageSize)];
    const token = params.get('page_token');
    const tokenPos = token ? decodeToken(token, qp, order.sort.kind) : null;
    const { after, stop } = positions(order, clauses, tokenPos);
    const rows = [...store.linksOf(contactId)].flatMap(([tagId, applied]) => {
      const tag = store.get('tags', tagId);
      if (!tag) return [];
      const row: Rec = { tag, applied_time: iso(applied) };
      return [{ key: order.sort.key(row), id: tagId, rec: () => row }];
    });
    rows.sort((a, b) => cmpPos(a.key, a.id, b.key, b.id));
    const page = collectPage(arrayItems(rows, order.dir, after, stop), clauses, pageSize);
    const body: Rec = { tags: page.items.map((i) => i.rec()) };
    if (page.next) body.next_page_token = encodeToken(qp, page.next);
    return { status: 200, body };
  };

  const singleById = (entity: EntityName, label: string, raw: string, params: URLSearchParams): Reply => {
    if (!/^\d+$/.test(raw)) throw bad(`Invalid ${label}_id '${raw}': expected a numeric id`, `${label}_id`);
    const spec = endpoints.find((e) => e.entity === entity)?.fields;
    const fields = parseFields(params);
    validateFields(spec, fields);
    const rec = store.get(entity, raw);
    if (!rec) throw new ApiError(404, `${label} ${raw} not found`, [{ domain: entity, resource: raw }]);
    return { status: 200, body: project(rec, spec, fields) };
  };

  const contactById = (id: string, params: URLSearchParams): Reply => {
    if (!/^\d+$/.test(id)) throw bad(`Invalid contact_id '${id}': expected a numeric id`, 'contact_id');
    const spec: FieldsSpec = { mode: 'exact', allowed: [...CONTACT_DEFAULT_FIELDS], defaults: CONTACT_DEFAULT_FIELDS };
    const listSpec = endpoints[0]?.fields as FieldsSpec;
    const fields = parseFields(params);
    validateFields(listSpec, fields);
    const rec = store.get('contacts', id);
    if (!rec) throw new ApiError(404, `Contact ${id} not found`, [{ domain: 'contacts', resource: id }]);
    return { status: 200, body: project(rec, { ...listSpec, defaults: spec.defaults }, fields) };
  };

  /** Resolves a v2 path (after /crm/rest/v2) to a stats key and a handler. */
  const route = (sub: string): { key: string; run: (params: URLSearchParams) => Reply; list: boolean } | null => {
    for (const ep of endpoints) if (ep.pattern.test(sub)) return { key: ep.route, run: (p) => listPage(ep, p), list: true };
    const model = MODEL_ROUTES[sub];
    if (model) return { key: sub, run: () => ({ status: 200, body: store.model(model) }), list: false };
    if (sub === '/oauth/connect/userinfo') return { key: sub, run: () => ({ status: 200, body: store.userInfo() }), list: false };
    let m = /^\/tags\/([^/]+)\/contacts$/.exec(sub);
    if (m) {
      const raw = decodeURIComponent(m[1] as string);
      return {
        key: '/tags/{tag_id}/contacts',
        run: (p) => {
          if (!/^\d+$/.test(raw)) throw bad(`Invalid tag_id '${raw}': expected a numeric id`, 'tag_id');
          return taggedPage(Number(raw), p);
        },
        list: true,
      };
    }
    m = /^\/contacts\/([^/]+)\/tags$/.exec(sub);
    if (m) {
      const raw = decodeURIComponent(m[1] as string);
      return {
        key: '/contacts/{contact_id}/tags',
        run: (p) => {
          if (!/^\d+$/.test(raw)) throw bad(`Invalid contact_id '${raw}': expected a numeric id`, 'contact_id');
          return contactTagsPage(Number(raw), p);
        },
        list: true,
      };
    }
    m = /^\/contacts\/([^/]+)$/.exec(sub);
    if (m) {
      const raw = decodeURIComponent(m[1] as string);
      return { key: '/contacts/{contact_id}', run: (p) => contactById(raw, p), list: false };
    }
    m = /^\/(tags|companies|orders|tasks|opportunities|subscriptions|users)\/([^/]+)$/.exec(sub);
    if (m) {
      const [entity, label] = SINGLE[m[1] as string] as [EntityName, string];
      const raw = decodeURIComponent(m[2] as string);
      return { key: `/${m[1]}/{${label}_id}`, run: (p) => singleById(entity, label, raw, p), list: false };
    }
    return null;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    inFlight++;
    if (inFlight > stats.peakConcurrency) stats.peakConcurrency = inFlight;
    let done = false;
    res.on('close', () => {
      if (!done) {
        done = true;
        inFlight--;
      }
    });
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const p = url.pathname;

    if (latency !== undefined) {
      const ms = typeof latency === 'number' ? latency : latency[0] + latencyRng.next() * (latency[1] - latency[0]);
      if (ms > 0) await sleep(ms);
    }

    if (p === '/token') {
      if (method !== 'POST') {
        count(`${method} /token`, '405');
        send(res, 405, new ApiError(405, `Method ${method} not allowed on /token; use POST`).body(), { allow: 'POST' });
        return;
      }
      const raw = await readBody(req);
      const r = auth.token(req.headers.authorization, new URLSearchParams(raw));
      if (r.refreshed) stats.tokenRefreshes++;
      if (r.invalidGrant) stats.invalidGrants++;
      count('POST /token', String(r.status));
      send(res, r.status, r.body, { 'cache-control': 'no-store' });
      return;
    }

    if (p === '/app/oauth/authorize') {
      // GET shows the consent page; its form POSTs back here; approving redirects with a code.
      const q = method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
      const problem = auth.checkAuthorize(q);
      count(`${method} /app/oauth/authorize`, problem ? '400' : method === 'POST' ? '302' : '200');
      if (problem) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`Sandbox OAuth: ${problem}\n`);
        return;
      }
      const redirect = new URL(q.get('redirect_uri')!);
      const state = q.get('state');
      if (method === 'POST') {
        if (q.get('decision') === 'allow') redirect.searchParams.set('code', auth.issueCode(q.get('redirect_uri')!));
        else redirect.searchParams.set('error', 'access_denied');
        if (state !== null) redirect.searchParams.set('state', state);
        res.writeHead(302, { location: redirect.toString() }).end();
        return;
      }
      const esc = (v: string) => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      const hidden = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state']
        .filter((k) => q.get(k) !== null)
        .map((k) => `<input type="hidden" name="${k}" value="${esc(q.get(k)!)}">`)
        .join('');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><title>Keap sandbox: authorize</title><h1>Allow ${esc(auth.clientId)} to access the sandbox account ${esc(TENANT_ID)}?</h1>` +
          `<form method="post">${hidden}<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Deny</button></form>`,
      );
      return;
    }

    const prefix = '/crm/rest/v2';
    if (p !== prefix && !p.startsWith(prefix + '/')) {
      count(`${method} (unknown)`, '404');
      send(res, 404, new ApiError(404, `No such path '${p}'. The v2 API lives under /crm/rest/v2`).body());
      return;
    }
    const sub = p.slice(prefix.length);
    const r = route(sub);
    const key = `${method} ${r ? r.key : '(unknown)'}`;

    const principal = auth.authenticate(req.headers);
    const now = nowMs();
    if ('status' in principal) {
      count(key, '401');
      send(res, 401, principal.body, limits.tenantHeaders(now));
      return;
    }
    const lim = limits.check(principal.bucket, principal.kind, now);
    stats.throttleViolations = limits.throttleViolations;
    stats.quotaRejections = limits.quotaRejections;
    if (!lim.allowed) {
      count(key, '429');
      const h = { ...lim.headers };
      if (lim.retryAfterSeconds !== undefined) h['retry-after'] = String(lim.retryAfterSeconds);
      send(res, 429, lim.body, h);
      return;
    }
    if (!r) {
      count(key, '404');
      send(res, 404, new ApiError(404, `No such endpoint '${method} ${prefix}${sub}' in the sandbox`, [{ domain: 'path', resource: sub }]).body(), lim.headers);
      return;
    }
    if (method !== 'GET') {
      count(key, '405');
      send(res, 405, new ApiError(405, `Method ${method} is not allowed on ${prefix}${sub}; the sandbox serves GET`, [{ domain: 'method', resource: method }]).body(), { ...lim.headers, allow: 'GET' });
      return;
    }

    const fault: FaultKind | null = faults.next();
    if (fault) stats.faultsInjected[fault] = (stats.faultsInjected[fault] ?? 0) + 1;
    if (fault === 'reset') {
      count(key, 'reset');
      req.socket.destroy();
      return;
    }
    if (fault === '500' || fault === '502' || fault === '503') {
      count(key, fault);
      send(res, Number(fault), faultBody(fault), lim.headers);
      return;
    }
    if (fault === 'slow') await sleep(faults.slowMs);

    let reply: Reply;
    try {
      if (r.list && churn?.updatesPerRequest) store.churn(churn.updatesPerRequest, churnRng);
      reply = r.run(url.searchParams);
    } catch (e) {
      if (e instanceof ApiError) reply = { status: e.httpStatus, body: e.body() };
      else {
        console.error('[sandbox] handler error', e);
        reply = { status: 500, body: new ApiError(500, e instanceof Error ? e.message : String(e)).body() };
      }
    }
    count(key, String(reply.status));
    if (fault === 'malformed' && reply.status === 200) {
      send(res, 200, null, lim.headers, malformed(JSON.stringify(reply.body)));
      return;
    }
    send(res, reply.status, reply.body, { ...lim.headers, ...reply.headers });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      console.error('[sandbox] request failed', e);
      if (!res.headersSent) send(res, 500, new ApiError(500, 'Sandbox internal error').body());
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  const base = `http://127.0.0.1:${port}`;

  return {
    url: `${base}/crm`,
    tokenUrl: `${base}/token`,
    authorizeUrl: `${base}/app/oauth/authorize`,
    store,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
      stats.peakConcurrency = inFlight;
      limits.resetCounters();
    },
    setFaults: (f) => faults.set(f, seed),
    setLimits: (l) => limits.set(l),
    setLatency: (ms) => {
      latency = ms;
    },
    setChurn: (c) => {
      churn = c;
    },
    currentRefreshToken: () => auth.currentRefreshToken(),
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}
