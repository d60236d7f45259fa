// keap.merge_contacts: the core merge pattern on real v2 page shapes (SAMPLE-PAYLOADS.md) plus nasty
// data. Load pages, CALL, assert counts and values; CALL again, nothing changes; change one field,
// exactly one update; removed children disappear; duplicates keep the newest version.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { lastLog, merge, page, sampleRecords, stage, startRun, type Obj, type Run, sampleContact } from './fixtures/staging.ts';

let db: TestDb;
let run: Run;
beforeAll(async () => {
  db = await createTestDatabase('merge_contacts');
  run = await startRun(db.sql);
});
afterAll(async () => {
  await run?.end();
  await db?.drop();
});

const contact = sampleContact;

describe('the sample page', () => {
  it('inserts both contacts with their real fields, children and tags', async () => {
    await stage(db.sql, 'contacts', run.runId, page('contacts', sampleRecords('contacts')));
    await merge(db.sql, 'contacts', run.runId);

    expect(await lastLog(db.sql, run.runId, 'contacts')).toEqual({ inserted: 2, updated: 0, unchanged: 0, deleted: 0, rejected: 0, pages: 1 });
    const [maria] = await db.sql`select * from keap.contacts where contact_id = 10231`;
    expect(maria).toMatchObject({
      given_name: 'Maria', middle_name: 'L', family_name: 'Gonzalez', preferred_name: 'Mari', prefix: 'Ms.', suffix: null,
      job_title: 'Operations Manager', company_id: 512, company_name: 'Sunrise Dental Group', website: 'https://sunrisedental.example',
      spouse_name: null, contact_type: 'Customer', owner_id: 3, lead_source_id: 17, source_type: 'WEBFORM',
      origin_ip_address: '203.0.113.24', preferred_locale: 'en_US', time_zone: 'America/Phoenix', score_value: '3',
      created_by: 3, last_updated_by: 5, account_id: null, _deleted_at: null, _run_id: run.runId,
    });
    expect(maria.birth_date).toEqual(new Date('1986-04-12T00:00:00Z'));
    expect(maria.origin_at.toISOString()).toBe('2024-02-03T17:22:41.000Z');
    expect(maria.created_at.toISOString()).toBe('2024-02-03T17:22:41.000Z');
    expect(maria.updated_at.toISOString()).toBe('2026-09-14T08:05:17.412Z');
    expect(maria._raw.utm_parameters[0].utmSource).toBe('google');

    const emails = await db.sql`select contact_id, field, email, is_opt_in, opt_in_reason, email_opt_status from keap.contact_emails order by 1, 2`;
    expect(emails).toEqual([
      { contact_id: 10231, field: 'EMAIL1', email: 'maria@sunrisedental.example', is_opt_in: true, opt_in_reason: 'Web form: Newsletter signup', email_opt_status: 'SINGLE_OPT_IN' },
      { contact_id: 10231, field: 'EMAIL2', email: 'maria.g@mail.example', is_opt_in: false, opt_in_reason: null, email_opt_status: 'UNENGAGED_MARKETABLE' },
      { contact_id: 10240, field: 'EMAIL1', email: 'dan.gonzalez@mail.example', is_opt_in: false, opt_in_reason: null, email_opt_status: 'NON_MARKETABLE' },
    ]);
    const phones = await db.sql`select field, number, extension, type, number_e164 from keap.contact_phones where contact_id = 10231 order by field`;
    expect(phones).toEqual([
      { field: 'PHONE1', number: '(480) 555-0142', extension: '12', type: 'Work', number_e164: '+14805550142' },
      { field: 'PHONE2', number: '(602) 555-0199', extension: null, type: 'Mobile', number_e164: '+16025550199' },
    ]);
    const [addr] = await db.sql`select * from keap.contact_addresses where contact_id = 10231`;
    expect(addr).toMatchObject({ field: 'BILLING', line1: '1200 W Main St', line2: 'Suite 4', locality: 'Mesa', region: 'Arizona',
      region_code: 'US-AZ', country: 'United States', country_code: 'USA', postal_code: '85201', zip_code: '85201', zip_four: '1234' });
    // Null contents are left out: Daniel has no custom field rows.
    const cfs = await db.sql`select contact_id, custom_field_id, value from keap.contact_custom_fields order by 1, 2`;
    expect(cfs).toEqual([
      { contact_id: 10231, custom_field_id: 6, value: 'Front desk lead' },
      { contact_id: 10231, custom_field_id: 14, value: 32 },
      { contact_id: 10231, custom_field_id: 22, value: '2026-10-01T00:00:00.000Z' },
    ]);
    const tags = await db.sql`select contact_id, tag_id, applied_at from keap.contact_tags order by 1, 2`;
    expect(tags).toEqual([
      { contact_id: 10231, tag_id: 91, applied_at: null },
      { contact_id: 10231, tag_id: 104, applied_at: null },
      { contact_id: 10231, tag_id: 233, applied_at: null },
    ]);
    const [pg] = await db.sql`select count(*)::int as n from keap_staging.contacts where run_id = ${run.runId} and merged_at is null`;
    expect(pg.n).toBe(0);
  });

  it('a second CALL with no new pages changes nothing and logs zeros', async () => {
    const before = await db.sql`select contact_id, _synced_at, xmin::text as xmin from keap.contacts order by 1`;
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toEqual({ inserted: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0, pages: 0 });
    expect(await db.sql`select contact_id, _synced_at, xmin::text as xmin from keap.contacts order by 1`).toEqual(before);
  });

  it('the same page fetched again is all unchanged and writes nothing', async () => {
    const before = await db.sql`select contact_id, xmin::text as xmin from keap.contacts order by 1`;
    const emailsBefore = await db.sql`select contact_id, field, xmin::text as xmin from keap.contact_emails order by 1, 2`;
    await stage(db.sql, 'contacts', run.runId, page('contacts', sampleRecords('contacts')), { pageNo: 2 });
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toEqual({ inserted: 0, updated: 0, unchanged: 2, deleted: 0, rejected: 0, pages: 1 });
    expect(await db.sql`select contact_id, xmin::text as xmin from keap.contacts order by 1`).toEqual(before);
    expect(await db.sql`select contact_id, field, xmin::text as xmin from keap.contact_emails order by 1, 2`).toEqual(emailsBefore);
  });

  it('one changed field is exactly one update, and only that contact is rewritten', async () => {
    const [maria, daniel] = sampleRecords('contacts');
    maria!.job_title = 'Director of Operations';
    maria!.update_time = '2026-09-15T10:00:00.000Z';
    const [danielBefore] = await db.sql`select xmin::text as xmin, _synced_at from keap.contacts where contact_id = 10240`;
    await stage(db.sql, 'contacts', run.runId, page('contacts', [maria!, daniel!]), { pageNo: 3 });
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toEqual({ inserted: 0, updated: 1, unchanged: 1, deleted: 0, rejected: 0, pages: 1 });
    const [m] = await db.sql`select job_title, updated_at, _first_seen_at < _synced_at as rewritten from keap.contacts where contact_id = 10231`;
    expect(m.job_title).toBe('Director of Operations');
    expect(m.updated_at.toISOString()).toBe('2026-09-15T10:00:00.000Z');
    const [danielAfter] = await db.sql`select xmin::text as xmin, _synced_at from keap.contacts where contact_id = 10240`;
    expect(danielAfter).toEqual(danielBefore);
  });
});

