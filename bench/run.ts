// npm run bench: seeds 10,000 users on a real PostgreSQL (DATABASE_URL, or the embedded one
// under .data/), starts the gateway in production mode as its own process, and drives each
// scenario through both doors with autocannon (50 connections, 10 s after a warm-up), next
// to the machine's own limits measured in the same run (each right before and after the
// scenarios compared with it); then the open-loop latency at half of
// each measured rate, and two gateway processes on the same database. The gateway's RSS and
// heap are read after every scenario.
//
// Options: `--json` also writes bench/results/<timestamp>.json; `--only login,refresh` runs
// only the scenarios named (`--door rest` or `gql`: through one door); `--profile` starts the gateway with --cpu-prof (profiles under
// bench/results/profiles/); `--sessions 1000000` is the scale run (see scale() below); `--peers` the
// side-by-side comparison with Better Auth (peers.ts); `--op` the OpenID Provider's token endpoint (op.ts); `--sso` the SSO code exchange (sso.ts).
import 'reflect-metadata';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { generateSigningKey, PURGE_BATCH_SIZE_DEFAULT } from '../src/config.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.js';
import { migrate, openDb, type Db } from '../src/db/orm.js';
import { createPurgeService } from '../src/services/purge/purge.js';
import { keyedHash } from '../src/services/shared/secrets.js';
import { explainHot, type Plan } from './explain.js';
import { profileTables, summariseProfile } from './profile.js';
import { PRODUCTION_ARGON, seedBench, seedScale, type BenchSeed } from './seed.js';
import { webhookBench } from './webhooks.js';
import { peers } from './peers.js';
import { opBench } from './op.js';
import { ssoBench } from './sso.js';
import { sizingLines } from './sizing.js';
import { child, CONNECTIONS, DURATION, here, load, majorGc, POOL, startGateway, WARMUP, withCpu, type LoadResult } from './harness.js';

const argv = process.argv.slice(2);
const args = new Set(argv);
const option = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const ONLY = option('--only')?.split(',');
const DOOR = option('--door'); // rest or gql: one door's scenarios only
const SCALE_SESSIONS = Number(option('--sessions') ?? 0);
// The side-by-side comparison (--peers) uses the 1,000 users of the published one.
const USERS = Number(process.env.BENCH_USERS ?? (args.has('--peers') ? 1000 : 10_000));
// Refresh tokens are single-use: one fresh session per refresh request, 30,000 per scenario (a
// scenario's 12 s at up to 2,500 refreshes/s; tokens that came round again would be reuses).
const REFRESH_TOKENS = 200_000;

/** The machine's limits each scenario is compared with, in the order the run measures them. */
const LIMIT_ORDER = ['argon2', 'raw', 'fastify', 'apollo'] as const;
type LimitName = (typeof LIMIT_ORDER)[number];
const LIMIT_LABEL: Record<LimitName, string> = {
  argon2: 'argon2 capacity',
  raw: 'raw DB transaction',
  fastify: 'plain Fastify route',
  apollo: 'trivial Apollo query',
};
function limitOf(scenario: string, door: Door): LimitName {
  if (scenario === 'login' || scenario === 'wrong password') return 'argon2';
  if (scenario === 'refresh') return 'raw';
  return door === 'gql' ? 'apollo' : 'fastify';
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const quiet = { info: () => {}, debug: () => {}, warn: () => {} };

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

async function openDatabase(): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  const adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    const u = new URL(adminUrl);
    await ensureDatabase(adminUrl, 'gw_bench');
    u.pathname = '/gw_bench';
    return { url: u.toString() };
  }
  const embedded = await startEmbeddedPostgres(path.resolve('.data'), quiet, 'bench-pg');
  await ensureDatabase(embedded.adminUrl, 'gw_bench');
  return { url: embedded.urlFor('gw_bench'), embedded };
}

