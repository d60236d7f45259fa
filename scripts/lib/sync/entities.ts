// The entity list, as data: what to fetch from Keap v2, how to page it (full keyset traversal and
// incremental filter), where its raw pages are staged and which SQL procedure merges them, in the
// order the engine starts them (KEAP_SYNC_CONCURRENCY at a time; `after` holds an entity back until
// the ones it depends on are done). Adding an entity = a migration (tables, staging table, a row in
// keap_meta.entities) + a declaration (sql/transforms) + one entry here (see README, "Adding an entity").
import type { Sql } from '../db.ts';

export interface EntityDef {
  /** Entity name: also the staging table (keap_staging.<name>) and the merge-log entity. */
  name: string;
  /** v2 path under KEAP_API_URL; `{parent}` is replaced by each parent id for nested lists. */
  endpoint: string;
  /** Property of a page holding the records; undefined for an unpaged object (models). */
  collectionKey?: string;
  /** Largest page_size Keap accepts on this endpoint. */
  maxPageSize: number;
  /** `fields=` to request (contacts and companies leave important fields out by default). */
  fields?: readonly string[];
  /** Full traversal: keyset filter resuming after an id, with `order_by id asc`. */
  full?: { filter: (afterId: number) => string | undefined; orderBy: string };
  /**
   * Incremental traversal from a watermark (ISO-8601 with milliseconds and an offset): a time
   * `filter` where the endpoint has one; otherwise `stopBelow`, the record's update-time field
   * (dotted JSON path) of a list ordered newest first (`orderBy: '<field> desc'`): paging stops
   * after the first page holding a record older than the watermark, and the cursor moves only
   * once the traversal got there (a run cut short leaves it, so the next run reads the gap).
   */
  incremental?: { filter?: (sinceIso: string) => string; orderBy: string; stopBelow?: string };
  /** Nested list fetched once per parent id (e.g. /tags/{id}/contacts), chosen per traversal. */
  parents?: (sql: Sql, traversal: 'full' | 'incremental') => Promise<number[]>;
  /**
   * Filter clauses that split the list: every traversal reads it once per clause (ANDed to its own
   * filter), all into the same staging table, so a full traversal's delete detection sees their
   * union. For a list whose default listing may leave records out (tasks: completed ones). A full
   * traversal of a partitioned list does not resume by keyset (it starts over).
   */
  partitions?: readonly string[];
  /**
   * Entities that must be synced first when both are in a run: the ones whose tables this
   * entity's merge or parent list reads or writes too. Entities with no such tie are synced at the
   * same time (KEAP_SYNC_CONCURRENCY), each with its own requests, staging and merges.
   */
  after?: readonly string[];
  /** Merge procedure: keap.merge_<name>(p_run_id bigint, p_finish_sweep boolean). */
  merge: string;
  /** True when a complete full traversal lists every record (so missing ones are deleted). */
  sweeps: boolean;
}

const CONTACT_FIELDS = [
  'id', 'given_name', 'middle_name', 'family_name', 'preferred_name', 'prefix', 'suffix', 'job_title', 'company',
  'email_addresses', 'phone_numbers', 'fax_numbers', 'addresses', 'social_accounts', 'custom_fields', 'tag_ids',
  'website', 'birth_date', 'anniversary_date', 'spouse_name', 'contact_type', 'owner_id', 'leadsource_id',
  'source_type', 'origin', 'preferred_locale', 'time_zone', 'referral_code', 'score_value', 'utm_parameters',
  'links', 'groups', 'account_id', 'assistant_name', 'assistant_phone', 'billing_information', 'created_by',
  'last_updated_by', 'create_time', 'update_time',
] as const;

const COMPANY_FIELDS = [
  'id', 'company_name', 'title', 'suffix', 'first_name', 'middle_name', 'last_name', 'preferred_name', 'job_title',
  'email_address', 'phone_number', 'fax_number', 'address', 'website', 'notes', 'groups', 'custom_fields',
  'anniversary_date', 'birth_date', 'assistant_name', 'assistant_phone', 'billing_information', 'contact_type',
  'owner_id', 'referral_code', 'spouse_name', 'account_id', 'created_by', 'last_updated_by', 'create_time', 'update_time',
] as const;

