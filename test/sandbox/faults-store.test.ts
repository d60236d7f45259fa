// Fault injection fires at the configured rate, deterministically, and never serves wrong data;
// store mutations bump the right timestamps the way Keap does; stats, latency and the spec
// validator's ability to catch a non-conforming body (nulls mode) are checked too.
import { afterEach, describe, expect, it } from 'vitest';
import { dereference } from '@readme/openapi-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../scripts/lib/sandbox/index.ts';
import { api, ids, KEY } from './helpers.ts';

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

async function start(opts: SandboxOptions = {}): Promise<Sandbox> {
  sb = await startSandbox({ contacts: 300, limits: { throttlePerMinute: 1e6, dailyQuota: 1e7 }, ...opts });
  return sb;
}

type Outcome = { kind: 'ok'; body: any } | { kind: 'status'; status: number; body: any } | { kind: 'reset' } | { kind: 'malformed' };

async function attempt(s: Sandbox, path: string): Promise<Outcome> {
  let r: Response;
  try {
    r = await fetch(`${s.url}/rest/v2${path}`, { headers: KEY });
  } catch {
    return { kind: 'reset' };
  }
  const text = await r.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'malformed' };
  }
  return r.status === 200 ? { kind: 'ok', body } : { kind: 'status', status: r.status, body };
}

describe('fault injection', () => {
  it('fires at the configured rate with every kind, and counts them in stats', async () => {
    const s = await start({ faults: { rate: 0.3, kinds: ['500', '502', '503', 'reset', 'malformed'], seed: 42 } });
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 400; i++) outcomes.push(await attempt(s, '/tags?page_size=5'));
    const faulted = outcomes.filter((o) => o.kind !== 'ok').length;
    const st = s.stats();
    const injected = Object.values(st.faultsInjected).reduce((a, b) => a + b, 0);
    expect(faulted).toBe(injected);
    // 400 Bernoulli(0.3) draws: mean 120, sd ~9.2; allow > 4 sd.
    expect(faulted).toBeGreaterThan(80);
    expect(faulted).toBeLessThan(160);
    expect(Object.keys(st.faultsInjected).sort()).toEqual(['500', '502', '503', 'malformed', 'reset']);
    expect(outcomes.filter((o) => o.kind === 'reset').length).toBe(st.faultsInjected.reset);
    expect(outcomes.filter((o) => o.kind === 'malformed').length).toBe(st.faultsInjected.malformed);
    const statuses = outcomes.flatMap((o) => (o.kind === 'status' ? [o.status] : []));
    expect(new Set(statuses)).toEqual(new Set([500, 502, 503]));
    const five = outcomes.find((o) => o.kind === 'status' && o.status === 500) as { body: any };
    expect(five.body).toMatchObject({ code: 500, status: 'Internal Server Error' });
  });

  it('is deterministic: the same seed gives the same schedule, setFaults restarts it', async () => {
    const schedule = async (s: Sandbox): Promise<string> => {
      let out = '';
      for (let i = 0; i < 60; i++) {
        const o = await attempt(s, '/tags?page_size=1');
        out += o.kind === 'status' ? String(o.status) : o.kind[0];
      }
      return out;
    };
    const opts: SandboxOptions['faults'] = { rate: 0.4, kinds: ['500', '503', 'malformed', 'reset'], seed: 9 };
    const a = await start({ faults: opts });
    const first = await schedule(a);
    a.setFaults(opts);
    expect(await schedule(a)).toBe(first);
    a.setFaults({ ...opts, seed: 10 });
    expect(await schedule(a)).not.toBe(first);
    a.setFaults({ rate: 0 });
    expect(await schedule(a)).toBe('o'.repeat(60));
  });

  it('never serves wrong data: a retrying client pages every contact exactly once, with the right content', async () => {
    const s = await start({ faults: { rate: 0.25, kinds: ['500', '502', '503', 'reset', 'malformed', 'slow'], slowMs: 5, seed: 3 } });
    const truth = new Map([...s.store.list('contacts')].map((c) => [c.id as string, c]));
    const got: any[] = [];
    let token = '';
    let retries = 0;
    for (;;) {
      const path = `/contacts?page_size=11&fields=id,given_name,email_addresses,update_time${token ? `&page_token=${token}` : ''}`;
      const o = await attempt(s, path);
      if (o.kind !== 'ok') {
        retries++;
        continue;
      }
      got.push(...o.body.contacts);
      token = o.body.next_page_token;
      if (!token) break;
    }
    expect(retries).toBeGreaterThan(0);
    expect(new Set(ids(got)).size).toBe(300);
    expect(got).toHaveLength(300);
    for (const c of got) {
      const t = truth.get(c.id) as any;
      expect(c.given_name).toBe(t.given_name);
      expect(c.email_addresses).toEqual(t.email_addresses);
    }
    const { slow: _slow, ...failing } = s.stats().faultsInjected;
    expect(retries).toBe(Object.values(failing).reduce((a, b) => a + b, 0));
  });

  it('a slow fault delays the response by slowMs but returns the correct page', async () => {
    const s = await start({ faults: { rate: 1, kinds: ['slow'], slowMs: 300 } });
    const t0 = performance.now();
    const o = await attempt(s, '/tags?page_size=2');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(o.kind).toBe('ok');
    expect(ids((o as any).body.tags)).toEqual(ids([...s.store.list('tags')].slice(0, 2) as any));
  });
});

