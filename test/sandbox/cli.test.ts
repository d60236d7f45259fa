// The sandbox CLI starts a real server, prints where it listens and what credentials it takes,
// serves requests, and shuts down cleanly (exit 0) on SIGTERM; bad arguments exit 2.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../../scripts/sandbox.ts', import.meta.url).pathname;

function run(args: string[]): { child: ReturnType<typeof spawn>; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm run sandbox', () => {
  it('prints the base URL, token URL and credentials, serves requests, and exits 0 on SIGTERM', async () => {
    const p = run(['--contacts', '150', '--port', '0', '--seed', '4', '--latency-ms', '1-3']);
    await waitFor(() => /token URL/.test(p.output()), 20_000);
    const base = /base URL:\s+(\S+)/.exec(p.output())?.[1] as string;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/crm$/);
    expect(p.output()).toMatch(/token URL:\s+http:\/\/127\.0\.0\.1:\d+\/token/);
    expect(p.output()).toMatch(/sandbox-api-key/);
    expect(p.output()).toMatch(/refresh_token=sandbox-refresh-token-0/);
    const r = await fetch(`${base}/rest/v2/contacts?page_size=1000`, { headers: { 'X-Keap-API-Key': 'sandbox-api-key' } });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { contacts: unknown[] }).contacts).toHaveLength(150);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output()).toMatch(/SIGTERM: closing; served 1 requests/);
  }, 30_000);

  it('rejects bad arguments with exit code 2 and the usage text', async () => {
    const p = run(['--contacts', 'many']);
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/--contacts must be an integer/);
    expect(p.output()).toMatch(/Usage: npm run sandbox/);
  }, 30_000);
});
