// Test helpers for the Keap sandbox suites: a tiny HTTP client against a started sandbox and a
// pager that follows next_page_token the way a v2 client must (same filter/order/page_size).
import type { Sandbox } from '../../scripts/lib/sandbox/index.ts';

export const KEY = { 'X-Keap-API-Key': 'sandbox-api-key' };

export interface Res {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export async function api(sb: Sandbox, path: string, headers: Record<string, string> = KEY, init: RequestInit = {}): Promise<Res> {
  const r = await fetch(`${sb.url}/rest/v2${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string> | undefined) } });
  const text = await r.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: r.status, body, text, headers: r.headers };
}

export function qs(params: Record<string, string | number | undefined>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** Follows next_page_token to the end; returns every record and the pages seen. */
export async function pageAll(sb: Sandbox, path: string, wrapper: string, params: Record<string, string | number | undefined> = {}, onPage?: (n: number) => void | Promise<void>): Promise<{ records: any[]; pages: any[] }> {
  const records: any[] = [];
  const pages: any[] = [];
  let token: string | undefined;
  for (let i = 0; i < 100000; i++) {
    const r = await api(sb, path + qs({ ...params, page_token: token }));
    if (r.status !== 200) throw new Error(`page ${i} of ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    pages.push(r.body);
    records.push(...(r.body[wrapper] as any[]));
    await onPage?.(i);
    token = r.body.next_page_token;
    if (!token) return { records, pages };
  }
  throw new Error('too many pages');
}

export function ids(records: Array<{ id: string }>): string[] {
  return records.map((r) => r.id);
}
