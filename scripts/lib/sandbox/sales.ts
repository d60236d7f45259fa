// The sandbox's sales lists that orders alone do not cover: payments (GET /sales/payments),
// transactions (GET /sales/transactions) and product categories (GET /productCategories), as
// generated records and list endpoints in the same shape as endpoints.ts. Shapes follow the
// official v2 schemas (Payment, TransactionV2, ProductCategory).
//
// Choices where Keap is silent, following shared/keap/API-NOTES.md's best reading:
// - `since_time`/`until_time` filter payment_time on payments and transaction_time on transactions
//   (inclusive); a payment's update_time moves when it changes, its payment_time never does, so an
//   incremental sync by since_time does not see a changed old payment (the full sweep does);
// - transactions have no id: they are served without one (the store keys them internally) and
//   keep their transaction_time when they change (status, error details);
// - no `order_by` means `id asc` (transactions: `transaction_time asc`).
//
// Money: amounts are JSON doubles in currency units and include the awkward ones on purpose:
// 0.1 + 0.2 (0.30000000000000004 on the wire), 19.9, negative refunds, and the totals of orders in
// JPY (no minor unit) and of orders worth 1e15 minor units.
import type { Collection, SortDef } from './collection.ts';
import { timeKey } from './collection.ts';
import type { ListEndpoint } from './endpoints.ts';
import type { EntityName, Rec, TenantGenerator } from './generate.ts';
import { bad, bool, CMP_ALL, enumEquals, idCompare, idSet, numCompare, refEquals, text, timeBound, type FilterField } from './query.ts';
import type { SandboxStore } from './store.ts';
import { hash4, iso, Rng } from './util.ts';

export const MERCHANT_TYPES = ['PAYPAL', 'UNSUPPORTED', 'AUTHORIZE', 'EWAY', 'WEPAY', 'STRIPE', 'KEAP_PAY'] as const;
const PAYMENT_STATUS = ['PENDING', 'APPROVED', 'COMPLETED', 'NONE'] as const;
const TXN_STATUS = ['APPROVED', 'PENDING', 'ERROR', 'FAILED', 'NONE'] as const;
const CARD_TYPES = ['CREDIT', 'DEBIT', 'PREPAID', 'ACH'] as const;
const BRANDS = ['Visa', 'Mastercard', 'American Express', 'Discover'];
const CATEGORY_NAMES = ['Software', 'Services', 'Merchandise', 'Events – “live”', 'Gift cards', 'Crème de la crème', '教材'];
const PAYMENTS = 20;
const TRANSACTIONS = 21;
const CATEGORIES = 22;

/** Amount of a CurrencyValue in currency units as the double Keap would send (JPY has no minor unit). */
function major(cv: Rec | undefined): number {
  const amount = typeof cv?.amount === 'number' ? cv.amount : 0;
  const digits = cv?.currency_code === 'JPY' ? 0 : cv?.currency_code === 'BHD' ? 3 : 2;
  return amount / 10 ** digits;
}

/** The money edge cases, by index: 0.1 + 0.2, 19.9 and a refund (negative). */
function edgeAmount(k: number, normal: number): number {
  switch (k % 40) {
    case 7:
      return 0.1 + 0.2;
    case 11:
      return 19.9;
    case 13:
      return -19.9;
    case 17:
      return -(0.1 + 0.2);
    default:
      return normal;
  }
}

function paymentMethod(gen: TenantGenerator, r: Rng, k: number, contactId: unknown): Rec {
  const m: Rec = {
    contact_id: contactId,
    payment_method_id: String(400 + (k % 300)),
    merchant_account_type: MERCHANT_TYPES[k % MERCHANT_TYPES.length],
    merchant_account_id: '2',
    payment_method_type: 'CARD',
    created_time: iso(gen.shape.t0 + k * 60_000),
    card_info: {
      brand: r.pick(BRANDS),
      fingerprint: `fp_${hash4(gen.shape.seed, PAYMENTS, k, 9).toString(36)}`,
      card_type: CARD_TYPES[k % CARD_TYPES.length],
      last_four: String(1000 + (k % 9000)).slice(-4),
      expiration_year: String(2027 + (k % 5)),
      expiration_month: String(1 + (k % 12)).padStart(2, '0'),
    },
  };
  if (k % 9 === 4) m.status = 'EXPIRED';
  return m;
}

/** The order a payment or transaction k pays (every other order, cycling). */
function orderOf(gen: TenantGenerator, k: number): Rec | undefined {
  const n = gen.count('orders');
  return n > 0 ? gen.order((k * 2) % n) : undefined;
}

