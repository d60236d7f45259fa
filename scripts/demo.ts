// `npm run demo` — the product end to end on a machine with nothing configured: the embedded
// PostgreSQL (or DATABASE_URL) and the local Keap sandbox (with a little realistic latency),
// migrate, a full sync with progress, some changes made in the sandbox, an incremental sync, and a
// short report of what landed and how to look at it with psql.
import { parseArgs } from 'node:util';
import { loadConfig } from './lib/config.ts';
import { connect, type Db } from './lib/db.ts';
import { EXIT, runScript } from './lib/errors.ts';
import { migrate } from './lib/migrate.ts';
import { startSandbox, type Sandbox } from './lib/sandbox/index.ts';
import { runSync } from './lib/sync/engine.ts';
import { printSummary, progressPrinter } from './lib/sync/report.ts';

const HELP = `Usage: npm run demo [-- --contacts N] [--seed N] [--latency-ms N]

Starts the local Keap sandbox (default 2,000 contacts), syncs it into PostgreSQL (DATABASE_URL,
or the embedded server in .data/pg), changes some records in the sandbox, syncs again
incrementally and prints what landed. Nothing leaves this machine.`;

const API_KEY = 'demo-sandbox-key';

/** Changes a Keap user would make between two syncs: edits, a new contact, a deletion, tag moves. */
function makeChanges(sb: Sandbox): string[] {
  const store = sb.store;
  const ids = [...store.list('contacts')].slice(0, 12).map((c) => Number(c.id));
  const tags = [...store.list('tags')].slice(0, 3).map((t) => Number(t.id));
  const done: string[] = [];
  store.updateContact(ids[0]!, { job_title: 'Head of Operations', given_name: 'Zoë' });
  store.updateContact(ids[1]!, { family_name: "O'Brien-Müller" });
  done.push(`updated contacts ${ids[0]} and ${ids[1]}`);
  const added = store.addContact({ given_name: '美咲', family_name: 'Tanaka 🌸', email_addresses: [{ email: 'misaki.tanaka@example.jp', field: 'EMAIL1' }] });
  done.push(`added contact ${added.id}`);
  store.deleteContact(ids[2]!);
  done.push(`deleted contact ${ids[2]}`);
  if (tags[0] !== undefined) {
    store.applyTag(ids[3]!, tags[0]);
    done.push(`applied tag ${tags[0]} to contact ${ids[3]}`);
  }
  const tagged = [...store.list('contacts')].find((c) => Array.isArray(c.tag_ids) && (c.tag_ids as string[]).length > 0);
  if (tagged) {
    const tagId = (tagged.tag_ids as string[])[0]!;
    store.removeTag(String(tagged.id), tagId);
    done.push(`removed tag ${tagId} from contact ${tagged.id}`);
  }
  return done;
}

/** Pipeline and activity changes: an opportunity moves to the next stage (Keap records a stage move), a task is done. */
function makePipelineChanges(sb: Sandbox): string[] {
  const store = sb.store;
  const stages = [...store.list('stages')];
  const opp = store.list('opportunities').next().value;
  const task = [...store.list('tasks')].find((t) => t.completed === false);
  const done: string[] = [];
  if (opp && stages.length > 1) {
    const at = stages.findIndex((st) => st.id === (opp.stage as { id?: string } | undefined)?.id);
    const next = stages[(at + 1) % stages.length]!;
    store.update('opportunities', String(opp.id), { stage: { id: next.id, name: next.name, reasons: [] } });
    done.push(`moved opportunity ${opp.id} to stage "${String(next.name)}"`);
  }
  if (task) {
    store.update('tasks', String(task.id), { completed: true, completion_time: new Date().toISOString() });
    done.push(`completed task ${task.id}`);
  }
  return done;
}

