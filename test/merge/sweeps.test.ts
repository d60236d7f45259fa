// Delete detection and cursors: a full traversal that completes soft-deletes what Keap no longer
// lists (and a record listed again comes back); a traversal resumed in a second run deletes nothing
// the first run saw; an incomplete listing deletes nothing; cursors advance as the contract says and
// never past the run's start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { issues, lastLog, merge, page, sampleRecords, stage, startRun, type Obj } from './fixtures/staging.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('merge_sweeps');
});
afterAll(async () => {
  await db?.drop();
});

function contact(id: number, over: Obj = {}): Obj {
  const [, daniel] = sampleRecords('contacts');
  return { ...daniel!, id: String(id), given_name: `C${id}`, update_time: '2026-09-01T00:00:00.000Z', ...over };
}

async function cursor(entity: string) {
  const [c] = await db.sql`select * from keap_meta.sync_cursors where entity = ${entity}`;
  return c;
}

async function live(table: string, key: string) {
  const rows = await db.sql.unsafe(`select ${key} as id from ${table} where _deleted_at is null order by 1`);
  return rows.map((r) => r.id as number);
}

describe('full traversal of contacts', () => {
  it('begin_full_sweep starts a sweep and returns 0; a completed sweep deletes nothing the first time', async () => {
    const run = await startRun(db.sql);
    const [{ after }] = await db.sql`select keap_meta.begin_full_sweep('contacts', ${run.runId})::int as after`;
    expect(after).toBe(0);
    expect(await cursor('contacts')).toMatchObject({ full_after_id: 0, full_sweep_run_id: run.runId });
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact(1), contact(2)]), { traversal: 'full', pageNo: 1 });
    await merge(db.sql, 'contacts', run.runId);
    expect((await cursor('contacts')).full_after_id).toBe(2);
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact(3)]), { traversal: 'full', pageNo: 2 });
    await merge(db.sql, 'contacts', run.runId, true);

    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ inserted: 1, deleted: 0 });
    const c = await cursor('contacts');
    expect(c).toMatchObject({ full_after_id: null, full_sweep_started_at: null, full_sweep_run_id: null, last_run_id: run.runId });
    expect(c.last_full_completed_at).not.toBeNull();
    const [sc] = await db.sql`select source_count::int, warehouse_count::int from keap_meta.source_counts where run_id = ${run.runId} and entity = 'contacts'`;
    expect(sc).toEqual({ source_count: 3, warehouse_count: 3 });
    await run.end();
  });

  it('a contact missing from a completed full traversal gets _deleted_at, keeps its children, and is counted', async () => {
    const run = await startRun(db.sql);
    await db.sql`select keap_meta.begin_full_sweep('contacts', ${run.runId})`;
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact(1), contact(3)]), { traversal: 'full' });
    await merge(db.sql, 'contacts', run.runId, true);

    expect(await lastLog(db.sql, run.runId, 'contacts')).toEqual({ inserted: 0, updated: 0, unchanged: 2, deleted: 1, rejected: 0, pages: 1 });
    expect(await live('keap.contacts', 'contact_id')).toEqual([1, 3]);
    const [gone] = await db.sql`select _deleted_at is not null as deleted, _run_id from keap.contacts where contact_id = 2`;
    expect(gone).toEqual({ deleted: true, _run_id: run.runId });
    expect(await db.sql`select field from keap.contact_emails where contact_id = 2`).toEqual([{ field: 'EMAIL1' }]);
    const [sc] = await db.sql`select source_count::int, warehouse_count::int from keap_meta.source_counts where run_id = ${run.runId} and entity = 'contacts'`;
    expect(sc).toEqual({ source_count: 2, warehouse_count: 2 });
    await run.end();
  });

  it('a deleted contact listed again (here by an incremental page, unchanged) comes back', async () => {
    const run = await startRun(db.sql);
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact(2)]));
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ inserted: 0, updated: 1, unchanged: 0 });
    expect(await live('keap.contacts', 'contact_id')).toEqual([1, 2, 3]);
    await run.end();
  });

  it('a full traversal resumed by a second run deletes nothing the crashed first run saw', async () => {
    const first = await startRun(db.sql);
    expect((await db.sql`select keap_meta.begin_full_sweep('contacts', ${first.runId})::int as a`)[0].a).toBe(0);
    await stage(db.sql, 'contacts', first.runId, page('contacts', [contact(1), contact(2)]), { traversal: 'full' });
    await merge(db.sql, 'contacts', first.runId);
    await first.end('failed');

    const second = await startRun(db.sql);
    const [{ after }] = await db.sql`select keap_meta.begin_full_sweep('contacts', ${second.runId})::int as after`;
    expect(after).toBe(2);
    expect((await cursor('contacts')).full_sweep_run_id).toBe(first.runId);
    await stage(db.sql, 'contacts', second.runId, page('contacts', [contact(3)]), { traversal: 'full' });
    await merge(db.sql, 'contacts', second.runId, true);
    expect(await lastLog(db.sql, second.runId, 'contacts')).toMatchObject({ deleted: 0 });
    expect(await live('keap.contacts', 'contact_id')).toEqual([1, 2, 3]);
    await second.end();
  });

  it('while a full traversal is resumed by a later run, updated_since stays at the traversal start (changes to records before the resume point are still fetched next time)', async () => {
    const first = await startRun(db.sql);
    await db.sql`select keap_meta.begin_full_sweep('companies', ${first.runId})`;
    const [{ sweep_start }] = await db.sql`select full_sweep_started_at as sweep_start from keap_meta.sync_cursors where entity = 'companies'`;
    await first.end('failed');
    const second = await startRun(db.sql);
    await db.sql`select keap_meta.begin_full_sweep('companies', ${second.runId})`;
    await stage(db.sql, 'companies', second.runId, page('companies', [{ id: '700', company_name: 'Late', update_time: '2099-01-01T00:00:00Z' }]), { traversal: 'full' });
    await merge(db.sql, 'companies', second.runId);
    expect((await cursor('companies')).updated_since).toEqual(sweep_start);
    expect(sweep_start.getTime()).toBeLessThan(second.startedAt.getTime());
    await second.end();
  });

  it('an incomplete listing (an unparseable page in the sweep) deletes nothing and says why', async () => {
    const run = await startRun(db.sql);
    await db.sql`select keap_meta.begin_full_sweep('contacts', ${run.runId})`;
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact(1)]), { traversal: 'full' });
    await stage(db.sql, 'contacts', run.runId, null, { traversal: 'full', pageNo: 2, raw: '{"contacts": [{"id": "2"' });
    await merge(db.sql, 'contacts', run.runId, true);

    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ deleted: 0, rejected: 2 });
    expect(await live('keap.contacts', 'contact_id')).toEqual([1, 2, 3]);
    const found = await issues(db.sql, run.runId, 'contacts');
    expect(found.map((i) => i.field)).toEqual(['page', 'sweep']);
    expect(found[1]!.problem).toMatch(/^delete detection skipped: the full listing had 1 unparseable page/);
    expect((await cursor('contacts')).full_sweep_started_at).toBeNull();
    await run.end();
  });
});

