// The v2 list-request machinery: `filter` parsing (field, operator, URL-decoded value, clauses
// joined by ';'), `order_by`, `page_size`, opaque `page_token`s bound to the query they came
// from, and `fields` projection. Endpoint-specific knowledge (which fields, which operators)
// lives in endpoints.ts; this module only provides the building blocks and the paging loop.
import { createHash } from 'node:crypto';
import { cmpPos, type Item, type Key, type Pos, type SortDef } from './collection.ts';
import { ApiError, parseFilterTime } from './util.ts';
import type { Rec } from './generate.ts';

export type Op = '==' | '!=' | '>' | '>=' | '<' | '<=';
const ALL_CMP: readonly Op[] = ['==', '!=', '>', '>=', '<', '<='];
export const CMP_NO_NE: readonly Op[] = ['==', '>', '>=', '<', '<='];
export const CMP_ALL = ALL_CMP;

export interface Bound {
  sort: string;
  lower?: { key: Key; inclusive: boolean };
  upper?: { key: Key; inclusive: boolean };
}

export interface Clause {
  field: string;
  op: Op;
  raw: string;
  test(item: Item): boolean;
  bound?: Bound;
}

/** A filter field: the operators it accepts and how to turn a value into a predicate. */
export interface FilterField {
  ops: readonly Op[];
  build(op: Op, value: string, field: string): Omit<Clause, 'field' | 'op' | 'raw'>;
}

export function bad(message: string, resource = 'filter'): ApiError {
  return new ApiError(400, message, [{ domain: 'request', resource }]);
}

const CLAUSE = /^([A-Za-z_][A-Za-z0-9_]*)(==|!=|>=|<=|>|<)([\s\S]*)$/;

export function parseFilter(filter: string | null, fields: Record<string, FilterField>, custom?: (name: string) => FilterField | undefined): Clause[] {
  if (filter === null) return [];
  const clauses: Clause[] = [];
  for (const part of filter.split(';')) {
    if (part.trim() === '') continue;
    const m = CLAUSE.exec(part);
    if (!m) throw bad(`Invalid filter clause '${part}': expected <field><op><value> with op one of ==, !=, >, >=, <, <=`);
    const field = m[1] as string;
    const op = m[2] as Op;
    const value = m[3] as string;
    const def = fields[field] ?? custom?.(field);
    if (!def) throw bad(`Invalid filter field '${field}'. Allowed fields: ${Object.keys(fields).join(', ')}`, field);
    if (!def.ops.includes(op)) throw bad(`Operator '${op}' is not supported for filter field '${field}' (allowed: ${def.ops.join(' ')})`, field);
    if (value === '') throw bad(`Missing value for filter field '${field}'`, field);
    clauses.push({ field, op, raw: part, ...def.build(op, value, field) });
  }
  return clauses;
}

// --- value matchers -------------------------------------------------------------------------

function textMatcher(value: string, field: string, opts: { wildcard: boolean; caseInsensitive: boolean; contains?: boolean }): (v: unknown) => boolean {
  if (value.startsWith('*')) throw bad(`Leading wildcards are not supported (filter field '${field}')`, field);
  const star = value.indexOf('*');
  if (star >= 0 && (!opts.wildcard || star !== value.length - 1)) {
    throw bad(opts.wildcard ? `A wildcard '*' may only appear at the end of the value (filter field '${field}')` : `Wildcards are not supported for filter field '${field}'`, field);
  }
  const norm = (s: string): string => (opts.caseInsensitive ? s.toLowerCase() : s);
  if (star >= 0) {
    const prefix = norm(value.slice(0, -1));
    return (v) => typeof v === 'string' && norm(v).startsWith(prefix);
  }
  const want = norm(value);
  if (opts.contains) return (v) => typeof v === 'string' && norm(v).includes(want);
  return (v) => typeof v === 'string' && norm(v) === want;
}

/** `==` on a string (possibly a list of candidate strings from the record). */
export function text(
  get: (r: Rec) => unknown,
  opts: { wildcard?: boolean; caseInsensitive?: boolean; none?: boolean; contains?: boolean } = {},
  /** Cheap value for base record k (must equal get(generated record)); avoids generating it. */
  baseGet?: (k: number) => unknown,
): FilterField {
  const value = (item: Item): unknown => (baseGet && item.k >= 0 ? baseGet(item.k) : get(item.rec()));
  return {
    ops: ['=='],
    build: (_op, raw, field) => {
      if (opts.none && raw === 'NONE') {
        return { test: (item) => isMissing(value(item)) };
      }
      const match = textMatcher(raw, field, { wildcard: opts.wildcard ?? false, caseInsensitive: opts.caseInsensitive ?? true, contains: opts.contains });
      return {
        test: (item) => {
          const v = value(item);
          return Array.isArray(v) ? v.some(match) : match(v);
        },
      };
    },
  };
}

