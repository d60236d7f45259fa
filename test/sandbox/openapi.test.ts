// Every sandbox response body validates against Keap's official v2 OpenAPI 3.1 spec, loaded and
// dereferenced by @readme/openapi-parser and checked with ajv (JSON Schema 2020-12 + formats).
// Whole tenants are paged with every optional field requested, so the nasty records (emoji,
// CJK, max-length custom text, every enum value, empty arrays) are all validated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dereference } from '@readme/openapi-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startSandbox, MAX_CUSTOM_TEXT, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { api, pageAll, qs } from './helpers.ts';

const SPEC = '/work/shared/keap/keap-v2-openapi.yml';
const CONTACT_ALL = 'addresses,anniversary_date,birth_date,company,contact_type,create_time,custom_fields,email_addresses,family_name,fax_numbers,given_name,id,job_title,leadsource_id,links,middle_name,notes,origin,owner_id,phone_numbers,preferred_locale,preferred_name,prefix,referral_code,score_value,social_accounts,source_type,spouse_name,suffix,tag_ids,time_zone,update_time,utm_parameters,website,account_id,assistant_name,assistant_phone,billing_information,created_by,groups,last_updated_by';
const COMPANY_ALL = 'id,address,notes,website,suffix,title,groups,company_name,custom_fields,email_address,fax_number,phone_number,update_time,create_time,anniversary_date,assistant_name,assistant_phone,billing_information,birth_date,contact_type,first_name,job_title,last_name,middle_name,preferred_name,owner_id,referral_code,spouse_name,account_id,created_by,last_updated_by';

let spec: any;
let ajv: any;
let sb: Sandbox;
const compiled = new Map<string, (data: unknown) => boolean>();

function validator(path: string, status: string): any {
  const key = `${path} ${status}`;
  let v = compiled.get(key);
  if (!v) {
    const op = spec.paths[`/rest/v2${path}`]?.get;
    const schema = op?.responses?.[status]?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`spec has no ${status} schema for GET ${path}`);
    v = ajv.compile(schema) as (data: unknown) => boolean;
    compiled.set(key, v);
  }
  return v;
}

/** Values seen per enum-bearing schema node (dereferenced nodes are shared, so this unions usages). */
const enumSeen = new Map<object, Set<unknown>>();
/** Enum-bearing schema nodes reachable from every 200 schema we validated, with a readable path. */
const enumNodes = new Map<object, string>();

function walkData(schema: any, data: unknown): void {
  if (data === undefined || data === null || !schema || typeof schema !== 'object') return;
  if (Array.isArray(schema.enum)) {
    let seen = enumSeen.get(schema);
    if (!seen) enumSeen.set(schema, (seen = new Set()));
    seen.add(data);
  }
  if (schema.properties && typeof data === 'object' && !Array.isArray(data)) {
    for (const [k, sub] of Object.entries(schema.properties)) walkData(sub, (data as Record<string, unknown>)[k]);
  }
  if (schema.items && Array.isArray(data)) for (const d of data) walkData(schema.items, d);
}

function walkSchema(schema: any, path: string, visited = new Set<object>()): void {
  if (!schema || typeof schema !== 'object' || visited.has(schema)) return;
  visited.add(schema);
  if (Array.isArray(schema.enum) && !enumNodes.has(schema)) enumNodes.set(schema, path);
  for (const [k, sub] of Object.entries(schema.properties ?? {})) walkSchema(sub, `${path}.${k}`, visited);
  if (schema.items) walkSchema(schema.items, `${path}[]`, visited);
}

function expectValid(path: string, status: string, body: unknown): void {
  const v = validator(path, status);
  const ok = v(body);
  if (!ok) throw new Error(`GET ${path} ${status} body does not match the spec: ${JSON.stringify(v.errors?.slice(0, 5), null, 1)}`);
  if (status === '200') {
    const schema = spec.paths[`/rest/v2${path}`].get.responses['200'].content['application/json'].schema;
    walkSchema(schema, path);
    walkData(schema, body);
  }
}

