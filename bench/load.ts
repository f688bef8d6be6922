// The load generator, run as its own process so it never shares a core's event loop with
// the gateway. Closed loop: autocannon at N connections for D seconds (after a short warm-up),
// with an optional list of bodies taken in turn (one per request: refresh tokens are
// single-use). Open loop (`rate`): requests are sent on a fixed schedule whatever the answers
// do, and each latency is counted from the moment its request was due, so a slow answer
// cannot hide the queue it causes (no coordinated omission); written on raw sockets (below).
import { readFileSync } from 'node:fs';
import net from 'node:net';
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
let nextBody = 0;

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
        setupRequest: (req) => (bodies ? { ...req, body: bodies[nextBody++ % bodies.length] } : req),
      },
    ],
  });
}

/** Most connections the open loop opens: beyond them a request waits for one (its latency still counts from when it was due). */
const OPEN_SOCKETS_MAX = 512;

/**
 * One connection of the open loop, one request at a time (no pipelining): the request written as
 * bytes, the answer framed by its Content-Length.
 */
class Wire {
  private buf: Buffer = Buffer.alloc(0);
  private due = 0;
  private constructor(
    private readonly socket: net.Socket,
    private readonly answered: (wire: Wire, due: number, status: number) => void,
    private readonly failed: (wire: Wire, busy: boolean) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.failed(this, this.due !== 0));
  }

  static open(url: URL, answered: (wire: Wire, due: number, status: number) => void, failed: (wire: Wire, busy: boolean) => void): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => resolve(new Wire(socket, answered, failed)));
      socket.once('error', reject);
    });
  }

  send(request: Buffer, due: number) {
    this.due = due;
    this.socket.write(request);
  }

  close() {
    this.socket.destroy();
  }

  private read(chunk: Buffer) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    // Every answer of the gateway carries its length; one without cannot be framed.
    if (!length) return void this.socket.destroy();
    if (this.buf.length < end + 4 + Number(length[1])) return;
    this.buf = Buffer.alloc(0);
    const due = this.due;
    this.due = 0;
    this.answered(this, due, Number(head.slice(9, 12)));
  }
}

// The open loop writes each request as bytes on raw keep-alive connections, one request at a time
// each, opening another connection when none is free: Node's HTTP client cost 0.77 of a core at
// 10,000 requests a second and gave a trivial server a p99 of 190 ms by itself, so the tail at
// half of a measured rate was partly the generator's (docs/performance.md, latency).
async function open(rate: number, duration: number) {
  const url = new URL(spec.url);
  const fixedHeaders = `${spec.method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n${Object.entries(spec.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}`;
  const request = (body: string | undefined) => Buffer.from(body === undefined ? `${fixedHeaders}\r\n` : `${fixedHeaders}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const fixed = bodies ? undefined : request(spec.body);
  const nextRequest = () => fixed ?? request(bodies![nextBody++ % bodies!.length]);
  const latencies: number[] = [];
  const statusCodes: Record<string, { count: number }> = {};
  let errors = 0;
  let non2xx = 0;
  let settled = 0;
  let allSettled = () => {};
  const total = Math.round(rate * duration);
  const idle: Wire[] = [];
  const wires = new Set<Wire>();
  const opening = async () => {
    const wire = await Wire.open(url, answered, failed);
    wires.add(wire);
    return wire;
  };
  const waiting: number[] = [];
  let opened = 0;
  const done = () => ++settled === total && allSettled();
  const next = (wire: Wire) => {
    const due = waiting.shift();
    if (due === undefined) idle.push(wire);
    else wire.send(nextRequest(), due);
  };
  const answered = (wire: Wire, due: number, status: number) => {
    latencies.push(performance.now() - due);
    (statusCodes[String(status)] ??= { count: 0 }).count++;
    if (status < 200 || status >= 300) non2xx++;
    done();
    next(wire);
  };
  const failed = (wire: Wire, busy: boolean) => {
    opened--;
    wires.delete(wire);
    const at = idle.indexOf(wire);
    if (at >= 0) idle.splice(at, 1);
    if (busy) {
      errors++;
      done();
    }
  };
  const dispatch = async (due: number) => {
    const wire = idle.pop();
    if (wire) return wire.send(nextRequest(), due);
    waiting.push(due);
    if (opened >= OPEN_SOCKETS_MAX) return;
    opened++;
    try {
      next(await opening());
    } catch {
      opened--;
    }
  };
  for (let k = 0; k < 32; k++) idle.push(await opening());
  opened = idle.length;
  const finished = new Promise<void>((resolve) => (allSettled = resolve));
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    void dispatch(due);
  }
  // Answers still missing 30 s after the last request count as errors.
  await Promise.race([finished, new Promise((r) => setTimeout(r, 30_000).unref())]);
  const missing = total - settled;
  // Busy ones too (answers that never came): an open socket would keep this process alive.
  for (const w of wires) w.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
  return { requestsPerSecond: latencies.length / ((performance.now() - started) / 1000), total: latencies.length, p50: at(0.5), p99: at(0.99), non2xx, errors: errors + Math.max(0, missing), statusCodes };
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
