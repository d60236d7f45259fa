// Bench: a full sync end to end against a bare download of the same pages from the same source,
// and the sync process's peak RSS. Per size (BENCH_SIZES): the sandbox runs in its own process, a
// recording proxy (another process) records every request of a warm-up sync and then serves
// those responses from memory (pre-rendered pages, never the bottleneck). Then, for the
// pre-rendered source and for the sandbox itself: the bare download (GET every recorded URL in
// order, reading the body) and a full sync into a fresh database, in a process of its own.
// Goals: sync within 2x of the bare download; peak RSS of the sync process under 250 MB.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { emit, freshDatabase, sizes, type BenchDb } from './lib/report.ts';

const LIB = fileURLToPath(new URL('./lib/', import.meta.url));

/** The Node flags `npm run sync` gives its process (package.json), so the measured sync runs as the product's does. */
const SYNC_NODE_FLAGS: string[] = (() => {
  const script = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts.sync!;
  return script.split(/\s+/).filter((w) => /^--[a-z-]+=\S+$/.test(w));
})();

function child(script: string, args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): { proc: ChildProcess; line: (prefix: string) => Promise<string> } {
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', LIB + script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const waiting: Array<{ prefix: string; resolve: (s: string) => void }> = [];
  const seen: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const w = waiting.findIndex((x) => l.startsWith(x.prefix));
    if (w >= 0) waiting.splice(w, 1)[0]!.resolve(l);
    else seen.push(l);
  });
  const line = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const hit = seen.findIndex((l) => l.startsWith(prefix));
      if (hit >= 0) return resolve(seen.splice(hit, 1)[0]!);
      waiting.push({ prefix, resolve });
      proc.once('exit', (code) => reject(new Error(`${script} exited (${code}) before printing ${prefix}`)));
    });
  return { proc, line };
}

interface SyncResult { status: string; seconds: number; cpu_seconds: number; records: number; peak_rss_mb: number; contacts: number; floor?: WriteFloor }
interface WriteFloor { seconds: number; rows: number; pages: number; mb: number }

/**
 * The write floor of a sync: every row it landed in `keap` and every raw page it kept in
 * `keap_staging`, inserted with one `insert … select` per table into empty copies (`like …
 * including all`: same indexes, defaults and generated columns). No parsing, casting, comparing or
 * merging: what writing the sync's output costs on this server, whatever the sync does.
 */
async function writeFloor(db: BenchDb): Promise<WriteFloor> {
  const tables = await db.sql`
    select n.nspname as schema, c.relname as name,
           (select string_agg(quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a
             where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '') as cols,
           exists (select from pg_attribute a where a.attrelid = c.oid and a.attidentity = 'a') as identity_always
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname in ('keap', 'keap_staging') and c.relkind = 'r' order by 1, 2`;
  await db.sql`create schema bench_floor`;
  for (const t of tables) await db.sql.unsafe(`create table bench_floor."${t.schema}__${t.name}" (like "${t.schema}"."${t.name}" including all)`);
  await db.sql`checkpoint`;
  let rows = 0;
  let pages = 0;
  const t0 = performance.now();
  for (const t of tables) {
    const r = await db.sql.unsafe(`insert into bench_floor."${t.schema}__${t.name}" (${t.cols}) ${t.identity_always ? 'overriding system value ' : ''}select ${t.cols} from "${t.schema}"."${t.name}"`);
    rows += r.count;
    if (t.schema === 'keap_staging') pages += r.count;
  }
  const seconds = (performance.now() - t0) / 1000;
  const [size] = await db.sql`
    select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint as bytes
      from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'bench_floor' and c.relkind = 'r'`;
  return { seconds, rows, pages, mb: Math.round(Number(size!.bytes) / 1e6) };
}

async function syncInto(sourceUrl: string, measureFloor = false): Promise<SyncResult> {
  const db = await freshDatabase('keap_bench_sync');
  try {
    const c = child('sync-child.ts', [], { DATABASE_URL: db.url, KEAP_API_URL: sourceUrl, KEAP_MERGE_EVERY_PAGES: process.env.KEAP_MERGE_EVERY_PAGES ?? '10' }, SYNC_NODE_FLAGS);
    const r = JSON.parse((await c.line('RESULT ')).slice(7)) as SyncResult;
    if (r.status !== 'succeeded') throw new Error(`sync ${r.status}`);
    const [n] = await db.sql`select count(*)::int as n from keap.contacts where _deleted_at is null`;
    r.contacts = Number(n!.n);
    if (measureFloor) r.floor = await writeFloor(db);
    return r;
  } finally {
    await db.drop();
  }
}

