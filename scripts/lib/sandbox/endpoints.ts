// The v2 endpoints the sandbox serves, as data: for each list endpoint its collection key, page
// size limit, order_by fields, filter fields (with the operators the official spec documents),
// custom-field filtering, `fields` handling and how the last page signals the end. The server
// (server.ts) routes to these; the generic machinery is in query.ts.
//
// Choices where Keap is silent (documented so clients do not depend on them by accident):
// - no `order_by` means `id asc` (stages: `stage_order asc`; tagged contacts: contact id);
// - since/until and start/end time filters are inclusive on both ends;
// - the last page omits `next_page_token` on most endpoints but sends `""` on tags, tag
//   categories, tagged contacts, stages and users, so clients must handle both;
// - unknown query parameters are ignored (as the live API does), bad values of known ones are 400;
// - `fields` lists exactly what contacts return (id always), but adds to the defaults on
//   companies, opportunities, notes and tasks.
import type { Collection, Item, SortDef } from './collection.ts';
import { stringKey, timeKey } from './collection.ts';
import { LEAD_SOURCES, TIME_FIELD, CREATE_FIELD, type CustomFieldMeta, type EntityName, type ModelEntity, type Rec } from './generate.ts';
import type { SandboxStore } from './store.ts';
import { stageMovesEndpoint } from './stage-moves.ts';
import { salesEndpoints } from './sales.ts';
import { bad, bool, CMP_ALL, CMP_NO_NE, enumEquals, idCompare, idSet, numCompare, refEquals, text, timeBound, timeCompare, type Clause, type FilterField } from './query.ts';

export interface FieldsSpec {
  /** exact: `fields` lists exactly what is returned (id always); extras: `fields` adds optional properties. */
  mode: 'exact' | 'extras';
  allowed: readonly string[];
  defaults: readonly string[];
  /** extras mode: the properties left out unless requested (default: every allowed name). */
  optional?: readonly string[];
  /** Accepted names that are never returned (documented but not in the schema, e.g. contact `notes`). */
  ignored?: readonly string[];
  legacy?: readonly string[];
}

export interface ListEndpoint {
  route: string;
  pattern: RegExp;
  entity: EntityName;
  wrapper: string;
  maxPageSize: number;
  sorts: Record<string, () => SortDef>;
  defaultOrder: string;
  filters: Record<string, FilterField>;
  customModel?: ModelEntity;
  fields?: FieldsSpec;
  endToken: 'omit' | 'empty';
  /** Cross-clause rules and implicit clauses (e.g. users hide inactive ones unless asked). */
  finish?(clauses: Clause[]): Clause[];
}

const CONTACT_FIELDS = ['addresses', 'anniversary_date', 'birth_date', 'company', 'contact_type', 'create_time', 'custom_fields', 'email_addresses', 'family_name', 'fax_numbers', 'given_name', 'id', 'job_title', 'leadsource_id', 'links', 'middle_name', 'notes', 'origin', 'owner_id', 'phone_numbers', 'preferred_locale', 'preferred_name', 'prefix', 'referral_code', 'score_value', 'social_accounts', 'source_type', 'spouse_name', 'suffix', 'tag_ids', 'time_zone', 'update_time', 'utm_parameters', 'website', 'account_id', 'assistant_name', 'assistant_phone', 'billing_information', 'created_by', 'groups', 'last_updated_by'];
/** Without `fields`, contacts come back with the common profile only: no custom_fields, tag_ids or rarely used properties. */
export const CONTACT_DEFAULT_FIELDS = ['id', 'given_name', 'middle_name', 'family_name', 'preferred_name', 'prefix', 'suffix', 'job_title', 'company', 'email_addresses', 'phone_numbers', 'addresses', 'owner_id', 'contact_type', 'source_type', 'website', 'create_time', 'update_time'];
const COMPANY_FIELDS = ['id', 'address', 'notes', 'website', 'suffix', 'title', 'groups', 'company_name', 'custom_fields', 'email_address', 'fax_number', 'phone_number', 'update_time', 'create_time', 'anniversary_date', 'assistant_name', 'assistant_phone', 'billing_information', 'birth_date', 'contact_type', 'first_name', 'job_title', 'last_name', 'middle_name', 'preferred_name', 'owner_id', 'referral_code', 'spouse_name', 'account_id', 'created_by', 'last_updated_by'];
const COMPANY_NOT_DEFAULT = new Set(['notes', 'fax_number', 'address', 'email_address', 'phone_number', 'update_time', 'create_time', 'custom_fields']);
export const COMPANY_DEFAULT_FIELDS = COMPANY_FIELDS.filter((f) => !COMPANY_NOT_DEFAULT.has(f));
const OPPORTUNITY_EXTRAS = ['custom_fields', 'created_by', 'last_updated_by', 'status_id'];
const OPPORTUNITY_LEGACY = ['monthly_revenue', 'order_revenue', 'objection', 'status', 'stage_entrance_time'];