async function validatePages(path: string, specPath: string, wrapper: string, params: Record<string, string | number> = {}): Promise<any[]> {
  const { records, pages } = await pageAll(sb, path, wrapper, params);
  for (const p of pages) expectValid(specPath, '200', p);
  return records;
}

beforeAll(async () => {
  spec = await dereference(SPEC);
  // The spec declares Task.remind_time_mins as an int32 whose enum lists strings, so no value can
  // ever validate. Assert that defect is still there (so this patch goes away when Keap fixes it)
  // and validate against the integer values the live API sends.
  const remind = spec.components.schemas.Task.properties.remind_time_mins;
  expect(remind.type).toBe('integer');
  expect(remind.enum.every((v: unknown) => typeof v === 'string')).toBe(true);
  remind.enum = remind.enum.map(Number);
  ajv = new (Ajv2020 as any)({ strict: false, allErrors: true });
  (addFormats as any)(ajv);
  sb = await startSandbox({ contacts: 1200, seed: 7, limits: { throttlePerMinute: 1e6, dailyQuota: 1e7 } });
}, 60_000);

afterAll(async () => {
  await sb?.close();
});

describe('responses validate against the official v2 OpenAPI spec', () => {
  it('contacts with every field, across the whole tenant', async () => {
    const records = await validatePages('/contacts', '/contacts', 'contacts', { page_size: 1000, fields: CONTACT_ALL });
    expect(records).toHaveLength(1200);
    const longest = Math.max(...records.flatMap((c) => c.custom_fields.map((f: any) => (typeof f.content === 'string' ? f.content.length : 0))));
    expect(longest).toBe(MAX_CUSTOM_TEXT);
    const names = records.map((c) => `${c.given_name ?? ''} ${c.family_name ?? ''}`).join('|');
    expect(names).toMatch(/\p{Extended_Pictographic}/u);
    expect(names).toMatch(/[\u4e00-\u9fff]/);
    expect(names).toMatch(/'/);
    expect(names).toMatch(/"/);
    expect(records.some((c) => c.given_name === undefined)).toBe(true);
    expect(records.some((c) => c.email_addresses.length === 0)).toBe(true);
    const statuses = new Set(records.flatMap((c) => c.email_addresses.map((e: any) => e.email_opt_status)));
    expect(statuses.size).toBe(spec.components.schemas.EmailAddress.properties.email_opt_status.enum.length);
    const sources = new Set(records.map((c) => c.source_type));
    expect(sources.size).toBe(spec.components.schemas.Contact.properties.source_type.enum.length);
  });

  it('contacts with default fields, by update_time, and a single contact', async () => {
    await validatePages('/contacts', '/contacts', 'contacts', { page_size: 500, order_by: 'update_time desc' });
    const one = await api(sb, `/contacts/1${qs({ fields: CONTACT_ALL })}`);
    expect(one.status).toBe(200);
    expectValid('/contacts/{contact_id}', '200', one.body);
  });

  it('records created and changed through the store still validate', async () => {
    const tag = sb.store.list('tags').next().value as any;
    const added = sb.store.addContact({ given_name: 'Zoë 🚀', tag_ids: [tag.id] });
    sb.store.updateContact(added.id as string, { family_name: "O'Brien" });
    sb.store.add('orders', {});
    sb.store.add('companies', { company_name: '株式会社' });
    const r = await api(sb, `/contacts${qs({ page_size: 5, fields: CONTACT_ALL, filter: `contact_id>=${added.id}` })}`);
    expect(r.body.contacts[0].tag_ids).toEqual([tag.id]);
    expectValid('/contacts', '200', r.body);
    await validatePages('/orders', '/orders', 'orders', { page_size: 1000, order_by: 'modification_time desc' });
    await validatePages('/companies', '/companies', 'companies', { page_size: 1000, fields: COMPANY_ALL });
  });

  it('companies, default and full field sets', async () => {
    await validatePages('/companies', '/companies', 'companies', { page_size: 17 });
    await validatePages('/companies', '/companies', 'companies', { page_size: 1000, fields: COMPANY_ALL });
  });

  it('tags, tag categories and tagged contacts', async () => {
    const tags = await validatePages('/tags', '/tags', 'tags', { page_size: 1000 });
    await validatePages('/tags/categories', '/tags/categories', 'tag_categories', { page_size: 3 });
    for (const t of tags.slice(0, 5)) await validatePages(`/tags/${t.id}/contacts`, '/tags/{tag_id}/contacts', 'contacts', { page_size: 1000 });
  });

  it('opportunities (with every optional field) and stages', async () => {
    const opps = await validatePages('/opportunities', '/opportunities', 'opportunities', { page_size: 1000, fields: 'custom_fields,created_by,last_updated_by,status_id' });
    expect(opps.every((o) => Array.isArray(o.custom_fields))).toBe(true);
    await validatePages('/opportunities/stages', '/opportunities/stages', 'stages', { page_size: 1000 });
  });

  it('opportunity stage moves, generated and appended by a stage change', async () => {
    const opp = sb.store.list('opportunities').next().value as any;
    sb.store.update('opportunities', opp.id, { stage: { id: '8', name: 'Lost', reasons: ['Price'] } });
    const moves = await validatePages('/opportunities/stageMoves', '/opportunities/stageMoves', 'stage_moves', { page_size: 1000, order_by: 'id desc' });
    expect(moves.length).toBe(sb.store.count('stage_moves'));
    expect(moves[0]).toMatchObject({ opportunity_id: opp.id, move_to_stage_id: '8' });
    expect(moves.some((m) => m.move_from_stage_id === '0' && m.prev_stage_move_time === undefined)).toBe(true);
  });

  it('orders with items, products, subscriptions', async () => {
    const orders = await validatePages('/orders', '/orders', 'orders', { page_size: 1000 });
    const types = new Set(orders.flatMap((o) => o.order_items.map((i: any) => i.item_type)));
    expect(types.size).toBe(spec.components.schemas.OrderItem.properties.item_type.enum.length);
    expect(orders.some((o) => o.order_items.length === 0)).toBe(true);
    expect(orders.some((o) => o.payment_plan)).toBe(true);
    await validatePages('/products', '/products', 'products', { page_size: 1000 });
    await validatePages('/subscriptions', '/subscriptions', 'subscriptions', { page_size: 1000 });
  });

  it('payments, transactions (no id) and product categories, money edge cases included', async () => {
    const payments = await validatePages('/sales/payments', '/sales/payments', 'payments', { page_size: 1000 });
    expect(payments.map((p) => p.amount)).toEqual(expect.arrayContaining([0.1 + 0.2, 19.9, -19.9]));
    await validatePages('/sales/payments', '/sales/payments', 'payments', { page_size: 50, order_by: 'payment_time desc', filter: 'since_time==2020-01-01T00:00:00.000Z' });
    const txns = await validatePages('/sales/transactions', '/sales/transactions', 'transactions', { page_size: 1000 });
    expect(txns.length).toBe(sb.store.count('transactions'));
    expect(txns.every((t) => !('id' in t))).toBe(true);
    expect(new Set(txns.map((t) => t.transaction_method)).size).toBe(4);
    await validatePages('/sales/transactions', '/sales/transactions', 'transactions', { page_size: 50, order_by: 'amount desc', filter: 'is_successful==true' });
    const cats = await validatePages('/productCategories', '/productCategories', 'product_categories', { page_size: 1000 });
    const used = new Set([...sb.store.list('products')].flatMap((p) => p.categories as string[]));
    expect([...used].every((c) => cats.some((k) => k.id === c))).toBe(true);
    const orders = [...sb.store.list('orders')];
    expect(orders.some((o) => (o.total as any).currency_code === 'JPY')).toBe(true);
    expect(orders.some((o) => (o.order_items as any[]).some((i) => i.price_per_unit.amount === 1e15))).toBe(true);
  });

  it('notes and tasks with custom fields, users with inactive and partners', async () => {
    await validatePages('/notes', '/notes', 'notes', { page_size: 1000, fields: 'custom_fields' });
    const tasks = await validatePages('/tasks', '/tasks', 'tasks', { page_size: 1000, fields: 'custom_fields' });
    expect(new Set(tasks.map((t) => t.priority)).size).toBe(3);
    const users = await validatePages('/users', '/users', 'users', { page_size: 100, filter: 'include_inactive==true;include_partners==true' });
    expect(new Set(users.map((u) => u.status)).size).toBe(4);
  });

  it('single-record GETs and a contact’s applied tags', async () => {
    for (const [path, entity, extra] of [
      ['/tags/{tag_id}', 'tags', ''],
      ['/companies/{company_id}', 'companies', `?fields=${COMPANY_ALL}`],
      ['/orders/{order_id}', 'orders', ''],
      ['/tasks/{task_id}', 'tasks', '?fields=custom_fields'],
      ['/opportunities/{opportunity_id}', 'opportunities', '?fields=custom_fields,created_by,last_updated_by,status_id'],
      ['/subscriptions/{subscription_id}', 'subscriptions', ''],
      ['/users/{user_id}', 'users', ''],
    ] as const) {
      for (const rec of [...sb.store.list(entity)].slice(0, 25)) {
        const r = await api(sb, path.replace(/\{\w+\}/, String(rec.id)) + extra);
        expect(r.status).toBe(200);
        expectValid(path, '200', r.body);
      }
      const missing = await api(sb, path.replace(/\{\w+\}/, '999999999'));
      expect(missing.status).toBe(404);
      expectValid(path, '404', missing.body);
    }
    const tagged = [...sb.store.list('contacts')].filter((c) => (c.tag_ids as string[]).length > 2).slice(0, 10);
    for (const c of tagged) await validatePages(`/contacts/${c.id}/tags`, '/contacts/{contact_id}/tags', 'tags', { page_size: 2, order_by: 'applied_time desc' });
  });

  it('custom-field models and userinfo', async () => {
    for (const e of ['contacts', 'companies', 'opportunities', 'orders', 'subscriptions', 'notes', 'tasks']) {
      const r = await api(sb, `/${e}/model`);
      expect(r.status).toBe(200);
      expectValid(`/${e}/model`, '200', r.body);
      expect(r.body.custom_fields.length).toBeGreaterThan(0);
    }
    const contactModel = (await api(sb, '/contacts/model')).body;
    expect(new Set(contactModel.custom_fields.map((f: any) => f.field_type)).size).toBe(spec.components.schemas.CustomFieldMetaData.properties.field_type.enum.length);
    const info = await api(sb, '/oauth/connect/userinfo');
    expectValid('/oauth/connect/userinfo', '200', info.body);
  });

  it('error bodies match the declared v2 Error schema', async () => {
    const cases: Array<[string, string, string]> = [
      ['/contacts?filter=start_update_time%3D%3D2026-01-01', '/contacts', '400'],
      ['/contacts?page_size=1001', '/contacts', '400'],
      ['/contacts/99999999', '/contacts/{contact_id}', '404'],
      ['/orders?order_by=bogus%20asc', '/orders', '400'],
      ['/no/such/thing', '/contacts', '404'],
    ];
    for (const [path, specPath, status] of cases) {
      const r = await api(sb, path);
      expect(r.status).toBe(Number(status));
      expectValid(specPath, status, r.body);
    }
    const r = await api(sb, '/contacts', undefined, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expectValid('/contacts', '405', r.body);
  });

  // Runs last: uses what every test above validated.
  it('every enum value of every served schema appears in the data', () => {
    // REFERRAL_PARTNER only occurs on the affiliates model, which the sandbox does not serve.
    const notServed = new Set(['REFERRAL_PARTNER']);
    const missing: string[] = [];
    for (const [node, path] of enumNodes) {
      const seen = enumSeen.get(node) ?? new Set();
      const lacking = (node as { enum: unknown[] }).enum.filter((v) => !seen.has(v) && !notServed.has(String(v)));
      if (lacking.length) missing.push(`${path}: ${lacking.join(', ')}`);
    }
    expect(enumNodes.size).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });
});
