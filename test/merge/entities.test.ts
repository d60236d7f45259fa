// The other merges of the contact family on the sample pages: the contact model (a snapshot with
// delete detection), tag categories, tags, companies and the per-tag contact listings (applied_at),
// plus the keap_ops views that watch them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { lastLog, merge, page, sampleRecords, samplePage, stage, startRun, type Obj, type Run } from './fixtures/staging.ts';
import { entityNames } from '../../scripts/lib/sync/entities.ts';

let db: TestDb;
let run: Run;
beforeAll(async () => {
  db = await createTestDatabase('merge_entities');
  run = await startRun(db.sql);
});
afterAll(async () => {
  await run?.end();
  await db?.drop();
});

describe('keap.merge_contact_model', () => {
  it('loads the custom field definitions of the contacts model', async () => {
    await stage(db.sql, 'contact_model', run.runId, samplePage('contact_model'));
    await merge(db.sql, 'contact_model', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contact_model')).toEqual({ inserted: 3, updated: 0, unchanged: 0, deleted: 0, rejected: 0, pages: 1 });
    const rows = await db.sql`select model, custom_field_id, label, field_name, field_type, record_type, default_value, group_id, group_name, options
                                from keap.custom_fields order by custom_field_id`;
    expect(rows[0]).toEqual({ model: 'contacts', custom_field_id: 6, label: 'Role notes', field_name: 'RoleNotes', field_type: 'TEXT',
      record_type: 'CONTACT', default_value: null, group_id: 2, group_name: 'Profile', options: [] });
    expect(rows.map((r) => r.field_type)).toEqual(['TEXT', 'WHOLE_NUMBER', 'DATE_TIME']);
  });

  it('a snapshot that no longer lists a field soft-deletes it; listing it again brings it back', async () => {
    const model = samplePage('contact_model');
    const fields = model.custom_fields as Obj[];
    model.custom_fields = fields.filter((f) => f.id !== '22');
    (model.custom_fields as Obj[]).push({ id: '30', label: 'Favourite colour 🎨', field_type: 'DROPDOWN', record_type: 'CONTACT',
      options: [{ id: '1', label: 'Bleu' }, { id: '2', label: '赤' }] });
    await stage(db.sql, 'contact_model', run.runId, model);
    await merge(db.sql, 'contact_model', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contact_model')).toEqual({ inserted: 1, updated: 0, unchanged: 2, deleted: 1, rejected: 0, pages: 1 });
    const [gone] = await db.sql`select _deleted_at is not null as deleted from keap.custom_fields where custom_field_id = 22`;
    expect(gone.deleted).toBe(true);
    const [sc] = await db.sql`select source_count::int, warehouse_count::int from keap_meta.source_counts where run_id = ${run.runId} and entity = 'contact_model'`;
    expect(sc).toEqual({ source_count: 3, warehouse_count: 3 });
    const [colour] = await db.sql`select options from keap.custom_fields where custom_field_id = 30`;
    expect(colour.options).toEqual([{ id: '1', label: 'Bleu' }, { id: '2', label: '赤' }]);

    await stage(db.sql, 'contact_model', run.runId, samplePage('contact_model'));
    await merge(db.sql, 'contact_model', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contact_model')).toMatchObject({ updated: 1, unchanged: 2, deleted: 1 });
    const live = await db.sql`select custom_field_id from keap.custom_fields where _deleted_at is null order by 1`;
    expect(live.map((r) => r.custom_field_id)).toEqual([6, 14, 22]);
  });

  it('an unknown field_type is kept with an issue; an unparseable snapshot deletes nothing', async () => {
    const model = samplePage('contact_model');
    (model.custom_fields as Obj[])[0]!.field_type = 'HOLOGRAM';
    await stage(db.sql, 'contact_model', run.runId, model);
    await stage(db.sql, 'contact_model', run.runId, null, { raw: '{"custom_fields": [' });
    await merge(db.sql, 'contact_model', run.runId);
    expect(await lastLog(db.sql, run.runId, 'contact_model')).toMatchObject({ updated: 1, deleted: 0, rejected: 3 });
    const [f] = await db.sql`select field_type from keap.custom_fields where custom_field_id = 6`;
    expect(f.field_type).toBe('HOLOGRAM');
    const live = await db.sql`select count(*)::int as n from keap.custom_fields where _deleted_at is null`;
    expect(live[0].n).toBe(3);
  });
});

describe('keap.merge_tag_categories and keap.merge_tags', () => {
  it('loads categories and tags with the category id of each tag, and the cursor of each', async () => {
    await stage(db.sql, 'tag_categories', run.runId, samplePage('tag_categories'));
    await merge(db.sql, 'tag_categories', run.runId);
    await stage(db.sql, 'tags', run.runId, samplePage('tags'));
    await merge(db.sql, 'tags', run.runId);

    const [cat] = await db.sql`select tag_category_id, name, description, created_at, updated_at from keap.tag_categories`;
    expect(cat).toEqual({ tag_category_id: 7, name: 'Customer status', description: 'Lifecycle tags',
      created_at: new Date('2021-03-01T09:58:00Z'), updated_at: new Date('2024-01-09T12:00:00Z') });
    expect(await db.sql`select tag_id, name, description, tag_category_id from keap.tags order by 1`).toEqual([
      { tag_id: 91, name: 'Customer - Active', description: 'Has at least one paid order in the last 12 months', tag_category_id: 7 },
      { tag_id: 104, name: 'Newsletter', description: null, tag_category_id: 9 },
    ]);
    const [c] = await db.sql`select updated_since from keap_meta.sync_cursors where entity = 'tags'`;
    expect(c.updated_since).toEqual(new Date('2026-05-02T08:00:00Z'));
  });

  it('a full traversal of tags soft-deletes a tag Keap no longer lists', async () => {
    await db.sql`select keap_meta.begin_full_sweep('tags', ${run.runId})`;
    const [active] = sampleRecords('tags');
    await stage(db.sql, 'tags', run.runId, page('tags', [active!]), { traversal: 'full' });
    await merge(db.sql, 'tags', run.runId, true);
    expect(await lastLog(db.sql, run.runId, 'tags')).toMatchObject({ unchanged: 1, deleted: 1 });
    expect(await db.sql`select tag_id from keap.tags where _deleted_at is not null`).toEqual([{ tag_id: 104 }]);
  });
});

describe('keap.merge_companies', () => {
  it('flattens address, e-mail, phone and fax and keeps custom field values as an object', async () => {
    await stage(db.sql, 'companies', run.runId, samplePage('companies'));
    await merge(db.sql, 'companies', run.runId);
    expect(await lastLog(db.sql, run.runId, 'companies')).toEqual({ inserted: 2, updated: 0, unchanged: 0, deleted: 0, rejected: 0, pages: 1 });
    const [sunrise] = await db.sql`select * from keap.companies where company_id = 512`;
    expect(sunrise).toMatchObject({
      company_name: 'Sunrise Dental Group', first_name: 'Ravi', last_name: 'Patel', job_title: 'Owner',
      email: 'office@sunrisedental.example', is_email_opt_in: true, email_opt_in_reason: 'Imported with consent', email_opt_status: 'CONFIRMED',
      phone_number: '(480) 555-0100', phone_extension: null, phone_type: 'Work', phone_number_e164: '+14805550100',
      fax_number: '(480) 555-0101', fax_type: 'Work', address_field: 'BILLING', address_line1: '1200 W Main St', address_line2: 'Suite 4',
      address_locality: 'Mesa', address_region_code: 'US-AZ', address_country_code: 'USA', address_postal_code: '85201', address_zip_four: null,
      website: 'https://sunrisedental.example', notes: 'Three locations; billing handled centrally.', groups: '91,310',
      custom_fields: { '40': 'Healthcare', '41': 45 }, assistant_name: 'Kim Lee', billing_information: 'Net 30', contact_type: 'Customer',
      owner_id: 3, account_id: 512, created_by: 3, last_updated_by: 3,
    });
    expect(sunrise.updated_at.toISOString()).toBe('2026-09-10T12:00:31.220Z');
    const [bloom] = await db.sql`select address_line1, phone_number, custom_fields from keap.companies where company_id = 518`;
    expect(bloom).toEqual({ address_line1: null, phone_number: null, custom_fields: { '40': 'Retail' } });
  });

  it('one changed field is one update', async () => {
    const [sunrise, bloom] = sampleRecords('companies');
    (bloom!.custom_fields as Obj[])[1]!.content = 12;
    await stage(db.sql, 'companies', run.runId, page('companies', [sunrise!, bloom!]));
    await merge(db.sql, 'companies', run.runId);
    expect(await lastLog(db.sql, run.runId, 'companies')).toMatchObject({ inserted: 0, updated: 1, unchanged: 1 });
    const [b] = await db.sql`select custom_fields from keap.companies where company_id = 518`;
    expect(b.custom_fields).toEqual({ '40': 'Retail', '41': 12 });
  });

  it('custom field values without an integer id, repeated, or over 65,535 characters are row issues; the company is kept', async () => {
    const [sunrise] = sampleRecords('companies');
    sunrise!.custom_fields = [
      { id: '40', content: 'Dental' }, { id: '40', content: 'Second' }, { id: 'x1', content: 'no id' },
      { id: '41', content: 'z'.repeat(65536) }, { id: '42', content: null },
    ];
    sunrise!.update_time = '2026-09-20T00:00:00Z';
    await stage(db.sql, 'companies', run.runId, page('companies', [sunrise!]));
    await merge(db.sql, 'companies', run.runId);
    expect(await lastLog(db.sql, run.runId, 'companies')).toMatchObject({ updated: 1, rejected: 3 });
    const [c] = await db.sql`select custom_fields from keap.companies where company_id = 512`;
    expect(c.custom_fields).toEqual({ '40': 'Dental', '41': null });
    const found = await db.sql`select field, problem from keap_meta.row_issues where entity = 'companies' and record_key = '512' order by field`;
    expect(found.map((f) => f.field)).toEqual(['custom_fields[1]', 'custom_fields[2]', 'custom_fields[3]']);
  });
});

describe('keap.merge_tagged_contacts', () => {
  it('sets applied_at on the pair the contact merge made, inserts pairs it has not seen, and advances the applied_time cursor', async () => {
    await stage(db.sql, 'contacts', run.runId, samplePage('contacts'));
    await merge(db.sql, 'contacts', run.runId);
    await stage(db.sql, 'tagged_contacts', run.runId, samplePage('tagged_contacts'), { parentKey: '91' });
    await stage(db.sql, 'tagged_contacts', run.runId, page('tagged_contacts', [
      { id: '10240', email: 'dan.gonzalez@mail.example', given_name: 'Daniel', family_name: 'Gonzalez', applied_time: '2026-09-05T00:00:00Z' },
    ]), { parentKey: '104' });
    await merge(db.sql, 'tagged_contacts', run.runId);

    expect(await lastLog(db.sql, run.runId, 'tagged_contacts')).toEqual({ inserted: 1, updated: 1, unchanged: 0, deleted: 0, rejected: 0, pages: 2 });
    expect(await db.sql`select contact_id, tag_id, applied_at from keap.contact_tags order by 1, 2`).toEqual([
      { contact_id: 10231, tag_id: 91, applied_at: new Date('2026-09-03T15:31:20Z') },
      { contact_id: 10231, tag_id: 104, applied_at: null },
      { contact_id: 10231, tag_id: 233, applied_at: null },
      { contact_id: 10240, tag_id: 104, applied_at: new Date('2026-09-05T00:00:00Z') },
    ]);
    const [c] = await db.sql`select updated_since from keap_meta.sync_cursors where entity = 'tagged_contacts'`;
    expect(c.updated_since).toEqual(new Date('2026-09-05T00:00:00Z'));
  });

  it('re-listing is unchanged; a bad applied_time never wipes a known one; a bad parent_key skips the page; the sweep flag deletes nothing', async () => {
    await stage(db.sql, 'tagged_contacts', run.runId, samplePage('tagged_contacts'), { parentKey: '91' });
    const bad = samplePage('tagged_contacts');
    (bad.contacts as Obj[])[0]!.applied_time = 'last Tuesday';
    await stage(db.sql, 'tagged_contacts', run.runId, bad, { parentKey: '91', pageNo: 2 });
    const badParent = await stage(db.sql, 'tagged_contacts', run.runId, samplePage('tagged_contacts'), { parentKey: 'tag-91', pageNo: 3 });
    await merge(db.sql, 'tagged_contacts', run.runId, true);

    expect(await lastLog(db.sql, run.runId, 'tagged_contacts')).toEqual({ inserted: 0, updated: 0, unchanged: 1, deleted: 0, rejected: 1, pages: 3 });
    const [pair] = await db.sql`select applied_at from keap.contact_tags where contact_id = 10231 and tag_id = 91`;
    expect(pair.applied_at).toEqual(new Date('2026-09-03T15:31:20Z'));
    const [issue] = await db.sql`select field, raw_value from keap_meta.row_issues where staged_page_id = ${badParent} and entity = 'tagged_contacts'`;
    expect(issue).toEqual({ field: 'parent_key', raw_value: 'tag-91' });
    expect(await db.sql`select count(*)::int as n from keap.contact_tags`).toEqual([{ n: 4 }]);
  });
});

describe('keap_ops views', () => {
  it('entity_freshness has one row per entity in engine order with the last merge, cursor and deleted counts', async () => {
    const rows = await db.sql`select entity, last_merge_run_id, updated_since, deleted_count::int as deleted_count, lag_seconds from keap_ops.entity_freshness`;
    expect(rows.map((r) => r.entity)).toEqual(entityNames());
    // This file merges the contact family; the other entities have no merge yet.
    const family = ['contact_model', 'tag_categories', 'tags', 'companies', 'contacts', 'tagged_contacts'];
    expect(rows.filter((r) => family.includes(r.entity)).every((r) => r.last_merge_run_id === run.runId)).toBe(true);
    expect(rows.filter((r) => !family.includes(r.entity)).every((r) => r.last_merge_run_id === null)).toBe(true);
    expect(rows.find((r) => r.entity === 'tags')!.deleted_count).toBe(1);
    expect(rows.find((r) => r.entity === 'tagged_contacts')!.deleted_count).toBeNull();
    // Merges called directly, without the engine's traversal events: nothing proves the entity
    // complete up to any instant, so there is no freshness yet (test/observability covers it).
    expect(rows.find((r) => r.entity === 'contacts')!.lag_seconds).toBeNull();
  });

  it('recent_row_issues shows the issues without their raw values', async () => {
    const rows = await db.sql`select * from keap_ops.recent_row_issues where run_id = ${run.runId} order by issue_id`;
    expect(rows.length).toBeGreaterThan(0);
    expect(Object.keys(rows[0]!)).not.toContain('raw_value');
    expect(rows.find((r) => r.field === 'parent_key')!.raw_value_chars).toBe(6);
  });
});
