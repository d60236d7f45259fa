// EntityDef.partitions: a list read once per filter clause. Keap does not say whether GET /tasks
// lists completed tasks when no is_completed filter is given; here a proxy in front of the sandbox
// plays the pessimistic reading (completed tasks left out unless asked for). Read in one listing,
// completed tasks are missing and a task completed after the first sync is soft-deleted by the
// sweep; read in the two partitions the entity list declares, the warehouse equals the sandbox
// whichever reading is true.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { ENTITIES, type EntityDef } from '../../scripts/lib/sync/entities.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig, startSandboxProxy } from './helpers.ts';

let sb: Sandbox;
let proxy: { url: string; close: () => Promise<void> };
const dbs: TestDb[] = [];
type Rec = Record<string, any>;

beforeAll(async () => {
  sb = await startSandbox({ contacts: 300, seed: 41, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
  // On /tasks without an is_completed clause, the proxy drops the completed tasks.
  proxy = await startSandboxProxy(sb.url, {
    rewrite: (url, body) => {
      if (!url.pathname.endsWith('/rest/v2/tasks') || (url.searchParams.get('filter') ?? '').includes('is_completed')) return body;
      const page = JSON.parse(body) as { tasks: Rec[] };
      page.tasks = page.tasks.filter((t) => t.completed !== true);
      return JSON.stringify(page);
    },
  });
});
afterAll(async () => {
  await proxy?.close();
  await sb?.close();
  for (const db of dbs) await db.drop();
});

const TASKS = ENTITIES.find((e) => e.name === 'tasks')!;
const config = () => sandboxConfig({ ...sb, url: proxy.url } as Sandbox);
async function liveTasks(db: TestDb): Promise<Map<number, boolean>> {
  const rows = await db.sql`select task_id, is_completed from keap.tasks where _deleted_at is null`;
  return new Map(rows.map((r) => [Number(r.task_id), r.is_completed]));
}

describe('partitions (tasks: open and completed)', () => {
  it('without partitions a listing that hides completed tasks loses them', async () => {
    const db = await createTestDatabase('partitions_none');
    dbs.push(db);
    const single: EntityDef = { ...TASKS, partitions: undefined };
    const first = await runSync({ db, config: config() }, { trigger: 'test', entities: ['tasks'], entityDefs: [single] });
    expect(first.status).toBe('succeeded');
    const truth = [...sb.store.list('tasks')] as Rec[];
    expect((await liveTasks(db)).size).toBe(truth.filter((t) => !t.completed).length);
    expect(truth.some((t) => t.completed)).toBe(true);
  });

  it('with the declared partitions the warehouse holds every task, and completing one updates it instead of deleting it', async () => {
    const db = await createTestDatabase('partitions_two');
    dbs.push(db);
    expect(TASKS.partitions).toEqual(['is_completed==false', 'is_completed==true']);
    const first = await runSync({ db, config: config() }, { trigger: 'test', entities: ['tasks'] });
    expect(first.status).toBe('succeeded');
    const truth = () => new Map(([...sb.store.list('tasks')] as Rec[]).map((t) => [Number(t.id), t.completed === true]));
    expect(await liveTasks(db)).toEqual(truth());

    const open = ([...sb.store.list('tasks')] as Rec[]).find((t) => !t.completed)!;
    await new Promise((r) => setTimeout(r, 10));
    sb.store.update('tasks', open.id, { completed: true, completion_time: new Date().toISOString() });
    const inc = await runSync({ db, config: config() }, { trigger: 'test', entities: ['tasks'] });
    expect(inc.value.entities[0]).toMatchObject({ traversal: 'incremental', updated: 1, deleted: 0 });
    const full = await runSync({ db, config: config() }, { trigger: 'test', entities: ['tasks'], full: true });
    expect(full.value.entities[0]).toMatchObject({ traversal: 'full', deleted: 0 });
    expect(await liveTasks(db)).toEqual(truth());
    expect((await liveTasks(db)).get(Number(open.id))).toBe(true);
  });

  it('the same through a single listing: the completed task is soft-deleted by the sweep (what partitions prevent)', async () => {
    const db = dbs[0]!;
    const single: EntityDef = { ...TASKS, partitions: undefined };
    const open = ([...sb.store.list('tasks')] as Rec[]).find((t) => !t.completed)!;
    sb.store.update('tasks', open.id, { completed: true, completion_time: new Date().toISOString() });
    const full = await runSync({ db, config: config() }, { trigger: 'test', entities: ['tasks'], entityDefs: [single], full: true });
    expect(full.value.entities[0]!.deleted).toBeGreaterThan(0);
    const [row] = await db.sql`select _deleted_at from keap.tasks where task_id = ${open.id}`;
    expect(row._deleted_at).not.toBeNull();
  });
});