describe('child collections', () => {
  it('a removed e-mail, phone, address, custom field value and tag disappear; kept tags keep applied_at', async () => {
    await db.sql`update keap.contact_tags set applied_at = '2026-09-03T15:31:20Z' where contact_id = 10231 and tag_id = 91`;
    const [maria] = sampleRecords('contacts');
    maria!.email_addresses = [(maria!.email_addresses as Obj[])[0]!];
    maria!.phone_numbers = [];
    delete maria!.addresses; // Keap omits empty lists
    maria!.custom_fields = [{ id: '6', content: 'Front desk lead' }, { id: '14', content: null }];
    maria!.tag_ids = ['91', '500'];
    await stage(db.sql, 'contacts', run.runId, page('contacts', [maria!]), { pageNo: 4 });
    await merge(db.sql, 'contacts', run.runId);

    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ updated: 1, rejected: 0 });
    expect(await db.sql`select field from keap.contact_emails where contact_id = 10231`).toEqual([{ field: 'EMAIL1' }]);
    expect(await db.sql`select field from keap.contact_phones where contact_id = 10231`).toEqual([]);
    expect(await db.sql`select field from keap.contact_addresses where contact_id = 10231`).toEqual([]);
    expect(await db.sql`select custom_field_id, value from keap.contact_custom_fields where contact_id = 10231`).toEqual([
      { custom_field_id: 6, value: 'Front desk lead' },
    ]);
    const tags = await db.sql`select tag_id, applied_at from keap.contact_tags where contact_id = 10231 order by tag_id`;
    expect(tags).toEqual([
      { tag_id: 91, applied_at: new Date('2026-09-03T15:31:20Z') },
      { tag_id: 500, applied_at: null },
    ]);
    // The other contact's children are untouched.
    expect(await db.sql`select field from keap.contact_emails where contact_id = 10240`).toEqual([{ field: 'EMAIL1' }]);
  });

  it('a tag removed without update_time moving still disappears (the raw record is part of the change check)', async () => {
    const [maria] = await db.sql`select _raw from keap.contacts where contact_id = 10231`;
    const rec = { ...(maria._raw as Obj), tag_ids: ['500'] };
    await stage(db.sql, 'contacts', run.runId, page('contacts', [rec]), { pageNo: 5 });
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ updated: 1 });
    expect(await db.sql`select tag_id from keap.contact_tags where contact_id = 10231`).toEqual([{ tag_id: 500 }]);
  });
});

