// The sandbox's source of truth: one Collection per entity plus the contact<->tag links, with
// read access in exact v2 shape and the mutations tests and demos use to change data over time.
//
// Keap semantics we reproduce (and the sync engine relies on):
// - Every mutation stamps the entity's own "last modified" field with the store clock
//   (update_time, last_updated_time, modification_time or updated_time); timestamps never go
//   backwards even if the injected clock does.
// - Applying or removing a tag bumps the contact's update_time. Keap does not document this;
//   we chose it because the sync re-reads tag_ids of changed contacts, and it is the only way a
//   removal can be seen incrementally. The link's applied_time is the apply time.
// - Deleting a record just makes it disappear (v2 has no tombstones). Deleting a contact drops
//   its tag links; deleting a tag removes it from every contact's tag_ids without bumping them.
// - Records handed out are copies; mutate only through the methods below.
import { Collection, cmpPos } from './collection.ts';
import { ENTITY_NAMES, TIME_FIELD, CREATE_FIELD, TenantGenerator, type EntityName, type Rec, type TenantShape, type CustomFieldMeta, type ModelEntity } from './generate.ts';
import { iso, Rng, ApiError } from './util.ts';
import { recordStageMove } from './stage-moves.ts';

export interface TagLink {
  tag_id: string;
  applied_time: string;
}

export interface TaggedContact {
  id: string;
  email?: string;
  given_name?: string;
  family_name?: string;
  applied_time: string;
}

interface TagIndexEntry {
  ks: Uint32Array;
  applied: Float64Array;
  fill: number;
}

export interface TaggedRowRef {
  key: string | number;
  id: number;
  applied: number;
}

export class SandboxStore {
  readonly gen: TenantGenerator;
  private readonly cols: Record<EntityName, Collection>;
  /** Contacts whose tag set differs from the generated one: contact id -> (tag id -> applied ms). */
  private readonly linkOverrides = new Map<number, Map<number, number>>();
  private tagIndex: Map<number, TagIndexEntry> | null = null;
  private lastStamp = 0;
  /** Bumped on every mutation; caches of derived views key on it. */
  version = 0;
  private taggedCache = new Map<string, { version: number; rows: TaggedRowRef[] }>();

  constructor(
    readonly shape: TenantShape,
    private readonly clock: () => Date,
  ) {
    this.gen = new TenantGenerator(shape);
    this.cols = Object.fromEntries(ENTITY_NAMES.map((e) => [e, new Collection(e, this.gen)])) as Record<EntityName, Collection>;
  }

  collection(e: EntityName): Collection {
    const c = this.cols[e];
    if (!c) throw new Error(`Unknown entity '${String(e)}'; expected one of ${ENTITY_NAMES.join(', ')}`);
    return c;
  }

  /** Current time in ms for stamping; never earlier than a previous stamp. */
  stampMs(): number {
    const t = Math.max(this.clock().getTime(), this.lastStamp);
    this.lastStamp = t;
    return t;
  }

  // --- reads -------------------------------------------------------------------------------

  count(e: EntityName): number {
    return this.collection(e).count();
  }

  get(e: EntityName, id: string | number): Rec | undefined {
    const n = Number(id);
    const col = this.collection(e);
    const raw = col.raw(n);
    if (!raw) return undefined;
    return this.decorate(e, n, col.overrides.has(n) ? structuredClone(raw) : raw);
  }

  /** Every live record in id order, exactly as the API serves it with all fields. */
  *list(e: EntityName): Generator<Rec> {
    const col = this.collection(e);
    // Generated base records are already private copies; only stored overrides need cloning.
    for (const item of col.iterate(col.idSort, 1, null)) yield this.decorate(e, item.id, item.k >= 0 ? item.rec() : structuredClone(item.rec()));
  }

  /** Internal fast path for the server: decorate a record that is already a private copy or generated. */
  present(e: EntityName, id: number, rec: Rec, fresh: boolean): Rec {
    return this.decorate(e, id, fresh ? rec : structuredClone(rec));
  }