async function bareDownload(base: string, urls: string[]): Promise<{ seconds: number; bytes: number }> {
  const origin = new URL(base).origin;
  let bytes = 0;
  const t0 = performance.now();
  for (const u of urls) {
    const res = await fetch(origin + u, { headers: { 'X-Keap-API-Key': 'bench' } });
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`bare download: HTTP ${res.status} for ${u}`);
    bytes += body.byteLength;
  }
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

async function main(): Promise<void> {
  for (const size of sizes()) {
    const sandbox = child('source.ts', ['sandbox', String(size)]);
    const sbUrl = (await sandbox.line('READY ')).slice(6);
    const proxy = child('source.ts', ['proxy', sbUrl]);
    const pxUrl = (await proxy.line('READY ')).slice(6);
    const admin = new URL(pxUrl).origin;
    try {
      // Warm-up sync through the proxy: records exactly the requests a full sync makes.
      const warm = await syncInto(pxUrl);
      await fetch(`${admin}/__bench/replay`, { method: 'POST' });
      const urls = (await (await fetch(`${admin}/__bench/urls`)).json()) as string[];
      console.log(`size ${size}: ${urls.length} requests, ${warm.records} records; warm-up sync ${warm.seconds.toFixed(1)} s`);

      for (const [label, url] of [['pre-rendered pages (separate process)', pxUrl], ['the sandbox (separate process)', sbUrl]] as const) {
        const dl = await bareDownload(url, urls);
        const prerendered = url === pxUrl;
        const s = await syncInto(url, prerendered);
        if (s.contacts !== warm.contacts || s.records !== warm.records) {
          throw new Error(`sync from ${label}: ${s.records} records, ${s.contacts} live contacts; the warm-up had ${warm.records} and ${warm.contacts}`);
        }
        console.log(`  ${label}: bare download ${dl.seconds.toFixed(2)} s (${(dl.bytes / 1e6).toFixed(0)} MB), full sync ${s.seconds.toFixed(2)} s (sync process CPU ${s.cpu_seconds} s), peak RSS ${s.peak_rss_mb} MB`);
        if (s.floor) {
          // Not a goal: how much of the 2x budget writing the sync's output alone takes on this server.
          console.log(`  write floor: ${s.floor.rows} rows (${s.floor.pages} of them raw pages, ${s.floor.mb} MB with indexes) inserted into empty copies in ${s.floor.seconds.toFixed(2)} s`);
          emit({ bench: 'sync', size, figure: `write floor of the sync's output (${s.floor.rows.toLocaleString('en-US')} rows and pages into empty copies, no merge)`, value: +s.floor.seconds.toFixed(2), unit: 's',
            baseline: 'bare download of the same pages (pre-rendered)', baseline_value: +dl.seconds.toFixed(2),
            ratio: +(s.floor.seconds / dl.seconds).toFixed(2), goal: 'none: above 2x, no sync writing these rows meets the 2x goal', info: true, pass: true });
        }
        const ratio = s.seconds / dl.seconds;
        emit({ bench: 'sync', size, figure: `full sync from ${label}`, value: +s.seconds.toFixed(2), unit: 's',
          baseline: 'bare download of the same pages from the same source', baseline_value: +dl.seconds.toFixed(2),
          ratio: +ratio.toFixed(2), goal: '<= 2x', pass: ratio <= 2 });
        emit({ bench: 'sync', size, figure: `peak RSS of the sync process (${label})`, value: s.peak_rss_mb, unit: 'MB',
          goal: '< 250 MB', pass: s.peak_rss_mb < 250 });
      }
      const { misses } = (await (await fetch(`${admin}/__bench/stats`)).json()) as { misses: number };
      if (misses > 0) throw new Error(`the replaying source had no recording for ${misses} requests: the sync asked for other pages than the warm-up did`);
    } finally {
      proxy.proc.kill('SIGTERM');
      sandbox.proc.kill('SIGTERM');
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