const TEXT_TYPES = new Set(['TEXT', 'TEXT_AREA', 'NAME', 'EMAIL', 'PHONE_NUMBER', 'WEBSITE', 'SOCIAL_SECURITY_NUMBER', 'DROPDOWN', 'RADIO', 'STATE']);
const NUMERIC_TYPES = new Set(['WHOLE_NUMBER', 'DECIMAL_NUMBER', 'CURRENCY', 'PERCENT', 'YEAR', 'MONTH', 'DAY_OF_WEEK', 'USER']);

function cfValue(meta: CustomFieldMeta): (r: Rec) => unknown {
  return (r) => ((r.custom_fields as Rec[] | undefined) ?? []).find((c) => c.id === meta.id)?.content;
}

/** Custom fields filter by field_name (case-insensitive) with operators by field type, as the spec describes. */
export function customFieldFilter(model: CustomFieldMeta[], name: string): FilterField | undefined {
  const meta = model.find((m) => m.field_name.toLowerCase() === name.toLowerCase());
  if (!meta) return undefined;
  const get = cfValue(meta);
  const t = meta.field_type;
  if (TEXT_TYPES.has(t)) return text(get, { wildcard: true, caseInsensitive: true });
  if (NUMERIC_TYPES.has(t)) return numCompare(get);
  if (t === 'DATE' || t === 'DATE_TIME') return timeCompare(get);
  if (t === 'YES_NO') {
    return {
      ops: ['=='],
      build: (_op, value, field) => {
        if (value !== '0' && value !== '1') throw bad(`Invalid value '${value}' for Yes/No custom field '${field}': expected 0 or 1`, field);
        return { test: (item) => get(item.rec()) === (value === '1') };
      },
    };
  }
  if (t === 'DRILLDOWN') return text(get, { wildcard: false, caseInsensitive: true });
  // Multi-select: `==` matches records whose selections contain the option.
  return {
    ops: ['=='],
    build: (_op, value) => ({
      test: (item) => {
        const v = get(item.rec());
        return typeof v === 'string' && v.split(',').some((s) => s.trim().toLowerCase() === value.toLowerCase());
      },
    }),
  };
}

function numKey(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))) return Number(v);
  return -Infinity;
}

function sortOf(name: string, kind: 'number' | 'string' | 'time', get: (r: Rec) => unknown): () => SortDef {
  const def: SortDef =
    kind === 'time' ? { name, kind: 'number', key: (r) => timeKey(get(r)) } : kind === 'number' ? { name, kind: 'number', key: (r) => numKey(get(r)) } : { name, kind: 'string', key: (r) => stringKey(get(r)) };
  return () => def;
}

function primaryEmail(r: Rec): unknown {
  return ((r.email_addresses as Rec[] | undefined) ?? [])[0]?.email;
}
function emails(r: Rec): unknown {
  return ((r.email_addresses as Rec[] | undefined) ?? []).map((e) => e.email);
}
function path(...keys: string[]): (r: Rec) => unknown {
  return (r) => {
    let v: unknown = r;
    for (const k of keys) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Rec)[k];
    }
    return v;
  };
}
function addressOf(kind: string, key: string): (r: Rec) => unknown {
  return (r) => ((r.addresses as Rec[] | undefined) ?? []).find((a) => a.field === kind)?.[key];
}