export function payment(gen: TenantGenerator, k: number): Rec {
  const r = new Rng(hash4(gen.shape.seed, PAYMENTS, k, 0));
  const order = orderOf(gen, k);
  const contactId = (order?.contact as Rec | undefined)?.id ?? String(gen.id('contacts', 0));
  const amount = edgeAmount(k, major(order?.total as Rec | undefined));
  const p: Rec = {
    id: String(gen.id('payments', k)),
    type: amount < 0 ? 'Refund' : r.pick(['Credit Card', 'Cash', 'Check', 'PayPal']),
    amount,
  };
  if (r.chance(0.3)) p.note = r.pick(['Paid at the front desk', 'Refund – “damaged”', 'Deposit 1/3']);
  p.status = PAYMENT_STATUS[k % PAYMENT_STATUS.length];
  p.commissioned = r.chance(0.2);
  p.synced = r.chance(0.5);
  p.payment_time = iso(gen.createMs('payments', k));
  if (amount < 0 && k > 0) p.refund_payment_id = String(gen.id('payments', k - 1));
  p.contact_id = contactId;
  p.order_ids = order ? (k % 10 === 3 && gen.count('orders') > 1 ? [order.id as string, String(gen.id('orders', (k * 2 + 1) % gen.count('orders')))] : [order.id as string]) : [];
  p.update_time = iso(gen.updateMs('payments', k));
  p.external_transaction_id = `ch_${hash4(gen.shape.seed, PAYMENTS, k, 3).toString(36)}`;
  p.merchant_account_id = '2';
  p.merchant_account_type = MERCHANT_TYPES[(k + 3) % MERCHANT_TYPES.length];
  if (k % 5 !== 2) p.payment_method = paymentMethod(gen, r, k, contactId);
  return p;
}

/** Transactions have no id in v2 (the store keys them internally; the record never carries one). */
export function transaction(gen: TenantGenerator, k: number): Rec {
  const r = new Rng(hash4(gen.shape.seed, TRANSACTIONS, k, 0));
  const order = orderOf(gen, k);
  const contact = (order?.contact as Rec | undefined) ?? { id: String(gen.id('contacts', 0)) };
  const amount = edgeAmount(k + 3, major(order?.total as Rec | undefined));
  const method = amount < 0 ? 'REFUND' : k % 9 === 4 ? 'VOID' : k % 13 === 5 ? 'MANUAL' : 'CAPTURE';
  const status = TXN_STATUS[k % TXN_STATUS.length] as string;
  const t: Rec = { amount, status };
  if (r.chance(0.6)) t.description = r.pick(['Card payment', 'Refund of “order”', 'Manual entry – check #42']);
  t.contact = contact;
  t.order_ids = order ? [order.id as string] : [];
  t.contact_id = contact.id;
  t.transaction_method = method;
  t.transaction_time = iso(gen.createMs('transactions', k));
  t.external_reference_id = `txn_${hash4(gen.shape.seed, TRANSACTIONS, k, 2).toString(36)}`;
  if (r.chance(0.5)) t.external_response_code = r.pick(['00', 'approved', 'do_not_honor']);
  if (status === 'ERROR' || status === 'FAILED') t.error_details = 'Card declined – "insufficient funds"';
  if (gen.count('payments') > 0) t.payment_id = String(gen.id('payments', k % gen.count('payments')));
  t.is_successful = status === 'APPROVED';
  t.merchant_account_id = '2';
  t.merchant_account_type = MERCHANT_TYPES[k % MERCHANT_TYPES.length];
  if (k % 4 !== 1) t.payment_method = paymentMethod(gen, r, k + 7, contact.id);
  return t;
}

export function productCategory(gen: TenantGenerator, k: number): Rec {
  const c: Rec = { id: String(gen.id('product_categories', k)), name: CATEGORY_NAMES[k % CATEGORY_NAMES.length] + (k >= CATEGORY_NAMES.length ? ` ${k}` : '') };
  c.display_order_index = k;
  if (k > 0 && k % 3 === 0) c.parent_category_id = String(gen.id('product_categories', 0));
  return c;
}

function sortOn(name: string, kind: 'number' | 'time', get: (r: Rec) => unknown, baseKey?: (k: number) => number): () => SortDef {
  const key = (r: Rec): number => {
    const v = get(r);
    if (kind === 'time') return timeKey(v);
    const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
    return Number.isNaN(n) ? -Infinity : n;
  };
  const def: SortDef = baseKey ? { name, kind: 'number', key, baseKey } : { name, kind: 'number', key };
  return () => def;
}