/** The pipeline as keap_ops.pipeline_by_stage shows it. */
async function pipelineReport(db: Db): Promise<void> {
  console.log('\nThe pipeline (keap_ops.pipeline_by_stage):');
  const rows = await db.sql`
    select stage_name, opportunity_count, projected_revenue_high::text as value, weighted_revenue_high::numeric(20,2)::text as weighted, avg_days_in_stage
      from keap_ops.pipeline_by_stage order by stage_order nulls last`;
  for (const r of rows) {
    console.log(`  ${String(r.stage_name).padEnd(24)} ${String(r.opportunity_count).padStart(5)} deals  value ${String(r.value).padStart(12)}  weighted ${String(r.weighted ?? '-').padStart(12)}  ${r.avg_days_in_stage ?? '-'} days in stage on average`);
  }
}

/** Sales between the two syncs: a new paid order with its payment, and a refund (issue 9). */
function makeSalesChanges(sb: Sandbox): string[] {
  const store = sb.store;
  const contact = [...store.list('contacts')][5]!;
  const usd = (amount: number) => ({ amount, currency_code: 'USD', formatted_amount: `$${(amount / 100).toFixed(2)}` });
  const order = store.add('orders', {
    title: 'Demo order – “2 seats”', status: 'PAID', contact: { id: String(contact.id) }, order_time: new Date().toISOString(),
    total: usd(3980), total_paid: usd(3980), total_due: usd(3980), refund_total: usd(0),
    order_items: [{ id: '990000001', name: 'Practice Suite seat', quantity: 2, item_type: 'PRODUCT', price_per_unit: usd(1990), cost_per_unit: usd(0) }],
  });
  const paid = store.add('payments', { amount: 39.8, contact_id: String(contact.id), order_ids: [String(order.id)], status: 'COMPLETED' });
  const refund = store.add('payments', { amount: -(0.1 + 0.2), contact_id: String(contact.id), order_ids: [String(order.id)], status: 'COMPLETED', type: 'Refund' });
  return [`added order ${order.id} ($39.80, 2 lines) with payment ${paid.id}`, `added refund ${refund.id} of 0.1 + 0.2 (a double: ${-(0.1 + 0.2)})`];
}

/** Orders and revenue: what the sales views say after the syncs. */
async function salesReport(db: Db): Promise<void> {
  const sql = db.sql;
  console.log('\nRevenue by month, last 6 months with orders (keap_ops.revenue_by_month):');
  const months = await sql`
    select to_char(month, 'YYYY-MM') as month, currency_code, orders_count, ordered_total::text, paid_total::text
      from keap_ops.revenue_by_month where currency_code is not null order by month desc, currency_code limit 6`;
  for (const m of months) {
    console.log(`  ${m.month} ${String(m.currency_code).padEnd(4)} ${String(m.orders_count).padStart(5)} orders  ordered ${String(m.ordered_total).padStart(14)}  paid ${String(m.paid_total).padStart(14)}`);
  }
  const [pay] = await sql`
    select count(*)::int as n, coalesce(sum(payments_total), 0)::text as net, coalesce(sum(payments_refunded_total), 0)::text as refunded
      from keap_ops.revenue_by_month where currency_code is null`;
  console.log(`  payments: ${pay?.n} months, net ${pay?.net}, refunded ${pay?.refunded} (exact numeric: a refund of 0.1 + 0.2 is 0.3)`);
  const [rec] = await sql`
    select count(*)::int as orders, count(*) filter (where totals_disagree)::int as disagree from keap_ops.order_totals`;
  console.log(`Order totals (keap_ops.order_totals): ${rec?.disagree} of ${rec?.orders} live orders disagree with the sum of their items.`);
}