/** Opportunities leave these out unless asked (the legacy extras would be refused on most accounts). */
const OPPORTUNITY_FIELDS = ['custom_fields', 'created_by', 'last_updated_by', 'status_id'] as const;

/** The custom field model entities of issue 9 and the endpoint each reads (/rest/v2/<endpoint>/model). */
const MODEL_ENDPOINT = { company_model: 'companies', opportunity_model: 'opportunities', note_model: 'notes', task_model: 'tasks' } as const;

export const ENTITIES: readonly EntityDef[] = [
  {
    name: 'contact_model',
    endpoint: '/rest/v2/contacts/model',
    maxPageSize: 0,
    merge: 'keap.merge_contact_model',
    sweeps: true,
  },
  {
    name: 'tag_categories',
    endpoint: '/rest/v2/tags/categories',
    collectionKey: 'tag_categories',
    maxPageSize: 1000,
    full: { filter: () => undefined, orderBy: 'update_time asc' },
    incremental: { filter: (t) => `since_update_time==${t}`, orderBy: 'update_time asc' },
    merge: 'keap.merge_tag_categories',
    sweeps: true,
  },
  {
    name: 'tags',
    endpoint: '/rest/v2/tags',
    collectionKey: 'tags',
    maxPageSize: 1000,
    full: { filter: () => undefined, orderBy: 'update_time asc' },
    incremental: { filter: (t) => `since_update_time==${t}`, orderBy: 'update_time asc' },
    merge: 'keap.merge_tags',
    sweeps: true,
  },
  {
    name: 'companies',
    endpoint: '/rest/v2/companies',
    collectionKey: 'companies',
    maxPageSize: 1000,
    fields: COMPANY_FIELDS,
    full: { filter: (after) => `company_id>${after}`, orderBy: 'id asc' },
    // Companies cannot be ordered by update time; since_time is inclusive, the overlap covers it.
    incremental: { filter: (t) => `since_time==${t}`, orderBy: 'id asc' },
    merge: 'keap.merge_companies',
    sweeps: true,
  },
  {
    name: 'contacts',
    endpoint: '/rest/v2/contacts',
    collectionKey: 'contacts',
    maxPageSize: 1000,
    fields: CONTACT_FIELDS,
    full: { filter: (after) => `contact_id>${after}`, orderBy: 'id asc' },
    incremental: { filter: (t) => `start_update_time==${t}`, orderBy: 'update_time asc' },
    merge: 'keap.merge_contacts',
    sweeps: true,
  },
  {
    name: 'tagged_contacts',
    endpoint: '/rest/v2/tags/{parent}/contacts',
    collectionKey: 'contacts',
    maxPageSize: 1000,
    full: { filter: () => undefined, orderBy: 'applied_time asc' },
    incremental: { filter: (t) => `since_applied_time==${t}`, orderBy: 'applied_time asc' },
    // A full traversal reads every live tag. An incremental one reads only the tags of pairs that
    // still lack an applied time (new pairs come from contacts' tag_ids): one request per tag and
    // run would otherwise cost as many requests as there are tags, every run, for nothing.
    parents: async (sql, traversal) =>
      (traversal === 'full'
        ? await sql`select tag_id from keap.tags where _deleted_at is null order by tag_id`
        : await sql`
            select distinct ct.tag_id
              from keap.contact_tags ct
              join keap.tags t on t.tag_id = ct.tag_id and t._deleted_at is null
              join keap.contacts c on c.contact_id = ct.contact_id and c._deleted_at is null
             where ct.applied_at is null order by ct.tag_id`
      ).map((r) => Number(r.tag_id)),
    // Its parents are the tags; its merge sets applied times on the contact_tags the contacts' merge wrote.
    after: ['tags', 'contacts'],
    merge: 'keap.merge_tagged_contacts',
    // Tag removals come from each contact's tag_ids; this list only adds applied times.
    sweeps: false,
  },
  // --- sales (issue 9): orders, payments, transactions, products, subscriptions -----------------
  {
    name: 'order_model',
    endpoint: '/rest/v2/orders/model',
    maxPageSize: 0,
    merge: 'keap.merge_order_model',
    sweeps: true,
  },
  {
    name: 'orders',
    endpoint: '/rest/v2/orders',
    collectionKey: 'orders',
    maxPageSize: 1000,
    full: { filter: (after) => `id>${after}`, orderBy: 'id asc' },
    // modified_since_time filters modification_time (inclusive in the sandbox; the overlap covers
    // an exclusive bound too).
    incremental: { filter: (t) => `modified_since_time==${t}`, orderBy: 'modification_time asc' },
    merge: 'keap.merge_orders',
    sweeps: true,
  },
  {
    name: 'payments',
    endpoint: '/rest/v2/sales/payments',
    collectionKey: 'payments',
    maxPageSize: 1000,
    full: { filter: (after) => `id>${after}`, orderBy: 'id asc' },
    // Keap does not say which time since_time filters; the notes' best reading is payment_time, and
    // the watermark is payment_time too (the change marker). Were it update_time (never earlier),
    // this only re-reads more; a payment changed long after it was made is re-read by the sweep.
    incremental: { filter: (t) => `since_time==${t}`, orderBy: 'payment_time asc' },
    merge: 'keap.merge_payments',
    sweeps: true,
  },
  {
    name: 'transactions',
    endpoint: '/rest/v2/sales/transactions',
    collectionKey: 'transactions',
    maxPageSize: 1000,
    // No id to keyset on (nor in the records): a full traversal pages by transaction time.
    full: { filter: () => undefined, orderBy: 'transaction_time asc' },
    // since_time on transaction_time (the notes' best reading; unverified): the watermark is
    // transaction_time as well; a status change of an old transaction is caught by the sweep.
    incremental: { filter: (t) => `since_time==${t}`, orderBy: 'transaction_time asc' },
    merge: 'keap.merge_transactions',
    sweeps: true,
  },
  {
    name: 'product_categories',
    endpoint: '/rest/v2/productCategories',
    collectionKey: 'product_categories',
    maxPageSize: 1000,
    // No timestamps: a (small) full traversal with delete detection every run.
    full: { filter: (after) => `product_category_id>${after}`, orderBy: 'id asc' },
    merge: 'keap.merge_product_categories',
    sweeps: true,
  },
  {
    name: 'products',
    endpoint: '/rest/v2/products',
    collectionKey: 'products',
    maxPageSize: 1000,
    full: { filter: (after) => `product_id>${after}`, orderBy: 'id asc' },
    // No time filter: newest first (order_by last_updated_time, the record's update_time), stop at the watermark.
    incremental: { orderBy: 'last_updated_time desc', stopBelow: 'update_time' },
    merge: 'keap.merge_products',
    sweeps: true,
  },
  {
    name: 'subscription_model',
    endpoint: '/rest/v2/subscriptions/model',
    maxPageSize: 0,
    merge: 'keap.merge_subscription_model',
    sweeps: true,
  },
  {
    name: 'subscriptions',
    endpoint: '/rest/v2/subscriptions',
    collectionKey: 'subscriptions',
    maxPageSize: 1000,
    full: { filter: (after) => `id>${after}`, orderBy: 'id asc' },
    // No time filter: newest first by modification_time, stop at the watermark.
    incremental: { orderBy: 'modification_time desc', stopBelow: 'modification_time' },
    merge: 'keap.merge_subscriptions',
    sweeps: true,
  },
  // --- pipeline and activity (issue 9): custom field models, users, stages, opportunities, stage
  // moves, notes, tasks. The incremental assumption of each is in the README ("Incremental reads").
  ...(['company_model', 'opportunity_model', 'note_model', 'task_model'] as const).map(
    (name): EntityDef => ({
      name,
      endpoint: `/rest/v2/${MODEL_ENDPOINT[name]}/model`,
      maxPageSize: 0,
      merge: `keap.merge_${name}`,
      sweeps: true,
    }),
  ),
  {
    // Keap hides inactive users and partners unless the filter asks for them. No time filter or
    // update-time order: the few users are listed whole every run (full traversal, delete detection).
    name: 'users',
    endpoint: '/rest/v2/users',
    collectionKey: 'users',
    maxPageSize: 100,
    full: { filter: () => 'include_inactive==true;include_partners==true', orderBy: 'create_time asc' },
    merge: 'keap.merge_users',
    sweeps: true,
  },
  {
    // A handful of stages, no time filter: listed whole every run.
    name: 'opportunity_stages',
    endpoint: '/rest/v2/opportunities/stages',
    collectionKey: 'stages',
    maxPageSize: 1000,
    full: { filter: () => undefined, orderBy: 'stage_order asc' },
    merge: 'keap.merge_opportunity_stages',
    sweeps: true,
  },
  {
    // No time filter and no id order (order_by: next_action_time, contact_name, opportunity_title,
    // created_time, update_time): a full traversal pages by created_time without a keyset (a crashed
    // one restarts), an incremental one reads newest first and stops below the watermark.
    name: 'opportunities',
    endpoint: '/rest/v2/opportunities',
    collectionKey: 'opportunities',
    maxPageSize: 1000,
    fields: OPPORTUNITY_FIELDS,
    full: { filter: () => undefined, orderBy: 'created_time asc' },
    incremental: { orderBy: 'update_time desc', stopBelow: 'last_updated_time' },
    merge: 'keap.merge_opportunities',
    sweeps: true,
  },
  {
    // Append-only, no time or id filter: ids rise with creation, so newest first by id, stopping
    // below the watermark on create_time.
    name: 'opportunity_stage_moves',
    endpoint: '/rest/v2/opportunities/stageMoves',
    collectionKey: 'stage_moves',
    maxPageSize: 1000,
    full: { filter: () => undefined, orderBy: 'id asc' },
    incremental: { orderBy: 'id desc', stopBelow: 'create_time' },
    merge: 'keap.merge_opportunity_stage_moves',
    sweeps: true,
  },
  {
    // since_time: Keap does not say which time it filters on (read as update_time, as the sandbox
    // does); the overlap window and the periodic full traversal cover a different reading.
    name: 'notes',
    endpoint: '/rest/v2/notes',
    collectionKey: 'notes',
    maxPageSize: 1000,
    fields: ['custom_fields'],
    full: { filter: (after) => `id>${after}`, orderBy: 'id asc' },
    incremental: { filter: (t) => `since_time==${t}`, orderBy: 'update_time asc' },
    merge: 'keap.merge_notes',
    sweeps: true,
  },
  {
    // since_time: unverified like notes' (read as modification_time). Whether Keap lists completed
    // tasks without an is_completed filter is unverified too: read open and completed ones apart,
    // so neither reading loses a task (or soft-deletes a task that was completed).
    name: 'tasks',
    endpoint: '/rest/v2/tasks',
    collectionKey: 'tasks',
    maxPageSize: 1000,
    fields: ['custom_fields'],
    partitions: ['is_completed==false', 'is_completed==true'],
    full: { filter: (after) => `id>${after}`, orderBy: 'id asc' },
    incremental: { filter: (t) => `since_time==${t}`, orderBy: 'update_time asc' },
    merge: 'keap.merge_tasks',
    sweeps: true,
  },
];

export function entityNames(): string[] {
  return ENTITIES.map((e) => e.name);
}

/** Resolve `--entity a,b` (order follows the entity list, not the argument). */
export function selectEntities(names: string[] | undefined, list: readonly EntityDef[] = ENTITIES): EntityDef[] {
  if (!names || names.length === 0) return [...list];
  const known = new Set(list.map((e) => e.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) {
    const err = new Error(`unknown entity ${unknown.map((u) => `'${u}'`).join(', ')}; known entities: ${[...known].join(', ')}`);
    (err as Error & { exitCode: number }).exitCode = 1;
    throw err;
  }
  return list.filter((e) => names.includes(e.name));
}