export function buildEndpoints(store: SandboxStore): ListEndpoint[] {
  const col = (e: EntityName): Collection => store.collection(e);
  const gen = store.gen;
  /** Time of an item on the entity's modified/created field, without generating base records. */
  const timeOf = (e: EntityName, field: string) => {
    const tf = TIME_FIELD[e];
    const cf = CREATE_FIELD[e];
    return (item: Item): number => {
      if (item.k >= 0 && field === tf) return gen.updateMs(e, item.k);
      if (item.k >= 0 && field === cf) return gen.createMs(e, item.k);
      return timeKey(item.rec()[field]);
    };
  };
  const since = (e: EntityName, field: string, sortName: string) => timeBound('since', sortName, timeOf(e, field));
  const until = (e: EntityName, field: string, sortName: string) => timeBound('until', sortName, timeOf(e, field));
  const idS = (e: EntityName) => () => col(e).idSort;
  const timeS = (e: EntityName) => () => col(e).timeSort;
  const createS = (e: EntityName) => () => col(e).createSort as SortDef;
  const noIdWithIds = (a: string, b: string) => (clauses: Clause[]): Clause[] => {
    if (clauses.some((c) => c.field === a) && clauses.some((c) => c.field === b)) throw bad(`'${a}' and '${b}' cannot be combined in the same request`);
    return clauses;
  };

  const contactEmailSort: SortDef = {
    name: 'email',
    kind: 'string',
    key: (r) => stringKey(primaryEmail(r)),
    baseKey: (k) => stringKey(gen.contactBasics(k).email),
  };
  const companyNameSort: SortDef = {
    name: 'name',
    kind: 'string',
    key: (r) => stringKey(r.company_name),
    baseKey: (k) => stringKey(gen.companyName(k)),
  };

  const contactFilters: Record<string, FilterField> = {
    email: text(emails, { wildcard: true }),
    given_name: text((r) => r.given_name, { wildcard: true }, (k) => gen.contactBasics(k).given),
    family_name: text((r) => r.family_name, { wildcard: true }, (k) => gen.contactBasics(k).family),
    middle_name: text((r) => r.middle_name, { wildcard: true }),
    company_id: refEquals(path('company', 'id')),
    contact_ids: idSet('id'),
    ids: idSet('id'),
    start_update_time: since('contacts', 'update_time', 'update_time'),
    end_update_time: until('contacts', 'update_time', 'update_time'),
    phone_number: {
      ops: ['=='],
      build: () => ({ test: () => true }),
    },
    phone_fields: {
      ops: ['=='],
      build: (_op, value, field) => {
        for (const f of value.split(',')) if (!/^PHONE[1-5]$/.test(f.trim())) throw bad(`Invalid value '${f}' in '${field}': expected PHONE1..PHONE5`, field);
        return { test: () => true };
      },
    },
    city: text((r) => ((r.addresses as Rec[] | undefined) ?? [])[0]?.locality, { wildcard: true }),
    state: text((r) => ((r.addresses as Rec[] | undefined) ?? [])[0]?.region, { wildcard: true }),
    website: text((r) => r.website, { wildcard: true }),
    lead_source_name: text((r) => LEAD_SOURCES.find((l) => l.id === r.leadsource_id)?.name, { wildcard: true }),
    contact_id: idCompare(CMP_NO_NE),
  };
  for (const [prefix, kind] of [
    ['billing', 'BILLING'],
    ['shipping', 'SHIPPING'],
    ['other', 'OTHER'],
  ] as const) {
    contactFilters[`${prefix}_address_line1`] = text(addressOf(kind, 'line1'));
    contactFilters[`${prefix}_address_locality`] = text(addressOf(kind, 'locality'));
    contactFilters[`${prefix}_address_region`] = text(addressOf(kind, 'region'));
    contactFilters[`${prefix}_address_postal_code`] = text(addressOf(kind, 'postal_code'));
    contactFilters[`${prefix}_address_country_code`] = text(addressOf(kind, 'country_code'));
  }

  const contacts: ListEndpoint = {
    route: '/contacts',
    pattern: /^\/contacts$/,
    entity: 'contacts',
    wrapper: 'contacts',
    maxPageSize: 1000,
    sorts: { id: idS('contacts'), create_time: createS('contacts'), email: () => contactEmailSort, update_time: timeS('contacts') },
    defaultOrder: 'id asc',
    filters: contactFilters,
    customModel: 'contacts',
    fields: { mode: 'exact', allowed: CONTACT_FIELDS, defaults: CONTACT_DEFAULT_FIELDS, ignored: ['notes'] },
    endToken: 'omit',
    finish: (clauses) => {
      const phone = clauses.find((c) => c.field === 'phone_number');
      const fieldsClause = clauses.find((c) => c.field === 'phone_fields');
      if (phone && !fieldsClause) throw bad("'phone_number' requires 'phone_fields' (e.g. phone_fields==PHONE1,PHONE2)", 'phone_number');
      if (phone && fieldsClause) {
        const wanted = new Set(fieldsClause.raw.split('==')[1]?.split(',').map((s) => s.trim()));
        const number = phone.raw.slice(phone.raw.indexOf('==') + 2);
        const digits = number.replace(/\D/g, '');
        phone.test = (item) =>
          ((item.rec().phone_numbers as Rec[] | undefined) ?? []).some(
            (p) => wanted.has(String(p.field)) && (p.number === number || (digits !== '' && String(p.number ?? '').replace(/\D/g, '') === digits)),
          );
      }
      return clauses;
    },
  };

  const companies: ListEndpoint = {
    route: '/companies',
    pattern: /^\/companies$/,
    entity: 'companies',
    wrapper: 'companies',
    maxPageSize: 1000,
    sorts: { id: idS('companies'), create_time: createS('companies'), name: () => companyNameSort, email: sortOf('email', 'string', path('email_address', 'email')) },
    defaultOrder: 'id asc',
    filters: {
      company_name: text((r) => r.company_name, { caseInsensitive: false }),
      name: text((r) => r.company_name, { wildcard: true }),
      email: text(path('email_address', 'email')),
      city: text(path('address', 'locality'), { wildcard: true }),
      state: text((r) => [path('address', 'region')(r), path('address', 'region_code')(r)], { wildcard: true }),
      since_time: since('companies', 'update_time', 'update_time'),
      until_time: until('companies', 'update_time', 'update_time'),
      company_id: idCompare(CMP_NO_NE),
    },
    customModel: 'companies',
    // The documented sample asks for only the left-out properties and still gets company_name etc.,
    // so on companies `fields` adds to the default set rather than replacing it.
    fields: { mode: 'extras', allowed: COMPANY_FIELDS, defaults: [], optional: [...COMPANY_NOT_DEFAULT] },
    endToken: 'omit',
  };

  const tags: ListEndpoint = {
    route: '/tags',
    pattern: /^\/tags$/,
    entity: 'tags',
    wrapper: 'tags',
    maxPageSize: 1000,
    sorts: { name: sortOf('name', 'string', (r) => r.name), create_time: createS('tags'), update_time: timeS('tags') },
    defaultOrder: 'id asc',
    filters: {
      name: text((r) => r.name, { wildcard: true }),
      description: text((r) => r.description, { wildcard: true, none: true }),
      category_id: {
        ops: ['=='],
        build: (_op, value, field) => {
          if (value === 'NONE') return { test: (item) => item.rec().category === undefined };
          return refEquals(path('category', 'id')).build('==', value, field);
        },
      },
      tag_ids: idSet('id'),
      since_create_time: since('tags', 'create_time', 'create_time'),
      until_create_time: until('tags', 'create_time', 'create_time'),
      since_update_time: since('tags', 'update_time', 'update_time'),
      until_update_time: until('tags', 'update_time', 'update_time'),
    },
    endToken: 'empty',
  };
  tags.sorts.id = idS('tags');

  const tagCategories: ListEndpoint = {
    route: '/tags/categories',
    pattern: /^\/tags\/categories$/,
    entity: 'tag_categories',
    wrapper: 'tag_categories',
    maxPageSize: 1000,
    sorts: { id: idS('tag_categories'), name: sortOf('name', 'string', (r) => r.name), create_time: createS('tag_categories'), update_time: timeS('tag_categories') },
    defaultOrder: 'id asc',
    filters: {
      name: text((r) => r.name, { wildcard: true, none: true }),
      description: text((r) => r.description, { wildcard: true, none: true }),
      since_create_time: since('tag_categories', 'create_time', 'create_time'),
      until_create_time: until('tag_categories', 'create_time', 'create_time'),
      since_update_time: since('tag_categories', 'update_time', 'update_time'),
      until_update_time: until('tag_categories', 'update_time', 'update_time'),
    },
    endToken: 'empty',
  };

  const opportunities: ListEndpoint = {
    route: '/opportunities',
    pattern: /^\/opportunities$/,
    entity: 'opportunities',
    wrapper: 'opportunities',
    maxPageSize: 1000,
    sorts: {
      id: idS('opportunities'),
      next_action_time: sortOf('next_action_time', 'time', (r) => r.next_action_time),
      contact_name: sortOf('contact_name', 'string', (r) => `${String(path('contact', 'first_name')(r) ?? '')} ${String(path('contact', 'last_name')(r) ?? '')}`.trim()),
      opportunity_title: sortOf('opportunity_title', 'string', (r) => r.opportunity_title),
      created_time: createS('opportunities'),
      update_time: timeS('opportunities'),
    },
    defaultOrder: 'id asc',
    filters: {
      stage_id: refEquals(path('stage', 'id')),
      user_id: refEquals(path('user', 'id')),
      contact_id: refEquals(path('contact', 'id')),
      opportunity_title: text((r) => r.opportunity_title, { wildcard: true }),
      lead_source_name: text((r) => r.lead_source, { wildcard: true }),
      affiliate_id: refEquals((r) => r.affiliate_id),
      opportunity_id: idCompare(CMP_NO_NE),
      ids: idSet('id', 100),
      contact_phone: text(path('contact', 'phone_number'), { wildcard: true, caseInsensitive: false }),
      contact_city: text(path('contact', 'city'), { wildcard: true }),
      contact_state: text(path('contact', 'state'), { wildcard: true }),
      projected_revenue_high: numCompare((r) => r.projected_revenue_high),
      projected_revenue_low: numCompare((r) => r.projected_revenue_low),
    },
    customModel: 'opportunities',
    fields: { mode: 'extras', allowed: OPPORTUNITY_EXTRAS, defaults: [], legacy: OPPORTUNITY_LEGACY },
    endToken: 'omit',
    finish: noIdWithIds('opportunity_id', 'ids'),
  };

  const stages: ListEndpoint = {
    route: '/opportunities/stages',
    pattern: /^\/opportunities\/stages$/,
    entity: 'stages',
    wrapper: 'stages',
    maxPageSize: 1000,
    sorts: { stage_order: sortOf('stage_order', 'number', (r) => r.order), id: idS('stages') },
    defaultOrder: 'stage_order asc',
    filters: {
      opportunity_stage_name: text((r) => r.name, { wildcard: true }),
      opportunity_stage_id: idCompare(CMP_NO_NE),
    },
    endToken: 'empty',
  };

  const orders: ListEndpoint = {
    route: '/orders',
    pattern: /^\/orders$/,
    entity: 'orders',
    wrapper: 'orders',
    maxPageSize: 1000,
    sorts: { id: idS('orders'), order_time: sortOf('order_time', 'time', (r) => r.order_time), modification_time: timeS('orders') },
    defaultOrder: 'id asc',
    filters: {
      id: idCompare(CMP_ALL),
      ids: idSet('id'),
      product_id: {
        ops: ['=='],
        build: (_op, value, field) => {
          if (!/^\d+$/.test(value)) throw bad(`Invalid value '${value}' for filter field '${field}': expected an integer`, field);
          return { test: (item) => ((item.rec().order_items as Rec[] | undefined) ?? []).some((i) => path('product', 'id')(i) === value) };
        },
      },
      contact_id: refEquals(path('contact', 'id')),
      invoice_id: refEquals((r) => r.invoice_id),
      invoice_xid: text((r) => r.invoice_xid),
      paid: bool((r) => r.status === 'PAID'),
      created_since_time: since('orders', 'creation_time', 'creation_time'),
      created_until_time: until('orders', 'creation_time', 'creation_time'),
      modified_since_time: since('orders', 'modification_time', 'modification_time'),
      modified_until_time: until('orders', 'modification_time', 'modification_time'),
      title: text((r) => r.title, { wildcard: true }),
      order_type: enumEquals((r) => r.order_type, ['ONLINE', 'OFFLINE']),
      shipping_locality: text(path('shipping_information', 'address', 'locality')),
      shipping_region_code: text(path('shipping_information', 'address', 'region_code')),
      shipping_postal_code: text(path('shipping_information', 'address', 'postal_code')),
      shipping_country_code: text(path('shipping_information', 'address', 'country_code')),
    },
    customModel: 'orders',
    endToken: 'omit',
  };

  const products: ListEndpoint = {
    route: '/products',
    pattern: /^\/products$/,
    entity: 'products',
    wrapper: 'products',
    maxPageSize: 1000,
    sorts: { id: idS('products'), name: sortOf('name', 'string', (r) => r.name), sku: sortOf('sku', 'string', (r) => r.sku), last_updated_time: timeS('products') },
    defaultOrder: 'id asc',
    filters: {
      name: text((r) => r.name, { wildcard: true }),
      sku: text((r) => r.sku, { wildcard: true }),
      description: text((r) => r.description, { wildcard: true }),
      short_description: text((r) => r.short_description, { wildcard: true }),
      product_id: idCompare(CMP_NO_NE),
      product_ids: idSet('id'),
    },
    endToken: 'omit',
  };

  const subscriptions: ListEndpoint = {
    route: '/subscriptions',
    pattern: /^\/subscriptions$/,
    entity: 'subscriptions',
    wrapper: 'subscriptions',
    maxPageSize: 1000,
    sorts: {
      id: idS('subscriptions'),
      contact_id: sortOf('contact_id', 'number', (r) => r.contact_id),
      subscription_plan_id: sortOf('subscription_plan_id', 'number', (r) => r.subscription_plan_id),
      modification_time: timeS('subscriptions'),
    },
    defaultOrder: 'id asc',
    filters: {
      contact_id: refEquals((r) => r.contact_id),
      subscription_plan_id: refEquals((r) => r.subscription_plan_id),
      status: {
        ops: ['=='],
        build: (_op, value, field) => {
          const v = value.toLowerCase();
          if (v !== 'active' && v !== 'inactive') throw bad(`Invalid value '${value}' for filter field '${field}': expected Active or Inactive`, field);
          return { test: (item) => item.rec().active === (v === 'active') };
        },
      },
      id: idCompare(CMP_ALL),
      billing_amount: numCompare((r) => r.billing_amount, CMP_ALL),
      ids: idSet('id'),
      subscription_plan_ids: idSet((r) => r.subscription_plan_id),
    },
    customModel: 'subscriptions',
    endToken: 'omit',
  };

  const notes: ListEndpoint = {
    route: '/notes',
    pattern: /^\/notes$/,
    entity: 'notes',
    wrapper: 'notes',
    maxPageSize: 1000,
    sorts: { id: idS('notes'), create_time: createS('notes'), update_time: timeS('notes') },
    defaultOrder: 'id asc',
    filters: {
      id: idCompare(CMP_ALL),
      ids: idSet('id'),
      title: text((r) => r.title, { wildcard: true, contains: true }),
      contact_id: refEquals((r) => r.contact_id),
      assigned_to_user_id: refEquals(path('assigned_to_user', 'id')),
      since_time: since('notes', 'update_time', 'update_time'),
      until_time: until('notes', 'update_time', 'update_time'),
    },
    customModel: 'notes',
    fields: { mode: 'extras', allowed: ['custom_fields'], defaults: [] },
    endToken: 'omit',
    finish: noIdWithIds('id', 'ids'),
  };

  const tasks: ListEndpoint = {
    route: '/tasks',
    pattern: /^\/tasks$/,
    entity: 'tasks',
    wrapper: 'tasks',
    maxPageSize: 1000,
    sorts: { id: idS('tasks'), create_time: createS('tasks'), due_time: sortOf('due_time', 'time', (r) => r.due_time), update_time: timeS('tasks') },
    defaultOrder: 'id asc',
    filters: {
      contact_id: refEquals((r) => r.contact_id),
      has_due_date: bool((r) => typeof r.due_time === 'string'),
      is_completed: bool((r) => r.completed === true),
      user_id: {
        ops: ['=='],
        build: (_op, value, field) => {
          if (value === 'UNASSIGNED') return { test: (item) => item.rec().assigned_to_user_id === undefined || item.rec().assigned_to_user_id === null };
          return refEquals((r) => r.assigned_to_user_id).build('==', value, field);
        },
      },
      opportunity_id: refEquals((r) => r.opportunity_id),
      task_ids: idSet('id'),
      priority: enumEquals((r) => r.priority, ['CRITICAL', 'ESSENTIAL', 'NONESSENTIAL']),
      since_time: since('tasks', 'modification_time', 'modification_time'),
      until_time: until('tasks', 'modification_time', 'modification_time'),
      id: idCompare(CMP_NO_NE),
      title: text((r) => r.title, { wildcard: true }),
    },
    customModel: 'tasks',
    fields: { mode: 'extras', allowed: ['custom_fields'], defaults: [] },
    endToken: 'omit',
  };

  const users: ListEndpoint = {
    route: '/users',
    pattern: /^\/users$/,
    entity: 'users',
    wrapper: 'users',
    maxPageSize: 100,
    sorts: {
      id: idS('users'),
      create_time: createS('users'),
      email: sortOf('email', 'string', primaryEmail),
      name: sortOf('name', 'string', (r) => r.family_name),
    },
    defaultOrder: 'id asc',
    filters: {
      email: text(emails),
      given_name: text((r) => r.given_name),
      include_inactive: bool(() => true),
      include_partners: bool(() => true),
      user_ids: idSet('id'),
    },
    endToken: 'empty',
    finish: (clauses) => {
      const flag = (name: string): boolean => clauses.some((c) => c.field === name && /==true$/i.test(c.raw));
      const rest = clauses.filter((c) => c.field !== 'include_inactive' && c.field !== 'include_partners');
      if (!flag('include_inactive')) rest.push({ field: '(active)', op: '==', raw: '', test: (item) => item.rec().status !== 'INACTIVE' && item.rec().status !== 'NOT_A_USER' });
      if (!flag('include_partners')) rest.push({ field: '(partner)', op: '==', raw: '', test: (item) => item.rec().partner !== true });
      return rest;
    },
  };

  return [contacts, companies, tags, tagCategories, opportunities, stages, stageMovesEndpoint(store), orders, products, subscriptions, notes, tasks, users, ...salesEndpoints(store)];
}

