// CLI for the local Keap REST v2 sandbox: starts the in-process server with a deterministic
// tenant, prints the base URL, token URL and accepted credentials, and runs until SIGINT/SIGTERM.
// Exit codes: 0 clean shutdown, 2 bad arguments, 1 failed to start.
import { parseArgs } from 'node:util';
import { startSandbox, FAULT_KINDS, type FaultKind, type SandboxOptions } from './lib/sandbox/index.ts';

const HELP = `Usage: npm run sandbox -- [options]

Local Keap REST v2 sandbox (real HTTP server on 127.0.0.1).

Options:
  --contacts N            tenant size in contacts (default 2000; other entities scale)
  --seed N                data seed (default 1)
  --port N                port (default 8788; 0 = random free port)
  --latency-ms N|MIN-MAX  per-request latency, fixed or uniform range
  --fault-rate R          fraction of API requests that fault (0..1, default 0)
  --fault-kinds LIST      comma list of ${FAULT_KINDS.join(',')} (default all)
  --slow-ms N             delay of a 'slow' fault (default 3000)
  --throttle-per-minute N per-credential rolling minute limit (default: 240 PAT/SAK, 1500 OAuth)
  --daily-quota N         per-credential daily quota (default: 30000 PAT/SAK, 150000 OAuth)
  --tenant-per-minute N   tenant minute limit (default 10000)
  --tenant-per-day N      tenant daily limit (default 250000)
  --churn N               on each list request, update N random contacts first
  --api-key KEY           accepted PAT/SAK key (repeatable; default sandbox-api-key)
  --token-ttl SECONDS     OAuth access token lifetime (default 86400)
  --nulls                 emit explicit nulls for absent optional fields, like the live API
  -h, --help              show this help
`;

function int(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min} (got '${v}')`);
  return Number(v);
}

class UsageError extends Error {}

function parse(argv: string[]): SandboxOptions & { port: number } {
  const { values } = parseArgs({
    args: argv,
    options: {
      contacts: { type: 'string' },
      seed: { type: 'string' },
      port: { type: 'string' },
      'latency-ms': { type: 'string' },
      'fault-rate': { type: 'string' },
      'fault-kinds': { type: 'string' },
      'slow-ms': { type: 'string' },
      'throttle-per-minute': { type: 'string' },
      'daily-quota': { type: 'string' },
      'tenant-per-minute': { type: 'string' },
      'tenant-per-day': { type: 'string' },
      churn: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'token-ttl': { type: 'string' },
      nulls: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const opts: SandboxOptions & { port: number } = { port: int('port', values.port) ?? 8788 };
  opts.contacts = int('contacts', values.contacts);
  opts.seed = int('seed', values.seed);
  const lat = values['latency-ms'];
  if (lat !== undefined) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(lat);
    if (!m) throw new UsageError(`--latency-ms must be N or MIN-MAX (got '${lat}')`);
    opts.latencyMs = m[2] !== undefined ? [Number(m[1]), Number(m[2])] : Number(m[1]);
  }
  const rate = values['fault-rate'];
  if (rate !== undefined || values['fault-kinds'] !== undefined || values['slow-ms'] !== undefined) {
    const r = rate === undefined ? 0 : Number(rate);
    if (!(r >= 0 && r <= 1)) throw new UsageError(`--fault-rate must be between 0 and 1 (got '${rate}')`);
    const kinds = values['fault-kinds']?.split(',').map((s) => s.trim()) as FaultKind[] | undefined;
    for (const k of kinds ?? []) if (!FAULT_KINDS.includes(k)) throw new UsageError(`unknown fault kind '${k}'`);
    opts.faults = { rate: r, kinds, slowMs: int('slow-ms', values['slow-ms']) };
  }
  opts.limits = {
    throttlePerMinute: int('throttle-per-minute', values['throttle-per-minute'], 1),
    dailyQuota: int('daily-quota', values['daily-quota'], 1),
    tenantPerMinute: int('tenant-per-minute', values['tenant-per-minute'], 1),
    tenantPerDay: int('tenant-per-day', values['tenant-per-day'], 1),
  };
  const churn = int('churn', values.churn);
  if (churn) opts.churn = { updatesPerRequest: churn };
  if (values['api-key']) opts.apiKeys = values['api-key'];
  const ttl = int('token-ttl', values['token-ttl'], 1);
  if (ttl !== undefined) opts.oauth = { clientId: 'sandbox-client', clientSecret: 'sandbox-secret', refreshToken: 'sandbox-refresh-token-0', accessTokenTtlSeconds: ttl };
  if (values.nulls) opts.nulls = true;
  return opts;
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof parse>;
  try {
    opts = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`sandbox: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    process.exit(2);
  }
  const t0 = performance.now();
  const sb = await startSandbox(opts);
  const ms = Math.round(performance.now() - t0);
  const counts = Object.fromEntries((['contacts', 'companies', 'tags', 'orders', 'notes', 'tasks', 'users'] as const).map((e) => [e, sb.store.count(e)]));
  process.stdout.write(
    [
      `Keap sandbox listening (started in ${ms} ms)`,
      `  base URL:   ${sb.url}            (e.g. GET ${sb.url}/rest/v2/contacts)`,
      `  token URL:  ${sb.tokenUrl}`,
      `  authorize:  ${sb.authorizeUrl}   (KEAP_AUTHORIZE_URL for npm run connect)`,
      `  API keys:   ${(opts.apiKeys ?? ['sandbox-api-key']).join(', ')}   (X-Keap-API-Key or Authorization: Bearer)`,
      `  OAuth:      client_id=sandbox-client client_secret=sandbox-secret refresh_token=${sb.currentRefreshToken()}`,
      `  tenant:     seed ${opts.seed ?? 1}; ${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')}`,
      '',
    ].join('\n'),
  );
  let closing = false;
  const stop = (signal: string): void => {
    if (closing) return;
    closing = true;
    const s = sb.stats();
    process.stdout.write(`\n${signal}: closing; served ${s.totalRequests} requests (throttle violations ${s.throttleViolations}, token refreshes ${s.tokenRefreshes})\n`);
    sb.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`sandbox: close failed: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`sandbox: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
