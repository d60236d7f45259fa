// History (keap_history): the generated merges close a version for every changed row, in the same
// transaction, and nothing for an unchanged one; the clock is the record's update time (else when the
// warehouse saw the change) and intervals of a key never overlap; deletes and revivals are
// transitions; child collections (e-mails, tags) have intervals too; the as-of functions return the
// version valid at any instant; a killed merge leaves no trace; a toy entity declared only as data
// gets history from its migration's one line per table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../scripts/lib/migrate.ts';
import { spawnTs } from '../helpers/child.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { lastLog, merge, page, sampleRecords, stage, startRun, type Obj } from './fixtures/staging.ts';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDatabase('history');
});
afterAll(async () => {
  await db?.drop();
});

const T = (iso: string) => new Date(iso);

function contact(id: number, over: Obj = {}): Obj {
  const [, daniel] = sampleRecords('contacts');
  return {
    ...daniel!, id: String(id), given_name: `C${id}`, owner_id: '7', tag_ids: [], custom_fields: [],
    email_addresses: [{ email: `c${id}@example.com`, field: 'EMAIL1' }], update_time: '2026-01-01T00:00:00.000Z', ...over,
  };
}

/** Stages the records as one page of a run of their own and merges them (a sync run). */
async function sync(records: Obj[], opts: { full?: boolean } = {}) {
  const run = await startRun(db.sql);
  try {
    if (opts.full) await db.sql`select keap_meta.begin_full_sweep('contacts', ${run.runId})`;
    await stage(db.sql, 'contacts', run.runId, page('contacts', records), { traversal: opts.full ? 'full' : 'incremental' });
    await merge(db.sql, 'contacts', run.runId, opts.full ?? false);
    return { runId: run.runId, log: await lastLog(db.sql, run.runId, 'contacts') };
  } finally {
    await run.end();
  }
}

/** Every live contact's last raw record (so a full listing changes nothing but what a test says). */
async function liveRecords(except: number[] = []): Promise<Obj[]> {
  const rows = await db.sql`select _raw from keap.contacts where _deleted_at is null and contact_id <> all (${except}) order by contact_id`;
  return rows.map((r) => r._raw as Obj);
}

async function historyRows(): Promise<number> {
  const [r] = await db.sql`
    select (select count(*) from keap_history.contacts) + (select count(*) from keap_history.contact_emails)
         + (select count(*) from keap_history.contact_phones) + (select count(*) from keap_history.contact_addresses)
         + (select count(*) from keap_history.contact_custom_fields) + (select count(*) from keap_history.contact_tags) as n`;
  return Number(r!.n);
}

/** Pairs of versions of one key whose intervals overlap, across the closed and current versions. */
async function overlaps(view: string, key: string[]): Promise<number> {
  const on = key.map((k) => `a.${k} = b.${k}`).join(' and ');
  const [r] = await db.sql.unsafe(`
    select count(*)::int as n from keap_history.${view} a join keap_history.${view} b on ${on}
     where (a._valid_from, a._valid_to) <> (b._valid_from, b._valid_to)
       and tstzrange(a._valid_from, a._valid_to) && tstzrange(b._valid_from, b._valid_to)`);
  return r!.n as number;
}

describe('every keap table', () => {
  it('has its history table, a _versions view and an _as_of function, and every declared entity but tagged_contacts keeps history', async () => {
    const missing = await db.sql`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'keap' and c.relkind = 'r' and exists (select from pg_index i where i.indrelid = c.oid and i.indisprimary)
         and (to_regclass('keap_history.' || c.relname) is null or to_regclass('keap_history.' || c.relname || '_versions') is null
              or to_regprocedure('keap_history.' || c.relname || '_as_of(timestamptz)') is null)`;
    expect(missing).toEqual([]);
    const off = await db.sql`select entity from keap_meta.entities where not has_history order by entity`;
    expect(off.map((e) => e.entity)).toEqual(['tagged_contacts']);
  });
});

