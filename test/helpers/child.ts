// Spawn a TypeScript child process (through tsx) and wait for a line on its stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { PROJECT_ROOT } from '../../scripts/lib/db.ts';

export interface Child {
  proc: ChildProcess;
  output: () => string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTs(script: string, args: string[], env: Record<string, string>): Child {
  // `node --import tsx` (not the tsx CLI, which forks a second process): a signal sent to
  // proc.pid reaches the very process that runs the script, as SIGKILL tests need.
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    output: () => out,
    exit,
    waitFor: (re, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const tick = () => {
          const m = out.match(re);
          if (m) return resolve(m);
          if (proc.exitCode !== null) return reject(new Error(`child exited (${proc.exitCode}) before ${re}: ${out}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${re}: ${out}`));
          setTimeout(tick, 25);
        };
        tick();
      }),
  };
}
