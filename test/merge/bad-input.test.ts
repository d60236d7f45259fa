// Bad input never fails a merge and never loses data: the row is kept with the bad field null (or
// kept as received, for unknown enum values), a row issue names run, entity, key, field and raw
// value, and the raw page stays in staging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { issues, lastLog, merge, page, sampleRecords, stage, startRun, type Obj, type Run, sampleContact } from './fixtures/staging.ts';

let db: TestDb;
let run: Run;
beforeAll(async () => {
  db = await createTestDatabase('merge_bad_input');
  run = await startRun(db.sql);
});
afterAll(async () => {
  await run?.end();
  await db?.drop();
});

const contact = sampleContact;

async function issuesFor(key: string) {
  return db.sql`select field, raw_value, problem from keap_meta.row_issues where run_id = ${run.runId} and record_key = ${key} order by issue_id`;
}

describe('bad values in a record', () => {
  it('bad timestamps and dates: the row is kept with those fields null and one issue each', async () => {
    const c = contact('40001', { update_time: 'yesterday-ish', create_time: '2026-02-30T00:00:00Z', birth_date: '1986-13-45', anniversary_date: '' });
    const pageId = await stage(db.sql, 'contacts', run.runId, page('contacts', [c]));
    await merge(db.sql, 'contacts', run.runId);

    const [row] = await db.sql`select given_name, updated_at, created_at, birth_date, anniversary_date from keap.contacts where contact_id = 40001`;
    expect(row).toEqual({ given_name: 'Daniel', updated_at: null, created_at: null, birth_date: null, anniversary_date: null });
    const found = await db.sql`select field, raw_value, staged_page_id::int as page_id from keap_meta.row_issues where record_key = '40001' order by field`;
    expect(found).toEqual([
      { field: 'birth_date', raw_value: '1986-13-45', page_id: pageId },
      { field: 'create_time', raw_value: '2026-02-30T00:00:00Z', page_id: pageId },
      { field: 'update_time', raw_value: 'yesterday-ish', page_id: pageId },
    ]);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ inserted: 1, rejected: 3 });
  });

  it('timestamps never depend on the session time zone, and words like now / infinity are not timestamps', async () => {
    const [r] = await db.sql`
      select keap_meta.try_timestamptz('2026-09-14T08:05:17.412') as no_zone,
             keap_meta.try_timestamptz('2026-09-14T10:05:17.412+02:00') as offset,
             keap_meta.try_timestamptz('now') as now, keap_meta.try_timestamptz('infinity') as inf,
             keap_meta.try_date('2024-02-29') as leap, keap_meta.try_date('2023-02-29') as not_leap,
             keap_meta.try_bigint('9223372036854775808') as too_big, keap_meta.try_bigint(' 42 ') as ok_int`;
    expect(r.no_zone.toISOString()).toBe('2026-09-14T08:05:17.412Z');
    expect(r.offset.toISOString()).toBe('2026-09-14T08:05:17.412Z');
    expect(r).toMatchObject({ now: null, inf: null, not_leap: null, too_big: null, ok_int: 42 });
    expect(r.leap).toEqual(new Date('2024-02-29T00:00:00Z'));
  });

  it('unknown enum values: source_type and email_opt_status are kept as received with an issue; an unknown slot skips that item (the spec\'s *_UNSPECIFIED slot is kept)', async () => {
    const c = contact('40002', {
      source_type: 'CARRIER_PIGEON',
      email_addresses: [
        { email: 'a@x.test', field: 'EMAIL1', email_opt_status: 'SORT_OF_OPTED_IN' },
        { email: 'b@x.test', field: 'EMAIL9' },
        { email: 'c@x.test' },
        { email: 'd@x.test', field: 'EMAIL1' },
      ],
      phone_numbers: [{ number: '1', field: 'PHONE9' }, { number: '2', field: 'PHONE_NUMBER_FIELD_UNSPECIFIED' }],
    });
    await stage(db.sql, 'contacts', run.runId, page('contacts', [c]));
    await merge(db.sql, 'contacts', run.runId);

    const [row] = await db.sql`select source_type from keap.contacts where contact_id = 40002`;
    expect(row.source_type).toBe('CARRIER_PIGEON');
    expect(await db.sql`select field, email, email_opt_status from keap.contact_emails where contact_id = 40002`).toEqual([
      { field: 'EMAIL1', email: 'a@x.test', email_opt_status: 'SORT_OF_OPTED_IN' },
    ]);
    expect(await db.sql`select field, number from keap.contact_phones where contact_id = 40002`).toEqual([
      { field: 'PHONE_NUMBER_FIELD_UNSPECIFIED', number: '2' },
    ]);
    const found = await issuesFor('40002');
    expect(found.map((i) => [i.field, i.problem.split(';')[0]])).toEqual(
      expect.arrayContaining([
        ['source_type', 'unknown enum value (not in the Keap v2 spec)'],
        ['email_addresses[0].email_opt_status', 'unknown enum value (not in the Keap v2 spec)'],
        ['email_addresses[1].field', 'unknown e-mail slot'],
        ['email_addresses[2].field', 'e-mail without a slot (field)'],
        ['email_addresses[3].field', 'e-mail slot listed twice'],
        ['phone_numbers[0].field', 'unknown phone slot'],
      ]),
    );
    expect(found).toHaveLength(6);
    expect(found.find((i) => i.field === 'email_addresses[1].field')!.raw_value).toBe('{"email": "b@x.test", "field": "EMAIL9"}');
  });

  it('oversized values: a name over 1,000 characters and a custom field over 65,535 become null with an issue; values at the limit are kept', async () => {
    const longName = 'é'.repeat(1001);
    const atLimit = 'x'.repeat(1000);
    const bigText = 'a'.repeat(65536);
    const c = contact('40003', {
      given_name: longName, family_name: atLimit, billing_information: 'b'.repeat(65535),
      custom_fields: [{ id: '6', content: bigText }, { id: '14', content: 7 }, { id: 'nope', content: 'x' }],
    });
    await stage(db.sql, 'contacts', run.runId, page('contacts', [c]));
    await merge(db.sql, 'contacts', run.runId);

    const [row] = await db.sql`select given_name, length(family_name) as fam, length(billing_information) as bill, _raw ->> 'given_name' = ${longName} as raw_kept from keap.contacts where contact_id = 40003`;
    expect(row).toEqual({ given_name: null, fam: 1000, bill: 65535, raw_kept: true });
    expect(await db.sql`select custom_field_id, value from keap.contact_custom_fields where contact_id = 40003 order by 1`).toEqual([
      { custom_field_id: 6, value: null },
      { custom_field_id: 14, value: 7 },
    ]);
    const found = await issuesFor('40003');
    expect(found.map((i) => i.field)).toEqual(['given_name', 'custom_fields[0]', 'custom_fields[2]']);
    expect(found[0]!.problem).toMatch(/^longer than 1000 characters \(1001\)/);
    expect(found[0]!.raw_value).toBe(longName);
    expect(found[1]!.problem).toMatch(/custom field 6 value longer than 65535 characters \(65536\)/);
    expect(found[1]!.raw_value).toHaveLength(10000);
    expect(found[2]!.problem).toMatch(/without an integer id/);
  });

  it('a list that is not a list, or an object that is not an object, is read as empty with an issue', async () => {
    const c = contact('40009', { email_addresses: { email: 'x@y.test', field: 'EMAIL1' } as never, company: 'Acme' as never, tag_ids: '91,104' as never });
    await stage(db.sql, 'contacts', run.runId, page('contacts', [c]));
    await merge(db.sql, 'contacts', run.runId);
    const [row] = await db.sql`select company_id, company_name, _raw -> 'company' as raw_company from keap.contacts where contact_id = 40009`;
    expect(row).toEqual({ company_id: null, company_name: null, raw_company: 'Acme' });
    expect(await db.sql`select * from keap.contact_emails where contact_id = 40009`).toEqual([]);
    expect((await issuesFor('40009')).map((i) => [i.field, i.problem])).toEqual([
      ['company', 'not a JSON object; read as empty, kept in _raw'],
      ['email_addresses', 'not a JSON array; read as empty, kept in _raw'],
      ['tag_ids', 'not a JSON array; read as empty, kept in _raw'],
    ]);
  });

  it('records without a usable id are skipped with an issue; the rest of the page is merged', async () => {
    const noId = contact('x');
    delete noId.id;
    const pageId = await stage(db.sql, 'contacts', run.runId, page('contacts', [noId, contact('abc'), contact('40004'), 'just a string' as never]));
    await merge(db.sql, 'contacts', run.runId);

    expect(await db.sql`select contact_id from keap.contacts where contact_id = 40004`).toEqual([{ contact_id: 40004 }]);
    const found = await db.sql`select record_key, field, raw_value, problem from keap_meta.row_issues where staged_page_id = ${pageId} and entity = 'contacts' order by issue_id`;
    expect(found.map((f) => [f.record_key, f.field, f.problem.split(';')[0]])).toEqual([
      [null, 'id', 'record has no id'],
      [null, 'id', 'id is not an integer'],
      [null, 'id', 'record is not a JSON object'],
    ]);
    expect(found[1]!.raw_value).toBe('abc');
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ inserted: 1, rejected: 3, pages: 1 });
  });
});