const DB_OPTIONS = { poolMax: POOL, acquireTimeoutMs: 2000, connectTimeoutMs: 2000, statementTimeoutMs: 2000, queryTimeoutMs: 2500, idleInTransactionTimeoutMs: 5000 };
const json = (body: unknown) => JSON.stringify(body);
const gqlBody = (query: string, variables?: unknown) => json({ query, variables });
const jsonHeaders = { 'content-type': 'application/json' };
const ME = gqlBody('{ me { id email tenant roles permissions } }');
type Door = 'rest' | 'gql';

/** The bench's requests against a gateway at `base`. */
/** The scenarios' requests; `at()` is the gateway's base URL at the time a scenario starts. */
function requests(at: () => string, users: number, refreshTokens: string[]) {
  const loginBodies = (door: Door, password: (i: number) => string) =>
    Array.from({ length: users }, (_, i) => {
      const input = { tenant: 'bench', email: `user${i}@bench.test`, password: password(i) };
      return door === 'rest' ? json(input) : gqlBody('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: input });
    });
  // Refresh tokens are single-use: each run takes the next unused slice.
  let used = 0;
  const refreshBodies = (door: Door, count: number) => {
    const slice = refreshTokens.slice(used, used + count);
    used += count;
    if (slice.length < count) throw new Error('the bench ran out of seeded refresh tokens');
    return slice.map((t) => (door === 'rest' ? json({ refresh_token: t }) : gqlBody('mutation($t: String!) { refresh(input: {refreshToken: $t}) { accessToken refreshToken } }', { t })));
  };
  return {
    login: (door: Door) => ({ url: door === 'rest' ? `${at()}/auth/login` : `${at()}/graphql`, method: 'POST' as const, headers: jsonHeaders, bodies: loginBodies(door, (i) => `password-${i}`) }),
    wrong: (door: Door) => ({ url: door === 'rest' ? `${at()}/auth/login` : `${at()}/graphql`, method: 'POST' as const, headers: jsonHeaders, bodies: loginBodies(door, () => 'not the password') }),
    refresh: (door: Door, count = 30_000) => ({ url: door === 'rest' ? `${at()}/auth/refresh` : `${at()}/graphql`, method: 'POST' as const, headers: jsonHeaders, bodies: refreshBodies(door, count) }),
    // Forward auth (SPEC §14): what a proxy asks for every request of a guarded service.
    verify: (credential: Record<string, string>) => ({ url: `${at()}/auth/verify/orders/42?permission=api_keys:create`, method: 'GET' as const, headers: credential }),
    me: (door: Door, credential: Record<string, string>) =>
      door === 'rest'
        ? { url: `${at()}/auth/me`, method: 'GET' as const, headers: credential }
        : { url: `${at()}/graphql`, method: 'POST' as const, headers: { ...jsonHeaders, ...credential }, body: ME },
  };
}

async function signInFirst(base: string): Promise<{ at: string; apiKey: string }> {
  const post = async (route: string, body: unknown, headers: Record<string, string> = {}) => {
    const r = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: json(body) });
    return (await r.json()) as any;
  };
  const login = await post('/auth/login', { tenant: 'bench', email: 'user0@bench.test', password: 'password-0' });
  const at = login.access_token as string;
  const apiKey = (await post('/auth/api-key', { name: 'bench' }, { authorization: `Bearer ${at}` })).api_key as string;
  return { at, apiKey };
}

/** Two load processes at once, half the connections each (two gateways, or one). */
async function loadSplit(specs: Array<Parameters<typeof load>[0]>): Promise<LoadResult> {
  const results = await Promise.all(specs.map((s) => load({ ...s, connections: CONNECTIONS / specs.length })));
  const total = results.reduce((n, r) => n + r.total, 0);
  return {
    requestsPerSecond: results.reduce((n, r) => n + r.requestsPerSecond, 0),
    total,
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    statusCodes: {},
  };
}