describe('duplicates and nasty data', () => {
  it('a page set holding the same contact twice keeps the newest version', async () => {
    const older = contact('20001', { given_name: 'Old', update_time: '2026-09-01T00:00:00.000Z' });
    const newer = contact('20001', { given_name: 'New', update_time: '2026-09-02T00:00:00.000Z' });
    const sameTimeLaterPage = contact('20002', { given_name: 'First page', update_time: '2026-09-02T00:00:00.000Z' });
    const sameTimeLaterPage2 = contact('20002', { given_name: 'Second page', update_time: '2026-09-02T00:00:00.000Z' });
    await stage(db.sql, 'contacts', run.runId, page('contacts', [newer, sameTimeLaterPage]), { pageNo: 6 });
    await stage(db.sql, 'contacts', run.runId, page('contacts', [older, sameTimeLaterPage2]), { pageNo: 7 });
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toEqual({ inserted: 2, updated: 0, unchanged: 0, deleted: 0, rejected: 0, pages: 2 });
    const rows = await db.sql`select contact_id, given_name from keap.contacts where contact_id in (20001, 20002) order by 1`;
    expect(rows).toEqual([
      { contact_id: 20001, given_name: 'New' },
      { contact_id: 20002, given_name: 'Second page' },
    ]);
  });

  it('keeps accents, CJK, emoji, apostrophes and RTL text exactly; missing optional fields and empty lists are fine', async () => {
    const names = {
      given_name: 'Zoë-Renée', family_name: "O'Brien-Ñúñez", middle_name: '李小龍', preferred_name: '🦄 Uni 👩🏽‍💻',
      job_title: 'مدير العمليات', company: { id: '777', company_name: 'Café "Déjà vu" & Co.\\' },
    };
    const c = {
      id: '30001', ...names, email_addresses: [{ email: 'zoë@exämple.test', field: 'EMAIL1' }], phone_numbers: [], addresses: [],
      tag_ids: [], custom_fields: [{ id: '6', content: '日本語のメモ 📝' }, { id: '14', content: { nested: ['a', 1, true] } }],
      update_time: '2026-09-20T01:02:03Z',
    };
    const bare = { id: '30002' }; // nothing but an id
    await stage(db.sql, 'contacts', run.runId, page('contacts', [c, bare]), { pageNo: 8 });
    await merge(db.sql, 'contacts', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contacts')).toMatchObject({ inserted: 2, rejected: 0 });
    const [row] = await db.sql`select given_name, family_name, middle_name, preferred_name, job_title, company_id, company_name from keap.contacts where contact_id = 30001`;
    expect(row).toEqual({ ...names, company: undefined, company_id: 777, company_name: 'Café "Déjà vu" & Co.\\' } as never);
    expect(await db.sql`select email from keap.contact_emails where contact_id = 30001`).toEqual([{ email: 'zoë@exämple.test' }]);
    expect(await db.sql`select custom_field_id, value from keap.contact_custom_fields where contact_id = 30001 order by 1`).toEqual([
      { custom_field_id: 6, value: '日本語のメモ 📝' },
      { custom_field_id: 14, value: { nested: ['a', 1, true] } },
    ]);
    const [b] = await db.sql`select given_name, updated_at, _raw from keap.contacts where contact_id = 30002`;
    expect(b).toEqual({ given_name: null, updated_at: null, _raw: { id: '30002' } });
  });
});

describe('the caller owns the transaction', () => {
  it('several merges in one transaction work (each drops the previous working tables) and commit together', async () => {
    await stage(db.sql, 'contacts', run.runId, page('contacts', [contact('50001')]), { pageNo: 20 });
    await db.sql.begin(async (tx) => {
      await tx`call keap.merge_contacts(${run.runId}, false)`;
      await tx.unsafe(`insert into keap_staging.contacts (run_id, page_no, traversal, payload) values ($1, 21, 'incremental', $2::text::jsonb)`,
        [run.runId, JSON.stringify(page('contacts', [contact('50002')]))]);
      await tx`call keap.merge_contacts(${run.runId}, false)`;
      await tx`call keap.merge_tags(${run.runId}, false)`;
    });
    expect(await db.sql`select contact_id from keap.contacts where contact_id in (50001, 50002) order by 1`).toEqual([
      { contact_id: 50001 }, { contact_id: 50002 },
    ]);
  });
});

describe('the xmax = 0 trick (pinned)', () => {
  it('on this PostgreSQL, RETURNING (xmax = 0) is true for an inserted row and false for an updated one', async () => {
    const conn = await db.sql.reserve();
    try {
      await conn`create temporary table xmax_probe (k int primary key, v text)`;
      const first = await conn`insert into xmax_probe values (1, 'a') on conflict (k) do update set v = excluded.v returning (xmax = 0) as inserted`;
      const second = await conn`insert into xmax_probe values (1, 'b') on conflict (k) do update set v = excluded.v returning (xmax = 0) as inserted`;
      const skipped = await conn`insert into xmax_probe values (1, 'b') on conflict (k) do update set v = excluded.v
                                  where xmax_probe.v is distinct from excluded.v returning (xmax = 0) as inserted`;
      expect(first).toEqual([{ inserted: true }]);
      expect(second).toEqual([{ inserted: false }]);
      expect(skipped).toEqual([]);
      const [v] = await conn`select current_setting('server_version_num')::int as n`;
      expect(v.n).toBeGreaterThanOrEqual(140000);
    } finally {
      await conn`drop table if exists xmax_probe`;
      conn.release();
    }
  });
});
