// Paging behaves like v2: every record exactly once for every page size and order, tokens are
// opaque and bound to their query, the end is signalled by an empty/absent token, page_size is
// bounded per endpoint, and traversals stay correct while data changes underneath them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type EntityName, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { api, ids, pageAll, qs } from './helpers.ts';

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox({ contacts: 700, seed: 3, limits: { throttlePerMinute: 1e6, dailyQuota: 1e7 } });
});
afterAll(async () => {
  await sb?.close();
});

function truthIds(e: EntityName): string[] {
  return [...sb.store.list(e)].map((r) => r.id as string);
}

const ENDPOINTS: Array<[string, string, EntityName]> = [
  ['/contacts', 'contacts', 'contacts'],
  ['/companies', 'companies', 'companies'],
  ['/tags', 'tags', 'tags'],
  ['/tags/categories', 'tag_categories', 'tag_categories'],
  ['/opportunities', 'opportunities', 'opportunities'],
  ['/opportunities/stages', 'stages', 'stages'],
  ['/orders', 'orders', 'orders'],
  ['/products', 'products', 'products'],
  ['/subscriptions', 'subscriptions', 'subscriptions'],
  ['/notes', 'notes', 'notes'],
  ['/tasks', 'tasks', 'tasks'],
];

describe('paging returns every record exactly once', () => {
  for (const [path, wrapper, entity] of ENDPOINTS) {
    it(`${path} for page sizes 7, 100 and 1000 (and 1 on small collections)`, async () => {
      const truth = truthIds(entity);
      expect(truth.length).toBe(sb.store.count(entity));
      for (const size of truth.length > 300 ? [7, 100, 1000] : [1, 7, 100, 1000]) {
        const { records, pages } = await pageAll(sb, path, wrapper, { page_size: size });
        expect(ids(records).sort()).toEqual([...truth].sort());
        expect(pages.slice(0, -1).every((p) => p[wrapper].length === size)).toBe(true);
        expect(pages.at(-1)[wrapper].length).toBeGreaterThan(0);
      }
    });
  }

  it('contacts in every order_by, both directions, in the right order', async () => {
    const truth = truthIds('contacts');
    for (const order of ['id asc', 'id desc', 'update_time asc', 'update_time desc', 'create_time asc', 'email desc']) {
      const { records } = await pageAll(sb, '/contacts', 'contacts', { page_size: 97, order_by: order, fields: 'id,update_time,create_time,email_addresses' });
      expect(ids(records).sort()).toEqual([...truth].sort());
      const [field, dir] = order.split(' ') as [string, string];
      const keyOf = (c: any): number | string =>
        field === 'id' ? Number(c.id) : field === 'email' ? (c.email_addresses[0]?.email ?? '').toLowerCase() : Date.parse(c[field]);
      for (let i = 1; i < records.length; i++) {
        const a = keyOf(records[i - 1]);
        const b = keyOf(records[i]);
        if (dir === 'asc') expect(a <= b).toBe(true);
        else expect(a >= b).toBe(true);
      }
    }
  });

  it('users honour their 100 page-size maximum and hide inactive users and partners by default', async () => {
    expect((await api(sb, '/users?page_size=101')).status).toBe(400);
    const all = await pageAll(sb, '/users', 'users', { page_size: 3, filter: 'include_inactive==true;include_partners==true' });
    expect(ids(all.records).sort()).toEqual(truthIds('users').sort());
    const visible = await pageAll(sb, '/users', 'users', { page_size: 100 });
    const want = [...sb.store.list('users')].filter((u) => u.partner !== true && u.status !== 'INACTIVE' && u.status !== 'NOT_A_USER');
    expect(ids(visible.records)).toEqual(ids(want as any));
  });

  it('tagged contacts page through every link of a tag', async () => {
    const tag = [...sb.store.list('tags')][0] as any;
    const truth = sb.store.taggedContacts(tag.id).map((t) => t.id);
    expect(truth.length).toBeGreaterThan(10);
    for (const size of [1, 13, 1000]) {
      const { records } = await pageAll(sb, `/tags/${tag.id}/contacts`, 'contacts', { page_size: size });
      expect(ids(records).sort()).toEqual([...truth].sort());
    }
  });
});