async function report(db: Db): Promise<void> {
  const sql = db.sql;
  console.log('\nWhat landed (live rows / soft-deleted):');
  const tables = await sql`
    select c.relname as table_name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'keap' and c.relkind = 'r' order by 1`;
  for (const { table_name } of tables) {
    const name = String(table_name);
    const hasDeleted = (await sql`select 1 from information_schema.columns where table_schema = 'keap' and table_name = ${name} and column_name = '_deleted_at'`).length > 0;
    const [row] = hasDeleted
      ? await sql`select count(*) filter (where _deleted_at is null)::int as live, count(*) filter (where _deleted_at is not null)::int as deleted from ${sql(`keap.${name}`)}`
      : await sql`select count(*)::int as live, 0 as deleted from ${sql(`keap.${name}`)}`;
    console.log(`  keap.${name.padEnd(34)} ${String(row?.live).padStart(8)} ${row?.deleted ? `(${row.deleted} deleted)` : ''}`);
  }
  console.log('\nLast runs (keap_ops.runs):');
  const runs = await sql`
    select run_id, status, trigger, duration_seconds, request_count, record_count, inserted_count, updated_count, deleted_count
      from keap_ops.runs order by run_id desc limit 4`;
  for (const r of runs) {
    console.log(`  run ${String(r.run_id).padStart(4)}  ${String(r.status).padEnd(10)} ${String(r.duration_seconds).padStart(8)} s  ${String(r.request_count).padStart(5)} requests  ${String(r.record_count).padStart(7)} records  +${r.inserted_count} ~${r.updated_count} -${r.deleted_count}`);
  }
  console.log('\nRequests of the last two runs by endpoint and status (keap_meta.etl_request_log):');
  const reqs = await sql`
    select endpoint, http_status, count(*)::int as n, round(avg(duration_ms))::int as avg_ms, min(quota_available) as quota_left
      from keap_meta.etl_request_log
     where run_id in (select run_id from keap_meta.etl_run_log order by run_id desc limit 2)
     group by 1, 2 order by 3 desc limit 10`;
  for (const r of reqs) {
    console.log(`  ${String(r.endpoint).padEnd(36)} ${String(r.http_status ?? 'net').padStart(4)} ${String(r.n).padStart(6)} requests  avg ${r.avg_ms} ms  quota left ${r.quota_left ?? '?'}`);
  }
}

/**
 * History (keap_history): one contact changed twice more in the sandbox (a new owner, then a new
 * e-mail), synced after each change, then every version the warehouse kept of it, with the e-mail it
 * had during each version (keap_history.contact_emails_as_of) - the demo database is kept between
 * runs, so earlier runs' versions show too.
 */
