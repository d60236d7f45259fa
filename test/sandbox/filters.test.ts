// Filters select exactly the right records (checked against the store's truth, never against
// hard-coded ids), bad filters get a 400 with the v2 Error body, and `fields=` returns exactly
// what was asked for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, CONTACT_DEFAULT_FIELDS, COMPANY_DEFAULT_FIELDS, type EntityName, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { api, ids, pageAll, qs } from './helpers.ts';

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ contacts: 900, seed: 5, limits: { throttlePerMinute: 1e6, dailyQuota: 1e7 } });
});
afterAll(async () => {
  await sb?.close();
});

const all = (e: EntityName): any[] => [...sb.store.list(e)];
const ms = (s: string): number => Date.parse(s);

/** A timestamp that splits a collection's values roughly in half, with ms precision. */
function median(values: string[]): string {
  const sorted = values.map(ms).sort((a, b) => a - b);
  return new Date(sorted[Math.floor(sorted.length / 2)] as number).toISOString();
}

async function filtered(path: string, wrapper: string, filter: string, extra: Record<string, string | number> = {}): Promise<string[]> {
  const { records } = await pageAll(sb, path, wrapper, { page_size: 100, filter, ...extra });
  return ids(records);
}

describe('filters select exactly the right records', () => {
  it('contacts: keyset contact_id>N with order_by id asc', async () => {
    const truth = all('contacts');
    const pivot = truth[400].id as string;
    const got = await filtered('/contacts', 'contacts', `contact_id>${pivot}`, { order_by: 'id asc' });
    expect(got).toEqual(truth.filter((c) => Number(c.id) > Number(pivot)).map((c) => c.id));
    for (const [op, fn] of [
      ['>=', (a: number, b: number) => a >= b],
      ['<', (a: number, b: number) => a < b],
      ['<=', (a: number, b: number) => a <= b],
      ['==', (a: number, b: number) => a === b],
    ] as const) {
      const r = await filtered('/contacts', 'contacts', `contact_id${op}${pivot}`);
      expect(r).toEqual(truth.filter((c) => fn(Number(c.id), Number(pivot))).map((c) => c.id));
    }
  });

  it('contacts: start_update_time/end_update_time window, inclusive, with update_time order', async () => {
    const truth = all('contacts');
    const start = median(truth.map((c) => c.update_time));
    const endMs = ms(start) + 200 * 86_400_000;
    const end = new Date(endMs).toISOString();
    const want = truth
      .filter((c) => ms(c.update_time) >= ms(start) && ms(c.update_time) <= endMs)
      .sort((a, b) => ms(a.update_time) - ms(b.update_time) || Number(a.id) - Number(b.id))
      .map((c) => c.id);
    expect(want.length).toBeGreaterThan(5);
    const got = await filtered('/contacts', 'contacts', `start_update_time==${start};end_update_time==${end}`, { order_by: 'update_time asc' });
    expect(got).toEqual(want);
    // The bound is inclusive: filtering from a record's exact update_time includes it.
    const exact = truth[17];
    const incl = await filtered('/contacts', 'contacts', `start_update_time==${exact.update_time};end_update_time==${exact.update_time}`);
    expect(incl).toContain(exact.id);
    // Same window, id order (no index seek): same set.
    const byId = await filtered('/contacts', 'contacts', `start_update_time==${start};end_update_time==${end}`, { order_by: 'id desc' });
    expect([...byId].sort()).toEqual([...want].sort());
  });

  it('timestamps with a non-Z offset select by instant', async () => {
    const truth = all('contacts');
    const start = median(truth.map((c) => c.update_time));
    const d = new Date(ms(start));
    const plus2 = new Date(ms(start) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    expect(ms(plus2)).toBe(d.getTime());
    const a = await filtered('/contacts', 'contacts', `start_update_time==${start}`);
    const b = await filtered('/contacts', 'contacts', `start_update_time==${plus2}`);
    expect(b).toEqual(a);
  });

  it('a contact update is visible to an incremental query from a watermark', async () => {
    const watermark = new Date(Date.now() - 1).toISOString();
    const target = all('contacts')[123];
    sb.store.updateContact(target.id, { job_title: 'Changed' });
    const got = await filtered('/contacts', 'contacts', `start_update_time==${watermark}`, { order_by: 'update_time asc' });
    expect(got).toEqual([target.id]);
  });

  it('companies: since_time/until_time on update_time (inclusive) and company_id>N', async () => {
    const truth = all('companies');
    const since = median(truth.map((c) => c.update_time));
    const got = await filtered('/companies', 'companies', `since_time==${since}`, { fields: 'id,update_time' });
    expect(got).toEqual(truth.filter((c) => ms(c.update_time) >= ms(since)).map((c) => c.id));
    const until = await filtered('/companies', 'companies', `until_time==${since}`);
    expect(until).toEqual(truth.filter((c) => ms(c.update_time) <= ms(since)).map((c) => c.id));
    const pivot = truth[10].id;
    expect(await filtered('/companies', 'companies', `company_id>${pivot}`)).toEqual(truth.filter((c) => Number(c.id) > Number(pivot)).map((c) => c.id));
  });

  it('tags and tag categories: since_update_time, category_id incl. NONE', async () => {
    const tags = all('tags');
    const since = median(tags.map((t) => t.update_time));
    expect(await filtered('/tags', 'tags', `since_update_time==${since}`)).toEqual(tags.filter((t) => ms(t.update_time) >= ms(since)).map((t) => t.id));
    expect(await filtered('/tags', 'tags', 'category_id==NONE')).toEqual(tags.filter((t) => !t.category).map((t) => t.id));
    const cat = tags.find((t) => t.category)!.category.id;
    expect(await filtered('/tags', 'tags', `category_id==${cat}`)).toEqual(tags.filter((t) => t.category?.id === cat).map((t) => t.id));
    const cats = all('tag_categories');
    const cs = median(cats.map((c) => c.update_time));
    expect(await filtered('/tags/categories', 'tag_categories', `since_update_time==${cs}`)).toEqual(cats.filter((c) => ms(c.update_time) >= ms(cs)).map((c) => c.id));
  });

  it('tagged contacts: since_applied_time, and applying a tag shows up with its applied time', async () => {
    const tag = all('tags')[0];
    const links = sb.store.taggedContacts(tag.id);
    const since = median(links.map((l) => l.applied_time));
    const got = await filtered(`/tags/${tag.id}/contacts`, 'contacts', `since_applied_time==${since}`, { order_by: 'applied_time asc' });
    expect(got).toEqual(
      links
        .filter((l) => ms(l.applied_time) >= ms(since))
        .sort((a, b) => ms(a.applied_time) - ms(b.applied_time) || Number(a.id) - Number(b.id))
        .map((l) => l.id),
    );
    const contact = all('contacts').find((c) => !sb.store.tagLinks(c.id).some((l) => l.tag_id === tag.id))!;
    const watermark = new Date(Date.now() - 1).toISOString();
    expect(sb.store.applyTag(contact.id, tag.id)).toBe(true);
    expect(await filtered(`/tags/${tag.id}/contacts`, 'contacts', `since_applied_time==${watermark}`)).toEqual([contact.id]);
  });

  it('a contact’s applied tags: all of them, and since_applied_time', async () => {
    const contact = all('contacts').find((c) => c.tag_ids.length >= 3);
    const links = sb.store.tagLinks(contact.id);
    const { records } = await pageAll(sb, `/contacts/${contact.id}/tags`, 'tags', { page_size: 1 });
    expect(records.map((r: any) => [r.tag.id, r.applied_time])).toEqual(links.map((l) => [l.tag_id, l.applied_time]));
    expect(records.map((r: any) => r.tag)).toEqual(links.map((l) => sb.store.get('tags', l.tag_id)));
    const since = median(links.map((l) => l.applied_time));
    const got = await pageAll(sb, `/contacts/${contact.id}/tags`, 'tags', { page_size: 2, filter: `since_applied_time==${since}`, order_by: 'applied_time asc' });
    expect(got.records.map((r: any) => r.tag.id)).toEqual(
      [...links].filter((l) => ms(l.applied_time) >= ms(since)).sort((a, b) => ms(a.applied_time) - ms(b.applied_time) || Number(a.tag_id) - Number(b.tag_id)).map((l) => l.tag_id),
    );
    expect((await api(sb, '/contacts/999999999/tags')).status).toBe(404);
  });

  it('orders: modified_since_time, id>N, product_id, paid', async () => {
    const orders = all('orders');
    const since = median(orders.map((o) => o.modification_time));
    expect(await filtered('/orders', 'orders', `modified_since_time==${since}`, { order_by: 'modification_time asc' })).toEqual(
      orders
        .filter((o) => ms(o.modification_time) >= ms(since))
        .sort((a, b) => ms(a.modification_time) - ms(b.modification_time) || Number(a.id) - Number(b.id))
        .map((o) => o.id),
    );
    const pivot = orders[50].id;
    expect(await filtered('/orders', 'orders', `id>${pivot}`)).toEqual(orders.filter((o) => Number(o.id) > Number(pivot)).map((o) => o.id));
    expect(await filtered('/orders', 'orders', `id!=${pivot}`)).toEqual(orders.filter((o) => o.id !== pivot).map((o) => o.id));
    const pid = orders.flatMap((o) => o.order_items).find((i: any) => i.product)!.product.id;
    expect(await filtered('/orders', 'orders', `product_id==${pid}`)).toEqual(orders.filter((o) => o.order_items.some((i: any) => i.product?.id === pid)).map((o) => o.id));
    expect(await filtered('/orders', 'orders', 'paid==true')).toEqual(orders.filter((o) => o.status === 'PAID').map((o) => o.id));
  });

  it('notes and tasks: since_time and id>N; products, subscriptions, opportunities: id comparisons', async () => {
    for (const [path, wrapper, e, tf, idField] of [
      ['/notes', 'notes', 'notes', 'update_time', 'id'],
      ['/tasks', 'tasks', 'tasks', 'modification_time', 'id'],
    ] as const) {
      const truth = all(e);
      const since = median(truth.map((r) => r[tf]));
      expect(await filtered(path, wrapper, `since_time==${since}`)).toEqual(truth.filter((r) => ms(r[tf]) >= ms(since)).map((r) => r.id));
      const pivot = truth[30].id;
      expect(await filtered(path, wrapper, `${idField}>${pivot}`)).toEqual(truth.filter((r) => Number(r.id) > Number(pivot)).map((r) => r.id));
    }
    for (const [path, wrapper, e, field] of [
      ['/products', 'products', 'products', 'product_id'],
      ['/subscriptions', 'subscriptions', 'subscriptions', 'id'],
      ['/opportunities', 'opportunities', 'opportunities', 'opportunity_id'],
    ] as const) {
      const truth = all(e);
      const pivot = truth[Math.floor(truth.length / 3)].id;
      expect(await filtered(path, wrapper, `${field}>${pivot}`)).toEqual(truth.filter((r) => Number(r.id) > Number(pivot)).map((r) => r.id));
    }
  });

  it('text filters: prefix wildcards, case-insensitive names, exact company_name, custom fields by field_name', async () => {
    const contacts = all('contacts');
    expect(await filtered('/contacts', 'contacts', 'given_name==mar*')).toEqual(contacts.filter((c) => c.given_name?.toLowerCase().startsWith('mar')).map((c) => c.id));
    const email = contacts.find((c) => c.email_addresses.length)!.email_addresses[0].email;
    expect(await filtered('/contacts', 'contacts', `email==${email}`)).toEqual(contacts.filter((c) => c.email_addresses.some((e: any) => e.email.toLowerCase() === email.toLowerCase())).map((c) => c.id));
    const companies = all('companies');
    const name = companies[3].company_name;
    expect(await filtered('/companies', 'companies', `company_name==${name}`)).toEqual([companies[3].id]);
    const model = (await api(sb, '/contacts/model')).body.custom_fields;
    const whole = model.find((f: any) => f.field_type === 'WHOLE_NUMBER');
    const val = (c: any): unknown => c.custom_fields.find((f: any) => f.id === whole.id)?.content;
    expect(await filtered('/contacts', 'contacts', `${whole.field_name.toUpperCase()}>100`)).toEqual(contacts.filter((c) => typeof val(c) === 'number' && (val(c) as number) > 100).map((c) => c.id));
  });
});

describe('bad filters get 400 with a clear v2 Error body', () => {
  const cases: Array<[string, RegExp]> = [
    ['/contacts?filter=start_update_time%3D%3D2026-01-01', /date-only/],
    ['/contacts?filter=start_update_time%3D%3D2026-01-01T00:00:00Z', /milliseconds/],
    ['/contacts?filter=start_update_time%3D%3D2026-01-01T00:00:00.000', /offset/],
    ['/contacts?filter=start_update_time%3D%3D2026-01-01T00:00:00.000+02:00', /%2B/],
    ['/contacts?filter=start_update_time%3E2026-01-01T00:00:00.000Z', /Operator '>'/],
    ['/contacts?filter=update_time%3D%3D2026-01-01T00:00:00.000Z', /Invalid filter field 'update_time'/],
    ['/contacts?filter=contact_id%3Eabc', /integer/],
    ['/contacts?filter=given_name%3D%3D*ary', /Leading wildcards/],
    ['/contacts?filter=garbage', /Invalid filter clause/],
    ['/companies?filter=modified_since_time%3D%3D2026-01-01T00:00:00.000Z', /Invalid filter field/],
    ['/orders?filter=order_type%3D%3DBOTH', /ONLINE, OFFLINE/],
    ['/notes?filter=id%3E5%3Bids%3D%3D1,2', /cannot be combined/],
    ['/contacts?order_by=name%20asc', /order_by/],
    ['/contacts?order_by=id%20sideways', /order_by/],
    ['/contacts?fields=id,bogus', /Invalid field 'bogus'/],
    ['/opportunities?fields=objection', /legacy/],
    ['/contacts?filter=phone_number%3D%3D480', /phone_fields/],
  ];
  for (const [path, message] of cases) {
    it(path, async () => {
      const r = await api(sb, path);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe(400);
      expect(r.body.status).toBe('Bad Request');
      expect(r.body.message).toMatch(message);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    });
  }
});

describe('fields=', () => {
  it('contacts default set omits custom_fields and tag_ids; fields= returns exactly those fields plus id', async () => {
    const d = await api(sb, '/contacts?page_size=50');
    for (const c of d.body.contacts) {
      for (const k of Object.keys(c)) expect(CONTACT_DEFAULT_FIELDS).toContain(k);
      expect(c).not.toHaveProperty('custom_fields');
      expect(c).not.toHaveProperty('tag_ids');
    }
    const f = await api(sb, `/contacts${qs({ page_size: 50, fields: 'tag_ids,custom_fields' })}`);
    for (const c of f.body.contacts) expect(Object.keys(c).sort()).toEqual(['custom_fields', 'id', 'tag_ids']);
    const truth = all('contacts').slice(0, 50);
    expect(f.body.contacts.map((c: any) => c.tag_ids)).toEqual(truth.map((c) => c.tag_ids));
  });

  it('companies default set omits address, email/phone/fax, notes, custom_fields and timestamps', async () => {
    const d = await api(sb, '/companies?page_size=100');
    for (const c of d.body.companies) {
      for (const k of Object.keys(c)) expect(COMPANY_DEFAULT_FIELDS).toContain(k);
      for (const k of ['address', 'email_address', 'phone_number', 'fax_number', 'notes', 'custom_fields', 'update_time', 'create_time']) expect(c).not.toHaveProperty(k);
    }
    // `fields` adds the left-out properties to the default set (as in the documented sample).
    const f = await api(sb, '/companies?page_size=100&fields=update_time,create_time');
    const truth = all('companies').slice(0, 100);
    f.body.companies.forEach((c: any, i: number) => {
      const want = Object.keys(truth[i]).filter((k) => COMPANY_DEFAULT_FIELDS.includes(k) || k === 'update_time' || k === 'create_time');
      expect(Object.keys(c).sort()).toEqual(want.sort());
    });
  });

  it('notes, tasks and opportunities add custom_fields only when asked', async () => {
    for (const [path, wrapper] of [
      ['/notes', 'notes'],
      ['/tasks', 'tasks'],
      ['/opportunities', 'opportunities'],
    ] as const) {
      const d = await api(sb, `${path}?page_size=5`);
      expect(d.body[wrapper].some((r: any) => 'custom_fields' in r)).toBe(false);
      const f = await api(sb, `${path}?page_size=5&fields=custom_fields`);
      expect(f.body[wrapper].every((r: any) => Array.isArray(r.custom_fields))).toBe(true);
    }
  });

  it('timestamps carry milliseconds and an offset; ids are strings', async () => {
    const r = await api(sb, '/contacts?page_size=200&fields=create_time,update_time');
    for (const c of r.body.contacts) {
      expect(typeof c.id).toBe('string');
      expect(c.update_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(c.create_time <= c.update_time).toBe(true);
    }
  });
});
