// `npm run trace`: the four sections with real numbers after a real sync (with injected faults, so
// retries show), the same as JSON, a Validation checklist that is computed (a run with a 429, a
// row issue and disagreeing counts fails it), and an unknown run id exits 1 listing recent runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import type { Trace } from '../../scripts/lib/trace.ts';
import { spawnTs } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig } from '../sync/helpers.ts';
import { entityNames } from '../../scripts/lib/sync/entities.ts';

let db: TestDb;
let sb: Sandbox;
let runId: number;

async function trace(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawnTs('scripts/trace.ts', args, { DATABASE_URL: db.url });
  const { code } = await child.exit;
  return { code, out: child.output() };
}

beforeAll(async () => {
  db = await createTestDatabase('obs_trace');
  sb = await startSandbox({ contacts: 300, seed: 9, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
  sb.setFaults({ rate: 0.08, kinds: ['500', '503', 'reset'], seed: 4 });
  const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
  sb.setFaults({ rate: 0 });
  expect(res.status).toBe('succeeded');
  runId = res.runId;
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

describe('npm run trace', () => {
  it('latest prints Timeline, Data flow, Requests and Validation with the run\'s real numbers', async () => {
    const { code, out } = await trace(['latest']);
    expect(code).toBe(0);
    expect(out).toContain(`# Run ${runId} (keap): succeeded`);
    for (const h of ['## Timeline', '## Data flow', '## Requests', '## Validation']) expect(out).toContain(h);
    const [run] = await db.sql`select request_count, record_count from keap_ops.runs where run_id = ${runId}`;
    expect(out).toContain(`${run.request_count} requests, ${run.record_count} records`);
    expect(out).toMatch(/\| T\+0\.0s \| start \| {2}\| run started \|/);
    expect(out).toMatch(/\| T\+[\d.]+s \| plan \| contacts \| contacts: full \|/);
    expect(out).toMatch(/\| T\+[\d.]+s \| merge \| contacts \| merged \d+ pages?: \+\d+ inserted/);
    expect(out).toMatch(/\| T\+[\d.]+s \| fetch \| [a-z_]+ \| \*\*warn\*\*: request failed \(attempt \d\)/);
    expect(out).toMatch(/\| T\+[\d.]+s \| end \| {2}\| run succeeded \|/);
    const [contacts] = await db.sql`select pages, fetched, inserted from keap_ops.run_entities where run_id = ${runId} and entity = 'contacts'`;
    expect(out).toContain(`contacts (full, done`);
    expect(out).toContain(`└─ ${contacts.pages} pages → ${contacts.fetched} records fetched`);
    expect(out).toMatch(new RegExp(`├─ inserted +${contacts.inserted}\\n`));
    expect(out).toMatch(/\| \/rest\/v2\/tags\/\{id\}\/contacts \| \d+ \| \d+ \|/);
    expect(out).toMatch(/Quota left at the end \([^)]+\): daily \d+ of \d+/);
    expect(out).toContain('- [x] pass — run status: succeeded');
    expect(out).toContain(`- [x] pass — every entity merged: ${entityNames().length} of ${entityNames().length} entities merged`);
    expect(out).toMatch(/- \[x\] pass — source and warehouse counts agree: .*contacts 300 = 300/);
    expect(out).toContain('- [x] pass — no throttle violation: no 429 responses');
  });

  it('--json gives the same trace as data, with retries in the request figures', async () => {
    const { code, out } = await trace([String(runId), '--json']);
    expect(code).toBe(0);
    const t = JSON.parse(out) as Trace;
    expect(t.run.run_id).toBe(runId);
    // In the order the entities started (side by side, so not always the list's order).
    expect(t.data_flow.map((f) => f.entity).sort()).toEqual(entityNames().sort());
    const [{ retries }] = await db.sql`select count(*)::int as retries from keap_meta.etl_request_log where run_id = ${runId} and attempt > 1`;
    expect(retries).toBeGreaterThan(0);
    expect(t.requests.by_endpoint.reduce((n, e) => n + e.retries, 0)).toBe(retries);
    expect(t.requests.slowest.length).toBeGreaterThan(0);
    expect(t.validation.map((c) => [c.check, c.status])).toEqual([
      ['run status', 'pass'], ['every entity merged', 'pass'], ['source and warehouse counts agree', 'pass'],
      ['row issues', 'pass'], ['cursors advanced', 'pass'], ['no throttle violation', 'pass'],
    ]);
    expect(t.timeline[0]).toMatchObject({ stage: 'start', event: 'run started' });
    expect(t.timeline.at(-1)).toMatchObject({ stage: 'end', event: 'run succeeded' });
  });

  it('the Validation checklist is computed: a 429, a row issue, counts that differ and a failure fail it', async () => {
    // A run recorded by hand through the run-tracking functions, as any tool would.
    const conn = await db.sql.reserve();
    let bad: number;
    try {
      const [{ run_id }] = await conn`select keap_meta.start_run('keap', 'test', 'hand-made') as run_id`;
      bad = Number(run_id);
      await conn`select keap_meta.log_event(${bad}, 'info', 'tags: full', 'plan', 'tags', ${conn.json({ traversal: 'full' })})`;
      await conn`select keap_meta.log_request(p_run_id => ${bad}, p_endpoint => '/rest/v2/tags', p_http_status => 429, p_attempt => 1,
                                              p_headers => ${conn.json({ 'retry-after': '2' })}, p_entity => 'tags', p_duration_ms => 5)`;
      await conn`select keap_meta.log_request(p_run_id => ${bad}, p_endpoint => '/rest/v2/tags', p_http_status => 200, p_attempt => 2,
                                              p_record_count => 3, p_entity => 'tags', p_duration_ms => 7)`;
      await conn`select keap_meta.record_issue(${bad}, 'tags', '7', 'name', 'x', 'bad name')`;
      await conn`select keap_meta.log_source_count(${bad}, 'tags', 10, 9)`;
      await conn`select keap_meta.end_run(${bad}, 'failed', 'KX001', 'tags merge exploded', 'tags')`;
    } finally {
      conn.release();
    }
    const { code, out } = await trace([String(bad), '--json']);
    expect(code).toBe(0);
    const t = JSON.parse(out) as Trace;
    const status = Object.fromEntries(t.validation.map((c) => [c.check, c.status]));
    expect(status).toEqual({
      'run status': 'fail', 'every entity merged': 'fail', 'source and warehouse counts agree': 'fail',
      'row issues': 'warn', 'cursors advanced': 'n/a', 'no throttle violation': 'fail',
    });
    const detail = Object.fromEntries(t.validation.map((c) => [c.check, c.detail]));
    expect(detail['run status']).toBe('failed: tags merge exploded (entity tags) [SQLSTATE KX001]');
    expect(detail['every entity merged']).toBe('not merged: tags (failed)');
    expect(detail['source and warehouse counts agree']).toBe('differ: tags Keap 10 vs warehouse 9');
    expect(detail['row issues']).toBe(`1 (tags 1): select * from keap_ops.recent_row_issues where run_id = ${bad}`);
    expect(t.timeline.map((r) => r.event)).toEqual(expect.arrayContaining([
      '429 throttled on /rest/v2/tags (attempt 1, Retry-After 2s)', 'retry 1 succeeded: /rest/v2/tags 200, 3 records',
    ]));
  });

  it('an unknown run id exits 1 with "run N not found" and the ten most recent runs', async () => {
    // start_run takes a session lock that end_run releases: one connection for both.
    const conn = await db.sql.reserve();
    try {
      for (let i = 0; i < 10; i++) {
        const [{ run_id }] = await conn`select keap_meta.start_run('pg:demo', 'test') as run_id`;
        await conn`select keap_meta.end_run(${run_id}, 'succeeded')`;
      }
    } finally {
      conn.release();
    }
    const { code, out } = await trace(['987654']);
    expect(code).toBe(1);
    expect(out).toContain('run 987654 not found');
    const listed = out.split('\n').filter((l) => /^\s+\d+ {2}\S+\s+(succeeded|failed|partial|cancelled|abandoned|running)\s+started \d{4}-/.test(l));
    expect(listed).toHaveLength(10);
    const [newest] = await db.sql`select max(run_id) as id from keap_meta.etl_run_log`;
    expect(listed[0]).toMatch(new RegExp(`^\\s+${newest.id} `));
  });

  it('a run id that is not a number is a usage error (exit 1)', async () => {
    const { code, out } = await trace(['yesterday']);
    expect(code).toBe(1);
    expect(out).toContain("'yesterday' is not a run id");
    const unknown = await trace(['latest', '--verbose']);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain("Unknown option '--verbose'");
  });
});