function isMissing(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function parseIntValue(value: string, field: string): number {
  if (!/^-?\d+$/.test(value)) throw bad(`Invalid value '${value}' for filter field '${field}': expected an integer`, field);
  return Number(value);
}

function parseNumber(value: string, field: string): number {
  if (!/^-?\d+(\.\d+)?$/.test(value)) throw bad(`Invalid value '${value}' for filter field '${field}': expected a number`, field);
  return Number(value);
}

function compare(op: Op, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

function boundFor(sort: string, op: Op, key: number): Bound | undefined {
  switch (op) {
    case '==':
      return { sort, lower: { key, inclusive: true }, upper: { key, inclusive: true } };
    case '>':
      return { sort, lower: { key, inclusive: false } };
    case '>=':
      return { sort, lower: { key, inclusive: true } };
    case '<':
      return { sort, upper: { key, inclusive: false } };
    case '<=':
      return { sort, upper: { key, inclusive: true } };
    case '!=':
      return undefined;
  }
}

/** Integer comparison on the record's own id (keyset paging: `contact_id>N`, `id>N`). */
export function idCompare(ops: readonly Op[] = CMP_NO_NE): FilterField {
  return {
    ops,
    build: (op, value, field) => {
      const n = parseIntValue(value, field);
      return { test: (item) => compare(op, item.id, n), bound: boundFor('id', op, n) };
    },
  };
}

/** Integer/decimal comparison on some record value. */
export function numCompare(get: (r: Rec) => unknown, ops: readonly Op[] = CMP_NO_NE, integer = false): FilterField {
  return {
    ops,
    build: (op, value, field) => {
      const n = integer ? parseIntValue(value, field) : parseNumber(value, field);
      return {
        test: (item) => {
          const v = get(item.rec());
          const x = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
          return !Number.isNaN(x) && compare(op, x, n);
        },
      };
    },
  };
}

/** `==` on an id-valued reference (e.g. contact_id, stage_id). */
export function refEquals(get: (r: Rec) => unknown): FilterField {
  return {
    ops: ['=='],
    build: (_op, value, field) => {
      parseIntValue(value, field);
      return { test: (item) => String(get(item.rec()) ?? '') === value };
    },
  };
}

/** `==1,2,3` set membership on an id-valued attribute. */
export function idSet(get: ((r: Rec) => unknown) | 'id', max = Infinity): FilterField {
  return {
    ops: ['=='],
    build: (_op, value, field) => {
      const parts = value.split(',').map((s) => s.trim());
      for (const p of parts) parseIntValue(p, field);
      if (parts.length > max) throw bad(`Filter field '${field}' accepts at most ${max} ids`, field);
      const set = new Set(parts.map(Number));
      if (get === 'id') return { test: (item) => set.has(item.id) };
      return { test: (item) => set.has(Number(get(item.rec()))) };
    },
  };
}

export function bool(get: (r: Rec) => boolean): FilterField {
  return {
    ops: ['=='],
    build: (_op, value, field) => {
      const v = value.toLowerCase();
      if (v !== 'true' && v !== 'false') throw bad(`Invalid value '${value}' for filter field '${field}': expected true or false`, field);
      const want = v === 'true';
      return { test: (item) => get(item.rec()) === want };
    },
  };
}

export function enumEquals(get: (r: Rec) => unknown, values: readonly string[], caseInsensitive = false): FilterField {
  return {
    ops: ['=='],
    build: (_op, value, field) => {
      const hit = values.find((v) => (caseInsensitive ? v.toLowerCase() === value.toLowerCase() : v === value));
      if (!hit) throw bad(`Invalid value '${value}' for filter field '${field}': expected one of ${values.join(', ')}`, field);
      return { test: (item) => get(item.rec()) === hit };
    },
  };
}

/**
 * `since`/`until` style time filter: always written with `==`, meaning ≥ (since/start) or
 * ≤ (until/end); both inclusive. `timeOf` reads the item's time in ms (cheaply for base records).
 */
export function timeBound(kind: 'since' | 'until', sort: string, timeOf: (item: Item) => number): FilterField {
  return {
    ops: ['=='],
    build: (_op, value, field) => {
      const t = parseFilterTime(field, value);
      return kind === 'since'
        ? { test: (item) => timeOf(item) >= t, bound: { sort, lower: { key: t, inclusive: true } } }
        : { test: (item) => timeOf(item) <= t, bound: { sort, upper: { key: t, inclusive: true } } };
    },
  };
}

/** Date comparison (custom DATE/DATE_TIME fields): full ISO-8601 with ms and offset. */
export function timeCompare(get: (r: Rec) => unknown): FilterField {
  return {
    ops: CMP_NO_NE,
    build: (op, value, field) => {
      const t = parseFilterTime(field, value);
      return {
        test: (item) => {
          const v = get(item.rec());
          if (typeof v !== 'string') return false;
          const x = Date.parse(v.length === 10 ? `${v}T00:00:00.000Z` : v);
          return !Number.isNaN(x) && compare(op, x, t);
        },
      };
    },
  };
}

// --- order_by, page_size, page_token, fields ------------------------------------------------

export interface OrderSpec {
  sort: SortDef;
  dir: 1 | -1;
  text: string;
}

export function parseOrderBy(value: string | null, sorts: Record<string, () => SortDef>, fallback: string): OrderSpec {
  const text = value === null || value.trim() === '' ? fallback : value.trim();
  const m = /^([A-Za-z_]+)(?:\s+(asc|desc|ASC|DESC))?$/.exec(text);
  const field = m?.[1];
  const make = field ? sorts[field] : undefined;
  if (!m || !make) {
    throw bad(`Invalid order_by '${text}'. Use '<field> asc|desc' with field one of: ${Object.keys(sorts).join(', ')}`, 'order_by');
  }
  return { sort: make(), dir: (m[2] ?? 'asc').toLowerCase() === 'desc' ? -1 : 1, text: `${field} ${(m[2] ?? 'asc').toLowerCase()}` };
}

export function parsePageSize(value: string | null, max: number, fallback = 50): number {
  if (value === null || value === '') return Math.min(fallback, max);
  if (!/^\d+$/.test(value)) throw bad(`Invalid page_size '${value}': expected an integer between 0 and ${max}`, 'page_size');
  const n = Number(value);
  if (n > max) throw bad(`page_size ${n} exceeds the maximum of ${max} for this endpoint`, 'page_size');
  return n === 0 ? Math.min(fallback, max) : n;
}

interface TokenBody {
  v: 1;
  q: string;
  k: Key | null;
  i: number;
}

function fingerprint(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 16);
}

export function encodeToken(queryParts: string[], pos: Pos): string {
  const k = pos[0];
  const body: TokenBody = { v: 1, q: fingerprint(queryParts), k: typeof k === 'number' && !Number.isFinite(k) ? null : k, i: pos[1] };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeToken(token: string, queryParts: string[], kind: 'number' | 'string'): Pos {
  let body: TokenBody;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as TokenBody;
  } catch {
    throw bad('Invalid page_token: not a token issued by this API', 'page_token');
  }
  if (!body || body.v !== 1 || typeof body.i !== 'number' || typeof body.q !== 'string') throw bad('Invalid page_token: not a token issued by this API', 'page_token');
  if (body.q !== fingerprint(queryParts)) {
    throw bad('Invalid page_token: it was issued for a different filter, order_by, page_size or endpoint; send the same parameters on every page', 'page_token');
  }
  const key: Key = body.k === null ? (kind === 'number' ? -Infinity : '') : body.k;
  if (typeof key !== (kind === 'number' ? 'number' : 'string')) throw bad('Invalid page_token', 'page_token');
  return [key, body.i];
}

export function parseFields(params: URLSearchParams): string[] | null {
  const all = params.getAll('fields');
  if (all.length === 0) return null;
  return all
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// --- the paging loop ------------------------------------------------------------------------

/** Tightest start/stop positions from the token and every clause bound on the current sort. */
export function positions(order: OrderSpec, clauses: Clause[], token: Pos | null): { after: Pos | null; stop: Pos | null } {
  const asc = order.dir === 1;
  let after: Pos | null = token;
  let stop: Pos | null = null;
  const later = (a: Pos, b: Pos): boolean => (asc ? cmpPos(a[0], a[1], b[0], b[1]) > 0 : cmpPos(a[0], a[1], b[0], b[1]) < 0);
  for (const c of clauses) {
    const b = c.bound;
    if (!b || b.sort !== order.sort.name) continue;
    const lo: Pos | null = b.lower ? [b.lower.key, b.lower.inclusive ? -Infinity : Infinity] : null;
    const hi: Pos | null = b.upper ? [b.upper.key, b.upper.inclusive ? Infinity : -Infinity] : null;
    const start = asc ? lo : hi;
    const end = asc ? hi : lo;
    if (start && (!after || later(start, after))) after = start;
    if (end && (!stop || later(stop, end))) stop = end;
  }
  return { after, stop };
}

export interface Page {
  items: Item[];
  next: Pos | null;
}

/** Collects one page (plus one look-ahead match to know whether another page exists). */
export function collectPage(iter: Iterable<Item>, clauses: Clause[], pageSize: number): Page {
  const items: Item[] = [];
  for (const item of iter) {
    let ok = true;
    for (const c of clauses) {
      if (!c.test(item)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (items.length === pageSize) {
      const last = items[items.length - 1] as Item;
      return { items, next: [last.key, last.id] };
    }
    items.push(item);
  }
  return { items, next: null };
}
