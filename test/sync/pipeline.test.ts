// End to end, pipeline and activity (issue 9): custom field models, users, opportunity stages,
// opportunities, stage moves, notes and tasks, synced by the real engine from the sandbox into a
// real PostgreSQL. A full sync equals the sandbox; an incremental run fetches only what changed and
// ends equal; a run with no change writes nothing; deletions are marked by the next sweep; revenue
// doubles round-trip exactly; a change an optimistic since_time filter misses is caught by the sweep.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, expectWarehouseEqualsSandbox, sandboxConfig } from './helpers.ts';
import { expectPipelineEqualsSandbox, PIPELINE_ENTITIES } from './pipeline-helpers.ts';

let db: TestDb;
let sb: Sandbox;
type Rec = Record<string, any>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const list = (e: Parameters<Sandbox['store']['list']>[0]) => [...sb.store.list(e)] as Rec[];

beforeAll(async () => {
  db = await createTestDatabase('sync_pipeline');
  sb = await startSandbox({ contacts: 600, seed: 23, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

async function fetched(runId: number, entity: string): Promise<{ pages: number; records: number }> {
  const [row] = await db.sql`
    select count(*)::int as pages, coalesce(sum(record_count), 0)::int as records
      from keap_meta.etl_request_log where run_id = ${runId} and entity = ${entity} and http_status = 200`;
  return { pages: row.pages, records: row.records };
}
async function watermark(entity: string): Promise<Date> {
  const [r] = await db.sql`select updated_since from keap_meta.sync_cursors where entity = ${entity}`;
  return r.updated_since;
}
const summaryOf = (res: Awaited<ReturnType<typeof runSync>>, entity: string) => res.value.entities.find((e) => e.entity === entity)!;

describe('pipeline and activity sync against the sandbox', () => {
  it('a first sync is full and makes every pipeline table equal to the sandbox', async () => {
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    for (const e of PIPELINE_ENTITIES) expect(['full', 'snapshot']).toContain(summaryOf(res, e).traversal);
    await expectPipelineEqualsSandbox(db.sql, sb);
    await expectWarehouseEqualsSandbox(db.sql, sb);
    const [issues] = await db.sql`select count(*)::int as n from keap_meta.row_issues where run_id = ${res.runId}`;
    expect(issues.n).toBe(0);
    expect(sb.stats().throttleViolations).toBe(0);
  });

  it('users are asked for with include_inactive and include_partners, so inactive users and partners land too', async () => {
    const [req] = await db.sql`
      select query_params from keap_meta.etl_request_log where entity = 'users' and http_status = 200 order by request_id limit 1`;
    expect(req.query_params.filter).toBe('include_inactive==true;include_partners==true');
    expect(Number(req.query_params.page_size)).toBeLessThanOrEqual(100);
    const [u] = await db.sql`
      select count(*) filter (where status = 'INACTIVE')::int as inactive, count(*) filter (where is_partner)::int as partners
        from keap.users where _deleted_at is null`;
    expect(u.inactive).toBeGreaterThan(0);
    expect(u.partners).toBeGreaterThan(0);
    // The sandbox, like Keap, hides them without the flags.
    const hidden = (await (await fetch(`${sb.url}/rest/v2/users?page_size=100`, { headers: { 'x-keap-api-key': API_KEY } })).json()) as { users: Rec[] };
    expect(hidden.users.length).toBeLessThan(list('users').length);
  });

  it('tasks are read in two partitions, open and completed, each with the traversal\'s own filter', async () => {
    const reqs = await db.sql`
      select run_id, query_params ->> 'filter' as filter from keap_meta.etl_request_log
       where entity = 'tasks' and http_status = 200 order by request_id`;
    const filters = reqs.map((r) => r.filter);
    expect(filters).toContain('id>0;is_completed==false');
    expect(filters).toContain('id>0;is_completed==true');
    const [t] = await db.sql`select count(*) filter (where is_completed)::int as done, count(*) filter (where not is_completed)::int as open from keap.tasks`;
    expect(t.done).toBe(list('tasks').filter((x) => x.completed).length);
    expect(t.open).toBe(list('tasks').filter((x) => !x.completed).length);
  });

  it('a re-run with no change writes nothing and reads one page per incremental entity', async () => {
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    for (const e of PIPELINE_ENTITIES) {
      const s = summaryOf(res, e);
      expect({ entity: e, written: s.inserted + s.updated + s.deleted }).toEqual({ entity: e, written: 0 });
    }
    for (const e of ['opportunities', 'opportunity_stage_moves', 'notes', 'tasks']) {
      expect(summaryOf(res, e).traversal).toBe('incremental');
      // tasks: one page per partition (open, completed)
      expect((await fetched(res.runId, e)).pages).toBe(e === 'tasks' ? 2 : 1);
    }
    const [{ n }] = await db.sql`
      select (select count(*) from keap.opportunities where _run_id = ${res.runId})
           + (select count(*) from keap.notes where _run_id = ${res.runId})
           + (select count(*) from keap.users where _run_id = ${res.runId})::int as n`;
    expect(Number(n)).toBe(0);
    await expectPipelineEqualsSandbox(db.sql, sb);
  });

  it('an incremental run after changes fetches only what changed and ends equal', async () => {
    await sleep(20);
    const noteWatermark = await watermark('notes');
    const taskWatermark = await watermark('tasks');
    const notes = list('notes').slice(5, 8);
    sb.store.update('notes', notes[0].id, { title: 'Réunion “suivi” ✓' });
    sb.store.update('notes', notes[1].id, { text: "Line 1\nO'Brien said \"yes\" 🎉" });
    const addedNote = sb.store.add('notes', { contact_id: list('contacts')[0].id, title: '新しいメモ', custom_fields: [{ id: '90', content: 'Added' }] });
    const tasks = list('tasks').slice(3, 5);
    sb.store.update('tasks', tasks[0].id, { completed: true, completion_time: new Date().toISOString() });
    sb.store.update('tasks', tasks[1].id, { priority: 'CRITICAL' });
    const opps = list('opportunities');
    const moved = opps[4];
    const newStage = list('stages').find((s) => s.id !== moved.stage.id)!;
    sb.store.update('opportunities', moved.id, { stage: { id: newStage.id, name: newStage.name, reasons: [] } });
    sb.store.update('opportunities', opps[9].id, { opportunity_title: 'Renamed – “big deal”' });
    const addedOpp = sb.store.add('opportunities', {
      contact: { id: list('contacts')[1].id }, stage: { id: list('stages')[0].id, name: list('stages')[0].name, reasons: [] }, user: { id: list('users')[0].id },
    });
    const addedUser = sb.store.add('users', { given_name: 'Zoë', family_name: 'Ångström', status: 'ACTIVE' });

    // Small pages, so the newest-first reads show they stop early.
    const res = await runSync({ db, config: sandboxConfig(sb, { KEAP_OVERLAP_SECONDS: '0', KEAP_PAGE_SIZE: '20' }) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    for (const e of ['opportunities', 'opportunity_stage_moves', 'notes', 'tasks']) expect(summaryOf(res, e).traversal).toBe('incremental');

    // since_time is inclusive: exactly the records updated at or after the watermark.
    const notesSince = list('notes').filter((n) => new Date(n.update_time) >= noteWatermark).length;
    expect(notesSince).toBeGreaterThanOrEqual(3);
    expect((await fetched(res.runId, 'notes')).records).toBe(notesSince);
    expect(summaryOf(res, 'notes')).toMatchObject({ inserted: 1, updated: 2 });
    const tasksSince = list('tasks').filter((t) => new Date(t.modification_time) >= taskWatermark).length;
    expect((await fetched(res.runId, 'tasks')).records).toBe(tasksSince);
    expect(summaryOf(res, 'tasks')).toMatchObject({ inserted: 0, updated: 2 });

    // Newest first: the three changed opportunities are on the first page of 20, which also reaches
    // older ones: one page. The stage change and the new opportunity each appended a move.
    expect((await fetched(res.runId, 'opportunities')).pages).toBe(1);
    expect(summaryOf(res, 'opportunities')).toMatchObject({ inserted: 1, updated: 2 });
    expect((await fetched(res.runId, 'opportunity_stage_moves')).pages).toBe(1);
    expect(summaryOf(res, 'opportunity_stage_moves')).toMatchObject({ inserted: 2, updated: 0 });
    expect(summaryOf(res, 'users')).toMatchObject({ traversal: 'full', inserted: 1, updated: 0 });

    await expectPipelineEqualsSandbox(db.sql, sb);
    const [move] = await db.sql`
      select from_stage_id, to_stage_id, previous_move_at from keap.opportunity_stage_moves
       where opportunity_id = ${moved.id} order by opportunity_stage_move_id desc limit 1`;
    expect({ from: Number(move.from_stage_id), to: Number(move.to_stage_id) }).toEqual({ from: Number(moved.stage.id), to: Number(newStage.id) });
    expect(move.previous_move_at).not.toBeNull();
    const [opp] = await db.sql`select stage_id from keap.opportunities where opportunity_id = ${moved.id}`;
    expect(Number(opp.stage_id)).toBe(Number(newStage.id));
    expect(Number(addedNote.id)).toBeGreaterThan(0);
    expect(Number(addedOpp.id)).toBeGreaterThan(0);
    expect(Number(addedUser.id)).toBeGreaterThan(0);
  });

  it('revenue doubles land exact, without float artefacts (0.1 + 0.2, 19.9, 1e15, negative, many digits)', async () => {
    await sleep(5);
    const values: Array<[number, number]> = [
      [0.1 + 0.2, 19.9],
      [1e15, 123456789012.34],
      [-250.75, 0],
      [123456789.123456, 0.01],
      [0.07, 99999999999.99],
    ];
    // What each is stored as: the double's value to 15 significant digits (only 0.1 + 0.2 changes).
    const stored = (v: number) => (v === 0.1 + 0.2 ? '0.3' : JSON.stringify(v));
    const ids = list('opportunities').slice(10, 10 + values.length).map((o) => o.id as string);
    values.forEach(([low, high], i) => sb.store.update('opportunities', ids[i]!, { projected_revenue_low: low, projected_revenue_high: high }));
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: ['opportunities'] });
    expect(res.status).toBe('succeeded');
    const rows = await db.sql`
      select opportunity_id, projected_revenue_low::text as low, projected_revenue_high::text as high
        from keap.opportunities where opportunity_id in ${db.sql(ids)} order by opportunity_id`;
    const byId = new Map(rows.map((r) => [String(r.opportunity_id), r]));
    values.forEach(([low, high], i) => {
      expect(byId.get(ids[i]!)).toMatchObject({ low: stored(low), high: stored(high) });
    });
    // Keap's JSON says 0.30000000000000004 for 0.1 + 0.2: stored as 0.3; 19.9 stays 19.9.
    expect(byId.get(ids[0]!)!.low).toBe('0.3');
    expect(byId.get(ids[0]!)!.high).toBe('19.9');
    const [sum] = await db.sql`select sum(projected_revenue_high)::text as s from keap.opportunities where opportunity_id in ${db.sql(ids.slice(0, 2))}`;
    expect(sum.s).toBe('123456789032.24');
    // No money column of these tables is a float type.
    const floats = await db.sql`
      select table_name, column_name from information_schema.columns
       where table_schema = 'keap' and data_type in ('real', 'double precision')
         and table_name in ('opportunities', 'opportunity_stages', 'opportunity_stage_moves', 'notes', 'tasks', 'users')`;
    expect(floats).toEqual([]);
    await expectPipelineEqualsSandbox(db.sql, sb);
  });

  it('deletions are marked by the next sweep: users and stages at once, the others by the full traversal', async () => {
    const note = list('notes')[11];
    const task = list('tasks')[7];
    const opp = list('opportunities')[13];
    const move = list('stage_moves')[3];
    const user = list('users').find((u) => u.status === 'INACTIVE')!;
    const stage = list('stages')[7];
    const withItems = list('stages').find((s) => s.checklist_items.length === 2)!;
    sb.store.delete('notes', note.id);
    sb.store.delete('tasks', task.id);
    sb.store.delete('opportunities', opp.id);
    sb.store.delete('stage_moves', move.id);
    sb.store.delete('users', user.id);
    sb.store.delete('stages', stage.id);
    sb.store.update('stages', withItems.id, { checklist_items: withItems.checklist_items.slice(0, 1) });

    const deletedAt = async () =>
      Object.fromEntries(
        (
          await db.sql`
            select 'note' as k, _deleted_at from keap.notes where note_id = ${note.id}
            union all select 'task', _deleted_at from keap.tasks where task_id = ${task.id}
            union all select 'opportunity', _deleted_at from keap.opportunities where opportunity_id = ${opp.id}
            union all select 'move', _deleted_at from keap.opportunity_stage_moves where opportunity_stage_move_id = ${move.id}
            union all select 'user', _deleted_at from keap.users where user_id = ${user.id}
            union all select 'stage', _deleted_at from keap.opportunity_stages where opportunity_stage_id = ${stage.id}`
        ).map((r) => [r.k, r._deleted_at !== null]),
      );

    const inc = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: PIPELINE_ENTITIES });
    expect(inc.status).toBe('succeeded');
    // Users and stages are listed whole every run; the rest need the full traversal.
    expect(await deletedAt()).toEqual({ note: false, task: false, opportunity: false, move: false, user: true, stage: true });
    const [items] = await db.sql`select count(*)::int as n from keap.opportunity_stage_checklist_items where opportunity_stage_id = ${withItems.id}`;
    expect(items.n).toBe(1);

    const full = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true, entities: PIPELINE_ENTITIES });
    expect(full.status).toBe('succeeded');
    expect(await deletedAt()).toEqual({ note: true, task: true, opportunity: true, move: true, user: true, stage: true });
    for (const e of ['notes', 'tasks', 'opportunities', 'opportunity_stage_moves']) expect(summaryOf(full, e).deleted).toBe(1);
    await expectPipelineEqualsSandbox(db.sql, sb);
    const counts = await db.sql`
      select entity, source_count, warehouse_count from keap_meta.source_counts
       where run_id = ${full.runId} and entity in ('notes', 'tasks', 'opportunities', 'opportunity_stage_moves', 'users')`;
    for (const c of counts) expect(c.source_count).toBe(c.warehouse_count);
    expect(counts).toHaveLength(5);
  });

  it('a change the since_time filter does not report (if Keap filtered on another time) is caught by the sweep', async () => {
    // The note changes, but its update_time is put back: an incremental read filtered on a time that
    // did not move cannot see it. The full traversal compares every record and writes it.
    const note = list('notes')[30];
    const before = note.update_time as string;
    sb.store.update('notes', note.id, { title: 'Changed quietly' });
    const col = sb.store.collection('notes');
    col.overrides.get(Number(note.id))!.update_time = before;
    col.touch();
    sb.store.version++;

    const inc = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: ['notes'] });
    expect(summaryOf(inc, 'notes').traversal).toBe('incremental');
    const [stale] = await db.sql`select title from keap.notes where note_id = ${note.id}`;
    expect(stale.title).not.toBe('Changed quietly');

    const full = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true, entities: ['notes'] });
    expect(summaryOf(full, 'notes')).toMatchObject({ traversal: 'full', updated: 1, deleted: 0 });
    const [fresh] = await db.sql`select title from keap.notes where note_id = ${note.id}`;
    expect(fresh.title).toBe('Changed quietly');
    await expectPipelineEqualsSandbox(db.sql, sb);
  });

  it('checklist items without an integer id, or listed twice, are row issues; the stage and its other items land', async () => {
    await sleep(5);
    const stage = list('stages')[0];
    sb.store.update('stages', stage.id, {
      checklist_items: [
        { id: '901', description: 'Call back', required: true, order: 1 },
        { id: 'x-1', description: 'No integer id', required: false, order: 2 },
        { id: '901', description: 'Repeated', required: false, order: 3 },
        { id: '902', description: 'Second', required: 'maybe', order: 4 },
      ],
    });
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: ['opportunity_stages'] });
    expect(res.status).toBe('succeeded');
    const items = await db.sql`
      select checklist_item_id, description, is_required from keap.opportunity_stage_checklist_items
       where opportunity_stage_id = ${stage.id} order by checklist_item_id`;
    expect(items.map((i) => ({ ...i, checklist_item_id: Number(i.checklist_item_id) }))).toEqual([
      { checklist_item_id: 901, description: 'Call back', is_required: true },
      { checklist_item_id: 902, description: 'Second', is_required: null },
    ]);
    const issues = await db.sql`
      select record_key, field, problem from keap_meta.row_issues where run_id = ${res.runId} and entity = 'opportunity_stages' order by field`;
    expect(issues).toEqual([
      { record_key: String(stage.id), field: 'checklist_items[1].id', problem: 'checklist item without an integer id; skipped, kept in _raw' },
      { record_key: String(stage.id), field: 'checklist_items[2].id', problem: 'checklist item id listed twice; first kept' },
      { record_key: String(stage.id), field: 'checklist_items[3].required', problem: expect.stringMatching(/boolean/) },
    ]);
  });
});
