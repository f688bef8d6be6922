// The load generator, run as its own process so it never shares a core's event loop with
// the gateway. Closed loop: autocannon at N connections for D seconds (after a short warm-up),
// with an optional list of bodies taken in turn (one per request: refresh tokens are
// single-use). Open loop (`rate`): requests are sent on a fixed schedule whatever the answers
// do, and each latency is counted from the moment its request was due, so a slow answer
// cannot hide the queue it causes (no coordinated omission).
import { readFileSync } from 'node:fs';
import http from 'node:http';
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
  /** Open loop at this many requests per second. */
  rate?: number;
  /** Closed loop over the bodies, each sent once (single-use credentials that expire): a tenth warms up, the rest is measured. */
  eachOnce?: boolean;
}

const spec: Spec = JSON.parse(process.argv[2]);
const bodies: string[] | undefined = spec.bodiesFile ? JSON.parse(readFileSync(spec.bodiesFile, 'utf8')) : undefined;
let next = 0;

async function closed(duration: number, amount?: number) {
  return autocannon({
    url: spec.url,
    connections: spec.connections,
    ...(amount ? { amount } : { duration }),
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

async function open(rate: number, duration: number) {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const latencies: number[] = [];
  const statusCodes: Record<string, { count: number }> = {};
  let errors = 0;
  let non2xx = 0;
  const send = (due: number) =>
    new Promise<void>((resolve) => {
      const body = bodies ? bodies[next++ % bodies.length] : spec.body;
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: spec.method, agent, headers: { ...spec.headers, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - due);
            const code = String(res.statusCode);
            (statusCodes[code] ??= { count: 0 }).count++;
            if (res.statusCode! < 200 || res.statusCode! >= 300) non2xx++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const started = performance.now();
  const total = Math.round(rate * duration);
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(send(due));
  }
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
  return { requestsPerSecond: latencies.length / ((performance.now() - started) / 1000), total: latencies.length, p50: at(0.5), p99: at(0.99), non2xx, errors, statusCodes };
}

if (spec.rate) {
  if (spec.warmup > 0) await open(spec.rate, spec.warmup);
  process.stdout.write(JSON.stringify(await open(spec.rate, spec.duration)));
} else {
  const warmup = spec.eachOnce ? Math.floor(bodies!.length / 10) : 0;
  if (spec.eachOnce) await closed(0, warmup);
  else if (spec.warmup > 0) await closed(spec.warmup);
  const r = spec.eachOnce ? await closed(0, bodies!.length - warmup) : await closed(spec.duration);
  process.stdout.write(
    JSON.stringify({
      requestsPerSecond: spec.eachOnce ? r.requests.total / r.duration : r.requests.average,
      total: r.requests.total,
      ...(spec.eachOnce ? { sent: r.requests.total + warmup } : {}),
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      statusCodes: r.statusCodeStats,
    }),
  );
}
