// The engine's newest-first incremental mode (EntityDef.incremental.stopBelow), for lists Keap
// cannot filter by update time: ordered by update time descending, paging stops at the first page
// reaching below the watermark, and the watermark moves only once the traversal got there. Driven
// with contacts re-declared that way, against the sandbox and a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { ENTITIES, type EntityDef } from '../../scripts/lib/sync/entities.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, expectWarehouseEqualsSandbox, sandboxConfig } from './helpers.ts';

let db: TestDb;
let sb: Sandbox;

const DEFS: EntityDef[] = ENTITIES.map((e) =>
  e.name === 'contacts' ? { ...e, incremental: { orderBy: 'update_time desc', stopBelow: 'update_time' } } : e,
);
const PAGE = { KEAP_PAGE_SIZE: '50', KEAP_OVERLAP_SECONDS: '0' };

beforeAll(async () => {
  db = await createTestDatabase('sync_newest_first');
  sb = await startSandbox({ contacts: 300, seed: 11, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

async function contactPages(runId: number): Promise<number> {
  const [r] = await db.sql`
    select count(*)::int as n from keap_meta.etl_request_log where run_id = ${runId} and entity = 'contacts' and http_status = 200`;
  return r.n;
}
async function watermark(): Promise<Date | null> {
  const [r] = await db.sql`select updated_since from keap_meta.sync_cursors where entity = 'contacts'`;
  return r?.updated_since ?? null;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('newest-first incremental traversal (stopBelow)', () => {
  it('a first sync is full; the next one reads one page and stops', async () => {
    const full = await runSync({ db, config: sandboxConfig(sb, PAGE) }, { trigger: 'test', entityDefs: DEFS });
    expect(full.status).toBe('succeeded');
    await expectWarehouseEqualsSandbox(db.sql, sb);
    const again = await runSync({ db, config: sandboxConfig(sb, PAGE) }, { trigger: 'test', entityDefs: DEFS });
    const c = again.value.entities.find((e) => e.entity === 'contacts')!;
    expect(c.traversal).toBe('incremental');
    expect(c.plan).toMatch(/newest first/);
    expect(await contactPages(again.runId)).toBe(1);
    expect(c.inserted + c.updated).toBe(0);
    const [req] = await db.sql`select query_params from keap_meta.etl_request_log where run_id = ${again.runId} and entity = 'contacts'`;
    expect(req.query_params.order_by).toBe("update_time desc");
    expect(req.query_params.filter).toBeUndefined();
  });

  it('changes spread over three pages are all read, and paging stops right after them', async () => {
    await sleep(20);
    const ids = ([...sb.store.list('contacts')] as { id: string }[]).slice(0, 120).map((c) => Number(c.id));
    for (const id of ids) sb.store.updateContact(id, { job_title: `Changed ${id}` });
    const res = await runSync({ db, config: sandboxConfig(sb, PAGE) }, { trigger: 'test', entityDefs: DEFS });
    const c = res.value.entities.find((e) => e.entity === 'contacts')!;
    expect(c.traversal).toBe('incremental');
    expect(c.updated).toBe(120);
    // 120 changed = pages 1-2 and part of 3; page 3 reaches older records: no page 4.
    expect(await contactPages(res.runId)).toBe(3);
    await expectWarehouseEqualsSandbox(db.sql, sb);
  });

  it('a traversal cut short keeps the watermark, so the next run reads what the first one missed', async () => {
    const before = await watermark();
    expect(before).not.toBeNull();
    await sleep(20);
    const ids = ([...sb.store.list('contacts')] as { id: string }[]).slice(150, 270).map((c) => Number(c.id));
    for (const id of ids) sb.store.updateContact(id, { job_title: `Again ${id}` });
    // Room for contact_model and a contact page or two, then the reserve.
    const used = sb.stats().totalRequests;
    sb.setLimits({ dailyQuota: used + 4 });
    const partial = await runSync(
      { db, config: sandboxConfig(sb, { ...PAGE, KEAP_QUOTA_RESERVE: '2' }) },
      { trigger: 'test', entityDefs: DEFS, entities: ['contact_model', 'contacts'] },
    );
    expect(partial.status).toBe('partial');
    const pagesRead = await contactPages(partial.runId);
    expect(pagesRead).toBeGreaterThan(0);
    expect(pagesRead).toBeLessThan(3);
    // Some of the newest changes were merged, yet the watermark did not pass the unread ones.
    const [{ n }] = await db.sql`select count(*)::int as n from keap.contacts where job_title like 'Again %'`;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(120);
    expect((await watermark())!.getTime()).toBe(before!.getTime());

    sb.setLimits({ dailyQuota: 10_000_000 });
    const next = await runSync({ db, config: sandboxConfig(sb, PAGE) }, { trigger: 'test', entityDefs: DEFS });
    expect(next.status).toBe('succeeded');
    expect(next.value.entities.find((e) => e.entity === 'contacts')!.traversal).toBe('incremental');
    await expectWarehouseEqualsSandbox(db.sql, sb);
    expect((await watermark())!.getTime()).toBeGreaterThan(before!.getTime());
  });
});