describe('a contact changed three times', () => {
  const at = ['2026-01-10T00:00:00Z', '2026-02-10T00:00:00Z', '2026-03-10T00:00:00Z', '2026-04-10T00:00:00Z'];
  const owners = ['11', '12', '13', '14'];

  it('gives three closed versions and the current one, each starting at its update time in Keap', async () => {
    for (let i = 0; i < 4; i++) {
      await sync([contact(101, { owner_id: owners[i]!, update_time: at[i]!, email_addresses: [{ email: `v${i}@example.com`, field: 'EMAIL1' }] })]);
    }
    const versions = await db.sql`
      select owner_id::text, _valid_from, _valid_to = 'infinity' as open_ended, _valid_to, _ended_by, _is_current
        from keap_history.contacts_versions where contact_id = 101 order by _valid_from`;
    expect(versions.map(({ _valid_to, ...v }) => ({ ...v, _valid_to: v.open_ended ? null : _valid_to }))).toEqual([
      { owner_id: '11', _valid_from: T(at[0]!), _valid_to: T(at[1]!), open_ended: false, _ended_by: 'changed', _is_current: false },
      { owner_id: '12', _valid_from: T(at[1]!), _valid_to: T(at[2]!), open_ended: false, _ended_by: 'changed', _is_current: false },
      { owner_id: '13', _valid_from: T(at[2]!), _valid_to: T(at[3]!), open_ended: false, _ended_by: 'changed', _is_current: false },
      { owner_id: '14', _valid_from: T(at[3]!), _valid_to: null, open_ended: true, _ended_by: null, _is_current: true },
    ]);
    const [h] = await db.sql`select count(*)::int as n from keap_history.contacts where contact_id = 101`;
    expect(h!.n).toBe(3);
  });

  it('the as-of functions return the right owner and e-mail at every instant in between', async () => {
    const probes: [string, string | null, string | null][] = [
      ['2026-01-09T23:59:59.999Z', null, null],
      [at[0]!, '11', 'v0@example.com'],
      ['2026-01-31T12:00:00Z', '11', 'v0@example.com'],
      ['2026-02-09T23:59:59.999999Z', '11', 'v0@example.com'],
      [at[1]!, '12', 'v1@example.com'],
      ['2026-03-01T00:00:00Z', '12', 'v1@example.com'],
      [at[2]!, '13', 'v2@example.com'],
      ['2026-04-09T23:59:59Z', '13', 'v2@example.com'],
      [at[3]!, '14', 'v3@example.com'],
      ['2030-01-01T00:00:00Z', '14', 'v3@example.com'],
    ];
    for (const [instant, owner, email] of probes) {
      const rows = await db.sql`
        select c.owner_id::text as owner, e.email
          from keap_history.contacts_as_of(${instant}::timestamptz) c
          left join keap_history.contact_emails_as_of(${instant}::timestamptz) e on e.contact_id = c.contact_id and e.field = 'EMAIL1'
         where c.contact_id = 101`;
      expect(rows, instant).toEqual(owner ? [{ owner, email }] : []);
    }
  });

  it('a re-run with no change writes nothing to keap_history (nor to keap)', async () => {
    const before = await historyRows();
    const [x] = await db.sql`select xmin::text as xmin from keap.contacts where contact_id = 101`;
    const { log } = await sync([contact(101, { owner_id: '14', update_time: at[3]!, email_addresses: [{ email: 'v3@example.com', field: 'EMAIL1' }] })]);
    expect(log).toMatchObject({ inserted: 0, updated: 0, unchanged: 1 });
    expect(await historyRows()).toBe(before);
    expect(await db.sql`select xmin::text as xmin from keap.contacts where contact_id = 101`).toEqual([x]);
  });

  it('a change whose update time did not move, or went backwards, starts when the warehouse saw it, after the previous start', async () => {
    const { runId } = await sync([contact(101, { owner_id: '15', update_time: at[3]!, email_addresses: [{ email: 'v3@example.com', field: 'EMAIL1' }] })]);
    await sync([contact(101, { owner_id: '16', update_time: '2025-12-01T00:00:00Z', email_addresses: [{ email: 'v3@example.com', field: 'EMAIL1' }] })]);
    const [r] = await db.sql`select started_at from keap_meta.etl_run_log where run_id = ${runId}`;
    const v = await db.sql`select owner_id::text, _valid_from, _valid_to from keap_history.contacts_versions where contact_id = 101 order by _valid_from`;
    expect(v.map((x) => x.owner_id)).toEqual(['11', '12', '13', '14', '15', '16']);
    expect(v[4]!._valid_from.getTime()).toBeGreaterThanOrEqual((r!.started_at as Date).getTime());
    expect(v[5]!._valid_from.getTime()).toBeGreaterThan(v[4]!._valid_from.getTime());
    expect(await overlaps('contacts_versions', ['contact_id'])).toBe(0);
    // the e-mail did not change: its version goes on from the fourth contact version
    expect(await db.sql`select email, _valid_from from keap_history.contact_emails_versions where contact_id = 101 and _is_current`)
      .toEqual([{ email: 'v3@example.com', _valid_from: T(at[3]!) }]);
  });
});

