// A page source for the sync bench, run as its own process so its CPU and memory are not the
// sync's: `sandbox <contacts>` serves the local Keap sandbox (no rate limits); `proxy <upstream>`
// forwards every request to the upstream and records the response, until POST /__bench/replay
// switches it to serving the recorded responses from memory (pre-rendered pages: a source that
// is never the bottleneck). GET /__bench/urls lists the recorded request URLs in order,
// GET /__bench/stats says how many replayed requests had no recording. Prints `READY <url>`.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSandbox } from '../../scripts/lib/sandbox/index.ts';
import { UNLIMITED } from './report.ts';

const [mode, arg] = process.argv.slice(2);

if (mode === 'sandbox') {
  const sb = await startSandbox({ contacts: Number(arg), seed: 5, apiKeys: ['bench'], limits: UNLIMITED });
  console.log(`READY ${sb.url}`);
  process.on('SIGTERM', () => void sb.close().then(() => process.exit(0)));
} else if (mode === 'proxy') {
  const upstream = new URL(arg!);
  interface Recorded { status: number; headers: Record<string, string>; body: Buffer }
  const recorded = new Map<string, Recorded>();
  const order: string[] = [];
  let replay = false;
  let misses = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/__bench/')) {
      if (url === '/__bench/replay') replay = true;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(url === '/__bench/urls' ? order : { replay, recorded: recorded.size, misses }));
      return;
    }
    if (replay) {
      const r = recorded.get(url);
      if (!r) {
        misses++;
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 404, message: `bench proxy: no recording for ${url}` }));
        return;
      }
      res.writeHead(r.status, { ...r.headers, 'content-length': String(r.body.length) });
      res.end(r.body);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host') headers[k] = v;
    const target = new URL(upstream.origin + url);
    fetch(target, { headers })
      .then(async (up) => {
        const body = Buffer.from(await up.arrayBuffer());
        const h: Record<string, string> = {};
        up.headers.forEach((v, k) => {
          if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'content-encoding') h[k] = v;
        });
        if (!recorded.has(url)) order.push(url);
        recorded.set(url, { status: up.status, headers: h, body });
        res.writeHead(up.status, { ...h, 'content-length': String(body.length) });
        res.end(body);
      })
      .catch((err: unknown) => {
        res.writeHead(502);
        res.end(String(err));
      });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(`READY http://127.0.0.1:${port}${upstream.pathname}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
} else {
  console.error('usage: source.ts sandbox <contacts> | proxy <upstream-url>');
  process.exit(2);
}
