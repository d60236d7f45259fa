// End to end for the sales entities (issue 9): orders with items, payment plans and custom fields,
// payments, transactions (surrogate key), product categories, products, subscriptions and their
// custom field models, synced by the real engine from the sandbox into PostgreSQL. A full sync
// equals the sandbox exactly, money included (minor units exact, currency units by the ISO 4217
// minor unit, doubles without float artefacts); a re-run writes nothing; an incremental run after
// changes fetches only what changed and ends equal; a deletion is marked by the next sweep; the
// keap_ops sales views answer on an empty database and after a sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig } from './helpers.ts';

type Rec = Record<string, any>;
let db: TestDb;
let sb: Sandbox;

const SALES = ['order_model', 'orders', 'payments', 'transactions', 'product_categories', 'products', 'subscription_model', 'subscriptions'];
const DIGITS: Record<string, number> = { JPY: 0, BHD: 3 };

beforeAll(async () => {
  db = await createTestDatabase('sync_sales');
  sb = await startSandbox({ contacts: 400, seed: 11, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

const list = (e: Parameters<Sandbox['store']['list']>[0]): Rec[] => [...sb.store.list(e)] as Rec[];
const ids = (rows: Rec[], key = 'id'): number[] => rows.map((r) => Number(r[key])).sort((a, b) => a - b);

/** A CurrencyValue in currency units, exactly as text: minor units scaled by the ISO 4217 minor unit. */
function units(cv: Rec | undefined): string | null {
  if (!cv || typeof cv.amount !== 'number') return null;
  const digits = DIGITS[cv.currency_code] ?? 2;
  const neg = cv.amount < 0;
  const s = BigInt(Math.abs(cv.amount)).toString().padStart(digits + 1, '0');
  return `${neg ? '-' : ''}${digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s}`;
}

/** A double as the warehouse must hold it: the decimal it stands for (15 significant digits). */
function decimal(x: number | undefined): string | null {
  return typeof x === 'number' ? String(Number(x.toPrecision(15))) : null;
}

const cfPairs = (rows: Rec[], key: string): string[] =>
  rows.flatMap((r) => ((r.custom_fields as Rec[]) ?? []).filter((c) => c.content !== null && c.content !== undefined).map((c) => `${r.id}|${c.id}|${JSON.stringify(c.content)}`)).sort();

async function expectSalesEqualSandbox(): Promise<void> {
  const sql = db.sql;
  // orders, money exact
  const orders = list('orders');
  const oRows = await sql`select order_id, status, currency_code, total_minor, total::text, total_paid::text, updated_at from keap.orders where _deleted_at is null order by order_id`;
  expect(oRows.map((r) => Number(r.order_id))).toEqual(ids(orders));
  const byOrder = new Map(orders.map((o) => [Number(o.id), o]));
  const wrongOrders = oRows.filter((r) => {
    const o = byOrder.get(Number(r.order_id))!;
    return r.status !== o.status || r.currency_code !== o.total.currency_code || BigInt(r.total_minor) !== BigInt(o.total.amount) ||
      r.total !== units(o.total) || r.total_paid !== units(o.total_paid) || r.updated_at.getTime() !== Date.parse(o.modification_time);
  });
  expect(wrongOrders.map((r) => r.order_id)).toEqual([]);
  const items = await sql`
    select i.order_id, i.order_item_id, i.quantity, i.price_per_unit_minor, i.price_per_unit::text as ppu, i.product_id, i.item_type
      from keap.order_items i join keap.orders o using (order_id) where o._deleted_at is null`;
  expect(items.map((i) => `${i.order_id}|${i.order_item_id}|${i.quantity}|${i.price_per_unit_minor}|${i.ppu}|${i.product_id ?? ''}|${i.item_type}`).sort()).toEqual(
    orders.flatMap((o) => (o.order_items as Rec[]).map((i) => `${o.id}|${i.id}|${i.quantity}|${i.price_per_unit.amount}|${units(i.price_per_unit)}|${i.product?.id ?? ''}|${i.item_type}`)).sort(),
  );
  const planItems = await sql`
    select p.order_id, p.position, p.status, p.amount_due_minor from keap.order_payment_plan_items p join keap.orders o using (order_id) where o._deleted_at is null`;
  expect(planItems.map((p) => `${p.order_id}|${p.position}|${p.status}|${p.amount_due_minor}`).sort()).toEqual(
    orders.flatMap((o) => ((o.payment_plan?.payment_plan_items as Rec[]) ?? []).map((p, i) => `${o.id}|${i + 1}|${p.status}|${p.amount_due.amount}`)).sort(),
  );
  const ocf = await sql`select c.order_id, c.custom_field_id, c.value from keap.order_custom_fields c join keap.orders o using (order_id) where o._deleted_at is null`;
  expect(ocf.map((c) => `${c.order_id}|${c.custom_field_id}|${JSON.stringify(c.value)}`).sort()).toEqual(cfPairs(orders, 'order_id'));

  // payments and their orders; amounts are doubles: the decimal they stand for
  const payments = list('payments');
  const pRows = await sql`select payment_id, amount::text, paid_at from keap.payments where _deleted_at is null order by payment_id`;
  expect(pRows.map((r) => `${r.payment_id}|${r.amount}|${r.paid_at.toISOString()}`)).toEqual(
    [...payments].sort((a, b) => Number(a.id) - Number(b.id)).map((p) => `${p.id}|${decimal(p.amount)}|${p.payment_time}`),
  );
  const po = await sql`select po.payment_id, po.order_id from keap.payment_orders po join keap.payments p using (payment_id) where p._deleted_at is null`;
  expect(po.map((r) => `${r.payment_id}|${r.order_id}`).sort()).toEqual(payments.flatMap((p) => (p.order_ids as string[]).map((o) => `${p.id}|${o}`)).sort());

  // transactions: no id in Keap, one row per transaction all the same
  const txns = list('transactions');
  expect(txns.every((t) => t.id === undefined)).toBe(true);
  const tRows = await sql`select amount::text, transaction_method, transacted_at, payment_id from keap.transactions where _deleted_at is null`;
  expect(tRows.map((r) => `${r.amount}|${r.transaction_method}|${r.transacted_at.toISOString()}|${r.payment_id ?? ''}`).sort()).toEqual(
    txns.map((t) => `${decimal(t.amount)}|${t.transaction_method}|${t.transaction_time}|${t.payment_id ?? ''}`).sort(),
  );
  const [to] = await sql`select count(*)::int as n from keap.transaction_orders x join keap.transactions t using (transaction_key) where t._deleted_at is null`;
  expect(to.n).toBe(txns.reduce((n, t) => n + (t.order_ids as string[]).length, 0));

  // product categories, products with options, plans and categories
  const cats = await sql`select product_category_id, name from keap.product_categories where _deleted_at is null order by 1`;
  expect(cats.map((c) => `${c.product_category_id}|${c.name}`)).toEqual(list('product_categories').map((c) => `${c.id}|${c.name}`));
  const products = list('products');
  const prRows = await sql`select product_id, name, price_minor, price::text from keap.products where _deleted_at is null order by 1`;
  expect(prRows.map((p) => `${p.product_id}|${p.name}|${p.price_minor}|${p.price}`)).toEqual(products.map((p) => `${p.id}|${p.name}|${p.price.amount}|${units(p.price)}`));
  const opts = await sql`select o.product_id, o.position, o.name from keap.product_options o join keap.products p using (product_id) where p._deleted_at is null`;
  expect(opts.map((o) => `${o.product_id}|${o.position}|${o.name}`).sort()).toEqual(products.flatMap((p) => (p.options as Rec[]).map((o, i) => `${p.id}|${i + 1}|${o.name}`)).sort());
  const plans = await sql`select s.product_id, s.subscription_plan_id, s.plan_price_minor from keap.product_subscription_plans s join keap.products p using (product_id) where p._deleted_at is null`;
  expect(plans.map((s) => `${s.product_id}|${s.subscription_plan_id}|${s.plan_price_minor}`).sort()).toEqual(
    products.flatMap((p) => (p.subscription_plans as Rec[]).map((s) => `${p.id}|${s.id}|${s.plan_price.amount}`)).sort(),
  );
  const pc = await sql`select c.product_id, c.product_category_id from keap.product_category_products c join keap.products p using (product_id) where p._deleted_at is null`;
  expect(pc.map((c) => `${c.product_id}|${c.product_category_id}`).sort()).toEqual(products.flatMap((p) => (p.categories as string[]).map((c) => `${p.id}|${c}`)).sort());

  // subscriptions and their custom fields; the two custom field models
  const subs = list('subscriptions');
  const sRows = await sql`select subscription_id, billing_amount::text, is_active from keap.subscriptions where _deleted_at is null order by 1`;
  expect(sRows.map((s) => `${s.subscription_id}|${s.billing_amount}|${s.is_active}`)).toEqual(subs.map((s) => `${s.id}|${decimal(s.billing_amount)}|${s.active}`));
  const scf = await sql`select c.subscription_id, c.custom_field_id, c.value from keap.subscription_custom_fields c join keap.subscriptions s using (subscription_id) where s._deleted_at is null`;
  expect(scf.map((c) => `${c.subscription_id}|${c.custom_field_id}|${JSON.stringify(c.value)}`).sort()).toEqual(cfPairs(subs, 'subscription_id'));
  for (const model of ['orders', 'subscriptions'] as const) {
    const f = await sql`select custom_field_id from keap.custom_fields where model = ${model} and _deleted_at is null order by 1`;
    expect(f.map((r) => Number(r.custom_field_id))).toEqual(ids(sb.store.model(model).custom_fields as Rec[]));
  }
}

async function salesCounts(runId: number): Promise<Record<string, { inserted: number; updated: number; deleted: number; rejected: number }>> {
  const rows = await db.sql`
    select entity, sum(inserted_count)::int as inserted, sum(updated_count)::int as updated, sum(deleted_count)::int as deleted,
           sum(rejected_count)::int as rejected
      from keap_meta.merge_log where run_id = ${runId} and entity = any(${SALES}) group by entity`;
  return Object.fromEntries(rows.map((r) => [r.entity, { inserted: r.inserted, updated: r.updated, deleted: r.deleted, rejected: r.rejected }]));
}

async function fetched(runId: number, entity: string): Promise<{ pages: number; records: number }> {
  const [r] = await db.sql`
    select count(*)::int as pages, coalesce(sum(record_count), 0)::int as records
      from keap_meta.etl_request_log where run_id = ${runId} and entity = ${entity} and http_status = 200`;
  return { pages: r.pages, records: r.records };
}

describe('sales entities against the sandbox', () => {
  it('the sales views answer on an empty database', async () => {
    expect(await db.sql`select * from keap_ops.order_totals`).toEqual([]);
    expect(await db.sql`select * from keap_ops.revenue_by_month`).toEqual([]);
  });

  it('a full sync makes every sales table equal to the sandbox, with no row issue', async () => {
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    for (const e of SALES.filter((n) => !n.endsWith('_model'))) expect(res.value.entities.find((x) => x.entity === e)?.traversal).toBe('full');
    await expectSalesEqualSandbox();
    const issues = await db.sql`select entity, field, raw_value, problem from keap_meta.row_issues where entity = any(${SALES})`;
    expect(issues).toEqual([]);
    expect(sb.stats().throttleViolations).toBe(0);
  });

  it('money round-trips exactly: float artefacts gone, 1e15 minor units, negative refunds, JPY and BHD', async () => {
    const raw = list('payments').map((p) => p.amount as number);
    expect(raw).toContain(0.1 + 0.2); // 0.30000000000000004 on the wire
    const amounts = (await db.sql`select amount::text from keap.payments`).map((r) => r.amount);
    expect(amounts).toEqual(expect.arrayContaining(['0.3', '-0.3', '19.9', '-19.9']));
    expect(amounts.some((a) => /\d{16,}/.test(a.replace('.', '')) && a.includes('.'))).toBe(false);
    const [big] = await db.sql`select price_per_unit_minor, price_per_unit::text from keap.order_items where price_per_unit_minor = 1000000000000000 limit 1`;
    expect(big).toBeDefined();
    expect(['10000000000000.00', '1000000000000000', '1000000000000.000']).toContain(big.price_per_unit);
    const [jpy] = await db.sql`select total_minor, total::text from keap.orders where currency_code = 'JPY' and total_minor > 0 limit 1`;
    expect(jpy.total).toBe(String(jpy.total_minor));
    const [bhd] = await db.sql`select total_minor, total::text from keap.orders where currency_code = 'BHD' and total_minor > 0 limit 1`;
    expect(bhd.total).toBe(units({ amount: Number(bhd.total_minor), currency_code: 'BHD' }));
    const types = await db.sql`select data_type from information_schema.columns where table_schema = 'keap' and data_type in ('real', 'double precision')`;
    expect(types).toEqual([]);
  });

  it('the sales views agree with the data after a sync', async () => {
    const totals = await db.sql`select order_id, totals_disagree, difference_minor from keap_ops.order_totals`;
    expect(totals).toHaveLength(list('orders').length);
    // The sandbox's totals are the sum of its lines: every order reconciles.
    expect(totals.filter((t) => t.totals_disagree).map((t) => t.order_id)).toEqual([]);
    const [rev] = await db.sql`select sum(orders_count)::int as orders, sum(payments_count)::int as payments from keap_ops.revenue_by_month`;
    expect(rev.orders).toBe(list('orders').filter((o) => o.status !== 'DRAFT').length);
    expect(rev.payments).toBe(list('payments').length);
    // A line changed under an order makes it disagree.
    const [one] = await db.sql`select order_id, order_item_id from keap.order_items where item_type = 'PRODUCT' limit 1`;
    await db.sql.begin(async (tx) => {
      await tx`update keap.order_items set price_per_unit_minor = price_per_unit_minor + 1 where order_id = ${one.order_id} and order_item_id = ${one.order_item_id}`;
      const [t] = await tx`select totals_disagree, difference_minor from keap_ops.order_totals where order_id = ${one.order_id}`;
      expect(t.totals_disagree).toBe(true);
      expect(Number(t.difference_minor)).toBe(-Number((await tx`select quantity from keap.order_items where order_id = ${one.order_id} and order_item_id = ${one.order_item_id}`)[0].quantity));
      throw new Error('rollback');
    }).catch((e) => expect(String(e)).toMatch(/rollback/));
  });

  it('a re-run with no change writes nothing', async () => {
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    const counts = await salesCounts(res.runId);
    for (const e of SALES) expect({ e, ...(counts[e] ?? { inserted: 0, updated: 0, deleted: 0, rejected: 0 }) }).toEqual({ e, inserted: 0, updated: 0, deleted: 0, rejected: 0 });
    for (const e of ['orders', 'payments', 'transactions', 'products', 'subscriptions']) expect(res.value.entities.find((x) => x.entity === e)?.traversal).toBe('incremental');
    await expectSalesEqualSandbox();
  });

  it('an incremental run after changes fetches only what changed and ends equal', async () => {
    const cursor = async (e: string): Promise<Date> => (await db.sql`select updated_since from keap_meta.sync_cursors where entity = ${e}`)[0].updated_since;
    const marks = Object.fromEntries(await Promise.all(['orders', 'payments', 'transactions'].map(async (e) => [e, await cursor(e)] as const)));
    await new Promise((r) => setTimeout(r, 20));
    const order = list('orders')[5]!;
    sb.store.update('orders', order.id, { status: 'VIEWED', title: 'Réservation “changed”' });
    const usd = (amount: number) => ({ amount, currency_code: 'USD', formatted_amount: `$${(amount / 100).toFixed(2)}` });
    sb.store.add('orders', {
      contact: { id: '1' }, total: usd(1999), total_paid: usd(0), total_due: usd(1999), refund_total: usd(0), order_time: new Date().toISOString(),
      order_items: [{ id: '99900001', name: 'Added line', quantity: 1, item_type: 'PRODUCT', price_per_unit: usd(1999), cost_per_unit: usd(0) }],
    });
    sb.store.add('payments', { amount: 0.1 + 0.2, contact_id: '1', order_ids: [String(order.id)] });
    sb.store.add('transactions', { amount: 19.9, contact_id: '1', transaction_method: 'CAPTURE', order_ids: [String(order.id)] });
    const product = list('products')[3]!;
    sb.store.update('products', product.id, { name: 'Renamed – “product”' });
    const sub = list('subscriptions')[2]!;
    sb.store.update('subscriptions', sub.id, { billing_amount: 19.9 });

    const res = await runSync({ db, config: sandboxConfig(sb, { KEAP_OVERLAP_SECONDS: '0', KEAP_PAGE_SIZE: '5' }) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');
    const counts = await salesCounts(res.runId);
    // Time-filtered lists: exactly the records at or after the watermark (inclusive bound).
    const timeOf: Record<string, (r: Rec) => string> = { orders: (o) => o.modification_time, payments: (p) => p.payment_time, transactions: (t) => t.transaction_time };
    for (const e of ['orders', 'payments', 'transactions'] as const) {
      const atOrAfter = list(e).filter((r) => new Date(timeOf[e]!(r)) >= marks[e]!).length;
      expect({ e, records: (await fetched(res.runId, e)).records }).toEqual({ e, records: atOrAfter });
      expect(atOrAfter).toBeLessThanOrEqual(3);
    }
    expect(counts.orders).toMatchObject({ inserted: 1, updated: 1 });
    expect(counts.payments).toMatchObject({ inserted: 1, updated: 0 });
    expect(counts.transactions).toMatchObject({ inserted: 1, updated: 0 });
    // Newest first (no time filter): one page of 5 reaches below the watermark.
    for (const e of ['products', 'subscriptions']) {
      expect(res.value.entities.find((x) => x.entity === e)?.traversal).toBe('incremental');
      expect((await fetched(res.runId, e)).pages).toBe(1);
      expect(counts[e]).toMatchObject({ inserted: 0, updated: 1 });
    }
    await expectSalesEqualSandbox();
    const [s] = await db.sql`select billing_amount::text from keap.subscriptions where subscription_id = ${sub.id}`;
    expect(s.billing_amount).toBe('19.9');
  });

  it('what since_time cannot see (a late change to an old payment or transaction) the sweep catches, on the same keys', async () => {
    // since_time filters payment_time / transaction_time (the notes' best reading), which a status
    // change does not move: the incremental run misses it by design, the full sweep must not.
    const payment = list('payments')[2]!;
    sb.store.update('payments', payment.id, { status: 'APPROVED', note: 'approved late – “manual review”' });
    const txnIds = sb.store.collection('transactions');
    const txn = list('transactions')[4]!;
    sb.store.update('transactions', txnIds.idOf(4), { status: 'FAILED', error_details: 'Chargeback', is_successful: false });
    const [{ n: keysBefore }] = await db.sql`select count(*)::int as n from keap.transactions`;

    const inc = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: ['payments', 'transactions'] });
    expect((await salesCounts(inc.runId)).payments).toMatchObject({ updated: 0 });
    const [stale] = await db.sql`select note from keap.payments where payment_id = ${payment.id}`;
    expect(stale.note).not.toBe('approved late – “manual review”');

    const sweep = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true, entities: ['payments', 'transactions'] });
    const counts = await salesCounts(sweep.runId);
    expect(counts.payments).toMatchObject({ inserted: 0, updated: 1, deleted: 0 });
    // The transaction keeps its surrogate key: one row updated, nothing inserted or deleted.
    expect(counts.transactions).toMatchObject({ inserted: 0, updated: 1, deleted: 0 });
    expect(await db.sql`select count(*)::int as n from keap.transactions`).toEqual([{ n: keysBefore }]);
    const [t] = await db.sql`select status, error_details from keap.transactions where transacted_at = ${txn.transaction_time} and amount = ${String(Number(txn.amount.toPrecision(15)))}::numeric`;
    expect(t).toEqual({ status: 'FAILED', error_details: 'Chargeback' });
    await expectSalesEqualSandbox();
  });

  it('a deletion in the sandbox is marked by the next sweep', async () => {
    const victims = {
      orders: Number(list('orders')[7]!.id),
      payments: Number(list('payments')[4]!.id),
      products: Number(list('products')[1]!.id),
      subscriptions: Number(list('subscriptions')[1]!.id),
      product_categories: Number(list('product_categories')[2]!.id),
    };
    for (const [e, id] of Object.entries(victims)) expect(sb.store.delete(e as 'orders', id)).toBe(true);
    const txn = sb.store.collection('transactions');
    const gone = list('transactions')[0]!;
    expect(sb.store.delete('transactions', txn.idOf(0))).toBe(true);

    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true, entities: SALES });
    expect(res.status).toBe('succeeded');
    const counts = await salesCounts(res.runId);
    for (const e of [...Object.keys(victims), 'transactions']) expect({ e, deleted: counts[e]?.deleted }).toEqual({ e, deleted: 1 });
    const keyOf: Record<string, string> = { orders: 'order_id', payments: 'payment_id', products: 'product_id', subscriptions: 'subscription_id', product_categories: 'product_category_id' };
    for (const [e, id] of Object.entries(victims)) {
      const [row] = await db.sql.unsafe(`select _deleted_at from keap.${e} where ${keyOf[e]} = $1`, [id]);
      expect(row._deleted_at).not.toBeNull();
    }
    const [t] = await db.sql`select count(*)::int as n from keap.transactions where _deleted_at is not null and transacted_at = ${gone.transaction_time}`;
    expect(t.n).toBe(1);
    await expectSalesEqualSandbox();
  });
});