describe('deletes and revivals', () => {
  it('delete, re-delete and revive give exactly two intervals', async () => {
    await sync([contact(201, { update_time: '2026-05-01T00:00:00Z' })]);
    const del = await sync(await liveRecords([201]), { full: true });
    expect(del.log.deleted).toBe(1);
    const again = await sync(await liveRecords([201]), { full: true });
    expect(again.log.deleted).toBe(0);
    await sync([contact(201, { update_time: '2026-05-01T00:00:00Z' })]);

    const v = await db.sql`
      select _valid_from, _valid_to, _ended_by, _ended_run_id, _is_current from keap_history.contacts_versions
       where contact_id = 201 order by _valid_from`;
    expect(v).toHaveLength(2);
    expect(v[0]).toMatchObject({ _valid_from: T('2026-05-01T00:00:00Z'), _ended_by: 'deleted', _ended_run_id: del.runId, _is_current: false });
    const [d] = await db.sql`select started_at from keap_meta.etl_run_log where run_id = ${del.runId}`;
    expect(v[0]!._valid_to.getTime()).toBeGreaterThanOrEqual((d!.started_at as Date).getTime());
    expect(v[1]).toMatchObject({ _is_current: true, _ended_by: null });
    // revived with the same update time: it starts when the warehouse saw it again, after the deletion
    expect(v[1]!._valid_from.getTime()).toBeGreaterThanOrEqual(v[0]!._valid_to.getTime());
    // while deleted, it was not there
    const gap = new Date((v[0]!._valid_to.getTime() + v[1]!._valid_from.getTime()) / 2);
    if (v[1]!._valid_from.getTime() > v[0]!._valid_to.getTime()) {
      expect(await db.sql`select 1 from keap_history.contacts_as_of(${gap}) where contact_id = 201`).toEqual([]);
    }
    expect(await overlaps('contacts_versions', ['contact_id'])).toBe(0);
  });
});

