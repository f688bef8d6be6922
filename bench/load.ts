// The load generator, run as its own process so it never shares a core's event loop with
// the gateway: autocannon at N connections for D seconds (after a short warm-up), with an
// optional list of bodies taken in turn (one per request: refresh tokens are single-use).
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

interface Spec {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  bodiesFile?: string;
  connections: number;
  duration: number;
  warmup: number;
}

const spec: Spec = JSON.parse(process.argv[2]);
const bodies: string[] | undefined = spec.bodiesFile ? JSON.parse(readFileSync(spec.bodiesFile, 'utf8')) : undefined;
let next = 0;

async function run(duration: number) {
  return autocannon({
    url: spec.url,
    connections: spec.connections,
    duration,
    requests: [
      {
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        setupRequest: (req) => (bodies ? { ...req, body: bodies[next++ % bodies.length] } : req),
      },
    ],
  });
}

if (spec.warmup > 0) await run(spec.warmup);
const r = await run(spec.duration);
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: r.requests.average,
    total: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    statusCodes: r.statusCodeStats,
  }),
);
