// Seeded randomized check of the merge between generated base records and stored mutations:
// after random adds, updates, deletes and tag changes, every order and filter served over HTTP
// must equal the store's truth computed independently in plain JS, and keyset traversals with
// mutations in between must never skip or repeat a record that lived throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { ids, pageAll } from './helpers.ts';

let sb: Sandbox;

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  let t = Date.parse('2026-11-01T00:00:00.000Z');
  // Each read of the clock advances it 7 ms, so mutations get distinct, increasing stamps.
  sb = await startSandbox({ contacts: 600, seed: 99, now: () => new Date((t += 7)), limits: { throttlePerMinute: 1e9, dailyQuota: 1e9, tenantPerMinute: 1e9, tenantPerDay: 1e9 } });
});
afterAll(async () => {
  await sb?.close();
});

function mutate(r: () => number, n: number): void {
  const tags = [...sb.store.list('tags')].map((t) => t.id as string);
  for (let i = 0; i < n; i++) {
    const live = [...sb.store.list('contacts')].map((c) => c.id as string);
    const pick = (): string => live[Math.floor(r() * live.length)] as string;
    const x = r();
    if (x < 0.3) sb.store.updateContact(pick(), { given_name: `Edited ${i}`, score_value: String(i) });
    else if (x < 0.45) sb.store.deleteContact(pick());
    else if (x < 0.6) sb.store.addContact({ given_name: r() < 0.5 ? 'Ångström' : 'Zed', email_addresses: [{ email: `n${i}@x.example`, field: 'EMAIL1' }] });
    else if (x < 0.8) sb.store.applyTag(pick(), tags[Math.floor(r() * tags.length)] as string);
    else {
      const c = pick();
      const own = sb.store.tagLinks(c);
      if (own.length) sb.store.removeTag(c, own[0]!.tag_id);
    }
  }
}

const byTime = (a: any, b: any): number => Date.parse(a.update_time) - Date.parse(b.update_time) || Number(a.id) - Number(b.id);

describe('served data equals the store truth after random mutations', () => {
  it('orders and filters over contacts, across several rounds of mutation', async () => {
    const r = rng(2026);
    for (let round = 0; round < 4; round++) {
      mutate(r, 40);
      const truth = [...sb.store.list('contacts')] as any[];
      const asc = await pageAll(sb, '/contacts', 'contacts', { page_size: 53, order_by: 'update_time asc', fields: 'id,update_time,tag_ids,given_name' });
      expect(ids(asc.records)).toEqual([...truth].sort(byTime).map((c) => c.id));
      const desc = await pageAll(sb, '/contacts', 'contacts', { page_size: 41, order_by: 'update_time desc' });
      expect(ids(desc.records)).toEqual([...truth].sort(byTime).reverse().map((c) => c.id));
      const byId = await pageAll(sb, '/contacts', 'contacts', { page_size: 97, order_by: 'id desc', fields: 'id,tag_ids' });
      expect(ids(byId.records)).toEqual(truth.map((c) => c.id).reverse());
      expect(byId.records.map((c: any) => c.tag_ids)).toEqual(truth.map((c) => c.tag_ids).reverse());
      // Incremental window from a watermark that lands among the mutations.
      const times = truth.map((c) => Date.parse(c.update_time)).sort((a, b) => a - b);
      const wm = new Date(times[Math.floor(times.length * 0.9)] as number).toISOString();
      const inc = await pageAll(sb, '/contacts', 'contacts', { page_size: 7, order_by: 'update_time asc', filter: `start_update_time==${wm}` });
      expect(ids(inc.records)).toEqual([...truth].filter((c) => Date.parse(c.update_time) >= Date.parse(wm)).sort(byTime).map((c) => c.id));
      const names = await pageAll(sb, '/contacts', 'contacts', { page_size: 11, filter: 'given_name==ed*' });
      expect(ids(names.records)).toEqual(truth.filter((c) => /^ed/i.test(c.given_name ?? '')).map((c) => c.id));
      const pivot = truth[Math.floor(truth.length / 2)].id;
      const keyset = await pageAll(sb, '/contacts', 'contacts', { page_size: 29, order_by: 'id asc', filter: `contact_id>${pivot}` });
      expect(ids(keyset.records)).toEqual(truth.filter((c) => Number(c.id) > Number(pivot)).map((c) => c.id));
      expect(sb.store.count('contacts')).toBe(truth.length);
    }
  });

  it('tagged contacts per tag equal the contacts whose tag_ids contain the tag', async () => {
    mutate(rng(7), 60);
    const truth = [...sb.store.list('contacts')] as any[];
    for (const tag of [...sb.store.list('tags')].slice(0, 12) as any[]) {
      const { records } = await pageAll(sb, `/tags/${tag.id}/contacts`, 'contacts', { page_size: 17, order_by: 'applied_time desc' });
      expect(ids(records).sort()).toEqual(truth.filter((c) => c.tag_ids.includes(tag.id)).map((c) => c.id).sort());
      const applied = records.map((x: any) => Date.parse(x.applied_time));
      expect(applied).toEqual([...applied].sort((a, b) => b - a));
    }
  });

  it('keyset traversal with mutations between pages sees every surviving record exactly once', async () => {
    const r = rng(31337);
    const before = new Set([...sb.store.list('contacts')].map((c) => c.id as string));
    const { records } = await pageAll(sb, '/contacts', 'contacts', { page_size: 23, order_by: 'id asc' }, () => mutate(r, 3));
    const after = new Set([...sb.store.list('contacts')].map((c) => c.id as string));
    const seen = ids(records);
    expect(new Set(seen).size).toBe(seen.length);
    // Survivors (present before and after) must all be seen; nothing seen may be unknown.
    for (const id of before) if (after.has(id)) expect(seen).toContain(id);
    const known = new Set([...before, ...after]);
    const added = seen.filter((id) => !known.has(id));
    for (const id of added) expect(sb.store.get('contacts', id)).toBeUndefined();
  });
});