  private decorate(e: EntityName, id: number, rec: Rec): Rec {
    // v2 transactions have no id: the store's key stays internal.
    if (e === 'transactions') delete rec.id;
    if (e === 'contacts') {
      const links = this.linksOf(id);
      const ids = [...links.keys()].sort((a, b) => a - b).map(String);
      rec.tag_ids = ids;
      if (ids.length > 0) rec.groups = ids.join(',');
      else delete rec.groups;
      // The embedded company always reflects the company as it is now (renamed, or gone).
      const company = rec.company as Rec | undefined;
      if (company && company.id !== undefined) {
        const co = this.cols.companies;
        const cid = Number(company.id);
        if (!co.exists(cid)) delete rec.company;
        else {
          const override = co.overrides.get(cid);
          const name = override ? override.company_name : this.gen.companyName(co.kOf(cid));
          if (typeof name === 'string') company.company_name = name;
          else delete company.company_name;
        }
      }
    }
    return rec;
  }

  /** Tag links of a contact (tag id -> applied ms), excluding deleted tags. */
  linksOf(contactId: number): Map<number, number> {
    const o = this.linkOverrides.get(contactId);
    let m: Map<number, number>;
    if (o) m = new Map(o);
    else {
      const k = this.cols.contacts.kOf(contactId);
      m = new Map(k >= 0 ? this.gen.contactTagLinks(k) : []);
    }
    const tags = this.cols.tags;
    if (tags.deleted.size > 0) for (const t of [...m.keys()]) if (tags.deleted.has(t)) m.delete(t);
    return m;
  }

  tagLinks(contactId: string | number): TagLink[] {
    const id = Number(contactId);
    if (!this.cols.contacts.exists(id)) return [];
    return [...this.linksOf(id)].sort((a, b) => a[0] - b[0]).map(([t, ms]) => ({ tag_id: String(t), applied_time: iso(ms) }));
  }

  /**
   * Inverted index of the generated links: per tag, base contact indexes and applied times in
   * typed arrays (about 12 bytes per link), built on first use in two passes.
   */
  private buildTagIndex(): Map<number, TagIndexEntry> {
    if (this.tagIndex) return this.tagIndex;
    const n = this.gen.count('contacts');
    const counts = new Map<number, number>();
    for (let k = 0; k < n; k++) for (const [t] of this.gen.contactTagLinks(k)) counts.set(t, (counts.get(t) ?? 0) + 1);
    const ix = new Map<number, TagIndexEntry>();
    for (const [t, c] of counts) ix.set(t, { ks: new Uint32Array(c), applied: new Float64Array(c), fill: 0 });
    for (let k = 0; k < n; k++) {
      for (const [t, applied] of this.gen.contactTagLinks(k)) {
        const e = ix.get(t) as TagIndexEntry;
        e.ks[e.fill] = k;
        e.applied[e.fill] = applied;
        e.fill++;
      }
    }
    this.tagIndex = ix;
    return ix;
  }

  taggedRow(contactId: number, applied: number): TaggedContact {
    const col = this.cols.contacts;
    const o = col.overrides.get(contactId);
    const row: TaggedContact = { id: String(contactId), applied_time: iso(applied) };
    if (o) {
      const emails = (o.email_addresses as Rec[] | undefined) ?? [];
      const email = emails.find((x) => x.field === 'EMAIL1') ?? emails[0];
      if (typeof email?.email === 'string') row.email = email.email;
      if (typeof o.given_name === 'string') row.given_name = o.given_name;
      if (typeof o.family_name === 'string') row.family_name = o.family_name;
    } else {
      const b = this.gen.contactBasics(col.kOf(contactId));
      if (b.email !== undefined) row.email = b.email;
      if (b.given !== undefined) row.given_name = b.given;
      if (b.family !== undefined) row.family_name = b.family;
    }
    // Keep v2 key order: id, email, given_name, family_name, applied_time.
    const { applied_time, ...rest } = row;
    return { ...rest, applied_time };
  }

