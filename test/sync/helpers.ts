// Shared pieces of the end-to-end sync tests: a config pointed at a sandbox, a comparison of the
// warehouse with the sandbox's truth (ids, names and emails unicode-exact, every tag pair), and a
// proxy in front of the sandbox that can delay, refuse or rewrite responses.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { loadConfig, type Config } from '../../scripts/lib/config.ts';
import type { Sandbox } from '../../scripts/lib/sandbox/index.ts';
import type { Sql } from '../../scripts/lib/db.ts';

export const API_KEY = 'e2e-key';

/** Config for a sandbox: fast backoff so fault tests stay quick, no quota reserve unless asked. */
export function sandboxConfig(sb: Sandbox, extra: Record<string, string> = {}): Config {
  return loadConfig(
    {
      KEAP_API_URL: sb.url,
      KEAP_API_KEY: API_KEY,
      KEAP_MAX_RPS: '10000',
      KEAP_BACKOFF_BASE_MS: '5',
      KEAP_BACKOFF_MAX_MS: '50',
      KEAP_MAX_RETRIES: '10',
      KEAP_QUOTA_RESERVE: '0',
      KEAP_PAGE_SIZE: '100',
      KEAP_MERGE_EVERY_PAGES: '3',
      ...extra,
    },
    { loadDotEnv: false },
  );
}

/** Environment for a child `npm run sync` process against the same sandbox and database. */
export function sandboxEnv(sb: Sandbox, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    KEAP_API_URL: sb.url,
    KEAP_API_KEY: API_KEY,
    KEAP_MAX_RPS: '10000',
    KEAP_BACKOFF_BASE_MS: '5',
    KEAP_BACKOFF_MAX_MS: '50',
    KEAP_QUOTA_RESERVE: '0',
    KEAP_PAGE_SIZE: '100',
    KEAP_MERGE_EVERY_PAGES: '3',
    ...extra,
  };
}

interface Rec {
  [k: string]: unknown;
}

function emailsOf(c: Rec): string[] {
  return ((c.email_addresses as Rec[] | undefined) ?? [])
    .filter((e) => e.field && e.email)
    .map((e) => `${c.id}|${e.field}|${e.email}`)
    .sort();
}

/** The warehouse's live contacts, emails and tag pairs equal the sandbox's current data exactly. */
export async function expectWarehouseEqualsSandbox(sql: Sql, sb: Sandbox): Promise<void> {
  const truth = [...sb.store.list('contacts')] as Rec[];
  const rows = await sql`
    select contact_id, given_name, family_name from keap.contacts where _deleted_at is null order by contact_id`;
  expect(rows.map((r) => Number(r.contact_id))).toEqual(truth.map((c) => Number(c.id)).sort((a, b) => a - b));

  const byId = new Map(rows.map((r) => [Number(r.contact_id), r]));
  const nameMismatches = truth.filter((c) => {
    const r = byId.get(Number(c.id));
    return (r?.given_name ?? null) !== (c.given_name ?? null) || (r?.family_name ?? null) !== (c.family_name ?? null);
  });
  expect(nameMismatches.map((c) => c.id)).toEqual([]);

  const emails = await sql`
    select e.contact_id, e.field, e.email from keap.contact_emails e
      join keap.contacts c using (contact_id) where c._deleted_at is null`;
  expect(emails.map((e) => `${e.contact_id}|${e.field}|${e.email}`).sort()).toEqual(truth.flatMap(emailsOf).sort());

  const pairs = await sql`
    select t.contact_id, t.tag_id from keap.contact_tags t
      join keap.contacts c using (contact_id) where c._deleted_at is null`;
  const truthPairs = truth.flatMap((c) => ((c.tag_ids as string[] | undefined) ?? []).map((t) => `${c.id}|${t}`)).sort();
  expect(pairs.map((p) => `${p.contact_id}|${p.tag_id}`).sort()).toEqual(truthPairs);

  // Every pair carries the applied time Keap reports for it (from /tags/{id}/contacts).
  const applied = await sql`
    select t.contact_id, t.tag_id, t.applied_at from keap.contact_tags t
      join keap.contacts c using (contact_id) where c._deleted_at is null`;
  const truthApplied = new Map(truth.flatMap((c) => sb.store.tagLinks(String(c.id)).map((l) => [`${c.id}|${l.tag_id}`, new Date(l.applied_time).getTime()] as const)));
  const wrongApplied = applied.filter((p) => (p.applied_at ? new Date(p.applied_at).getTime() : null) !== truthApplied.get(`${p.contact_id}|${p.tag_id}`));
  expect(wrongApplied.map((p) => `${p.contact_id}|${p.tag_id}|${p.applied_at?.toISOString?.() ?? p.applied_at}`)).toEqual([]);

  const tags = await sql`select tag_id, name from keap.tags where _deleted_at is null order by tag_id`;
  const truthTags = ([...sb.store.list('tags')] as Rec[]).map((t) => ({ tag_id: Number(t.id), name: t.name })).sort((a, b) => a.tag_id - b.tag_id);
  expect(tags.map((t) => ({ tag_id: Number(t.tag_id), name: t.name }))).toEqual(truthTags);

  const companies = await sql`select company_id from keap.companies where _deleted_at is null order by company_id`;
  expect(companies.map((c) => Number(c.company_id))).toEqual(([...sb.store.list('companies')] as Rec[]).map((c) => Number(c.id)).sort((a, b) => a - b));
}

/** What a test proxy does with one request: answer it itself, or forward it and maybe rewrite the body. */
export interface ProxyHooks {
  /** Answer without forwarding: [status, JSON body]. */
  answer?: (url: URL) => Promise<[number, unknown] | undefined> | [number, unknown] | undefined;
  /** Milliseconds to wait before forwarding. */
  delayMs?: number;
  /** Rewrite a forwarded 200 body. */
  rewrite?: (url: URL, body: string) => string;
}

/** An HTTP proxy in front of a sandbox (its `url` without `/crm`); `url` is the proxy's `/crm` base. */
export async function startSandboxProxy(sandboxUrl: string, hooks: ProxyHooks): Promise<{ url: string; close: () => Promise<void> }> {
  const target = sandboxUrl.replace(/\/crm$/, '');
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', target);
    const answer = await hooks.answer?.(url);
    if (answer) {
      res.writeHead(answer[0], { 'content-type': 'application/json' }).end(JSON.stringify(answer[1]));
      return;
    }
    if (hooks.delayMs) await new Promise((r) => setTimeout(r, hooks.delayMs));
    const headers: Record<string, string> = {};
    for (const h of ['x-keap-api-key', 'authorization', 'accept']) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h] as string;
    const upstream = await fetch(new URL(url.pathname + url.search, target), { headers });
    let body = await upstream.text();
    if (hooks.rewrite && upstream.status === 200) body = hooks.rewrite(url, body);
    const out: Record<string, string> = {};
    upstream.headers.forEach((v, k) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) out[k] = v;
    });
    res.writeHead(upstream.status, out).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/crm`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