const machineLine = () =>
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${CONNECTIONS} connections, ${DURATION} s per scenario after ${WARMUP} s warm-up.`;
const mb = (n: number) => (Number.isFinite(n) ? String(Math.round(n)) : '–');

async function main(): Promise<void> {
  const started = Date.now();
  const { url, embedded } = await openDatabase();
  if (args.has('--explain-only')) {
    // The plans on the data a previous run left in gw_bench.
    const db = await openDb(url, DB_OPTIONS);
    const sql = new pg.Pool({ connectionString: url, max: 1 });
    const sample = (await sql.query('select s.id as session_id, s.user_id, s.tenant_id from sessions s where s.expires_at > now() limit 1')).rows[0];
    const tokenHash = (await sql.query('select token_hash from refresh_tokens where session_id = $1 limit 1', [sample.session_id])).rows[0].token_hash;
    const keyHash = (await sql.query('select key_hash from api_keys limit 1')).rows[0].key_hash;
    const plans = await explainHot(db, { tenantId: sample.tenant_id, userId: sample.user_id, sessionId: sample.session_id, tokenHash, keyHash });
    process.stdout.write(printPlans(plans).join('\n') + '\n');
    await sql.end();
    await db.close();
    await embedded?.stop();
    return;
  }
  log(`database: ${embedded ? 'embedded PostgreSQL under .data/bench-pg' : 'DATABASE_URL'}`);
  const orm = await openDb(url, DB_OPTIONS);
  await orm.getSchemaGenerator().dropSchema({ dropMigrationsTable: true });
  await migrate(orm);

  if (args.has('--webhooks')) {
    // Webhook delivery alone (SPEC §13): no users to seed.
    try {
      for (const line of await webhookBench(orm, url, log)) process.stdout.write(`${line}\n`);
    } finally {
      await orm.close();
      await embedded?.stop();
    }
    return;
  }

  const secretKey = randomBytes(32).toString('base64url');
  const signingKey = generateSigningKey('EdDSA');
  const sql = new pg.Pool({ connectionString: url, max: 4 });
  sql.on('error', () => {});

  log(`seeding ${USERS} users (argon2id m=19456 t=2 p=1, one hash each) and ${REFRESH_TOKENS} sessions for the refresh scenario...`);
  const seed = await seedBench(sql, { users: USERS, sessions: REFRESH_TOKENS, secretKey, argon: PRODUCTION_ARGON });
  await sql.query('analyze');

  try {
    if (SCALE_SESSIONS) await scale({ url, sql, orm, seed, secretKey, signingKey, started });
    else if (args.has('--op') || args.has('--sso')) {
      const lines = await (args.has('--op') ? opBench : ssoBench)({ url, orm, secretKey, signingKey, seed, log });
      process.stdout.write(`\n${machineLine()}\n\n${lines.join('\n')}\nTotal bench time ${Math.round((Date.now() - started) / 1000)} s.\n`);
    } else if (args.has('--peers')) {
      const lines = await peers({ url, secretKey, signingKey, seed, sql, users: USERS, log });
      process.stdout.write(`\n${machineLine()}\n\n${lines.join('\n')}\nTotal bench time ${Math.round((Date.now() - started) / 1000)} s.\n`);
    } else await standard({ url, secretKey, signingKey, seed, started });
  } finally {
    await orm.close();
    await sql.end();
    await embedded?.stop();
  }
}

function limitsLine(limits: Partial<Record<LimitName, { before: number; after: number; mean: number }>>): string {
  const workers = os.availableParallelism();
  const unit: Record<LimitName, string> = { argon2: 'verifies/s', raw: 'tx/s', fastify: 'req/s', apollo: 'req/s' };
  const what: Record<LimitName, string> = {
    argon2: 'argon2id verify',
    raw: `raw refresh-shaped transaction (pool ${POOL})`,
    fastify: 'plain Fastify route',
    apollo: 'trivial Apollo query',
  };
  return LIMIT_ORDER.filter((n) => limits[n])
    .map((n) => {
      const l = limits[n]!;
      const cpu = n === 'argon2' ? `, ${workers} workers, so ${((workers * 1000) / l.mean).toFixed(1)} ms of CPU each` : '';
      return `${what[n]} ${Math.round(l.mean)} ${unit[n]} (${Math.round(l.before)} → ${Math.round(l.after)}${cpu})`;
    })
    .join('; ');
}

async function standard({ url, secretKey, signingKey, seed, started }: { url: string; secretKey: string; signingKey: unknown; seed: BenchSeed; started: number }): Promise<void> {
  log('starting the gateway (production mode)...');
  const profileDir = path.resolve('bench/results/profiles');
  if (args.has('--profile')) mkdirSync(profileDir, { recursive: true });
  let gw = await startGateway(url, secretKey, signingKey, {}, args.has('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const { at, apiKey } = await signInFirst(gw.base);
  const req = requests(() => gw.base, USERS, seed.refreshTokens);

  const scenarios: Array<{ scenario: string; door: Door; spec: () => Parameters<typeof load>[0] }> = [];
  for (const door of ['rest', 'gql'] as const) {
    scenarios.push({ scenario: 'login', door, spec: () => req.login(door) });
    scenarios.push({ scenario: 'refresh', door, spec: () => req.refresh(door) });
    scenarios.push({ scenario: 'me (access token)', door, spec: () => req.me(door, { authorization: `Bearer ${at}` }) });
    scenarios.push({ scenario: 'me (API key)', door, spec: () => req.me(door, { 'x-api-key': apiKey }) });
    scenarios.push({ scenario: 'wrong password', door, spec: () => req.wrong(door) });
  }
  scenarios.push({ scenario: 'verify (access token)', door: 'rest', spec: () => req.verify({ authorization: `Bearer ${at}` }) });
  const chosen = scenarios
    .filter((s) => (!ONLY || ONLY.some((o) => s.scenario.startsWith(o))) && (!DOOR || s.door === DOOR))
    // Grouped by the limit they are compared with (LIMITS' order), which brackets its group.
    .sort((a, b) => LIMIT_ORDER.indexOf(limitOf(a.scenario, a.door)) - LIMIT_ORDER.indexOf(limitOf(b.scenario, b.door)));

  // Each limit is measured right before and right after the scenarios compared with it, and
  // their mean is the limit: this machine's speed drifts within minutes (its argon2 rate moved
  // between 74 and 133/s in one afternoon), so a limit measured at the end of the run would
  // compare minutes apart.
  const limitMeasures: Record<LimitName, () => Promise<number>> = {
    argon2: async () => JSON.parse(await child('baselines.js', ['argon2', '5'])).verifiesPerSecond,
    raw: () => rawTransactionRate(url),
    fastify: async () => {
      const plain = await new Promise<{ url: string; stop(): void }>((resolve) => {
        const p = fork(path.join(here, 'baselines.js'), ['fastify'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
        p.stdout!.once('data', (d) => resolve({ url: String(d).trim(), stop: () => p.kill('SIGTERM') }));
      });
      const r = await load({ url: `${plain.url}/plain`, method: 'GET' });
      plain.stop();
      return r.requestsPerSecond;
    },
    // On the gateway itself: a trivial query with none of our resolvers.
    apollo: async () => (await load({ url: `${gw.base}/graphql`, method: 'POST', headers: jsonHeaders, body: gqlBody('{ __typename }') })).requestsPerSecond,
  };
  const limits: Partial<Record<LimitName, { before: number; after: number; mean: number }>> = {};

  const results: Record<string, LoadResult & { cpu: { gatewayMs: number; postgresMs: number }; memory: { rss: number; peak: number; heap: number } }> = {};
  // The profile takes the scenarios' samples only (V8 and process.hrtime share the machine's
  // monotonic clock), not the start-up or the limits measured on the gateway.
  const windows: Array<[number, number]> = [];
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  for (const name of LIMIT_ORDER) {
    const group = chosen.filter((s) => limitOf(s.scenario, s.door) === name);
    if (!group.length) continue;
    log(`limit: ${LIMIT_LABEL[name]}...`);
    const before = await limitMeasures[name]();
    for (const s of group) {
      log(`${s.scenario} over ${s.door}...`);
      const from = nowUs();
      const r = await withCpu(gw.pid, () => load(s.spec()));
      windows.push([from, nowUs()]);
      results[`${s.scenario}|${s.door}`] = { ...r, memory: await gw.memory() };
    }
    log(`limit: ${LIMIT_LABEL[name]} again...`);
    const after = await limitMeasures[name]();
    limits[name] = { before, after, mean: (before + after) / 2 };
  }
  // The profiled gateway stops (writing its profile), and a fresh one serves the rest.
  let profile = '';
  if (args.has('--profile')) {
    const before = new Set(readdirSync(profileDir));
    await gw.stop();
    const written = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
    if (written.length) {
      profile = `Profile of the gateway's main thread during ${chosen.map((c) => `${c.scenario} (${c.door})`).join(', ')}: bench/results/profiles/${written[0]}\n\n${profileTables(summariseProfile(JSON.parse(readFileSync(path.join(profileDir, written[0]), 'utf8')), 15, windows))}\n`;
    }
    gw = await startGateway(url, secretKey, signingKey);
  }

  // Open loop at half of each measured rate: latency without saturation's queueing.
  const openLoop: Array<{ scenario: string; door: Door; rate: number; r: LoadResult; gc: string }> = [];
  for (const s of chosen.filter((c) => c.scenario === 'refresh' || c.scenario === 'me (access token)' || c.scenario === 'verify (access token)')) {
    const rate = Math.max(1, Math.round(results[`${s.scenario}|${s.door}`].requestsPerSecond / 2));
    log(`open loop: ${s.scenario} over ${s.door} at ${rate}/s...`);
    const gc0 = await gw.gc();
    const r = await load({ ...s.spec(), rate });
    openLoop.push({ scenario: s.scenario, door: s.door, rate, r, gc: majorGc(gc0, await gw.gc()) });
  }

  // A second gateway process on the same database, the load split between the two.
  const twoInstances: Array<{ scenario: string; one: number; two: number; p99: number }> = [];
  if (!ONLY || args.has('--instances')) {
    log('a second gateway process on the same database...');
    const second = await startGateway(url, secretKey, signingKey);
    const req2 = requests(() => second.base, USERS, seed.refreshTokens.slice(170_000));
    for (const [scenario, specs] of [
      ['login', [req.login('rest'), req2.login('rest')]],
      ['refresh', [req.refresh('rest'), req2.refresh('rest')]],
      ['me (access token)', [req.me('rest', { authorization: `Bearer ${at}` }), req2.me('rest', { authorization: `Bearer ${at}` })]],
    ] as const) {
      log(`two instances: ${scenario} over REST...`);
      const r = await loadSplit([...specs]);
      twoInstances.push({ scenario, one: results[`${scenario}|rest`]?.requestsPerSecond ?? NaN, two: r.requestsPerSecond, p99: r.p99 });
    }
    await second.stop();
  }

  const memory = await gw.memory();
  await gw.stop();

  const ratioTo = (scenario: string, door: Door): [string, number] | undefined => {
    const name = limitOf(scenario, door);
    return limits[name] ? [LIMIT_LABEL[name], limits[name].mean] : undefined;
  };
  const rows = chosen.map((s) => {
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
      rssMb: Math.round(r.memory.rss),
      heapMb: Math.round(r.memory.heap),
      gatewayCpuMs: r.cpu.gatewayMs.toFixed(2),
      postgresCpuMs: r.cpu.postgresMs.toFixed(2),
    };
  });
  const apiKeyVsBearer = (door: string) =>
    results[`me (API key)|${door}`] && results[`me (access token)|${door}`]
      ? (results[`me (API key)|${door}`].requestsPerSecond / results[`me (access token)|${door}`].requestsPerSecond).toFixed(2)
      : '–';

  const lines = [
    machineLine(),
    '',
    '| scenario | door | req/s | p50 ms | p99 ms | errors | ratio | gateway CPU ms/req | PostgreSQL CPU ms/req | RSS MB after | heap MB after |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.door} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.ratio} | ${r.gatewayCpuMs} | ${r.postgresCpuMs} | ${r.rssMb} | ${r.heapMb} |`),
    '',
    `Limits, each measured before and after the scenarios compared with it (mean; before → after): ${limitsLine(limits)}.`,
    `API-key me / bearer me: REST ${apiKeyVsBearer('rest')}, GraphQL ${apiKeyVsBearer('gql')}. Forward auth's verify / me over REST: ${
      results['verify (access token)|rest'] && results['me (access token)|rest'] ? (results['verify (access token)|rest'].requestsPerSecond / results['me (access token)|rest'].requestsPerSecond).toFixed(2) : '–'
    } (goal ≥ 0.9). Gateway peak RSS: ${mb(memory.peak)} MB (heap in use at the end ${mb(memory.heap)} MB). Total bench time ${Math.round((Date.now() - started) / 1000)} s.`,
  ];
  if (openLoop.length) {
    lines.push(
      '',
      'Open loop at half of the measured rate (latency from when each request was due; the gateway\'s major collections meanwhile, warm-up included):',
      '',
      '| scenario | door | rate/s | p50 ms | p99 ms | errors | major GCs |',
      '|---|---|---|---|---|---|---|',
    );
    for (const o of openLoop) lines.push(`| ${o.scenario} | ${o.door === 'rest' ? 'REST' : 'GraphQL'} | ${o.rate} | ${o.r.p50} | ${o.r.p99} | ${o.r.non2xx + o.r.errors} | ${o.gc} |`);
  }
  if (twoInstances.length) {
    lines.push('', 'Two gateway processes on the same database (REST, the connections split between them):', '', '| scenario | one process req/s | two processes req/s | ratio | p99 ms |', '|---|---|---|---|---|');
    for (const t of twoInstances) lines.push(`| ${t.scenario} | ${Math.round(t.one)} | ${Math.round(t.two)} | ${(t.two / t.one).toFixed(2)} | ${t.p99} |`);
  }
  lines.push('', ...sizingLines(rows, memory.peak));
  if (profile) lines.push('', profile);
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (args.has('--json')) {
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: os.totalmem() / 2 ** 30, node: process.version }, rows, openLoop, twoInstances, limits, memory }, null, 2));
    log(`wrote ${file}`);
  }
}

