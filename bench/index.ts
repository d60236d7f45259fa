// Benchmark runner (`npm run bench`): runs bench/*.bench.ts in name order, each in its own Node
// process (timings and peak RSS are not polluted by earlier benches), at the sizes asked for, then
// prints one table of every figure beside its baseline from the same run, the ratio, the goal and
// pass/fail, and writes the same as JSON to bench/results/<timestamp>.json.
// A bench reports rows by printing `BENCH_ROW <json>` lines (bench/lib/report.ts) and fails by
// exiting non-zero. Exit code: 0 every bench ran and every goal passed, 1 a goal failed or a bench
// crashed, 2 bad arguments or no bench matched.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchRow } from './lib/report.ts';

const HELP = `Usage: npm run bench [-- [options] [name-filter...]]

Runs the benchmarks (bench/*.bench.ts) and prints a table: figure, baseline measured in the same
run, ratio, goal, pass/fail; the same is written as JSON to bench/results/.
Uses DATABASE_URL's server when set, else the embedded PostgreSQL.

  merge.bench.ts          first merge of the contact family vs the write floor; re-merge of unchanged pages
  sync.bench.ts           full sync vs a bare download of the same pages (pre-rendered and sandbox); peak RSS
  sandbox-paging.bench.ts the sandbox itself paging a large tenant (only when named or with --all)

Options:
  --sizes LIST   tenant sizes in contacts (default 10000,100000)
  --1m           add 1,000,000 contacts (takes many minutes)
  --all          also run benches that only run when named (sandbox-paging)
  -h, --help     this help
`;

interface Outcome {
  name: string;
  code: number | null;
  ms: number;
  rows: BenchRow[];
}

function runOne(file: string, env: Record<string, string>): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', file], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    const rows: BenchRow[] = [];
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('BENCH_ROW ')) rows.push(JSON.parse(line.slice('BENCH_ROW '.length)) as BenchRow);
        else process.stdout.write(`${line}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ name: file.split('/').pop() as string, code, ms: performance.now() - t0, rows }));
  });
}

function fmt(v: number | undefined, unit?: string): string {
  if (v === undefined) return '';
  if (unit === 's') return `${v < 1 ? v.toFixed(3) : v.toFixed(2)} s`;
  return `${v} ${unit}`;
}

function table(rows: BenchRow[]): string {
  const head = ['bench', 'size', 'figure', 'value', 'baseline', 'baseline value', 'ratio', 'goal', 'result'];
  const body = rows.map((r) => [
    r.bench, r.size.toLocaleString('en-US'), r.figure, fmt(r.value, r.unit), r.baseline ?? '', fmt(r.baseline_value, r.unit === 'MB' || r.unit === 'rows' ? 's' : r.unit),
    r.ratio === undefined ? '' : `${r.ratio}x`, r.goal, r.info ? 'info' : r.pass ? 'pass' : 'FAIL',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: { sizes: { type: 'string' }, '1m': { type: 'boolean' }, all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${HELP}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const sizes = (values.sizes ?? '10000,100000').split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 100)) {
    process.stderr.write(`bench: --sizes takes whole numbers of contacts (at least 100), got '${values.sizes}'\n`);
    process.exit(2);
  }
  if (values['1m'] && !sizes.includes(1_000_000)) sizes.push(1_000_000);

  const dir = dirname(fileURLToPath(import.meta.url));
  const onlyWhenNamed = new Set(['sandbox-paging.bench.ts']);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => (positionals.length ? positionals.some((a) => f.includes(a)) : values.all || !onlyWhenNamed.has(f)))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`bench: no bench/*.bench.ts matched ${positionals.join(' ') || '(all)'}\n`);
    process.exit(2);
  }
  const startedAt = new Date();
  const outcomes: Outcome[] = [];
  for (const f of files) {
    process.stdout.write(`\n=== ${f} (contacts: ${sizes.join(', ')}) ===\n`);
    outcomes.push(await runOne(join(dir, f), { BENCH_SIZES: sizes.join(','), ...(sizes.length ? { BENCH_CONTACTS: String(Math.max(...sizes)) } : {}) }));
  }
  const rows = outcomes.flatMap((o) => o.rows);
  process.stdout.write(`\n=== results (${startedAt.toISOString()}) ===\n${table(rows)}\n`);
  for (const o of outcomes) {
    process.stdout.write(`${o.code === 0 ? 'ok  ' : `FAIL(${o.code})`} ${o.name} (${(o.ms / 1000).toFixed(1)} s)\n`);
  }
  const resultsDir = join(dir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({
    started_at: startedAt.toISOString(),
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version, load_average: os.loadavg() },
    database: process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded',
    sizes,
    benches: outcomes.map((o) => ({ name: o.name, exit_code: o.code, seconds: +(o.ms / 1000).toFixed(1) })),
    rows,
  }, null, 2)}\n`);
  process.stdout.write(`written: ${file}\n`);
  process.exit(outcomes.every((o) => o.code === 0) && rows.every((r) => r.pass) ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
