// Entities synced side by side (KEAP_SYNC_CONCURRENCY): entities with no tie overlap in time, an
// entity declared `after` others waits until they are done, the result equals a one-at-a-time
// sync, and a fatal failure in one entity stops the others at their next page with what they
// staged merged. A proxy in front of the sandbox slows every response a little (so overlap is
// visible in the request log) and can refuse one endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { RUN_EVENTS_CHANNEL, parsePayload, progressLine } from '../../scripts/lib/status.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { ENTITIES } from '../../scripts/lib/sync/entities.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, expectWarehouseEqualsSandbox, sandboxConfig, startSandboxProxy } from './helpers.ts';

let sb: Sandbox;
let proxy: { url: string; close: () => Promise<void> };
const dbs: TestDb[] = [];
/** Path suffix answered with this status (after a delay) instead of being forwarded. */
let refuse: { path: string; status: number; afterMs: number } | undefined;

beforeAll(async () => {
  sb = await startSandbox({ contacts: 400, seed: 77, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
  proxy = await startSandboxProxy(sb.url, {
    delayMs: 15,
    answer: async (url) => {
      if (!refuse || !url.pathname.endsWith(refuse.path)) return undefined;
      await new Promise((r) => setTimeout(r, refuse!.afterMs));
      return [refuse.status, { code: refuse.status, message: 'refused by the test proxy', status: 'FORBIDDEN' }];
    },
  });
});
afterAll(async () => {
  await proxy?.close();
  await sb?.close();
  for (const db of dbs) await db.drop();
});

const config = (extra: Record<string, string> = {}) => sandboxConfig({ ...sb, url: proxy.url } as Sandbox, { KEAP_PAGE_SIZE: '50', ...extra });
const ENTITY_SET = ['tag_categories', 'tags', 'companies', 'contacts', 'tagged_contacts', 'orders', 'notes'];

/** Each entity's request span in a run: [first request sent, last response received]. */
async function spans(db: TestDb, runId: number): Promise<Map<string, { from: number; to: number }>> {
  const rows = await db.sql`
    select entity, min(requested_at) as t0, max(requested_at + duration_ms * interval '1 ms') as t1
      from keap_meta.etl_request_log where run_id = ${runId} group by entity`;
  return new Map(rows.map((r) => [r.entity as string, { from: new Date(r.t0).getTime(), to: new Date(r.t1).getTime() }]));
}

/** What a sync leaves in the warehouse, ETL columns left out, for comparing two databases. */
async function contents(db: TestDb): Promise<Record<string, string>> {
  const [r] = await db.sql`
    select (select md5(string_agg(format('%s|%s|%s|%s', contact_id, given_name, family_name, _deleted_at is null), ',' order by contact_id)) from keap.contacts) as contacts,
           (select md5(string_agg(format('%s|%s|%s', contact_id, tag_id, applied_at), ',' order by contact_id, tag_id)) from keap.contact_tags) as contact_tags,
           (select md5(string_agg(format('%s|%s|%s', tag_id, name, tag_category_id), ',' order by tag_id)) from keap.tags) as tags,
           (select md5(string_agg(format('%s|%s|%s', order_id, contact_id, total), ',' order by order_id)) from keap.orders) as orders,
           (select md5(string_agg(format('%s|%s|%s', note_id, contact_id, title), ',' order by note_id)) from keap.notes) as notes`;
  return r as Record<string, string>;
}

describe('entities synced side by side', () => {
  it('declares tagged_contacts after tags and contacts (its parents and the pairs it completes)', () => {
    expect(ENTITIES.find((e) => e.name === 'tagged_contacts')!.after).toEqual(['tags', 'contacts']);
    // Every `after` names an entity of the list that comes earlier (list order is start order).
    const names = ENTITIES.map((e) => e.name);
    for (const [i, e] of ENTITIES.entries()) for (const a of e.after ?? []) expect(names.indexOf(a), `${e.name} after ${a}`).toBeGreaterThanOrEqual(0), expect(names.indexOf(a)).toBeLessThan(i);
  });

  it('overlaps entities with no tie, holds an `after` entity until its dependencies are done, and ends equal to a one-at-a-time sync', async () => {
    refuse = undefined;
    const side = await createTestDatabase('lanes_two');
    const one = await createTestDatabase('lanes_one');
    dbs.push(side, one);

    const published: string[] = [];
    const listener = await side.sql.listen(RUN_EVENTS_CHANNEL, (text) => published.push(text));
    const r2 = await runSync({ db: side, config: config({ KEAP_SYNC_CONCURRENCY: '2', KEAP_PROGRESS_INTERVAL_MS: '0' }) }, { trigger: 'test', entities: ENTITY_SET, full: true });
    expect(r2.status).toBe('succeeded');
    const deadline = Date.now() + 10_000;
    while (!published.some((t) => /"kind": ?"run_done"/.test(t)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await listener.unlisten();
    // The live progress of an entity names the others being synced with it, and `npm run status` shows them.
    const withOthers = published.map((t) => parsePayload(t)!).find((e) => e?.kind === 'progress' && e.progress?.entity === 'contacts' && e.progress.also_running?.length);
    expect(withOthers, 'a progress of contacts naming another entity').toBeDefined();
    const line = progressLine({ run_id: r2.runId, pipeline: 'keap', progress: withOthers!.progress! } as never, ENTITIES.map((e) => e.name));
    expect(line).toMatch(/contacts \(\d+\/24\).*\(also running: [a-z_, ]+\)/);
    const s2 = await spans(side, r2.runId);
    // contacts (8 pages) and orders or notes were fetched at the same time.
    const c = s2.get('contacts')!;
    const overlapping = ['orders', 'notes'].filter((e) => s2.get(e)!.from < c.to && s2.get(e)!.to > c.from);
    expect(overlapping.length).toBeGreaterThan(0);
    // tagged_contacts asked for nothing before contacts and tags had ended (their last merge included).
    const done = await side.sql`
      select entity, max(at) as at from keap_meta.etl_run_events
       where run_id = ${r2.runId} and stage = 'merge' and message ~ ': [0-9]+ pages' group by entity`;
    const doneAt = new Map(done.map((d) => [d.entity as string, new Date(d.at).getTime()]));
    for (const dep of ['tags', 'contacts']) expect(s2.get('tagged_contacts')!.from).toBeGreaterThanOrEqual(doneAt.get(dep)!);
    // The summary lists the entities in list order whatever order they ended in.
    expect(r2.value.entities.map((e) => e.entity)).toEqual(ENTITY_SET);

    const r1 = await runSync({ db: one, config: config({ KEAP_SYNC_CONCURRENCY: '1' }) }, { trigger: 'test', entities: ENTITY_SET, full: true });
    expect(r1.status).toBe('succeeded');
    const s1 = await spans(one, r1.runId);
    const ordered = ENTITY_SET.map((e) => s1.get(e)!);
    for (let i = 1; i < ordered.length; i++) expect(ordered[i]!.from).toBeGreaterThanOrEqual(ordered[i - 1]!.to);

    await expectWarehouseEqualsSandbox(side.sql, sb);
    expect(await contents(side)).toEqual(await contents(one));
    expect(r2.value.entities.map(({ plan: _p, ...e }) => e)).toEqual(r1.value.entities.map(({ plan: _p, ...e }) => e));
  });

  it('a fatal failure in one entity stops the others at their next page, merges what they staged and fails the run naming that entity', async () => {
    const db = await createTestDatabase('lanes_fail');
    dbs.push(db);
    // orders is refused (403, not retried) once contacts has had time to stage a few of its 40 pages (each takes at least the proxy's 15 ms).
    refuse = { path: '/rest/v2/orders', status: 403, afterMs: 250 };
    try {
      const err = await runSync({ db, config: config({ KEAP_SYNC_CONCURRENCY: '2', KEAP_PAGE_SIZE: '10' }) }, { trigger: 'test', entities: ['contacts', 'tagged_contacts', 'orders'], full: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      const [{ id }] = await db.sql`select max(run_id) as id from keap_meta.etl_run_log`;
      const r = { runId: Number(id) };
      const [run] = await db.sql`select status, error_entity, error_message from keap_meta.etl_run_log where run_id = ${r.runId}`;
      expect(run).toMatchObject({ status: 'failed', error_entity: 'orders' });
      expect(run!.error_message).toMatch(/403/);
      // contacts stopped early: fewer pages than the 40 a whole traversal takes, all of them merged.
      const [staged] = await db.sql`
        select count(*)::int as pages, count(*) filter (where merged_at is null)::int as unmerged
          from keap_staging.contacts where run_id = ${r.runId}`;
      expect(staged!.pages).toBeGreaterThan(0);
      expect(staged!.pages).toBeLessThan(40);
      expect(staged!.unmerged).toBe(0);
      const [live] = await db.sql`select count(*)::int as n from keap.contacts`;
      expect(live!.n).toBeGreaterThan(0);
      const [ev] = await db.sql`select message from keap_meta.etl_run_events where run_id = ${r.runId} and entity = 'contacts' and message like '%stopped after%'`;
      expect(ev!.message).toMatch(/orders failed/);
      // tagged_contacts (after contacts) never started.
      const [tc] = await db.sql`select count(*)::int as n from keap_meta.etl_request_log where run_id = ${r.runId} and entity = 'tagged_contacts'`;
      expect(tc!.n).toBe(0);
      // The cursor moved only as far as merged data: the next run resumes the sweep and ends equal.
      refuse = undefined;
      const again = await runSync({ db, config: config() }, { trigger: 'test', entities: ['tag_categories', 'tags', 'companies', 'contacts', 'tagged_contacts', 'orders'] });
      expect(again.status).toBe('succeeded');
      expect(again.value.entities.find((e) => e.entity === 'contacts')!.plan).toMatch(/resuming after id/);
      await expectWarehouseEqualsSandbox(db.sql, sb);
    } finally {
      refuse = undefined;
    }
  });
});
