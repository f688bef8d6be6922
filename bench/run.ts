// npm run bench: seeds 10,000 users on a real PostgreSQL (DATABASE_URL, or the embedded one
// under .data/), starts the gateway in production mode as its own process, and drives each
// scenario through both doors with autocannon (50 connections, 10 s after a warm-up), next
// to the machine's own limits measured in the same run. `-- --json` also writes
// bench/results/<timestamp>.json.
import 'reflect-metadata';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateSigningKey } from '../src/config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { migrate, openDb } from '../src/db/orm.js';
import { PRODUCTION_ARGON, seedBench } from './seed.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = new Set(process.argv.slice(2));
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = 2;
const CONNECTIONS = 50;
const USERS = 10_000;
const POOL = 10;
// Refresh tokens are single-use: one fresh session per refresh request.
const REFRESH_TOKENS = 80_000;

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const quiet = { info: () => {}, debug: () => {}, warn: () => {} };

interface LoadResult {
  requestsPerSecond: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, { count: number }>;
}

function child(script: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = fork(path.join(here, script), argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} exited ${code}`))));
  });
}

async function load(spec: { url: string; method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; bodies?: string[] }): Promise<LoadResult> {
  let bodiesFile: string | undefined;
  if (spec.bodies) {
    bodiesFile = path.join(os.tmpdir(), `bench-bodies-${randomUUID()}.json`);
    writeFileSync(bodiesFile, JSON.stringify(spec.bodies));
  }
  const out = await child('load.js', [
    JSON.stringify({ url: spec.url, method: spec.method, headers: spec.headers, body: spec.body, bodiesFile, connections: CONNECTIONS, duration: DURATION, warmup: WARMUP }),
  ]);
  return JSON.parse(out);
}

async function rawTransactionRate(url: string): Promise<number> {
  // The shape of a refresh: lock the session row, mark the token rotated, insert its successor, commit.
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query('drop table if exists bench_tokens; drop table if exists bench_sessions');
  await setup.query('create table bench_sessions (id serial primary key, last_used_at timestamptz)');
  await setup.query('create table bench_tokens (id serial primary key, session_id int not null, token_hash text unique not null, rotated_at timestamptz)');
  await setup.query('insert into bench_sessions (last_used_at) select now() from generate_series(1, 5000)');
  await setup.end();
  const pool = new pg.Pool({ connectionString: url, max: POOL });
  pool.on('error', () => {});
  let done = 0;
  const until = Date.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, w) => {
      let n = 0;
      while (Date.now() < until) {
        const c = await pool.connect();
        try {
          const sid = ((w * 100 + n++) % 5000) + 1;
          await c.query('begin');
          await c.query('select id from bench_sessions where id = $1 for update', [sid]);
          await c.query('update bench_tokens set rotated_at = now() where session_id = $1 and rotated_at is null', [sid]);
          await c.query('update bench_sessions set last_used_at = now() where id = $1', [sid]);
          await c.query('insert into bench_tokens (session_id, token_hash) values ($1, $2)', [sid, randomBytes(16).toString('hex')]);
          await c.query('commit');
          done++;
        } finally {
          c.release();
        }
      }
    }),
  );
  await pool.end();
  return done / DURATION;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function main(): Promise<void> {
  const started = Date.now();
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = process.env.DATABASE_URL;
  let url: string;
  if (adminUrl) {
    const u = new URL(adminUrl);
    await ensureDatabase(adminUrl, 'gw_bench');
    u.pathname = '/gw_bench';
    url = u.toString();
  } else {
    embedded = await startEmbeddedPostgres(path.resolve('.data'), quiet, 'bench-pg');
    adminUrl = embedded.adminUrl;
    await ensureDatabase(adminUrl, 'gw_bench');
    url = embedded.urlFor('gw_bench');
  }
  log(`database: ${embedded ? 'embedded PostgreSQL under .data/bench-pg' : 'DATABASE_URL'}`);
  const db = { poolMax: POOL, acquireTimeoutMs: 2000, connectTimeoutMs: 2000, statementTimeoutMs: 2000, queryTimeoutMs: 2500, idleInTransactionTimeoutMs: 5000 };
  const orm = await openDb(url, db);
  await orm.getSchemaGenerator().dropSchema({ dropMigrationsTable: true });
  await migrate(orm);
  await orm.close();

  const secretKey = randomBytes(32).toString('base64url');
  const signingKey = generateSigningKey('EdDSA');
  const sql = new pg.Pool({ connectionString: url, max: 4 });
  sql.on('error', () => {});

  log(`seeding ${USERS} users (argon2id m=19456 t=2 p=1, one hash each) and ${REFRESH_TOKENS} sessions for the refresh scenario...`);
  const { refreshTokens } = await seedBench(sql, { users: USERS, sessions: REFRESH_TOKENS, secretKey, argon: PRODUCTION_ARGON });
  await sql.query('analyze');

  log('starting the gateway (production mode)...');
  const gateway: ChildProcess = spawn(process.execPath, [path.resolve('dist/src/main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: url,
      SECRET_KEY: secretKey,
      JWT_PRIVATE_KEYS: JSON.stringify({ keys: [signingKey] }),
      JWT_ISSUER: 'https://auth.bench.example',
      JWT_AUDIENCE: 'https://api.bench.example',
      WEBAUTHN_RP_ID: 'bench.example',
      LOG_LEVEL: 'info',
      DB_POOL_MAX: String(POOL),
      // The limits run (their queries are part of every login) but never trip from one client address.
      RATE_LIMIT_ACCOUNT_FAILURES: '1000000000',
      RATE_LIMIT_ADDRESS_FAILURES: '1000000000',
      RATE_LIMIT_API_KEY_CREATES: '1000000000',
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
  const json = (body: unknown) => JSON.stringify(body);
  const post = async (route: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: json(body) });
    return (await r.json()) as any;
  };
  const login = await post('/auth/login', { tenant: 'bench', email: 'user0@bench.test', password: 'password-0' });
  const at = login.access_token as string;
  const apiKey = (await post('/auth/api-key', { name: 'bench' }, { authorization: `Bearer ${at}` })).api_key as string;

  const gqlBody = (query: string, variables?: unknown) => json({ query, variables });
  const loginBodies = (door: 'rest' | 'gql') =>
    Array.from({ length: USERS }, (_, i) => {
      const input = { tenant: 'bench', email: `user${i}@bench.test`, password: `password-${i}` };
      return door === 'rest' ? json(input) : gqlBody('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: input });
    });
  const wrongBodies = (door: 'rest' | 'gql') =>
    Array.from({ length: USERS }, (_, i) => {
      const input = { tenant: 'bench', email: `user${i}@bench.test`, password: 'not the password' };
      return door === 'rest' ? json(input) : gqlBody('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: input });
    });
  const half = refreshTokens.length / 2;
  const refreshBodies = (door: 'rest' | 'gql') =>
    (door === 'rest' ? refreshTokens.slice(0, half) : refreshTokens.slice(half)).map((t) =>
      door === 'rest' ? json({ refresh_token: t }) : gqlBody('mutation($t: String!) { refresh(input: {refreshToken: $t}) { accessToken refreshToken } }', { t }),
    );
  const jsonHeaders = { 'content-type': 'application/json' };
  const ME = gqlBody('{ me { id email tenant roles permissions } }');

  const scenarios: Array<{ scenario: string; door: 'rest' | 'gql'; run: () => Promise<LoadResult> }> = [];
  for (const door of ['rest', 'gql'] as const) {
    const target = door === 'rest' ? `${base}/auth/login` : `${base}/graphql`;
    scenarios.push({ scenario: 'login', door, run: () => load({ url: target, method: 'POST', headers: jsonHeaders, bodies: loginBodies(door) }) });
    scenarios.push({
      scenario: 'refresh',
      door,
      run: () => load({ url: door === 'rest' ? `${base}/auth/refresh` : `${base}/graphql`, method: 'POST', headers: jsonHeaders, bodies: refreshBodies(door) }),
    });
    scenarios.push({
      scenario: 'me (access token)',
      door,
      run: () =>
        door === 'rest'
          ? load({ url: `${base}/auth/me`, method: 'GET', headers: { authorization: `Bearer ${at}` } })
          : load({ url: `${base}/graphql`, method: 'POST', headers: { ...jsonHeaders, authorization: `Bearer ${at}` }, body: ME }),
    });
    scenarios.push({
      scenario: 'me (API key)',
      door,
      run: () =>
        door === 'rest'
          ? load({ url: `${base}/auth/me`, method: 'GET', headers: { 'x-api-key': apiKey } })
          : load({ url: `${base}/graphql`, method: 'POST', headers: { ...jsonHeaders, 'x-api-key': apiKey }, body: ME }),
    });
    scenarios.push({ scenario: 'wrong password', door, run: () => load({ url: target, method: 'POST', headers: jsonHeaders, bodies: wrongBodies(door) }) });
  }

  const results: Record<string, LoadResult> = {};
  for (const s of scenarios) {
    log(`${s.scenario} over ${s.door}...`);
    results[`${s.scenario}|${s.door}`] = await s.run();
  }

  log('limits: argon2 capacity, plain Fastify, trivial Apollo query, raw refresh-shaped transaction...');
  const argon2 = JSON.parse(await child('baselines.js', ['argon2', '5']));
  const plain = await new Promise<{ url: string; stop(): void }>((resolve) => {
    const p = fork(path.join(here, 'baselines.js'), ['fastify'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    p.stdout!.once('data', (d) => resolve({ url: String(d).trim(), stop: () => p.kill('SIGTERM') }));
  });
  const plainResult = await load({ url: `${plain.url}/plain`, method: 'GET' });
  plain.stop();
  const apolloResult = await load({ url: `${base}/graphql`, method: 'POST', headers: jsonHeaders, body: gqlBody('{ __typename }') });
  const txRate = await rawTransactionRate(url);
  const rss = peakRssMb(gateway.pid!);

  gateway.kill('SIGTERM');
  await sql.end();
  await embedded?.stop();

  const limits = {
    argon2VerifiesPerSecond: argon2.verifiesPerSecond,
    argon2Workers: argon2.workers,
    plainFastifyRps: plainResult.requestsPerSecond,
    trivialApolloRps: apolloResult.requestsPerSecond,
    rawRefreshTransactionsPerSecond: txRate,
  };
  const ratioTo = (scenario: string, door: string): [string, number] | undefined => {
    if (scenario === 'login') return ['argon2 capacity', argon2.verifiesPerSecond];
    if (scenario === 'wrong password') return ['argon2 capacity', argon2.verifiesPerSecond];
    if (scenario === 'refresh') return ['raw DB transaction', txRate];
    if (scenario.startsWith('me') && door === 'gql') return ['trivial Apollo query', apolloResult.requestsPerSecond];
    if (scenario.startsWith('me') && door === 'rest') return ['plain Fastify route', plainResult.requestsPerSecond];
    return undefined;
  };
  const rows = scenarios.map((s) => {
    const r = results[`${s.scenario}|${s.door}`];
    const ratio = ratioTo(s.scenario, s.door);
    // A wrong password is a 401 over REST and a 200 with an error over GraphQL.
    const wrongRest = s.scenario === 'wrong password' && s.door === 'rest';
    const unexpected = wrongRest ? r.total - (r.statusCodes['401']?.count ?? 0) : r.non2xx;
    return {
      scenario: s.scenario,
      door: s.door === 'rest' ? 'REST' : 'GraphQL',
      rps: Math.round(r.requestsPerSecond),
      p50: r.p50,
      p99: r.p99,
      errors: unexpected + r.errors,
      ratio: ratio ? `${(r.requestsPerSecond / ratio[1]).toFixed(2)} of ${ratio[0]}` : '',
    };
  });
  const apiKeyVsBearer = (door: string) =>
    (results[`me (API key)|${door}`].requestsPerSecond / results[`me (access token)|${door}`].requestsPerSecond).toFixed(2);

  const lines = [
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${CONNECTIONS} connections, ${DURATION} s per scenario after ${WARMUP} s warm-up.`,
    '',
    '| scenario | door | req/s | p50 ms | p99 ms | errors | ratio |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.door} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.ratio} |`),
    '',
    `Limits: argon2id verify ${Math.round(argon2.verifiesPerSecond)}/s (${argon2.workers} workers); plain Fastify route ${Math.round(plainResult.requestsPerSecond)} req/s; trivial Apollo query ${Math.round(apolloResult.requestsPerSecond)} req/s; raw refresh-shaped transaction ${Math.round(txRate)} tx/s (pool ${POOL}).`,
    `API-key me / bearer me: REST ${apiKeyVsBearer('rest')}, GraphQL ${apiKeyVsBearer('gql')}. Gateway peak RSS: ${Math.round(rss)} MB. Total bench time ${Math.round((Date.now() - started) / 1000)} s.`,
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (args.has('--json')) {
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30, node: process.version }, rows, limits, peakRssMb: rss }, null, 2));
    log(`wrote ${file}`);
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