const listHas = (get: (r: Rec) => unknown): FilterField => ({
  ops: ['=='],
  build: (_op, value, field) => {
    if (!/^\d+$/.test(value)) throw bad(`Invalid value '${value}' for filter field '${field}': expected an integer`, field);
    return { test: (item) => ((get(item.rec()) as unknown[] | undefined) ?? []).some((v) => String(v) === value) };
  },
});

const listHasAny = (get: (r: Rec) => unknown): FilterField => ({
  ops: ['=='],
  build: (_op, value, field) => {
    const want = value.split(',').map((s) => s.trim());
    for (const w of want) if (!/^\d+$/.test(w)) throw bad(`Invalid value '${w}' in '${field}': expected integers`, field);
    return { test: (item) => ((get(item.rec()) as unknown[] | undefined) ?? []).some((v) => want.includes(String(v))) };
  },
});

export function salesEndpoints(store: SandboxStore): ListEndpoint[] {
  const gen = store.gen;
  const col = (e: EntityName): Collection => store.collection(e);
  /** A base record's creation-field time without generating it. */
  const created = (e: EntityName, field: string) => (item: { k: number; rec(): Rec }): number =>
    item.k >= 0 ? gen.createMs(e, item.k) : timeKey(item.rec()[field]);

  const payments: ListEndpoint = {
    route: '/sales/payments',
    pattern: /^\/sales\/payments$/,
    entity: 'payments',
    wrapper: 'payments',
    maxPageSize: 1000,
    sorts: {
      id: () => col('payments').idSort,
      amount: sortOn('amount', 'number', (r) => r.amount),
      payment_time: () => col('payments').createSort as SortDef,
      contact_id: sortOn('contact_id', 'number', (r) => r.contact_id),
    },
    defaultOrder: 'id asc',
    filters: {
      id: idCompare(['==', '>', '>=', '<', '<=']),
      ids: idSet('id'),
      amount: numCompare((r) => r.amount, CMP_ALL),
      order_id: listHas((r) => r.order_ids),
      order_ids: listHasAny((r) => r.order_ids),
      contact_id: refEquals((r) => r.contact_id),
      since_time: timeBound('since', 'payment_time', created('payments', 'payment_time')),
      until_time: timeBound('until', 'payment_time', created('payments', 'payment_time')),
      merchant_account_id: refEquals((r) => r.merchant_account_id),
      merchant_account_type: enumEquals((r) => r.merchant_account_type, MERCHANT_TYPES),
    },
    endToken: 'omit',
  };

  const transactions: ListEndpoint = {
    route: '/sales/transactions',
    pattern: /^\/sales\/transactions$/,
    entity: 'transactions',
    wrapper: 'transactions',
    maxPageSize: 1000,
    sorts: {
      amount: sortOn('amount', 'number', (r) => r.amount),
      transaction_time: () => col('transactions').createSort as SortDef,
      contact_id: sortOn('contact_id', 'number', (r) => r.contact_id),
    },
    defaultOrder: 'transaction_time asc',
    filters: {
      amount: numCompare((r) => r.amount, CMP_ALL),
      order_id: listHas((r) => r.order_ids),
      contact_id: refEquals((r) => r.contact_id),
      since_time: timeBound('since', 'transaction_time', created('transactions', 'transaction_time')),
      until_time: timeBound('until', 'transaction_time', created('transactions', 'transaction_time')),
      merchant_account_id: refEquals((r) => r.merchant_account_id),
      merchant_account_type: enumEquals((r) => r.merchant_account_type, MERCHANT_TYPES),
      status: enumEquals((r) => r.status, TXN_STATUS),
      transaction_method: enumEquals((r) => r.transaction_method, ['CAPTURE', 'REFUND', 'VOID', 'MANUAL']),
      is_successful: bool((r) => r.is_successful === true),
    },
    endToken: 'omit',
  };

  const productCategories: ListEndpoint = {
    route: '/productCategories',
    pattern: /^\/productCategories$/,
    entity: 'product_categories',
    wrapper: 'product_categories',
    maxPageSize: 1000,
    sorts: { id: () => col('product_categories').idSort },
    defaultOrder: 'id asc',
    filters: {
      product_id: {
        ops: ['=='],
        build: (_op, value, field) => {
          if (!/^\d+$/.test(value)) throw bad(`Invalid value '${value}' for filter field '${field}': expected an integer`, field);
          const product = store.get('products', value);
          const cats = new Set(((product?.categories as unknown[] | undefined) ?? []).map(String));
          return { test: (item) => cats.has(String(item.id)) };
        },
      },
      name: text((r) => r.name, { wildcard: true }),
      product_category_id: idCompare(CMP_ALL),
    },
    endToken: 'omit',
  };

  return [payments, transactions, productCategories];
}
