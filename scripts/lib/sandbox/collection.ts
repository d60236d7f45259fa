// One entity's records in the sandbox: a lazily generated base (index k -> record, never stored)
// plus a small overlay of mutations (overrides, additions, deletions). Ordered traversal merges
// the two in (sort key, id) order, which is what makes keyset paging stable while data changes:
// a page token is just the last (key, id) served, so a record that is updated mid-traversal is
// neither skipped nor repeated when the order is by id, and under a time order it simply moves
// later (and may be seen again, as with the live API).
//
// Sorted base indexes for non-id orders are built on first use and cached: cheap keys (the
// entity's own timestamps, derived without generating the record) cost one typed-array sort;
// other keys generate every base record once.
import { idOf, kOf, maxBaseId, TIME_FIELD, CREATE_FIELD, type EntityName, type TenantGenerator, type Rec } from './generate.ts';

export type Key = number | string;
/** A traversal position: the (key, id) of the last record served. */
export type Pos = [Key, number];

export interface SortDef {
  /** Name used in page tokens and index caches, e.g. "update_time". */
  name: string;
  kind: 'number' | 'string';
  /** Key of a live record; must be total (missing values map to -Infinity or ''). */
  key(rec: Rec): Key;
  /** Optional cheap key for base record k that avoids generating it; must equal key(gen(k)). */
  baseKey?(k: number): Key;
}

export interface Item {
  id: number;
  /** Base index, or -1 for an overlay record. */
  k: number;
  key: Key;
  rec(): Rec;
}

export function cmpPos(ak: Key, aid: number, bk: Key, bid: number): number {
  if (ak < bk) return -1;
  if (ak > bk) return 1;
  return aid - bid;
}

export function timeKey(v: unknown): number {
  if (typeof v !== 'string' || v === '') return -Infinity;
  const t = Date.parse(v);
  return Number.isNaN(t) ? -Infinity : t;
}

export function stringKey(v: unknown): string {
  return typeof v === 'string' ? v.toLowerCase() : '';
}

interface BaseIndex {
  order: Uint32Array;
  keys: Float64Array | string[];
}

interface OverlayEntry {
  id: number;
  key: Key;
  rec: Rec;
}

export class Collection {
  readonly deleted = new Set<number>();
  readonly overrides = new Map<number, Rec>();
  private addedCount = 0;
  private deletedBase = 0;
  private nextId: number;
  private version = 0;
  private indexes = new Map<string, BaseIndex>();
  private overlaySorted = new Map<string, { version: number; entries: OverlayEntry[] }>();
  readonly idSort: SortDef;
  readonly timeSort: SortDef;
  readonly createSort: SortDef | null;

  constructor(
    readonly name: EntityName,
    readonly gen: TenantGenerator,
  ) {
    this.nextId = maxBaseId(gen.shape, name) + 1;
    this.idSort = { name: 'id', kind: 'number', key: (r) => Number(r.id), baseKey: (k) => this.idOf(k) };
    const tf = TIME_FIELD[name];
    this.timeSort = { name: tf, kind: 'number', key: (r) => timeKey(r[tf]), baseKey: (k) => gen.updateMs(name, k) };
    const cf = CREATE_FIELD[name];
    this.createSort = cf ? { name: cf, kind: 'number', key: (r) => timeKey(r[cf]), baseKey: (k) => gen.createMs(name, k) } : null;
  }

  get baseCount(): number {
    return this.gen.count(this.name);
  }
  idOf(k: number): number {
    return idOf(this.gen.shape, this.name, k);
  }
  kOf(id: number): number {
    return kOf(this.gen.shape, this.name, id);
  }
  count(): number {
    return this.baseCount - this.deletedBase + this.addedCount;
  }
  exists(id: number): boolean {
    if (this.deleted.has(id)) return false;
    return this.overrides.has(id) || this.kOf(id) >= 0;
  }
  /** The stored truth for id (the override object itself: callers must not mutate it). */
  raw(id: number): Rec | undefined {
    if (this.deleted.has(id)) return undefined;
    const o = this.overrides.get(id);
    if (o) return o;
    const k = this.kOf(id);
    return k >= 0 ? this.gen.generate(this.name, k) : undefined;
  }
  allocateId(): number {
    return this.nextId++;
  }
  touch(): void {
    this.version++;
  }
  setOverride(id: number, rec: Rec): void {
    const isNew = !this.overrides.has(id) && this.kOf(id) < 0;
    if (isNew) {
      this.addedCount++;
      if (id >= this.nextId) this.nextId = id + 1;
    }
    this.overrides.set(id, rec);
    this.version++;
  }
  remove(id: number): boolean {
    if (!this.exists(id)) return false;
    if (this.kOf(id) >= 0) this.deletedBase++;
    else this.addedCount--;
    this.overrides.delete(id);
    this.deleted.add(id);
    this.version++;
    return true;
  }