  /**
   * Contacts carrying a tag, sorted by the given order (key from `orderKey`, which may read the
   * served row) then contact id. Only (key, id, applied) is kept; rows are built when served.
   * Cached until the next mutation; numeric orders never build rows at all.
   */
  taggedContactRows(tagId: number, order: string, orderKey: ((row: TaggedContact) => string | number) | null): TaggedRowRef[] {
    const cacheKey = `${tagId}|${order}`;
    const cached = this.taggedCache.get(cacheKey);
    if (cached && cached.version === this.version) return cached.rows;
    const col = this.cols.contacts;
    const rows: TaggedRowRef[] = [];
    const push = (cid: number, applied: number): void => {
      const key = order === 'id' ? cid : order === 'applied_time' ? applied : (orderKey as (row: TaggedContact) => string | number)(this.taggedRow(cid, applied));
      rows.push({ key, id: cid, applied });
    };
    const base = this.buildTagIndex().get(tagId);
    if (base) {
      for (let i = 0; i < base.fill; i++) {
        const cid = col.idOf(base.ks[i] as number);
        if (col.deleted.has(cid) || this.linkOverrides.has(cid)) continue;
        push(cid, base.applied[i] as number);
      }
    }
    for (const [cid, links] of this.linkOverrides) {
      const applied = links.get(tagId);
      if (applied !== undefined && !col.deleted.has(cid)) push(cid, applied);
    }
    rows.sort((x, y) => cmpPos(x.key, x.id, y.key, y.id));
    if (this.taggedCache.size >= 8) this.taggedCache.clear();
    this.taggedCache.set(cacheKey, { version: this.version, rows });
    return rows;
  }

  /** Contacts with a tag (contact id order), each with its applied time, as the API serves them. */
  taggedContacts(tagId: string | number): TaggedContact[] {
    const id = Number(tagId);
    if (!this.cols.tags.exists(id)) return [];
    return this.taggedContactRows(id, 'id', null).map((r) => this.taggedRow(r.id, r.applied));
  }

  model(e: ModelEntity): { custom_fields: CustomFieldMeta[]; optional_properties: string[] } {
    const fields = this.gen.models[e];
    if (!fields) throw new Error(`No custom-field model for '${e}'`);
    return { custom_fields: structuredClone(fields), optional_properties: OPTIONAL_PROPERTIES[e] };
  }

  // --- mutations -----------------------------------------------------------------------------

  private bump(e: EntityName, id: number, rec: Rec, ms: number): void {
    if (TIME_FIELD[e]) rec[TIME_FIELD[e]] = iso(ms);
    this.collection(e).setOverride(id, rec);
    this.version++;
  }

  private mustExist(e: EntityName, id: number): Rec {
    const raw = this.collection(e).raw(id);
    if (!raw) throw new ApiError(404, `${e} record ${id} not found`, [{ domain: e, resource: String(id) }]);
    return raw;
  }

  private applyPatch(rec: Rec, patch: Rec): void {
    for (const [key, v] of Object.entries(patch)) {
      if (key === 'id') continue;
      if (v === undefined) delete rec[key];
      else rec[key] = structuredClone(v);
    }
  }

  addContact(partial: Rec = {}): Rec {
    return this.add('contacts', partial);
  }
  updateContact(id: string | number, patch: Rec): Rec {
    return this.update('contacts', id, patch);
  }
  deleteContact(id: string | number): boolean {
    return this.delete('contacts', id);
  }

  /** Applies a tag now; returns false if the contact already had it (nothing changes then). */
  applyTag(contactId: string | number, tagId: string | number): boolean {
    const cid = Number(contactId);
    const tid = Number(tagId);
    const rec = structuredClone(this.mustExist('contacts', cid));
    this.mustExist('tags', tid);
    const links = this.linksOf(cid);
    if (links.has(tid)) return false;
    const ms = this.stampMs();
    links.set(tid, ms);
    this.linkOverrides.set(cid, links);
    this.bump('contacts', cid, rec, ms);
    return true;
  }