describe('bad pages', () => {
  it('a raw body with \\u0000 escapes is parsed with them removed, and the fields that held them are named', async () => {
    const raw = JSON.stringify(page('contacts', [contact('40005', { given_name: 'Ana', email_addresses: [] }), contact('40006')]))
      .replace('"Ana"', '"A\\u0000na"')
      .replace('"dan.gonzalez@mail.example"', '"dan\\u0000@mail.example"')
      // An escaped backslash followed by "u0000" is text, not a NUL.
      .replace('"Gonzalez"', '"Gonz\\\\u0000alez"');
    const pageId = await stage(db.sql, 'contacts', run.runId, null, { raw });
    await merge(db.sql, 'contacts', run.runId);

    const rows = await db.sql`select contact_id, given_name, family_name from keap.contacts where contact_id in (40005, 40006) order by 1`;
    expect(rows).toEqual([
      { contact_id: 40005, given_name: 'Ana', family_name: 'Gonz\\u0000alez' },
      { contact_id: 40006, given_name: 'Daniel', family_name: 'Gonzalez' },
    ]);
    expect(await db.sql`select email from keap.contact_emails where contact_id = 40006`).toEqual([{ email: 'dan@mail.example' }]);
    const found = await db.sql`select record_key, field, raw_value from keap_meta.row_issues where staged_page_id = ${pageId} and entity = 'contacts' order by record_key, field`;
    expect(found).toEqual([
      { record_key: '40005', field: 'given_name', raw_value: '"A\\u0000na"' },
      { record_key: '40006', field: 'email_addresses', raw_value: expect.stringContaining('dan\\u0000@mail.example') },
    ]);
    const [staged] = await db.sql`select payload, raw_body = ${raw} as raw_kept, merged_at is not null as merged from keap_staging.contacts where page_id = ${pageId}`;
    expect(staged).toEqual({ payload: null, raw_kept: true, merged: true });
  });

  it('an unparseable raw body records one issue for the page, keeps it in staging, and the other pages still merge', async () => {
    const bad = await stage(db.sql, 'contacts', run.runId, null, { raw: '{"contacts": [{"id": "40007", "given_name": "Trunc' });
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact('40008')]), { pageNo: 2 });
    await merge(db.sql, 'contacts', run.runId);

    expect(await db.sql`select contact_id from keap.contacts where contact_id in (40007, 40008)`).toEqual([{ contact_id: 40008 }]);
    const found = await db.sql`select record_key, field, raw_value, problem from keap_meta.row_issues where staged_page_id = ${bad} and entity = 'contacts'`;
    expect(found).toEqual([{ record_key: null, field: 'page', raw_value: '{"contacts": [{"id": "40007", "given_name": "Trunc', problem: expect.stringMatching(/^page body is not valid JSON/) }]);
    const [staged] = await db.sql`select raw_body from keap_staging.contacts where page_id = ${bad}`;
    expect(staged.raw_body).toContain('Trunc');
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ inserted: 1, rejected: 1, pages: 2 });
  });

  it('a page that is not an object, or whose collection is not an array, is an issue too; a missing collection is an empty page', async () => {
    await stage(db.sql, 'contacts', run.runId, [1, 2] as never);
    await stage(db.sql, 'contacts', run.runId, { contacts: { id: '1' } });
    await stage(db.sql, 'contacts', run.runId, { next_page_token: '' });
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ inserted: 0, rejected: 2, pages: 3 });
  });
});

describe('the run', () => {
  it('is still running after all of that, and end_run totals the rejected counts from the merge log', async () => {
    const [r] = await db.sql`select status from keap_meta.etl_run_log where run_id = ${run.runId}`;
    expect(r.status).toBe('running');
    const [{ n }] = await db.sql`select sum(rejected_count)::int as n from keap_meta.merge_log where run_id = ${run.runId}`;
    expect(n).toBe((await issues(db.sql, run.runId)).length);
    expect(n).toBeGreaterThan(10);
  });
});
