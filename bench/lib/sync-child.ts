// One full sync in a process of its own (so its peak RSS is the sync's alone): DATABASE_URL is an
// already migrated database, KEAP_API_URL the page source. Prints `RESULT <json>`:
// { status, seconds, records, peak_rss_mb }.
import { loadConfig } from '../../scripts/lib/config.ts';
import { connect } from '../../scripts/lib/db.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';

const config = loadConfig(
  {
    KEAP_API_URL: process.env.KEAP_API_URL!, KEAP_API_KEY: 'bench', KEAP_MAX_RPS: '10000', KEAP_QUOTA_RESERVE: '0',
    ...(process.env.KEAP_SYNC_CONCURRENCY ? { KEAP_SYNC_CONCURRENCY: process.env.KEAP_SYNC_CONCURRENCY } : {}),
    ...(process.env.KEAP_MERGE_EVERY_PAGES ? { KEAP_MERGE_EVERY_PAGES: process.env.KEAP_MERGE_EVERY_PAGES } : {}),
  },
  { loadDotEnv: false },
);
const db = await connect({ applicationName: 'keap-sync bench sync', max: 2 + 2 * config.syncConcurrency });
try {
  // The memory breakdown at the highest RSS sampled (every 100 ms): where a peak comes from.
  let peak = process.memoryUsage();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > peak.rss) peak = m;
  }, 100);
  sampler.unref();
  // Diagnosis only (node --expose-gc): the live heap after a full collection, every 5 s.
  const gc = (globalThis as { gc?: () => void }).gc;
  const live: number[] = [];
  const liveSampler = gc ? setInterval(() => { gc(); live.push(Math.round(process.memoryUsage().heapUsed / 1048576)); }, 5000) : undefined;
  liveSampler?.unref();
  const t0 = performance.now();
  const r = await runSync({ db, config }, { trigger: 'bench', full: true });
  const seconds = (performance.now() - t0) / 1000;
  const records = r.value.entities.reduce((s, e) => s + e.records, 0);
  clearInterval(sampler);
  if (liveSampler) { clearInterval(liveSampler); console.error(`live heap after full GC every 5 s (MB): ${live.join(' ')}`); }
  const mb = (n: number) => Math.round(n / 1048576);
  const peak_breakdown_mb = { rss: mb(peak.rss), heap_total: mb(peak.heapTotal), heap_used: mb(peak.heapUsed), external: mb(peak.external), array_buffers: mb(peak.arrayBuffers) };
  console.log(`RESULT ${JSON.stringify({ status: r.status, seconds, records, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024), cpu_seconds: +((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(2), peak_breakdown_mb })}`);
} finally {
  await db.close();
}