describe('child collections', () => {
  it('a tag removed and applied again gives two intervals; applied_at arriving later makes no version', async () => {
    await sync([contact(301, { tag_ids: ['10', '11'], update_time: '2026-06-01T00:00:00Z' })]);
    const tagRun = await startRun(db.sql);
    await stage(db.sql, 'tagged_contacts', tagRun.runId, page('tagged_contacts', [{ id: '301', applied_time: '2026-05-31T09:00:00Z' }]), { parentKey: '11' });
    await merge(db.sql, 'tagged_contacts', tagRun.runId);
    await tagRun.end();
    await sync([contact(301, { tag_ids: ['10'], update_time: '2026-06-02T00:00:00Z' })]);
    await sync([contact(301, { tag_ids: ['10', '11'], update_time: '2026-06-03T00:00:00Z' })]);

    const v = await db.sql`
      select tag_id::int, applied_at, _valid_from, _valid_to, _ended_by from keap_history.contact_tags_versions
       where contact_id = 301 order by tag_id, _valid_from`;
    expect(v.map(({ _valid_to, ...x }) => ({ ...x, open: !Number.isFinite(_valid_to.getTime()) }))).toEqual([
      { tag_id: 10, applied_at: null, _valid_from: T('2026-06-01T00:00:00Z'), _ended_by: null, open: true },
      { tag_id: 11, applied_at: T('2026-05-31T09:00:00Z'), _valid_from: T('2026-06-01T00:00:00Z'), _ended_by: 'deleted', open: false },
      { tag_id: 11, applied_at: null, _valid_from: T('2026-06-03T00:00:00Z'), _ended_by: null, open: true },
    ]);
    expect(v[1]!._valid_to).toEqual(T('2026-06-02T00:00:00Z'));
    expect(await db.sql`select tag_id::int from keap_history.contact_tags_as_of('2026-06-02T12:00:00Z') where contact_id = 301`).toEqual([{ tag_id: 10 }]);
  });

  it('an e-mail changed, removed and added back gives one version per value, aligned with the contact\'s versions', async () => {
    const e = (email: string) => [{ email, field: 'EMAIL1' }, { email: 'second@example.com', field: 'EMAIL2' }];
    await sync([contact(302, { email_addresses: e('a@example.com'), update_time: '2026-07-01T00:00:00Z' })]);
    await sync([contact(302, { email_addresses: e('b@example.com'), update_time: '2026-07-02T00:00:00Z' })]);
    await sync([contact(302, { email_addresses: [{ email: 'second@example.com', field: 'EMAIL2' }], update_time: '2026-07-03T00:00:00Z' })]);
    await sync([contact(302, { email_addresses: e('c@example.com'), update_time: '2026-07-04T00:00:00Z' })]);
    const v = await db.sql`
      select field, email, _valid_from, _ended_by, _is_current from keap_history.contact_emails_versions
       where contact_id = 302 order by field, _valid_from`;
    expect(v).toEqual([
      { field: 'EMAIL1', email: 'a@example.com', _valid_from: T('2026-07-01T00:00:00Z'), _ended_by: 'changed', _is_current: false },
      { field: 'EMAIL1', email: 'b@example.com', _valid_from: T('2026-07-02T00:00:00Z'), _ended_by: 'deleted', _is_current: false },
      { field: 'EMAIL1', email: 'c@example.com', _valid_from: T('2026-07-04T00:00:00Z'), _ended_by: null, _is_current: true },
      { field: 'EMAIL2', email: 'second@example.com', _valid_from: T('2026-07-01T00:00:00Z'), _ended_by: null, _is_current: true },
    ]);
    expect(await overlaps('contact_emails_versions', ['contact_id', 'field'])).toBe(0);
  });
});