export function customFilterLookup(store: SandboxStore, ep: ListEndpoint): ((name: string) => FilterField | undefined) | undefined {
  if (!ep.customModel) return undefined;
  const model = store.gen.models[ep.customModel];
  return (name) => customFieldFilter(model, name);
}

/** Applies `fields` to a presented record. */
export function project(rec: Rec, spec: FieldsSpec | undefined, requested: string[] | null): Rec {
  if (!spec) return rec;
  let keep: Set<string>;
  if (spec.mode === 'exact') {
    keep = new Set(requested ?? spec.defaults);
    keep.add('id');
  } else {
    const optional = new Set(spec.optional ?? spec.allowed);
    keep = new Set(Object.keys(rec).filter((k) => !optional.has(k)));
    for (const f of requested ?? spec.defaults) keep.add(f);
  }
  const out: Rec = {};
  for (const k in rec) if (keep.has(k)) out[k] = rec[k];
  return out;
}

export function validateFields(spec: FieldsSpec | undefined, requested: string[] | null): void {
  if (!spec || !requested) return;
  for (const f of requested) {
    if (spec.legacy?.includes(f)) throw bad(`Field '${f}' is a legacy opportunity field and the legacy opportunities feature is not enabled on this tenant`, 'fields');
    if (!spec.allowed.includes(f)) throw bad(`Invalid field '${f}' in 'fields'. Allowed: ${spec.allowed.join(', ')}`, 'fields');
  }
}
