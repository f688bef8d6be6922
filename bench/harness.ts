// What the bench's modes share: the load generator run as a child process, a gateway started as
// its own process in production mode (with the flags `npm start` gives it), and the readings of
// a process's CPU and memory from /proc.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateIdTokenKey } from '../src/config.js';

/** The compiled bench's directory (dist/bench): its child scripts live there. */
export const here = path.dirname(fileURLToPath(import.meta.url));
export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
export const WARMUP = 2;
export const CONNECTIONS = 50;
export const POOL = 10;
/** One RS256 key per run (slow to make). */
const idTokenKey = generateIdTokenKey();

/** The Node and V8 flags of package.json's start script: the bench measures the gateway users run. */
export function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(path.resolve('package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const m = /^node ((?:--\S+ )*)dist\/src\/main\.js$/.exec(start);
  if (!m) throw new Error(`package.json's start script is not "node <flags> dist/src/main.js": ${start}`);
  return m[1].split(' ').filter(Boolean);
}

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, { count: number }>;
  /** Every request sent, the warm-up's too (a run of `eachOnce`). */
  sent?: number;
}

export function child(script: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = fork(path.join(here, script), argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}`))));
  });
}

export async function load(spec: { url: string; method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; bodies?: string[]; rate?: number; connections?: number; eachOnce?: boolean }): Promise<LoadResult> {
  let bodiesFile: string | undefined;
  if (spec.bodies) {
    bodiesFile = path.join(os.tmpdir(), `bench-bodies-${randomUUID()}.json`);
    writeFileSync(bodiesFile, JSON.stringify(spec.bodies));
  }
  try {
    const out = await child('load.js', [
      JSON.stringify({ url: spec.url, method: spec.method, headers: spec.headers, body: spec.body, bodiesFile, connections: spec.connections ?? CONNECTIONS, duration: DURATION, warmup: WARMUP, rate: spec.rate, eachOnce: spec.eachOnce }),
    ]);
    return JSON.parse(out);
  } finally {
    if (bodiesFile) rmSync(bodiesFile, { force: true });
  }
}

/** The gateway process's resident memory now and at its peak (VmRSS, VmHWM), in MB. */
export function rssMb(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds used so far by each process (user + system, all threads: argon2's too). */
export function cpuSeconds(pids: number[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of pids) {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      used.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // gone meanwhile
    }
  }
  return used;
}

/** CPU seconds between two readings: processes gone meanwhile are lost, new ones count from their start. */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, t] of after) s += t - (before.get(pid) ?? 0);
  return s;
}

/** The PostgreSQL server's processes on this machine (the one the bench uses is local). */
export function postgresPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'postgres';
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Runs `fn` and answers the CPU milliseconds per request it cost the gateway and PostgreSQL. */
export async function withCpu<T extends LoadResult>(gatewayPid: number, fn: () => Promise<T>): Promise<T & { cpu: { gatewayMs: number; postgresMs: number } }> {
  const g0 = cpuSeconds([gatewayPid]);
  const p0 = cpuSeconds(postgresPids());
  const r = await fn();
  const p1 = cpuSeconds(postgresPids());
  const g1 = cpuSeconds([gatewayPid]);
  // The warm-up's requests are counted too: autocannon reports only the measured ones.
  const requests = r.sent ?? r.total * ((DURATION + WARMUP) / DURATION);
  return { ...r, cpu: { gatewayMs: (cpuDelta(g0, g1) * 1000) / requests, postgresMs: (cpuDelta(p0, p1) * 1000) / requests } };
}

export interface Gateway {
  base: string;
  pid: number;
  /** RSS now and peak, and the V8 heap in use (prom-client's default metrics), in MB. */
  memory(): Promise<{ rss: number; peak: number; heap: number }>;
  /** Garbage collections so far by kind (prom-client's nodejs_gc_duration_seconds): count and seconds. */
  gc(): Promise<Record<string, { count: number; seconds: number }>>;
  stop(): Promise<void>;
}

export async function startGateway(url: string, secretKey: string, signingKey: unknown, env: Record<string, string> = {}, execArgv: string[] = []): Promise<Gateway> {
  // The flags `npm start` gives it, or an experiment's (BENCH_NODE_FLAGS, space-separated: V8 flags NODE_OPTIONS refuses).
  const flags = process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : startFlags();
  const gateway: ChildProcess = spawn(process.execPath, [...flags, ...execArgv, path.resolve('dist/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: url,
      SECRET_KEY: secretKey,
      // Production mode needs an RS256 key for the OpenID Provider's ID tokens (never the first).
      JWT_PRIVATE_KEYS: JSON.stringify({ keys: [signingKey, idTokenKey] }),
      JWT_ISSUER: 'https://auth.bench.example',
      JWT_AUDIENCE: 'https://api.bench.example',
      PUBLIC_URL: 'https://auth.bench.example',
      WEBAUTHN_RP_ID: 'bench.example',
      LOG_LEVEL: 'info',
      DB_POOL_MAX: String(POOL),
      // The limits run (their queries are part of every login) but never trip from one client address.
      RATE_LIMIT_ACCOUNT_FAILURES: '1000000000',
      RATE_LIMIT_ADDRESS_FAILURES: '1000000000',
      RATE_LIMIT_API_KEY_CREATES: '1000000000',
      // An experiment's V8 or allocator settings for the gateway (e.g. --max-semi-space-size).
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      ...(process.env.BENCH_MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.BENCH_MALLOC_ARENA_MAX } : {}),
      // An experiment's gateway settings, as JSON (e.g. {"PASSWORD_HASH_CONCURRENCY":"4"}).
      ...(process.env.BENCH_GATEWAY_ENV ? (JSON.parse(process.env.BENCH_GATEWAY_ENV) as Record<string, string>) : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let gatewayOut = '';
  const base = await new Promise<string>((resolve, reject) => {
    const look = (d: Buffer) => {
      gatewayOut += d;
      const m = /"graphql":"(http:\/\/[^"]+)\/graphql"/.exec(gatewayOut);
      if (!m) return;
      // From here on its log lines are drained unread: reading them would cost this
      // process CPU that the gateway needs on the same cores.
      gateway.stdout!.off('data', look);
      gateway.stdout!.resume();
      resolve(m[1]);
    };
    gateway.stdout!.on('data', look);
    gateway.on('exit', () => reject(new Error('the gateway exited')));
  });
  const exited = new Promise<void>((resolve) => gateway.on('exit', () => resolve()));
  return {
    base,
    pid: gateway.pid!,
    async memory() {
      const { now, peak } = rssMb(gateway.pid!);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const heap = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN) / 2 ** 20;
      return { rss: now, peak, heap };
    },
    async gc() {
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const kinds: Record<string, { count: number; seconds: number }> = {};
      for (const m of metrics.matchAll(/^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/gm)) {
        const k = (kinds[m[2]] ??= { count: 0, seconds: 0 });
        if (m[1] === 'sum') k.seconds = Number(m[3]);
        else k.count = Number(m[3]);
      }
      return kinds;
    },
    async stop() {
      gateway.kill('SIGTERM');
      await exited;
    },
  };
}

/** Major collections (mark-compact) between two readings: how many, and their mean pause in ms. */
export function majorGc(before: Record<string, { count: number; seconds: number }>, after: Record<string, { count: number; seconds: number }>): string {
  const count = (after.major?.count ?? 0) - (before.major?.count ?? 0);
  const seconds = (after.major?.seconds ?? 0) - (before.major?.seconds ?? 0);
  return count ? `${count} × ${((seconds * 1000) / count).toFixed(0)} ms` : 'none';
}


/** A port free on 127.0.0.1 now (a gateway whose PUBLIC_URL must name its own address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Runs `make` `count` times, 8 at once (single-use credentials made by a real flow); answers them and the rate they were made at. */
export async function made<T>(count: number, make: () => Promise<T>): Promise<{ items: T[]; perSecond: number }> {
  const items: T[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (items.length < count) items.push(await make());
    }),
  );
  return { items: items.slice(0, count), perSecond: count / ((performance.now() - t0) / 1000) };
}

/** A scenario of single-use credentials: each body POSTed once, the first tenth as warm-up, with the CPU it cost. */
export const eachOnce = (gatewayPid: number, url: string, headers: Record<string, string>, bodies: string[]) =>
  withCpu(gatewayPid, () => load({ url, method: 'POST', headers, bodies, eachOnce: true }));

/** The head of a table of measuredRow()s, each against the gateway's own refresh. */
export const MEASURED_HEAD = ['| scenario | req/s | p50 ms | p99 ms | errors | against the own refresh | gateway CPU ms/req | PostgreSQL CPU ms/req |', '|---|---|---|---|---|---|---|---|'];

/** A scenario's row: req/s, p50, p99, errors, its ratio, and the CPU per request of the gateway and PostgreSQL. */
export const measuredRow = (name: string, r: LoadResult & { cpu: { gatewayMs: number; postgresMs: number } }, ratio: string) =>
  `| ${name} | ${Math.round(r.requestsPerSecond)} | ${r.p50} | ${r.p99} | ${r.errors + r.non2xx} | ${ratio} | ${r.cpu.gatewayMs.toFixed(2)} | ${r.cpu.postgresMs.toFixed(2)} |`;