describe('intervals never overlap', () => {
  it('the history tables refuse an overlapping or empty interval', async () => {
    const [h] = await db.sql`select * from keap_history.contacts where contact_id = 101 order by _valid_from limit 1`;
    await expect(db.sql`
      insert into keap_history.contacts (contact_id, _valid_from, _valid_to, _ended_by)
      values (101, ${h!._valid_from as Date}::timestamptz + interval '1 second', ${h!._valid_to as Date}::timestamptz + interval '1 day', 'changed')`)
      .rejects.toMatchObject({ code: '23P01' });
    await expect(db.sql`insert into keap_history.contacts (contact_id, _valid_from, _valid_to, _ended_by) values (999, '2026-01-02', '2026-01-01', 'changed')`)
      .rejects.toMatchObject({ code: '23514' });
  });

  it('a merge killed before it commits leaves no version behind, and the next one writes exactly one', async () => {
    const before = await historyRows();
    const run = await startRun(db.sql);
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact(101, { owner_id: '99', update_time: '2026-08-01T00:00:00Z', email_addresses: [{ email: 'v3@example.com', field: 'EMAIL1' }] })]));
    const child = spawnTs('test/fixtures/merge-and-hang.ts', [String(run.runId)], { DATABASE_URL: db.url });
    try {
      await child.waitFor(/merged, holding the transaction/);
      child.proc.kill('SIGKILL');
      await child.exit;
      // the server notices the dead client and rolls its transaction back
      for (let i = 0; i < 200; i++) {
        const [a] = await db.sql`select count(*)::int as n from pg_stat_activity where application_name = 'keap-test merge-and-hang'`;
        if (a!.n === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await historyRows()).toBe(before);
      expect(await db.sql`select owner_id::text from keap.contacts where contact_id = 101`).toEqual([{ owner_id: '16' }]);
      await merge(db.sql, 'contacts', run.runId);
    } finally {
      await run.end();
    }
    expect(await historyRows()).toBe(before + 1);
    expect(await overlaps('contacts_versions', ['contact_id'])).toBe(0);
    expect(await db.sql`select owner_id::text from keap_history.contacts_as_of(clock_timestamp()) where contact_id = 101`).toEqual([{ owner_id: '99' }]);
  });
});

describe('a toy entity declared only as data', () => {
  const TOY = `
    create table keap.gadgets (gadget_id bigint primary key, name text, updated_at timestamptz, _run_id bigint,
      _synced_at timestamptz not null default now(), _first_seen_at timestamptz not null default now(),
      _deleted_at timestamptz, _raw jsonb not null, _raw_hash bigint generated always as (jsonb_hash_extended(_raw, 0)) stored);
    create table keap.gadget_parts (gadget_id bigint not null, slot text not null, part_name text,
      _run_id bigint, _synced_at timestamptz not null default now(), primary key (gadget_id, slot));
    select keap_meta.create_staging_table('gadgets');
    insert into keap_meta.entities (entity, target_table, sync_order, description) values ('gadgets', 'keap.gadgets', 901, 'GET /gadgets (test entity)');`;
  const DECLARE = `
    select keap_meta.declare_entity('gadgets', p_key_column => 'gadget_id', p_collection => 'gadgets');
    insert into keap_meta.entity_columns (entity, column_name, json_path, data_type, size, change_marker) values
      ('gadgets', 'name', 'name', 'text', 'short', false), ('gadgets', 'updated_at', 'update_time', 'timestamptz', null, true);
    insert into keap_meta.entity_children (entity, child, target_table, json_path, kind, parent_column, key_column, slot_path, slots, noun) values
      ('gadgets', 'parts', 'keap.gadget_parts', 'parts', 'slots', 'gadget_id', 'slot', 'slot', '{LEFT,RIGHT}', 'part');
    insert into keap_meta.entity_columns (entity, child, column_name, json_path, data_type, size) values ('gadgets', 'parts', 'part_name', 'name', 'text', 'short');`;

  it('without its history tables the merge is refused with a declaration error that says the one line to add', async () => {
    await db.sql.unsafe(TOY);
    await db.sql.unsafe(DECLARE);
    await expect(db.sql`select keap_meta.generate_merge('gadgets')`).rejects.toMatchObject({
      code: 'KR005', message: 'entity gadgets keeps history but keap_history.gadgets does not exist',
      hint: expect.stringContaining(`select keap_meta.create_history_table('keap.gadgets');`),
    });
  });

  it('with the one line per table, it merges with history and gets its views from the next deploy', async () => {
    await db.sql`select keap_meta.create_history_table(t) from unnest('{keap.gadgets,keap.gadget_parts}'::regclass[]) t`;
    await db.sql`select keap_meta.generate_merge('gadgets')`;
    await migrate(db.sql, { forceRepeatable: true });
    const run = await startRun(db.sql);
    const put = async (name: string, t: string, part: string) => {
      await db.sql.unsafe(`insert into keap_staging.gadgets (run_id, page_no, traversal, payload) values ($1, 1, 'incremental', $2::text::jsonb)`,
        [run.runId, JSON.stringify({ gadgets: [{ id: '1', name, update_time: t, parts: [{ slot: 'LEFT', name: part }] }] })]);
      await db.sql`call keap.merge_gadgets(${run.runId}, false)`;
    };
    await put('first', '2026-01-01T00:00:00Z', 'bolt');
    await put('second', '2026-02-01T00:00:00Z', 'bolt');
    await put('second', '2026-02-01T00:00:00Z', 'bolt');
    await put('third', '2026-03-01T00:00:00Z', 'nut');
    await run.end();
    expect(await db.sql`select name, _ended_by from keap_history.gadgets_versions order by _valid_from`).toEqual([
      { name: 'first', _ended_by: 'changed' }, { name: 'second', _ended_by: 'changed' }, { name: 'third', _ended_by: null },
    ]);
    expect(await db.sql`select part_name, _valid_from from keap_history.gadget_parts_as_of('2026-02-15') where gadget_id = 1`)
      .toEqual([{ part_name: 'bolt', _valid_from: T('2026-01-01T00:00:00Z') }]);
    const [c] = await db.sql`select obj_description('keap_history.gadgets_versions'::regclass, 'pg_class') as v,
                                    obj_description('keap_history.gadgets_as_of(timestamptz)'::regprocedure, 'pg_proc') as f`;
    expect(c!.v).toMatch(/Every version of the rows of keap.gadgets/);
    expect(c!.f).toMatch(/as they were at the instant p_at/);
  });
});

