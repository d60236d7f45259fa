// End to end: the real sync engine against the local Keap sandbox over HTTP, into a real
// PostgreSQL. Full = sandbox exactly; incremental fetches only what changed; --full marks deletes;
// injected faults change nothing; the quota reserve gives a partial run the next run completes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, expectWarehouseEqualsSandbox, sandboxConfig } from './helpers.ts';

let db: TestDb;
let sb: Sandbox;

beforeAll(async () => {
  db = await createTestDatabase('sync_e2e');
  // Generous limits: pacing under a tight throttle has its own tests (test/keap); here many full
  // runs back to back would otherwise spend minutes waiting for the rolling minute, as they should.
  sb = await startSandbox({ contacts: 400, seed: 7, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});
afterEach(() => {
  sb.setFaults({ rate: 0 });
});

async function contactRequests(runId: number): Promise<{ pages: number; records: number }> {
  const [row] = await db.sql`
    select count(*)::int as pages, coalesce(sum(record_count), 0)::int as records
      from keap_meta.etl_request_log where run_id = ${runId} and entity = 'contacts' and http_status = 200`;
  return { pages: row.pages, records: row.records };
}

describe('sync against the sandbox', () => {
  it('a first sync is full and makes the warehouse equal to the sandbox', async () => {
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    expect(res.value.entities.find((e) => e.entity === 'contacts')?.traversal).toBe('full');
    await expectWarehouseEqualsSandbox(db.sql, sb);
    const [run] = await db.sql`select status, request_count from keap_ops.runs where run_id = ${res.runId}`;
    expect(run.status).toBe('succeeded');
    expect(sb.stats().throttleViolations).toBe(0);
  });

  it('a second sync right after is incremental and changes nothing', async () => {
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    const contacts = res.value.entities.find((e) => e.entity === 'contacts')!;
    expect(contacts.traversal).toBe('incremental');
    expect(contacts.inserted + contacts.updated + contacts.deleted).toBe(0);
    // Every tag pair already has its applied time: no per-tag request at all.
    expect(res.value.entities.find((e) => e.entity === 'tagged_contacts')?.pages).toBe(0);
    await expectWarehouseEqualsSandbox(db.sql, sb);
  });

  it('an incremental sync after changes fetches only the changed contacts and ends equal', async () => {
    // Move the clock of the changes well past the overlap window of the previous watermark.
    const ids = ([...sb.store.list('contacts')] as { id: string }[]).slice(10, 15).map((c) => Number(c.id));
    await new Promise((r) => setTimeout(r, 20));
    sb.store.updateContact(ids[0], { given_name: 'Zoë 🦊 Ångström' });
    sb.store.updateContact(ids[1], { family_name: "O'Connor \"the Quick\"" });
    const tags = ([...sb.store.list('tags')] as { id: string }[]).map((t) => Number(t.id));
    sb.store.applyTag(ids[2], tags[tags.length - 1]);
    const withTag = ([...sb.store.list('contacts')] as { id: string; tag_ids?: string[] }[]).find((c) => (c.tag_ids ?? []).length > 0)!;
    sb.store.removeTag(withTag.id, withTag.tag_ids![0]);
    const added = sb.store.addContact({ given_name: '美咲', family_name: '田中' });

    const [{ updated_since: watermark }] = await db.sql`select updated_since from keap_meta.sync_cursors where entity = 'contacts'`;
    const res = await runSync({ db, config: sandboxConfig(sb, { KEAP_OVERLAP_SECONDS: '0' }) }, { trigger: 'test' });
    const contacts = res.value.entities.find((e) => e.entity === 'contacts')!;
    expect(contacts.traversal).toBe('incremental');
    const fetched = await contactRequests(res.runId);
    // Exactly the contacts updated at or after the watermark (the bound is inclusive): the 5
    // changed ones, plus the one whose update time is the watermark itself, if any.
    const atOrAfter = ([...sb.store.list('contacts')] as { update_time: string }[]).filter((c) => new Date(c.update_time) >= watermark);
    expect(atOrAfter.length).toBeGreaterThanOrEqual(5);
    expect(atOrAfter.length).toBeLessThanOrEqual(6);
    expect(fetched.records).toBe(atOrAfter.length);
    expect(contacts.inserted).toBe(1);
    await expectWarehouseEqualsSandbox(db.sql, sb);
    const [row] = await db.sql`select given_name from keap.contacts where contact_id = ${added.id as string}`;
    expect(row.given_name).toBe('美咲');
  });

  it('--full marks contacts Keap no longer lists as deleted (an incremental run cannot see it)', async () => {
    const victim = Number(([...sb.store.list('contacts')] as { id: string }[])[3].id);
    sb.store.deleteContact(victim);
    const inc = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: ['contacts'] });
    const [still] = await db.sql`select _deleted_at from keap.contacts where contact_id = ${victim}`;
    expect(still._deleted_at).toBeNull(); // an incremental run cannot see deletions
    expect(inc.status).toBe('succeeded');

    const full = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true, entities: ['contacts'] });
    expect(full.value.entities[0].deleted).toBe(1);
    const [gone] = await db.sql`select _deleted_at from keap.contacts where contact_id = ${victim}`;
    expect(gone._deleted_at).not.toBeNull();
    await expectWarehouseEqualsSandbox(db.sql, sb);
    const [counts] = await db.sql`select source_count, warehouse_count from keap_meta.source_counts where run_id = ${full.runId} and entity = 'contacts'`;
    expect(counts).toEqual({ source_count: sb.store.count('contacts'), warehouse_count: sb.store.count('contacts') });
  });

  it('with 5 % injected faults of every kind the result is still exactly equal', async () => {
    for (let i = 0; i < 20; i++) sb.store.updateContact(Number(([...sb.store.list('contacts')] as { id: string }[])[20 + i].id), { job_title: `Fault test ${i}` });
    sb.setFaults({ rate: 0.05, kinds: ['500', '502', '503', 'reset', 'slow', 'malformed'], slowMs: 50, seed: 3 });
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true });
    expect(res.status).toBe('succeeded');
    await expectWarehouseEqualsSandbox(db.sql, sb);
    const [retries] = await db.sql`select count(*)::int as n from keap_meta.etl_request_log where run_id = ${res.runId} and attempt > 1`;
    expect(retries.n).toBeGreaterThan(0);
  });

  it('the daily-quota reserve ends the run partial (exit code 6) and the next run completes it', async () => {
    for (let i = 0; i < 30; i++) sb.store.addContact({ given_name: `Quota ${i}` });
    const used = sb.stats().totalRequests;
    // Leave room for a few requests only: the reserve is hit in the middle of the traversal.
    sb.setLimits({ dailyQuota: used + 8 });
    const partial = await runSync({ db, config: sandboxConfig(sb, { KEAP_QUOTA_RESERVE: '2', KEAP_PAGE_SIZE: '50' }) }, { trigger: 'test', full: true });
    expect(partial.status).toBe('partial');
    expect(partial.exitCode).toBe(6);
    expect(sb.stats().quotaRejections).toBe(0);
    const [run] = await db.sql`select status, error_message from keap_ops.runs where run_id = ${partial.runId}`;
    expect(run.status).toBe('partial');
    expect(run.error_message).toMatch(/daily-quota reserve/);

    sb.setLimits({ dailyQuota: 1_000_000 });
    const next = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(next.status).toBe('succeeded');
    await expectWarehouseEqualsSandbox(db.sql, sb);
    expect(sb.stats().throttleViolations).toBe(0);
  });

  it('a tag deleted in Keap between listing and fetching its contacts is skipped with a warning, not a failed run', async () => {
    const [pair] = await db.sql`
      select ct.contact_id, ct.tag_id from keap.contact_tags ct join keap.contacts c using (contact_id)
       where c._deleted_at is null order by ct.tag_id desc limit 1`;
    await db.sql`update keap.contact_tags set applied_at = null where contact_id = ${pair.contact_id} and tag_id = ${pair.tag_id}`;
    sb.store.delete('tags', Number(pair.tag_id));
    // Only tagged_contacts runs, so the warehouse still lists the tag as live: its fetch gets a 404.
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: ['tagged_contacts'] });
    expect(res.status).toBe('succeeded');
    const [warn] = await db.sql`select level, message from keap_meta.etl_run_events where run_id = ${res.runId} and level = 'warn'`;
    expect(warn.message).toBe(`tagged_contacts: parent ${pair.tag_id} no longer exists in Keap (404); skipped`);
  });
});