describe('store mutations behave like Keap', () => {
  it('addContact, updateContact and deleteContact change what the API serves, bumping update_time', async () => {
    const s = await start();
    const before = Date.now();
    const added = s.store.addContact({ given_name: 'Renée', email_addresses: [{ email: 'renee@example.com', field: 'EMAIL1' }] });
    expect(Number(added.id)).toBeGreaterThan(Math.max(...[...s.store.list('contacts')].filter((c) => c.id !== added.id).map((c) => Number(c.id))));
    expect(Date.parse(added.update_time as string)).toBeGreaterThanOrEqual(before);
    expect(added.create_time).toBe(added.update_time);
    expect(s.store.count('contacts')).toBe(301);
    const got = await api(s, `/contacts/${added.id}`);
    expect(got.body.given_name).toBe('Renée');

    const victim = [...s.store.list('contacts')][5] as any;
    const oldUpdate = victim.update_time;
    const updated = s.store.updateContact(victim.id, { job_title: 'CTO' });
    expect(updated.job_title).toBe('CTO');
    expect(Date.parse(updated.update_time as string)).toBeGreaterThan(Date.parse(oldUpdate));
    expect(updated.create_time).toBe(victim.create_time);
    expect((await api(s, `/contacts/${victim.id}?fields=job_title`)).body).toEqual({ id: victim.id, job_title: 'CTO' });

    expect(s.store.deleteContact(victim.id)).toBe(true);
    expect(s.store.deleteContact(victim.id)).toBe(false);
    expect(s.store.get('contacts', victim.id)).toBeUndefined();
    expect((await api(s, `/contacts/${victim.id}`)).status).toBe(404);
    expect(s.store.count('contacts')).toBe(300);
  });

  it('applying and removing a tag bumps the contact update_time and changes tag_ids and the tag links', async () => {
    const s = await start();
    const contact = [...s.store.list('contacts')][0] as any;
    const tag = [...s.store.list('tags')].find((t) => !contact.tag_ids.includes(t.id)) as any;
    const t0 = Date.parse(contact.update_time);
    expect(s.store.applyTag(contact.id, tag.id)).toBe(true);
    expect(s.store.applyTag(contact.id, tag.id)).toBe(false);
    const after = s.store.get('contacts', contact.id) as any;
    expect(after.tag_ids).toContain(tag.id);
    expect(Date.parse(after.update_time)).toBeGreaterThan(t0);
    const link = s.store.tagLinks(contact.id).find((l) => l.tag_id === tag.id)!;
    expect(link.applied_time).toBe(after.update_time);
    expect(s.store.taggedContacts(tag.id).map((t) => t.id)).toContain(contact.id);
    expect(s.store.removeTag(contact.id, tag.id)).toBe(true);
    const removed = s.store.get('contacts', contact.id) as any;
    expect(removed.tag_ids).not.toContain(tag.id);
    expect(Date.parse(removed.update_time)).toBeGreaterThanOrEqual(Date.parse(after.update_time));
    expect(s.store.taggedContacts(tag.id).map((t) => t.id)).not.toContain(contact.id);
  });

  it('generic add/update/delete bump each entity’s own modified field', async () => {
    const s = await start();
    const cases: Array<[Parameters<Sandbox['store']['update']>[0], string]> = [
      ['companies', 'update_time'],
      ['tags', 'update_time'],
      ['tag_categories', 'update_time'],
      ['opportunities', 'last_updated_time'],
      ['orders', 'modification_time'],
      ['products', 'update_time'],
      ['subscriptions', 'modification_time'],
      ['notes', 'update_time'],
      ['tasks', 'modification_time'],
      ['users', 'update_time'],
      ['stages', 'updated_time'],
    ];
    for (const [e, field] of cases) {
      const first = [...s.store.list(e)][0] as any;
      const up = s.store.update(e, first.id, { _probe: 1 }) as any;
      expect(Date.parse(up[field])).toBeGreaterThan(Date.parse(first[field]));
      const added = s.store.add(e, {}) as any;
      expect(typeof added[field]).toBe('string');
      const n = s.store.count(e);
      expect(s.store.delete(e, added.id)).toBe(true);
      expect(s.store.count(e)).toBe(n - 1);
    }
  });

  it('deleting a tag removes it from contacts’ tag_ids and 404s its contacts endpoint', async () => {
    const s = await start();
    const tag = [...s.store.list('tags')][0] as any;
    const holder = s.store.taggedContacts(tag.id)[0]!;
    s.store.delete('tags', tag.id);
    expect((s.store.get('contacts', holder.id) as any).tag_ids).not.toContain(tag.id);
    expect((await api(s, `/tags/${tag.id}/contacts`)).status).toBe(404);
  });

  it('contact links are symmetric, and embedded users and companies match their own records', async () => {
    const s = await start();
    const contacts = [...s.store.list('contacts')] as any[];
    const linked = contacts.filter((c) => c.links.length > 0);
    expect(linked.length).toBeGreaterThan(4);
    for (const c of linked) {
      const l = c.links[0];
      const other = s.store.get('contacts', l.linked_contact_id) as any;
      expect(other.links).toEqual([{ ...l, linked_contact_id: c.id }]);
    }
    for (const o of [...s.store.list('opportunities')] as any[]) {
      const u = s.store.get('users', o.user.id) as any;
      expect([o.user.first_name, o.user.last_name]).toEqual([u.given_name, u.family_name]);
    }
    for (const c of contacts.filter((x) => x.company).slice(0, 50)) {
      expect(c.company.company_name).toBe((s.store.get('companies', c.company.id) as any).company_name);
    }
  });

  it('a contact’s embedded company follows renames and deletion of the company', async () => {
    const s = await start();
    const c = ([...s.store.list('contacts')] as any[]).find((x) => x.company);
    s.store.update('companies', c.company.id, { company_name: 'Renamed “Co”' });
    expect((s.store.get('contacts', c.id) as any).company).toEqual({ id: c.company.id, company_name: 'Renamed “Co”' });
    const added = s.store.addContact({ company: { id: c.company.id } });
    expect((added as any).company.company_name).toBe('Renamed “Co”');
    s.store.delete('companies', c.company.id);
    expect(s.store.get('contacts', c.id)).not.toHaveProperty('company');
  });

  it('the same seed and size always generate the same tenant; another seed differs', async () => {
    const a = await startSandbox({ contacts: 100, seed: 21 });
    const b = await startSandbox({ contacts: 100, seed: 21 });
    const c = await startSandbox({ contacts: 100, seed: 22 });
    try {
      expect([...a.store.list('contacts')]).toEqual([...b.store.list('contacts')]);
      expect([...a.store.list('orders')]).toEqual([...b.store.list('orders')]);
      expect([...a.store.list('contacts')]).not.toEqual([...c.store.list('contacts')]);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

describe('stats, latency and routing', () => {
  it('counts requests per endpoint and status, and peak concurrency under latency', async () => {
    const s = await start({ latencyMs: [150, 200] });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => api(s, '/tags?page_size=1')));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    await api(s, '/contacts/1');
    await api(s, '/contacts', KEY, { method: 'POST' });
    const st = s.stats();
    expect(st.peakConcurrency).toBe(6);
    expect(st.requests['GET /tags']).toEqual({ '200': 6 });
    expect(st.requests['POST /contacts']).toEqual({ '405': 1 });
    expect(st.totalRequests).toBe(8);
    s.resetStats();
    expect(s.stats().totalRequests).toBe(0);
    s.setLatency(undefined);
    // Five requests with the 150-200 ms latency would take at least 750 ms; without it, far less.
    const t1 = performance.now();
    for (let i = 0; i < 5; i++) await api(s, '/tags?page_size=1');
    expect(performance.now() - t1).toBeLessThan(750);
  });

  it('the API serves exactly the store truth (all fields requested)', async () => {
    const s = await start();
    s.store.updateContact([...s.store.list('contacts')][3]!.id as string, { given_name: 'Ünïcödé' });
    const fields = 'addresses,anniversary_date,birth_date,company,contact_type,create_time,custom_fields,email_addresses,family_name,fax_numbers,given_name,id,job_title,leadsource_id,links,middle_name,origin,owner_id,phone_numbers,preferred_locale,preferred_name,prefix,referral_code,score_value,social_accounts,source_type,spouse_name,suffix,tag_ids,time_zone,update_time,utm_parameters,website,account_id,assistant_name,assistant_phone,billing_information,created_by,groups,last_updated_by';
    const r = await api(s, `/contacts?page_size=1000&fields=${fields}`);
    expect(r.body.contacts).toEqual([...s.store.list('contacts')]);
    const o = await api(s, '/orders?page_size=1000');
    expect(o.body.orders).toEqual([...s.store.list('orders')]);
  });

  it('paths outside the API are 404 with the v2 Error body; wrong method is 405 with Allow', async () => {
    const s = await start();
    const r = await fetch(`${s.url.replace('/crm', '')}/whatever`);
    expect(r.status).toBe(404);
    expect((await r.json()).code).toBe(404);
    const m = await api(s, '/tags', KEY, { method: 'PUT' });
    expect(m.status).toBe(405);
    expect(m.headers.get('allow')).toBe('GET');
  });

  it('the spec validator catches a non-conforming body (nulls mode emits null optional strings)', async () => {
    const spec: any = await dereference('/work/shared/keap/keap-v2-openapi.yml');
    const ajv = new (Ajv2020 as any)({ strict: false });
    (addFormats as any)(ajv);
    const validate = ajv.compile(spec.paths['/rest/v2/contacts'].get.responses['200'].content['application/json'].schema);
    const s = await start({ nulls: true });
    const r = await api(s, '/contacts?page_size=50');
    expect(r.body.contacts.some((c: any) => Object.values(c).includes(null))).toBe(true);
    expect(validate(r.body)).toBe(false);
  });
});

