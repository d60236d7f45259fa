// Human output of a sync: a progress bar redrawn on a terminal (plain lines otherwise, for logs
// and CI) and the per-entity summary table printed at the end of a run.
import type { SyncProgress, SyncSummary } from './engine.ts';

/** Progress: a redrawn bar on a terminal, plain lines otherwise (logs, CI). */
export function progressPrinter() {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let lastEntity = '';
  const fmt = (p: SyncProgress) =>
    `${p.entity.padEnd(23)} ${p.traversal.padEnd(11)} pages ${String(p.pages).padStart(5)}  records ${String(p.records).padStart(8)}  ` +
    `${p.recordsPerSecond.toFixed(0).padStart(6)} rec/s  quota left ${p.quotaAvailable ?? '?'}`;
  return {
    progress(p: SyncProgress) {
      const now = Date.now();
      if (tty) {
        if (p.entity !== lastEntity && lastEntity) process.stderr.write('\n');
        lastEntity = p.entity;
        if (now - last > 100) {
          const width = Math.max(10, Math.min(30, (process.stderr.columns ?? 100) - 100));
          const spin = '#'.repeat(p.pages % (width + 1)).padEnd(width, '.');
          process.stderr.write(`\r[${spin}] ${fmt(p)}`);
          last = now;
        }
      } else if (now - last > 2000 || p.entity !== lastEntity) {
        lastEntity = p.entity;
        console.log(fmt(p));
        last = now;
      }
    },
    line(s: string) {
      if (tty && lastEntity) process.stderr.write('\n');
      lastEntity = '';
      console.log(s);
    },
    end() {
      if (tty && lastEntity) process.stderr.write('\n');
      lastEntity = '';
    },
  };
}

export function printSummary(summary: SyncSummary, runId: number, status: string): void {
  console.log(`run ${runId}: ${status}`);
  // The entity column is as wide as the longest name (opportunity_stage_moves), at least 17.
  const width = Math.max(17, ...summary.entities.map((e) => e.entity.length));
  console.log(`${'entity'.padEnd(width)} traversal    pages   records  inserted  updated unchanged  deleted rejected`);
  for (const e of summary.entities) {
    console.log(
      `${e.entity.padEnd(width)} ${e.traversal.padEnd(11)} ${String(e.pages).padStart(6)} ${String(e.records).padStart(9)} ` +
        `${String(e.inserted).padStart(9)} ${String(e.updated).padStart(8)} ${String(e.unchanged).padStart(9)} ${String(e.deleted).padStart(8)} ${String(e.rejected).padStart(8)}`,
    );
  }
  if (summary.stoppedEarly) console.log(`stopped early: ${summary.stoppedEarly}`);
}