describe('an empty full listing', () => {
  it('deletes nothing while rows are live (an API fault is likelier than an emptied account) and says why', async () => {
    const run = await startRun(db.sql);
    await db.sql`select keap_meta.begin_full_sweep('contacts', ${run.runId})`;
    await stage(db.sql, 'contacts', run.runId, { contacts: [], next_page_token: '' }, { traversal: 'full' });
    await merge(db.sql, 'contacts', run.runId, true);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ deleted: 0, rejected: 1 });
    expect(await live('keap.contacts', 'contact_id')).toEqual([1, 2, 3]);
    const [issue] = await issues(db.sql, run.runId, 'contacts');
    expect(issue!.problem).toBe('delete detection skipped: the full listing was empty while 3 rows are live; refusing to soft-delete them all');
    await run.end();
  });
});

describe('cursors', () => {
  it('updated_since never passes the run start, never moves back, and only full pages move full_after_id', async () => {
    const run = await startRun(db.sql);
    await stage(db.sql, 'tags', run.runId, page('tags', [{ id: '5', name: 'future', update_time: '2099-01-01T00:00:00Z' }]));
    await merge(db.sql, 'tags', run.runId);
    let c = await cursor('tags');
    expect(c.updated_since).toEqual(run.startedAt);
    expect(c.full_after_id).toBeNull();

    await stage(db.sql, 'tags', run.runId, page('tags', [{ id: '900', name: 'old', update_time: '2020-01-01T00:00:00Z' }]), { traversal: 'full' });
    await merge(db.sql, 'tags', run.runId);
    c = await cursor('tags');
    expect(c.updated_since).toEqual(run.startedAt);
    expect(c.full_after_id).toBe(900);

    await stage(db.sql, 'tags', run.runId, page('tags', [{ id: '10', name: 'lower id', update_time: '2020-01-01T00:00:00Z' }]), { traversal: 'full' });
    await merge(db.sql, 'tags', run.runId);
    expect((await cursor('tags')).full_after_id).toBe(900);
    await run.end();
  });

  it('updated_since is the newest update time merged when that is before the run start', async () => {
    const run = await startRun(db.sql);
    await stage(db.sql, 'tag_categories', run.runId, page('tag_categories', [
      { id: '1', name: 'a', update_time: '2026-01-01T00:00:00Z' },
      { id: '2', name: 'b', update_time: '2026-03-04T05:06:07.891Z' },
      { id: '3', name: 'c', update_time: 'garbage' },
    ]));
    await merge(db.sql, 'tag_categories', run.runId);
    expect((await cursor('tag_categories')).updated_since.toISOString()).toBe('2026-03-04T05:06:07.891Z');
    await run.end();
  });

  it('a completed sweep with no watermark yet sets updated_since to the sweep start', async () => {
    const run = await startRun(db.sql);
    await db.sql`select pg_sleep(0.02)`; // so the sweep start differs from the run start
    await db.sql`select keap_meta.begin_full_sweep('companies', ${run.runId})`;
    const { full_sweep_started_at: started } = await cursor('companies');
    await stage(db.sql, 'companies', run.runId, page('companies', [{ id: '1', company_name: 'No timestamps' }]), { traversal: 'full' });
    await merge(db.sql, 'companies', run.runId, true);
    const c = await cursor('companies');
    expect(c.updated_since).toEqual(started);
    expect(c.full_after_id).toBeNull();
    await run.end();
  });

  it('a merge that rolls back leaves cursor, pages and tables as they were (the caller owns the transaction)', async () => {
    const run = await startRun(db.sql);
    const before = await cursor('tags');
    await stage(db.sql, 'tags', run.runId, page('tags', [{ id: '77', name: 'rolled back', update_time: '2026-10-01T00:00:00Z' }]));
    await db.sql.begin(async (tx) => {
      await tx`call keap.merge_tags(${run.runId}, false)`;
      await tx`select 1/0`;
    }).catch(() => {});
    expect(await cursor('tags')).toEqual(before);
    expect(await db.sql`select tag_id from keap.tags where tag_id = 77`).toEqual([]);
    const [p] = await db.sql`select count(*)::int as n from keap_staging.tags where run_id = ${run.runId} and merged_at is null`;
    expect(p.n).toBe(1);
    await merge(db.sql, 'tags', run.runId);
    expect(await db.sql`select tag_id from keap.tags where tag_id = 77`).toEqual([{ tag_id: 77 }]);
    await run.end();
  });
});
