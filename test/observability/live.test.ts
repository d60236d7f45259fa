// Live progress: a client LISTENing on keap_run_events during a real sync against the sandbox sees
// the run start, each entity's start, progress and finish in order, and the final event last; a
// failed run ends with run_failed; `npm run status -- --watch` on a non-TTY prints those events as
// plain lines and stops cleanly on Ctrl-C.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { RUN_EVENTS_CHANNEL, parsePayload, type RunEventPayload } from '../../scripts/lib/status.ts';
import { spawnTs } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig } from '../sync/helpers.ts';

let db: TestDb;
let sb: Sandbox;

const PAYLOAD_KEYS = ['at', 'data', 'entity', 'event_id', 'kind', 'level', 'message', 'pipeline', 'progress', 'run_id', 'stage', 'status', 'v'];

beforeAll(async () => {
  db = await createTestDatabase('obs_live');
  sb = await startSandbox({ contacts: 300, seed: 5, apiKeys: [API_KEY], latencyMs: 2, limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

/** Listen on the channel for the duration of fn; returns every payload received, in order. */
async function listenDuring<T>(fn: () => Promise<T>): Promise<{ events: RunEventPayload[]; raw: string[]; result: T | unknown }> {
  const raw: string[] = [];
  const listener = await db.sql.listen(RUN_EVENTS_CHANNEL, (text) => raw.push(text));
  let result: T | unknown;
  try {
    result = await fn().catch((e: unknown) => e);
    // Notifications are delivered asynchronously: wait for the run's last one.
    const deadline = Date.now() + 10_000;
    while (!raw.some((r) => /"kind": ?"run_(done|failed)"/.test(r)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  } finally {
    await listener.unlisten();
  }
  return { events: raw.map((r) => parsePayload(r)!).filter(Boolean), raw, result };
}

describe('the keap_run_events channel', () => {
  it('during a real sync, a listener sees run_started, then per entity started / progress / done in order, and run_done last', async () => {
    const { events, raw, result } = await listenDuring(() =>
      runSync({ db, config: sandboxConfig(sb, { KEAP_PAGE_SIZE: '50' }) }, { trigger: 'test' }),
    );
    const res = result as Awaited<ReturnType<typeof runSync>>;
    expect(res.status).toBe('succeeded');
    const mine = events.filter((e) => e.run_id === res.runId);
    expect(mine.length).toBe(events.length);

    // One payload shape: every key present on every kind, valid JSON under NOTIFY's limit.
    for (const e of mine) expect(Object.keys(e).sort()).toEqual(PAYLOAD_KEYS);
    expect(raw.every((r) => Buffer.byteLength(r) < 8000)).toBe(true);

    expect(mine[0]!.kind).toBe('run_started');
    expect(mine.at(-1)!.kind).toBe('run_done');
    expect(mine.at(-1)!.status).toBe('succeeded');
    expect(mine.at(-1)!.data).toMatchObject({ request_count: expect.any(Number), record_count: expect.any(Number) });

    // Per entity: started, then (for paged entities) progress, then done. Entities are synced side
    // by side (KEAP_SYNC_CONCURRENCY), so two entities' events interleave; one declared `after`
    // others starts only once they are done.
    const started = mine.filter((e) => e.kind === 'entity_started').map((e) => e.entity);
    const done = mine.filter((e) => e.kind === 'entity_done').map((e) => e.entity);
    expect([...started].sort()).toEqual(res.value.entities.map((e) => e.entity).sort());
    expect([...done].sort()).toEqual([...started].sort());
    const at = (kind: string, entity: string) => mine.findIndex((e) => e.kind === kind && e.entity === entity);
    for (const e of started) expect(at('entity_started', e!)).toBeLessThan(at('entity_done', e!));
    for (const dep of ['tags', 'contacts']) expect(at('entity_done', dep)).toBeLessThan(at('entity_started', 'tagged_contacts'));
    const contacts = res.value.entities.find((e) => e.entity === 'contacts')!;
    expect(contacts.pages).toBeGreaterThan(3);
    const iStart = mine.findIndex((e) => e.kind === 'entity_started' && e.entity === 'contacts');
    const iDone = mine.findIndex((e) => e.kind === 'entity_done' && e.entity === 'contacts');
    const progress = mine.slice(iStart, iDone).filter((e) => e.kind === 'progress' && e.progress?.entity === 'contacts');
    expect(progress.length).toBeGreaterThan(0);
    // Progress carries what a progress bar needs, completed in SQL from the request log.
    const p = progress.at(-1)!.progress!;
    expect(p).toMatchObject({ entity: 'contacts', traversal: 'full', pages: expect.any(Number), records: expect.any(Number) });
    expect(p.records_per_second).toBeGreaterThan(0);
    expect(p.quota_available).toBeGreaterThan(0);
    // Records only grow while an entity runs.
    const recs = progress.map((e) => e.progress!.records!);
    expect([...recs].sort((a, b) => a - b)).toEqual(recs);
    const doneEvent = mine[iDone]!;
    expect(doneEvent.data).toMatchObject({ pages: contacts.pages, records: contacts.records, inserted: contacts.inserted });
  });

  it('a failing run ends with run_failed carrying the error', async () => {
    const { events, result } = await listenDuring(() =>
      runSync({ db, config: sandboxConfig(sb, { KEAP_API_KEY: 'not-the-key' }) }, { trigger: 'test' }),
    );
    expect(result).toBeInstanceOf(Error);
    const last = events.at(-1)!;
    expect(last.kind).toBe('run_failed');
    expect(last.status).toBe('failed');
    expect(last.message).toMatch(/^run failed: /);
    expect(last.data.error_entity).toBe('contact_model');
  });

  it('npm run status -- --watch prints channel events as plain lines on a non-TTY and exits 0 on Ctrl-C', async () => {
    const child = spawnTs('scripts/status.ts', ['--watch'], { DATABASE_URL: db.url });
    try {
      await child.waitFor(/listening on keap_run_events/);
      sb.store.updateContact(Number(([...sb.store.list('contacts')] as { id: string }[])[0]!.id), { job_title: 'Watched' });
      const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
      await child.waitFor(new RegExp(`run ${res.runId} run_done succeeded`));
      const out = child.output();
      const lines = out.split('\n').filter((l) => l.includes(`run ${res.runId} `));
      expect(lines[0]).toMatch(/run_started/);
      expect(lines.findIndex((l) => / entity_done contacts/.test(l))).toBeGreaterThan(lines.findIndex((l) => / entity_started contacts/.test(l)));
      expect(lines.at(-1)).toMatch(/run_done succeeded: \d+ requests/);
      child.proc.kill('SIGINT');
      expect((await child.exit).code).toBe(0);
    } finally {
      if (child.proc.exitCode === null) child.proc.kill('SIGKILL');
    }
  });

  it('npm run status with an unknown option exits 1 and shows the usage', async () => {
    const child = spawnTs('scripts/status.ts', ['--follow'], { DATABASE_URL: db.url });
    expect((await child.exit).code).toBe(1);
    expect(child.output()).toMatch(/Unknown option '--follow'[\s\S]*Usage: npm run status/);
  });

  it('npm run status prints running runs, the last runs and freshness once', async () => {
    const child = spawnTs('scripts/status.ts', [], { DATABASE_URL: db.url });
    const { code } = await child.exit;
    expect(code).toBe(0);
    const out = child.output();
    expect(out).toMatch(/Running:\n {2}no run in progress/);
    expect(out).toMatch(/Last runs:\n\s+\d+ {2}keap {5}succeeded/);
    expect(out).toMatch(/contacts\s+\d{4}-\d\d-\d\dT[\d:.]+Z {2}lag\s+\d+ s {2}\(incremental, run \d+\)/);
  });
});