  /** Removes a tag now; returns false if the contact did not have it. */
  removeTag(contactId: string | number, tagId: string | number): boolean {
    const cid = Number(contactId);
    const tid = Number(tagId);
    const rec = structuredClone(this.mustExist('contacts', cid));
    const links = this.linksOf(cid);
    if (!links.delete(tid)) return false;
    this.linkOverrides.set(cid, links);
    this.bump('contacts', cid, rec, this.stampMs());
    return true;
  }

  /** Adds a record; fields not given get minimal defaults. Returns the record as served. */
  add(e: EntityName, partial: Rec = {}): Rec {
    const col = this.collection(e);
    const id = partial.id !== undefined ? Number(partial.id) : col.allocateId();
    if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`Invalid id '${String(partial.id)}'`);
    if (col.exists(id) || col.deleted.has(id)) throw new Error(`${e} id ${id} already exists or was used`);
    const ms = this.stampMs();
    const rec: Rec = { id: String(id), ...defaultsFor(e, id) };
    const cf = CREATE_FIELD[e];
    if (cf) rec[cf] = iso(ms);
    const { tag_ids: tagIds, ...rest } = partial;
    this.applyPatch(rec, rest);
    if (e === 'contacts') {
      const links = new Map<number, number>();
      for (const t of (tagIds as Array<string | number> | undefined) ?? []) {
        this.mustExist('tags', Number(t));
        links.set(Number(t), ms);
      }
      this.linkOverrides.set(id, links);
    }
    this.bump(e, id, rec, ms);
    // Keap records an opportunity entering its first stage as a stage move.
    if (e === 'opportunities') recordStageMove(this, undefined, rec);
    return this.get(e, id) as Rec;
  }

  /** Shallow-merges `patch` into the record and bumps its modified time. `tag_ids` on a contact replaces its tags. */
  update(e: EntityName, id: string | number, patch: Rec): Rec {
    const n = Number(id);
    const before = this.mustExist(e, n);
    const rec = structuredClone(before);
    const ms = this.stampMs();
    const { tag_ids: tagIds, ...rest } = patch;
    this.applyPatch(rec, rest);
    if (e === 'contacts') {
      delete rec.tag_ids;
      delete rec.groups;
      if (tagIds !== undefined) {
        const old = this.linksOf(n);
        const links = new Map<number, number>();
        for (const t of tagIds as Array<string | number>) {
          this.mustExist('tags', Number(t));
          links.set(Number(t), old.get(Number(t)) ?? ms);
        }
        this.linkOverrides.set(n, links);
      }
    }
    this.bump(e, n, rec, ms);
    // Moving an opportunity to another stage appends a stage move, as in Keap.
    if (e === 'opportunities') recordStageMove(this, before, rec);
    return this.get(e, n) as Rec;
  }

  delete(e: EntityName, id: string | number): boolean {
    const n = Number(id);
    const ok = this.collection(e).remove(n);
    if (ok) {
      if (e === 'contacts') this.linkOverrides.delete(n);
      this.version++;
    }
    return ok;
  }

  /** Updates `n` random live contacts (as a user editing records would), bumping update_time. */
  churn(n: number, rng: Rng): number[] {
    const col = this.cols.contacts;
    const touched: number[] = [];
    const total = col.baseCount;
    for (let i = 0; i < n && total > 0; i++) {
      let id = -1;
      for (let tries = 0; tries < 20; tries++) {
        const cand = col.idOf(rng.int(total));
        if (col.exists(cand)) {
          id = cand;
          break;
        }
      }
      if (id < 0) continue;
      this.update('contacts', id, { score_value: String(rng.int(100)), job_title: rng.pick(['Owner', 'Manager', 'Consultant', 'Directrice – “Ops”']) });
      touched.push(id);
    }
    return touched;
  }

  userInfo(): Rec {
    const users = this.cols.users;
    let admin: Rec | undefined;
    for (const item of users.iterate(users.idSort, 1, null)) {
      const u = item.rec();
      if (u.admin === true) {
        admin = u;
        break;
      }
    }
    const u = admin ?? {};
    const emails = (u.email_addresses as Rec[] | undefined) ?? [];
    const info: Rec = {
      email: emails[0]?.email ?? 'admin@vendor.example',
      sub: String(u.global_user_id ?? '1'),
      id: String(u.id ?? '1'),
      keap_id: String(u.keap_id ?? 'admin@vendor.example'),
      family_name: String(u.family_name ?? 'Admin'),
      given_name: String(u.given_name ?? 'Sandbox'),
    };
    if (typeof u.middle_name === 'string') info.middle_name = u.middle_name;
    info.preferred_name = String(u.nickname ?? u.given_name ?? 'Sandbox');
    info.is_admin = true;
    info.tenant_id = TENANT_ID;
    return info;
  }
}

