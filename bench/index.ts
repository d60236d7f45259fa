// Benchmark runner (`npm run bench [-- name-filter]`): runs every bench/*.bench.ts in name order,
// each in its own Node process so timings and peak RSS are not polluted by earlier benches, then
// prints a summary. A bench reports by printing one line `BENCH_RESULT <json object>` and fails
// by exiting non-zero. Exit code: 0 all passed, 1 any bench failed, 2 no bench matched.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HELP = `Usage: npm run bench [-- <substring>...]

Runs bench/*.bench.ts in name order (optionally only those whose name contains a substring),
each in a separate process, and prints each bench's BENCH_RESULT line as a summary.
`;

interface Outcome {
  name: string;
  code: number | null;
  ms: number;
  result: Record<string, unknown> | null;
}

function runOne(file: string): Promise<Outcome> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let result: Record<string, unknown> | null = null;
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('BENCH_RESULT ')) result = JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, unknown>;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ name: file.split('/').pop() as string, code, ms: performance.now() - t0, result }));
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const dir = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => args.length === 0 || args.some((a) => f.includes(a)))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`bench: no bench/*.bench.ts matched ${args.join(' ') || '(all)'}\n`);
    process.exit(2);
  }
  const outcomes: Outcome[] = [];
  for (const f of files) {
    process.stdout.write(`\n=== ${f} ===\n`);
    outcomes.push(await runOne(join(dir, f)));
  }
  process.stdout.write('\n=== summary ===\n');
  for (const o of outcomes) {
    const status = o.code === 0 ? 'ok  ' : `FAIL(${o.code})`;
    process.stdout.write(`${status} ${o.name} (${(o.ms / 1000).toFixed(1)} s)${o.result ? ` ${JSON.stringify(o.result)}` : ''}\n`);
  }
  process.exit(outcomes.every((o) => o.code === 0) ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
