// The keap_ops views after real syncs against the local sandbox: every view selects and is fully
// commented on an empty database and after a sync; none scans staging or the whole request log;
// entity_freshness tells the truth on a quiet tenant; each view's figures agree with the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import type { Sql } from '../../scripts/lib/db.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig } from '../sync/helpers.ts';
import { entityNames } from '../../scripts/lib/sync/entities.ts';

let db: TestDb;
let sb: Sandbox;

beforeAll(async () => {
  db = await createTestDatabase('obs_views');
  sb = await startSandbox({ contacts: 250, seed: 11, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

/** schema.table of every sequential scan in an EXPLAIN (FORMAT JSON, VERBOSE) plan. */
function seqScans(plan: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    if (n['Node Type'] === 'Seq Scan') out.push(`${n.Schema}.${n['Relation Name']}`);
    for (const v of Object.values(n)) if (typeof v === 'object') walk(v);
  };
  walk(plan);
  return out;
}

async function keapOpsViews(sql: Sql): Promise<string[]> {
  const rows = await sql`select viewname from pg_views where schemaname = 'keap_ops' order by 1`;
  return rows.map((r) => `keap_ops.${r.viewname}`);
}

/** Every keap_ops view selects, and it and each of its columns carry a comment. */
async function expectViewsSelectableAndCommented(sql: Sql): Promise<Record<string, number>> {
  const undocumented = await sql`
    select c.relname || coalesce('.' || a.attname, '') as name
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where n.nspname = 'keap_ops' and c.relkind in ('v', 'm')
       and (obj_description(c.oid, 'pg_class') is null and a.attnum is null
            or a.attnum is not null and col_description(c.oid, a.attnum) is null
            or obj_description(c.oid, 'pg_class') is null)`;
  expect(undocumented.map((u) => u.name)).toEqual([]);
  const counts: Record<string, number> = {};
  for (const v of await keapOpsViews(sql)) counts[v] = (await sql.unsafe(`select * from ${v}`)).length;
  return counts;
}

describe('catalogue of keap_ops', () => {
  it('has the issue-10 views, and on an empty database every one selects and is commented', async () => {
    const views = await keapOpsViews(db.sql);
    expect(views).toEqual(expect.arrayContaining([
      'keap_ops.runs', 'keap_ops.run_entities', 'keap_ops.entity_freshness', 'keap_ops.request_stats', 'keap_ops.api_quota',
      'keap_ops.reconciliation', 'keap_ops.table_snapshot', 'keap_ops.recent_row_issues', 'keap_ops.merge_history',
    ]));
    const counts = await expectViewsSelectableAndCommented(db.sql);
    expect(counts['keap_ops.runs']).toBe(0);
    expect(counts['keap_ops.api_quota']).toBe(0);
  });

  it('after a sync every view still selects, is commented, and the run-level views have rows', async () => {
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    const counts = await expectViewsSelectableAndCommented(db.sql);
    for (const v of ['runs', 'run_entities', 'entity_freshness', 'request_stats', 'api_quota', 'reconciliation', 'table_snapshot', 'merge_history']) {
      expect(counts[`keap_ops.${v}`], v).toBeGreaterThan(0);
    }
  });

  it('keap_reader and pg_monitor read every row of every view once there is data', async () => {
    const views = await keapOpsViews(db.sql);
    const conn = await db.sql.reserve();
    try {
      for (const role of ['keap_reader', 'pg_monitor']) {
        await conn.unsafe(`set role ${role}`);
        for (const v of views) {
          // Every column of every row (json_agg evaluates them all, functions included).
          const [owner] = await db.sql.unsafe(`select count(*)::int as n, json_agg(x) is not null as read from ${v} x`);
          const [asRole] = await conn.unsafe(`select count(*)::int as n, json_agg(x) is not null as read from ${v} x`);
          expect(asRole, `${role} on ${v}`).toEqual(owner);
        }
        await conn`reset role`;
      }
    } finally {
      await conn`reset role`;
      conn.release();
    }
  });

  it('no view scans staging or the whole request log (plans with sequential scans disabled)', async () => {
    const conn = await db.sql.reserve();
    try {
      await conn`set enable_seqscan = off`;
      const offenders: string[] = [];
      const queries = [
        ...(await keapOpsViews(db.sql)).map((v) => `select * from ${v}`),
        'select * from keap_ops.run_entities where run_id = 1',
        'select * from keap_ops.merge_history where run_id = 1',
      ];
      for (const q of queries) {
        const [row] = await conn.unsafe(`explain (format json, verbose) ${q}`);
        for (const rel of seqScans((row as Record<string, unknown>)['QUERY PLAN'])) {
          if (rel.startsWith('keap_staging.') || rel === 'keap_meta.etl_request_log' || rel === 'keap_meta.etl_run_events') offenders.push(`${q}: ${rel}`);
        }
      }
      expect(offenders).toEqual([]);
    } finally {
      await conn`reset enable_seqscan`;
      conn.release();
    }
  });
});

describe('entity_freshness on a quiet tenant that syncs regularly', () => {
  it('lag_seconds stays below the schedule interval although Keap changed nothing for weeks', async () => {
    // A schedule every `interval` seconds, simulated: sync, wait, sync, wait. Nothing changes in the
    // sandbox, whose records were last updated weeks ago.
    const interval = 6;
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'schedule' });
      expect(res.status).toBe('succeeded');
      // Just before the next tick: the staleness a DBA alerting on lag would see at its worst.
      await new Promise((r) => setTimeout(r, Math.max(0, (interval - 1) * 1000 - (Date.now() - started))));
      const rows = await db.sql`select entity, lag_seconds, fresh_run_id, updated_since from keap_ops.entity_freshness`;
      const sinceStart = (Date.now() - started) / 1000;
      expect(rows).toHaveLength(entityNames().length);
      for (const r of rows) {
        expect(r.fresh_run_id, r.entity).toBe(res.runId);
        // Complete up to an instant inside this run: never staler than the run's own start.
        expect(Number(r.lag_seconds), r.entity).toBeGreaterThan(0);
        expect(Number(r.lag_seconds), r.entity).toBeLessThanOrEqual(sinceStart + 0.01);
        expect(Number(r.lag_seconds), r.entity).toBeLessThan(Math.max(interval, sinceStart + 0.01));
      }
      // The watermark is still what it is: the newest update time Keap sent, weeks old.
      const tags = rows.find((r) => r.entity === 'tags')!;
      expect(Date.now() - new Date(tags.updated_since).getTime()).toBeGreaterThan(7 * 86_400_000);
    }
  });

  it('a failed run leaves freshness at the last successful traversal, so lag keeps growing', async () => {
    const [before] = await db.sql`select fresh_as_of, fresh_run_id from keap_ops.entity_freshness where entity = 'contacts'`;
    const bad = await runSync({ db, config: sandboxConfig(sb, { KEAP_API_KEY: 'wrong-key' }) }, { trigger: 'test' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Error);
    const [after] = await db.sql`select fresh_as_of, fresh_run_id, lag_seconds from keap_ops.entity_freshness where entity = 'contacts'`;
    expect(after.fresh_run_id).toBe(before.fresh_run_id);
    expect(after.fresh_as_of).toEqual(before.fresh_as_of);
  });

  it('a dry run does not count as a traversal', async () => {
    const [before] = await db.sql`select fresh_run_id from keap_ops.entity_freshness where entity = 'tags'`;
    const dry = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', dryRun: true });
    expect(dry.status).toBe('succeeded');
    const [after] = await db.sql`select fresh_run_id from keap_ops.entity_freshness where entity = 'tags'`;
    expect(after.fresh_run_id).toBe(before.fresh_run_id);
    const entities = await db.sql`select distinct status from keap_ops.run_entities where run_id = ${dry.runId}`;
    expect(entities.map((e) => e.status)).toEqual(['checked']);
  });
});

describe('the views agree with the run', () => {
  it('run_entities has one row per entity with the engine summary and the merge-log counts', async () => {
    sb.store.updateContact(Number(([...sb.store.list('contacts')] as { id: string }[])[5]!.id), { job_title: 'Observed' });
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true });
    const rows = await db.sql`
      select entity, traversal, pages::int, fetched::int, inserted::int, updated::int, unchanged::int, deleted::int, rejected::int, status, duration_seconds
        from keap_ops.run_entities where run_id = ${res.runId} order by first_event_id`;
    expect(rows.map((r) => r.entity).sort()).toEqual(res.value.entities.map((e) => e.entity).sort());
    for (const e of res.value.entities) {
      const row = rows.find((r) => r.entity === e.entity)!;
      expect(row).toMatchObject({
        traversal: e.traversal, pages: e.pages, fetched: e.records, inserted: e.inserted, updated: e.updated,
        unchanged: e.unchanged, deleted: e.deleted, rejected: e.rejected, status: 'done',
      });
      expect(Number(row.duration_seconds)).toBeGreaterThanOrEqual(0);
    }
    expect(rows.find((r) => r.entity === 'contacts')!.updated).toBe(1);
  });

  it('a failed run shows the entity it failed on, with pages counted from its requests', async () => {
    sb.setFaults({ rate: 1, kinds: ['500'] });
    try {
      const err = await runSync({ db, config: sandboxConfig(sb, { KEAP_MAX_RETRIES: '1' }) }, { trigger: 'test', entities: ['tags'] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
    } finally {
      sb.setFaults({ rate: 0 });
    }
    const [run] = await db.sql`select max(run_id) as run_id from keap_meta.etl_run_log`;
    const [row] = await db.sql`select entity, status, pages::int, fetched::int from keap_ops.run_entities where run_id = ${run.run_id}`;
    expect(row).toEqual({ entity: 'tags', status: 'failed', pages: 0, fetched: 0 });
  });

  it('reconciliation agrees after a full traversal and table_snapshot shows real (composite) keys', async () => {
    const rec = await db.sql`select entity, source_count::int, warehouse_count::int, difference::int, ok from keap_ops.reconciliation`;
    const contacts = rec.find((r) => r.entity === 'contacts')!;
    expect(contacts).toEqual({ entity: 'contacts', source_count: sb.store.count('contacts'), warehouse_count: sb.store.count('contacts'), difference: 0, ok: true });
    expect(rec.find((r) => r.entity === 'tagged_contacts')!.ok).toBeNull(); // never counted: no full listing of pairs

    const snaps = await db.sql`select table_name, key_columns, live_rows::int, deleted_rows::int, min_key, max_key, last_synced_at from keap_ops.table_snapshot`;
    const tags = snaps.find((s) => s.table_name === 'keap.contact_tags')!;
    expect(tags.key_columns).toEqual(['contact_id', 'tag_id']);
    expect(Object.keys(tags.min_key)).toEqual(['contact_id', 'tag_id']);
    const [truth] = await db.sql`
      select count(*)::int as n, (select row(contact_id, tag_id)::text from keap.contact_tags order by contact_id, tag_id limit 1) as min
        from keap.contact_tags`;
    expect(tags.live_rows).toBe(truth.n);
    expect(`(${tags.min_key.contact_id},${tags.min_key.tag_id})`).toBe(truth.min);
    const c = snaps.find((s) => s.table_name === 'keap.contacts')!;
    const [live] = await db.sql`select count(*) filter (where _deleted_at is null)::int as live, count(*) filter (where _deleted_at is not null)::int as deleted, max(_synced_at) as synced, min(contact_id)::bigint as min from keap.contacts`;
    expect({ live: c.live_rows, deleted: c.deleted_rows, min: c.min_key.contact_id, synced: c.last_synced_at }).toEqual({ live: live.live, deleted: live.deleted, min: live.min, synced: live.synced });
    expect(snaps.every((s) => !s.key_columns.includes('id'))).toBe(true);
  });

  it('request_stats folds ids in endpoints and counts every request of the last 24 hours', async () => {
    const stats = await db.sql`select endpoint, calls::int, errors::int, retries::int, p95_ms, max_ms from keap_ops.request_stats`;
    expect(stats.map((s) => s.endpoint)).toContain('/rest/v2/tags/{id}/contacts');
    expect(stats.some((s) => /\/[0-9]+(\/|$)/.test(s.endpoint))).toBe(false);
    const [{ n }] = await db.sql`select count(*)::int as n from keap_meta.etl_request_log`;
    expect(stats.reduce((a, s) => a + s.calls, 0)).toBe(n);
    expect(stats.reduce((a, s) => a + s.errors, 0)).toBeGreaterThan(0); // the injected 500s
  });

  it('api_quota shows the newest rate-limit headers and when the daily quota runs out at this pace', async () => {
    const [q] = await db.sql`select * from keap_ops.api_quota`;
    const [last] = await db.sql`
      select quota_available, quota_limit from keap_meta.etl_request_log where quota_available is not null order by request_id desc limit 1`;
    expect(Number(q.quota_available)).toBe(Number(last.quota_available));
    expect(Number(q.quota_used)).toBe(Number(last.quota_limit) - Number(last.quota_available));
    expect(Number(q.pace_per_hour)).toBeGreaterThan(0);
    expect(q.quota_runs_out_at).toBeInstanceOf(Date);
    expect(q.quota_resets_at.toISOString()).toMatch(/T00:00:00\.000Z$/);
  });

  it('merge_history has one row per merge-log row with its run', async () => {
    const [{ n }] = await db.sql`select count(*)::int as n from keap_meta.merge_log`;
    const [{ m }] = await db.sql`select count(*)::int as m from keap_ops.merge_history where pipeline = 'keap'`;
    expect(m).toBe(n);
  });
});