/**
 * The scale run (`--sessions N`): refresh, me and login measured on the standard data, then again
 * after adding users to 100,000 (one shared hash) and N sessions with refresh tokens (half of
 * them expired); then the purge clears the expired half, in batches, while refresh runs. The
 * plans of the hot statements are printed on the scaled data.
 */
async function scale({ url, sql, orm, seed, secretKey, signingKey, started }: { url: string; sql: pg.Pool; orm: Db; seed: BenchSeed; secretKey: string; signingKey: unknown; started: number }): Promise<void> {
  // The bench runs the purge itself (below), not the gateway's timer.
  const gw = await startGateway(url, secretKey, signingKey, { PURGE_INTERVAL_SECONDS: '0' });
  const { at } = await signInFirst(gw.base);
  const req = requests(() => gw.base, USERS, seed.refreshTokens);
  const measure = async () => ({
    login: await load(req.login('rest')),
    refresh: await load(req.refresh('rest')),
    meRest: await load(req.me('rest', { authorization: `Bearer ${at}` })),
    meGql: await load(req.me('gql', { authorization: `Bearer ${at}` })),
  });
  log('scale: the standard data first...');
  const before = await measure();

  log(`scale: adding users up to 100,000 and ${SCALE_SESSIONS} sessions (half expired)...`);
  const scaled = await seedScale(sql, seed, { users: 100_000 - USERS, sessions: SCALE_SESSIONS, secretKey, argon: PRODUCTION_ARGON });
  log(`scale: seeded in ${scaled.seconds.toFixed(1)} s (then ${scaled.settleSeconds.toFixed(1)} s of vacuum, analyze and checkpoint)`);
  const after = await measure();

  // The purge of the expired half, batch by batch, while refresh runs.
  log('scale: purging the expired sessions while refresh runs...');
  const batches: number[] = [];
  const purge = createPurgeService({
    config: { purge: { intervalSeconds: 0, batchSize: PURGE_BATCH_SIZE_DEFAULT, auditRetentionDays: 365 }, accessTokenTtl: 900, refreshReuseGrace: 10, sessionIdleTimeout: 30 * 86400, accounts: { unverifiedTtl: 7 * 86400 }, webhooks: { retentionDays: 30 } },
    orm,
    now: () => new Date(),
    log: { info: () => {}, warn: (o, m) => log(`purge: ${m} ${JSON.stringify(o)}`) },
    onBatch: (_tables, _rows, ms) => batches.push(ms),
  });
  const dead = async () => Number((await sql.query("select count(*) as n from sessions where expires_at < now() - interval '1 hour'")).rows[0].n);
  const deadBefore = await dead();
  const purging = (async () => {
    const t0 = performance.now();
    let deleted = 0;
    for (;;) {
      const run = await purge.runOnce();
      deleted += run.deleted.sessions;
      if (run.deleted.sessions === 0 || run.failed.length) break;
    }
    return { deleted, seconds: (performance.now() - t0) / 1000 };
  })();
  const during = await load(req.refresh('rest'));
  const purged = await purging;
  const deadAfter = await dead();

  const sample = (await sql.query('select s.id as session_id, s.user_id from sessions s join refresh_tokens t on t.session_id = s.id where s.expires_at > now() limit 1')).rows[0];
  const keyHash = (await sql.query('select key_hash from api_keys limit 1')).rows[0].key_hash;
  const plans = await explainHot(orm, { tenantId: seed.tenantId, userId: sample.user_id, sessionId: sample.session_id, tokenHash: keyedHash(secretKey, seed.refreshTokens.at(-1)!), keyHash });
  const memory = await gw.memory();
  await gw.stop();

  const row = (name: string, a: LoadResult, b: LoadResult) =>
    `| ${name} | ${Math.round(a.requestsPerSecond)} | ${a.p99} | ${Math.round(b.requestsPerSecond)} | ${b.p99} | ${(b.requestsPerSecond / a.requestsPerSecond).toFixed(2)} | ${(b.p99 / a.p99).toFixed(2)} |`;
  const sorted = [...batches].sort((a, b) => a - b);
  const lines = [
    machineLine(),
    '',
    `Scale: ${USERS} users and ${REFRESH_TOKENS} live sessions, then ${100_000} users (the added ones sharing one hash) and ${SCALE_SESSIONS} more sessions with refresh tokens, ${scaled.expired} of them expired (seeded in ${scaled.seconds.toFixed(1)} s, then ${scaled.settleSeconds.toFixed(1)} s of vacuum, analyze and checkpoint).`,
    '',
    '| scenario (REST unless said) | req/s before | p99 ms before | req/s scaled | p99 ms scaled | throughput ratio | p99 ratio |',
    '|---|---|---|---|---|---|---|',
    row('login', before.login, after.login),
    row('refresh', before.refresh, after.refresh),
    row('me (access token)', before.meRest, after.meRest),
    row('me (access token), GraphQL', before.meGql, after.meGql),
    row('refresh while the purge runs (vs scaled)', after.refresh, during),
    '',
    `Purge: ${purged.deleted} sessions (of ${deadBefore} dead; ${deadAfter} left) with their refresh tokens in ${batches.length} batches of up to ${PURGE_BATCH_SIZE_DEFAULT} over ${purged.seconds.toFixed(1)} s; batch duration p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(1)} ms, p99 ${sorted[Math.floor(sorted.length * 0.99)]?.toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms.`,
    `Gateway peak RSS ${mb(memory.peak)} MB. Total bench time ${Math.round((Date.now() - started) / 1000)} s.`,
    '',
    'Plans of the hot statements on the scaled data (EXPLAIN, costs off):',
    ...printPlans(plans),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n`);
  if (args.has('--json')) {
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/scale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, JSON.stringify({ before, after, during, purge: { ...purged, batches }, plans, scaled }, null, 2));
    log(`wrote ${file}`);
  }
}

function printPlans(plans: Plan[]): string[] {
  return plans.flatMap((p) => ['', `${p.name}${p.seqScans.length ? ` — SEQUENTIAL SCAN of ${p.seqScans.join(', ')}` : ''}:`, '```', p.plan, '```']);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