  private index(sort: SortDef): BaseIndex | null {
    if (sort.name === 'id') return null;
    let ix = this.indexes.get(sort.name);
    if (ix) return ix;
    const n = this.baseCount;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (sort.kind === 'number') {
      const raw = new Float64Array(n);
      for (let k = 0; k < n; k++) raw[k] = sort.baseKey ? (sort.baseKey(k) as number) : (sort.key(this.gen.generate(this.name, k)) as number);
      // Base ids rise with k, so k breaks ties exactly like id does.
      order.sort((a, b) => (raw[a] as number) - (raw[b] as number) || a - b);
      const keys = new Float64Array(n);
      for (let i = 0; i < n; i++) keys[i] = raw[order[i] as number] as number;
      ix = { order, keys };
    } else {
      const raw: string[] = new Array(n);
      for (let k = 0; k < n; k++) raw[k] = sort.baseKey ? (sort.baseKey(k) as string) : (sort.key(this.gen.generate(this.name, k)) as string);
      order.sort((a, b) => {
        const x = raw[a] as string;
        const y = raw[b] as string;
        return x < y ? -1 : x > y ? 1 : a - b;
      });
      const keys: string[] = new Array(n);
      for (let i = 0; i < n; i++) keys[i] = raw[order[i] as number] as string;
      ix = { order, keys };
    }
    this.indexes.set(sort.name, ix);
    return ix;
  }

  private overlay(sort: SortDef): OverlayEntry[] {
    const cached = this.overlaySorted.get(sort.name);
    if (cached && cached.version === this.version) return cached.entries;
    const entries: OverlayEntry[] = [];
    for (const [id, rec] of this.overrides) entries.push({ id, key: sort.key(rec), rec });
    entries.sort((a, b) => cmpPos(a.key, a.id, b.key, b.id));
    this.overlaySorted.set(sort.name, { version: this.version, entries });
    return entries;
  }

  /**
   * Records in (key, id) order, ascending (dir 1) or descending (dir -1), strictly after `after`
   * in traversal direction, and not beyond `stop` (inclusive) when given.
   */
  *iterate(sort: SortDef, dir: 1 | -1, after: Pos | null, stop: Pos | null = null): Generator<Item> {
    const ix = this.index(sort);
    const n = this.baseCount;
    const baseId = (i: number): number => (ix ? this.idOf(ix.order[i] as number) : this.idOf(i));
    const baseK = (i: number): number => (ix ? (ix.order[i] as number) : i);
    const baseKeyAt = (i: number): Key => (ix ? (ix.keys[i] as Key) : this.idOf(i));
    // First base position strictly after `after` (asc) / strictly before (desc).
    let lo = 0;
    let hi = n;
    if (after) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const c = cmpPos(baseKeyAt(mid), baseId(mid), after[0], after[1]);
        if (dir === 1 ? c <= 0 : c < 0) lo = mid + 1;
        else hi = mid;
      }
    } else {
      lo = dir === 1 ? 0 : n;
    }
    let bi = dir === 1 ? lo : lo - 1;
    const ov = this.overlay(sort);
    let olo = 0;
    let ohi = ov.length;
    if (after) {
      while (olo < ohi) {
        const mid = (olo + ohi) >>> 1;
        const e = ov[mid] as OverlayEntry;
        const c = cmpPos(e.key, e.id, after[0], after[1]);
        if (dir === 1 ? c <= 0 : c < 0) olo = mid + 1;
        else ohi = mid;
      }
    } else {
      olo = dir === 1 ? 0 : ov.length;
    }
    let oi = dir === 1 ? olo : olo - 1;
    const skip = this.deleted.size > 0 || this.overrides.size > 0;
    for (;;) {
      // Advance past base entries that are deleted or shadowed by an override.
      while (bi >= 0 && bi < n && skip) {
        const id = baseId(bi);
        if (!this.deleted.has(id) && !this.overrides.has(id)) break;
        bi += dir;
      }
      const hasB = bi >= 0 && bi < n;
      const hasO = oi >= 0 && oi < ov.length;
      if (!hasB && !hasO) return;
      let takeBase: boolean;
      if (hasB && hasO) {
        const e = ov[oi] as OverlayEntry;
        const c = cmpPos(baseKeyAt(bi), baseId(bi), e.key, e.id);
        takeBase = dir === 1 ? c < 0 : c > 0;
      } else takeBase = hasB;
      let item: Item;
      if (takeBase) {
        const k = baseK(bi);
        const id = this.idOf(k);
        const name = this.name;
        const gen = this.gen;
        let cache: Rec | undefined;
        item = { id, k, key: baseKeyAt(bi), rec: () => (cache ??= gen.generate(name, k)) };
        bi += dir;
      } else {
        const e = ov[oi] as OverlayEntry;
        item = { id: e.id, k: -1, key: e.key, rec: () => e.rec };
        oi += dir;
      }
      if (stop) {
        const c = cmpPos(item.key, item.id, stop[0], stop[1]);
        if (dir === 1 ? c > 0 : c < 0) return;
      }
      yield item;
    }
  }
}