describe('a child kind that does not set the history clock itself', () => {
  it('gets it from the fix-up step: unchanged values keep their start, changed ones start with the parent version', async () => {
    // Simulate a kind without history support: the step generated as if history were off.
    await db.sql.unsafe(`
      alter function keap_meta.child_merge_sql(text, text, text, boolean) rename to child_merge_sql_real;
      create function keap_meta.child_merge_sql(p_entity text, p_parent_key text, p_child text, p_history boolean default false)
      returns text language sql as $$ select keap_meta.child_merge_sql_real(p_entity, p_parent_key, p_child, false) $$;
      select keap_meta.generate_merge('gadgets');
      drop function keap_meta.child_merge_sql(text, text, text, boolean);
      alter function keap_meta.child_merge_sql_real(text, text, text, boolean) rename to child_merge_sql;`);
    const [p] = await db.sql`select pg_get_functiondef('keap.merge_gadgets(bigint, boolean)'::regprocedure) as def`;
    expect(p!.def).toContain('history clock: this kind');
    const run = await startRun(db.sql);
    const put = async (name: string, t: string, parts: Obj[]) => {
      await db.sql.unsafe(`insert into keap_staging.gadgets (run_id, page_no, traversal, payload) values ($1, 1, 'incremental', $2::text::jsonb)`,
        [run.runId, JSON.stringify({ gadgets: [{ id: '2', name, update_time: t, parts }] })]);
      await db.sql`call keap.merge_gadgets(${run.runId}, false)`;
    };
    await put('a', '2026-01-01T00:00:00Z', [{ slot: 'LEFT', name: 'bolt' }, { slot: 'RIGHT', name: 'nut' }]);
    await put('b', '2026-02-01T00:00:00Z', [{ slot: 'LEFT', name: 'bolt' }, { slot: 'RIGHT', name: 'washer' }]);
    await put('c', '2026-03-01T00:00:00Z', [{ slot: 'RIGHT', name: 'washer' }]);
    await run.end();
    expect(await db.sql`select slot, part_name, _valid_from, _ended_by from keap_history.gadget_parts_versions where gadget_id = 2 order by slot, _valid_from`).toEqual([
      { slot: 'LEFT', part_name: 'bolt', _valid_from: T('2026-01-01T00:00:00Z'), _ended_by: 'deleted' },
      { slot: 'RIGHT', part_name: 'nut', _valid_from: T('2026-01-01T00:00:00Z'), _ended_by: 'changed' },
      { slot: 'RIGHT', part_name: 'washer', _valid_from: T('2026-02-01T00:00:00Z'), _ended_by: null },
    ]);
    await db.sql`select keap_meta.generate_merge('gadgets')`;
  });
});