async function showHistory(db: Db, sb: Sandbox, config: ReturnType<typeof loadConfig>): Promise<number> {
  const id = Number([...sb.store.list('contacts')][0]!.id);
  let exitCode = 0;
  for (const patch of [{ owner_id: '9001' }, { email_addresses: [{ email: `history.demo.${Date.now()}@example.com`, field: 'EMAIL1' }] }]) {
    sb.store.updateContact(id, patch);
    const r = await runSync({ db, config }, { trigger: 'demo', entities: ['contacts'] });
    exitCode = Math.max(exitCode, r.exitCode);
  }
  const versions = await db.sql`
    select v._valid_from, v._valid_to, v._ended_by, v.given_name, v.job_title, v.owner_id,
           (select e.email from keap_history.contact_emails_as_of(v._valid_from) e where e.contact_id = v.contact_id and e.field = 'EMAIL1') as email
      from keap_history.contacts_versions v where v.contact_id = ${id} order by v._valid_from`;
  const ts = (d: Date) => (Number.isFinite(d.getTime()) ? d.toISOString().replace('T', ' ').slice(0, 19) : 'now'.padEnd(19));
  console.log(`  contact ${id}: ${versions.length} versions (keap_history.contacts_versions; the last one is the live row)`);
  for (const v of versions) {
    console.log(`  ${ts(v._valid_from as Date)} .. ${ts(v._valid_to as Date)}  ${String(v._ended_by ?? 'current').padEnd(8)} `
      + `${v.given_name ?? ''} | ${v.job_title ?? '-'} | owner ${v.owner_id ?? '-'} | ${v.email ?? '-'}`);
  }
  return exitCode;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { contacts: { type: 'string' }, seed: { type: 'string' }, 'latency-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    return EXIT.OK;
  }
  const contacts = Number(values.contacts ?? 2000);
  const seed = Number(values.seed ?? 1);
  const latency = Number(values['latency-ms'] ?? 15);
  if (!Number.isInteger(contacts) || contacts < 1 || !Number.isInteger(seed) || !(latency >= 0)) {
    throw Object.assign(new Error('--contacts and --seed take whole numbers, --latency-ms a number >= 0'), { exitCode: EXIT.CONFIG });
  }
  const started = Date.now();
  console.log(`Starting the local Keap sandbox (${contacts} contacts, seed ${seed}, ~${latency} ms latency)…`);
  const sb = await startSandbox({ contacts, seed, apiKeys: [API_KEY], latencyMs: latency > 0 ? [Math.round(latency / 2), latency * 2] : 0 });
  const db = await connect({ applicationName: 'keap-sync demo', max: 4 });
  try {
    console.log(`Sandbox at ${sb.url}; database ${db.displayUrl}${db.embedded ? ' (embedded)' : ''}`);
    const m = await migrate(db.sql);
    console.log(m.migrationsApplied.length || m.filesChanged.length ? `Schema deployed (${m.migrationsApplied.length} migrations, ${m.filesChanged.length} SQL files).` : 'Schema up to date.');
    // The demo talks to the sandbox only: API settings from the environment are ignored here.
    const config = loadConfig({
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEAP_') || k === 'KEAP_TOKEN_KEY')),
      KEAP_API_URL: sb.url,
      KEAP_API_KEY: API_KEY,
      KEAP_MAX_RPS: '50',
    }, { loadDotEnv: false });

    console.log('\n1. Full sync');
    const outfull = progressPrinter();
    const full = await runSync({ db, config }, { full: true, trigger: 'demo', onProgress: outfull.progress, onLine: (l) => outfull.line(`  ${l}`) });
    outfull.end();
    printSummary(full.value, full.runId, full.status);

    console.log('\n2. Changes in the sandbox');
    for (const c of [...makeChanges(sb), ...makePipelineChanges(sb), ...makeSalesChanges(sb)]) console.log(`  ${c}`);

    console.log('\n3. Incremental sync');
    const outinc = progressPrinter();
    const inc = await runSync({ db, config }, { trigger: 'demo', onProgress: outinc.progress, onLine: (l) => outinc.line(`  ${l}`) });
    outinc.end();
    printSummary(inc.value, inc.runId, inc.status);

    console.log('\n4. Deletions: a full sweep notices the deleted contact');
    const sweep = await runSync({ db, config }, { full: true, entities: ['contacts'], trigger: 'demo', onLine: (l) => console.log(`  ${l}`) });
    printSummary(sweep.value, sweep.runId, sweep.status);

    console.log('\n5. History: one contact changed twice more, each change synced');
    const historyExit = await showHistory(db, sb, config);

    await report(db);
    await pipelineReport(db);
    await salesReport(db);
    const s = sb.stats();
    console.log(`\nSandbox saw ${s.totalRequests} requests, ${s.throttleViolations} throttle violations, peak concurrency ${s.peakConcurrency}.`);
    console.log(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    console.log('\nLook around with psql:');
    console.log(db.embedded ? '  psql "$(npm run -s db -- url)"' : '  psql "$DATABASE_URL"');
    console.log("  select * from keap_ops.runs order by run_id desc limit 5;");
    console.log("  select entity, fresh_as_of, lag_seconds from keap_ops.entity_freshness;");
    console.log("  select given_name, family_name, email from keap.contacts c join keap.contact_emails e using (contact_id) limit 10;");
    console.log("  select * from keap_ops.pipeline_by_stage order by stage_order;");
    console.log("  select * from keap_ops.revenue_by_month order by month desc limit 12;");
    console.log("  select * from keap_ops.order_totals where totals_disagree;");
    console.log("A run's trace, and live status (run it in another terminal during a sync):");
    console.log('  npm run trace -- latest');
    console.log('  npm run status -- --watch');
    console.log("  select * from keap_history.contacts_as_of(now() - interval '1 hour') limit 10;");
    return Math.max(full.exitCode, inc.exitCode, sweep.exitCode, historyExit);
  } finally {
    await db.close();
    await sb.close();
  }
}

runScript('demo', main);