export const TENANT_ID = 'sandbox.infusionsoft.com';

const OPTIONAL_PROPERTIES: Record<ModelEntity, string[]> = {
  contacts: ['custom_fields', 'tag_ids', 'groups', 'links', 'utm_parameters', 'social_accounts', 'fax_numbers', 'origin', 'birth_date', 'anniversary_date', 'spouse_name', 'time_zone', 'preferred_locale', 'referral_code', 'score_value', 'leadsource_id', 'account_id', 'assistant_name', 'assistant_phone', 'billing_information', 'created_by', 'last_updated_by'],
  companies: ['custom_fields', 'notes', 'fax_number', 'address', 'email_address', 'phone_number', 'update_time', 'create_time'],
  opportunities: ['custom_fields', 'created_by', 'last_updated_by', 'status_id'],
  orders: ['custom_fields'],
  subscriptions: ['custom_fields'],
  notes: ['custom_fields'],
  tasks: ['custom_fields'],
};

function defaultsFor(e: EntityName, id: number): Rec {
  switch (e) {
    case 'contacts':
      return { email_addresses: [], phone_numbers: [], fax_numbers: [], addresses: [], social_accounts: [], custom_fields: [], utm_parameters: [], links: [], source_type: 'API' };
    case 'companies':
      return { company_name: `New company ${id}`, custom_fields: [] };
    case 'tags':
      return { name: `New tag ${id}` };
    case 'tag_categories':
      return { name: `New category ${id}` };
    case 'users':
      return { given_name: 'New', family_name: `User ${id}`, status: 'INVITED', admin: false, partner: false, email_addresses: [], phone_numbers: [], fax_numbers: [], social_accounts: [] };
    case 'products':
      return { name: `New product ${id}`, sku: `NEW-${id}`, active: true, price: { amount: 0, currency_code: 'USD', formatted_amount: '$0.00' }, categories: [], options: [], subscription_plans: [] };
    case 'stages':
      return { name: `Stage ${id}`, order: id, checklist_items: [] };
    case 'opportunities':
      return { opportunity_title: `New opportunity ${id}`, contact: { id: '0' }, stage: { id: '1', name: 'New Lead', reasons: [] }, include_in_forecast: false, custom_fields: [] };
    case 'orders':
      return { title: `New order ${id}`, status: 'DRAFT', order_type: 'OFFLINE', source_type: 'API', order_items: [], files: [], custom_fields: [] };
    case 'subscriptions':
      return { active: true, quantity: 1, custom_fields: [] };
    case 'notes':
      return { title: '', text: '', custom_fields: [] };
    case 'tasks':
      return { title: `New task ${id}`, completed: false, priority: 'NONESSENTIAL', custom_fields: [] };
    case 'stage_moves':
      return { opportunity_id: '0', move_from_stage_id: '0', move_to_stage_id: '1' };
    case 'payments':
      return { amount: 0, status: 'COMPLETED', order_ids: [] };
    case 'transactions':
      return { amount: 0, status: 'APPROVED', transaction_method: 'MANUAL', order_ids: [] };
    case 'product_categories':
      return { name: `New category ${id}` };
  }
}