describe('tokens and page size', () => {
  it('the last page has no usable token: absent on contacts, empty string on tags', async () => {
    const c = await api(sb, '/contacts?page_size=1000');
    expect(c.body).not.toHaveProperty('next_page_token');
    const t = await api(sb, '/tags?page_size=1000');
    expect(t.body.next_page_token).toBe('');
  });

  it('a page ending exactly at the last record does not promise another page', async () => {
    const n = sb.store.count('tag_categories');
    const r = await api(sb, `/tags/categories?page_size=${n}`);
    expect(r.body.tag_categories).toHaveLength(n);
    expect(r.body.next_page_token).toBe('');
  });

  it('a token reused with a different filter, order_by or page_size is rejected with 400', async () => {
    const first = await api(sb, '/contacts?page_size=10&order_by=id%20asc');
    const token = first.body.next_page_token as string;
    expect(typeof token).toBe('string');
    for (const bad of [
      { page_size: 11, order_by: 'id asc' },
      { page_size: 10, order_by: 'id desc' },
      { page_size: 10, order_by: 'id asc', filter: 'contact_id>5' },
    ]) {
      const r = await api(sb, `/contacts${qs({ ...bad, page_token: token })}`);
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/page_token/);
    }
    expect((await api(sb, `/orders${qs({ page_size: 10, order_by: 'id asc', page_token: token })}`)).status).toBe(400);
    expect((await api(sb, `/contacts${qs({ page_size: 10, order_by: 'id asc', page_token: 'garbage!' })}`)).status).toBe(400);
    expect((await api(sb, `/contacts${qs({ page_size: 10, order_by: 'id asc', page_token: token })}`)).status).toBe(200);
  });

  it('page_size is validated per endpoint', async () => {
    expect((await api(sb, '/contacts?page_size=1001')).status).toBe(400);
    expect((await api(sb, '/contacts?page_size=-1')).status).toBe(400);
    expect((await api(sb, '/contacts?page_size=ten')).status).toBe(400);
    expect((await api(sb, '/contacts?page_size=1000')).body.contacts).toHaveLength(700);
  });
});

describe('paging while data changes', () => {
  it('order_by id: updates, deletes and inserts mid-traversal cause no skips or duplicates', async () => {
    const local = await startSandbox({ contacts: 400, seed: 11, limits: { throttlePerMinute: 1e6 } });
    try {
      const before = [...local.store.list('contacts')].map((c) => c.id as string);
      const deleted: string[] = [];
      const added: string[] = [];
      const { records } = await pageAll(local, '/contacts', 'contacts', { page_size: 50, order_by: 'id asc' }, (page) => {
        if (page === 2) {
          // Update records both behind and ahead of the cursor, delete one ahead, add one at the end.
          local.store.updateContact(before[10] as string, { job_title: 'moved' });
          local.store.updateContact(before[300] as string, { job_title: 'moved' });
          local.store.deleteContact(before[250] as string);
          deleted.push(before[250] as string);
          added.push(local.store.addContact({ given_name: 'Late' }).id as string);
        }
      });
      const seen = ids(records);
      expect(new Set(seen).size).toBe(seen.length);
      const expected = before.filter((id) => !deleted.includes(id)).concat(added);
      expect([...seen].sort()).toEqual([...expected].sort());
    } finally {
      await local.close();
    }
  });

  it('order_by update_time: a record updated mid-traversal moves later and is seen again', async () => {
    const local = await startSandbox({ contacts: 300, seed: 12, limits: { throttlePerMinute: 1e6 } });
    try {
      const first = await api(local, '/contacts?page_size=5&order_by=update_time%20asc');
      const early = first.body.contacts[0].id as string;
      const { records } = await pageAll(local, '/contacts', 'contacts', { page_size: 50, order_by: 'update_time asc' }, (page) => {
        if (page === 1) local.store.updateContact(early, { job_title: 'edited' });
      });
      const seen = ids(records);
      expect(seen.filter((id) => id === early)).toHaveLength(2);
      expect(new Set(seen).size).toBe(300);
      expect(records.at(-1).id).toBe(early);
    } finally {
      await local.close();
    }
  });

  it('churn updates contacts during a traversal and keyset paging by id still sees each once', async () => {
    const local = await startSandbox({ contacts: 500, seed: 13, limits: { throttlePerMinute: 1e6 }, churn: { updatesPerRequest: 5 } });
    try {
      const { records } = await pageAll(local, '/contacts', 'contacts', { page_size: 40, order_by: 'id asc', fields: 'id,update_time' });
      expect(new Set(ids(records)).size).toBe(500);
      expect(records).toHaveLength(500);
      const churned = [...local.store.list('contacts')].filter((c) => Date.parse(c.update_time as string) > Date.now() - 60_000);
      expect(churned.length).toBeGreaterThan(20);
    } finally {
      await local.close();
    }
  });
});
