// Benchmark: the whole sync (HTTP paging, staging, SQL merges) from a sandbox tenant into a fresh
// database — a full run, then an incremental run after 1% of the contacts changed. Reports
// records/s of the full run, the incremental run's duration, and peak RSS of this process (the
// orchestrator plus the in-process sandbox). Fails unless the warehouse holds every contact.
// Env: BENCH_SYNC_CONTACTS (default 20000); DATABASE_URL's server, else the embedded one.
import { loadConfig } from '../scripts/lib/config.ts';
import { connect } from '../scripts/lib/db.ts';
import { migrate } from '../scripts/lib/migrate.ts';
import { startSandbox } from '../scripts/lib/sandbox/index.ts';
import { runSync } from '../scripts/lib/sync/engine.ts';

const CONTACTS = Number(process.env.BENCH_SYNC_CONTACTS ?? 20_000);
const UNLIMITED = { throttlePerMinute: 1e9, dailyQuota: 1e9, tenantPerMinute: 1e9, tenantPerDay: 1e9 };

function rssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function main(): Promise<void> {
  const sb = await startSandbox({ contacts: CONTACTS, seed: 5, apiKeys: ['bench'], limits: UNLIMITED });
  // A database of its own on the configured (or embedded) server.
  const base = await connect({ applicationName: 'keap-sync bench', max: 1 });
  const name = `keap_bench_${process.pid}`;
  await base.sql.unsafe(`create database ${name}`);
  const u = new URL(process.env.DATABASE_URL ?? base.embedded!.url);
  u.pathname = `/${name}`;
  const db = await connect({ applicationName: 'keap-sync bench', url: u.toString(), max: 4 });
  try {
    await migrate(db.sql);
    const config = loadConfig({ KEAP_API_URL: sb.url, KEAP_API_KEY: 'bench', KEAP_MAX_RPS: '10000', KEAP_QUOTA_RESERVE: '0' }, { loadDotEnv: false });

    const t0 = performance.now();
    const full = await runSync({ db, config }, { trigger: 'bench', full: true });
    const fullMs = performance.now() - t0;
    const [row] = await db.sql`select count(*)::int as n from keap.contacts where _deleted_at is null`;
    const n = Number(row?.n);
    if (full.status !== 'succeeded' || n !== sb.store.count('contacts')) {
      throw new Error(`full sync ${full.status}: ${n} contacts in the warehouse, ${sb.store.count('contacts')} in the sandbox`);
    }
    const records = full.value.entities.reduce((s, e) => s + e.records, 0);
    console.log(`full sync: ${records} records in ${(fullMs / 1000).toFixed(1)} s (${Math.round(records / (fullMs / 1000))} records/s), peak RSS ${rssMb()} MB`);

    const ids = [...sb.store.list('contacts')].slice(0, Math.max(1, Math.floor(CONTACTS / 100))).map((c) => Number(c.id));
    for (const id of ids) sb.store.updateContact(id, { job_title: 'Changed for the bench' });
    const t1 = performance.now();
    const inc = await runSync({ db, config }, { trigger: 'bench', entities: ['contacts'] });
    const incMs = performance.now() - t1;
    const updated = inc.value.entities[0]?.updated ?? 0;
    if (updated !== ids.length) throw new Error(`incremental run updated ${updated} contacts, expected ${ids.length}`);
    console.log(`incremental sync of ${ids.length} changed contacts: ${(incMs / 1000).toFixed(2)} s`);
    console.log(
      `BENCH_RESULT ${JSON.stringify({ contacts: CONTACTS, full_records: records, full_seconds: +(fullMs / 1000).toFixed(1), full_records_per_s: Math.round(records / (fullMs / 1000)), incremental_changed: ids.length, incremental_seconds: +(incMs / 1000).toFixed(2), peak_rss_mb: rssMb() })}`,
    );
  } finally {
    await db.close();
    await base.sql.unsafe(`drop database if exists ${name} with (force)`);
    await base.close();
    await sb.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