describe('the README History queries', () => {
  /** The statements of the README's History sql block, those whose tables exist here (orders and opportunities come with their entities). */
  async function readmeQueries(): Promise<string[]> {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## History'), readme.indexOf('\n## ', readme.indexOf('## History') + 5));
    const block = section.slice(section.indexOf('```sql') + 6, section.indexOf('```', section.indexOf('```sql') + 6));
    const statements = block.replace(/--.*$/gm, '').split(';').map((q) => q.trim()).filter(Boolean);
    const out: string[] = [];
    for (const q of statements) {
      const rels = [...q.matchAll(/\b(keap(?:_history)?\.[a-z_]+)\b(?!\s*\()/g)].map((m) => m[1]!);
      const [ok] = await db.sql`select coalesce(bool_and(to_regclass(r) is not null), true) as ok from unnest(${rels}::text[]) r`;
      if (ok!.ok) out.push(q);
    }
    return out;
  }

  it('run, and answer who owned a contact in March and which tags were removed last week', async () => {
    await sync([contact(42, { owner_id: '1', update_time: '2026-02-20T00:00:00Z' })]);
    await sync([contact(42, { owner_id: '2', update_time: '2026-03-10T00:00:00Z' })]);
    await sync([contact(42, { owner_id: '3', update_time: '2026-04-05T00:00:00Z' })]);
    const lastWeek = new Date(Date.now() - 7 * 86400_000);
    const [w] = await db.sql`select date_trunc('week', now()) - interval '1 week' + interval '2 days' as t`;
    await sync([contact(43, { tag_ids: ['10', '11'], update_time: new Date(lastWeek.getTime() - 30 * 86400_000).toISOString() })]);
    await sync([contact(43, { tag_ids: ['10'], update_time: (w!.t as Date).toISOString() })]);

    const queries = await readmeQueries();
    expect(queries.length).toBeGreaterThanOrEqual(4);
    const results = [];
    for (const q of queries) results.push(await db.sql.unsafe(q));
    expect(results[0]!.map((r) => String(r.owner_id))).toEqual(['1', '2']);
    expect(String(results[1]![0]!.owner_id)).toBe('2');
    expect(results[2]!.filter((r) => r.contact_id === 43).map((r) => Number(r.tag_id))).toEqual([11]);
  });

  it('keap_ops.history_sizes shows each history beside its table and the entity that writes it', async () => {
    await db.sql`analyze keap_history.contacts`;
    const rows = await db.sql`select table_name, history_table, entities, has_history, version_estimate::int as versions
                                from keap_ops.history_sizes where table_name in ('keap.contacts', 'keap.contact_tags') order by 1`;
    expect(rows).toEqual([
      { table_name: 'keap.contact_tags', history_table: 'keap_history.contact_tags', entities: 'contacts', has_history: true, versions: expect.any(Number) },
      { table_name: 'keap.contacts', history_table: 'keap_history.contacts', entities: 'contacts', has_history: true, versions: expect.any(Number) },
    ]);
    expect(rows[1]!.versions).toBeGreaterThan(0);
  });

  it('as-of on one key and on a whole table can use the history indexes', async () => {
    const plans = await db.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      const one = await tx`explain select * from keap_history.contacts_as_of('2026-03-15') where contact_id = 42`;
      const all = await tx`explain select count(*) from keap_history.contacts_as_of('2026-03-15')`;
      return [one, all].map((p) => p.map((r) => r['QUERY PLAN']).join('\n'));
    });
    expect(plans[0]).toMatch(/contacts_no_overlap|contacts_during/);
    expect(plans[0]).toMatch(/contacts_pkey/);
    expect(plans[1]).toMatch(/contacts_during|contacts_no_overlap/);
  });
});
