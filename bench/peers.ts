// npm run bench -- --peers: the gateway and Better Auth side by side, in one sitting, on the same
// PostgreSQL server (each its own database), the same users with the same argon2id hashes (copied
// from the gateway's seed, so each sign-in verifies the same hash at the same cost), the same load
// generator (50 connections, DURATION s after the warm-up), three rounds alternating the two
// servers, medians and ranges. Better Auth is pinned in bench/peers/better-auth/package.json and
// installed there on demand (npm ci), never by the gateway's own npm ci. Our brute-force limits
// are on (their thresholds out of reach, as in the standard run); Better Auth's limiter is off.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureDatabase } from '../src/db/embedded.js';
import { load, rssMb, startGateway, type Gateway, type LoadResult } from './harness.js';
import type { BenchSeed } from './seed.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The peer's directory in the source tree (the compiled bench runs from dist/bench). */
const PEER_DIR = path.resolve(here, '../../bench/peers/better-auth');
const ROUNDS = 3;
const SIGN_IN_GOAL = 1.15;

interface Peer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function installPeer(log: (m: string) => void): void {
  if (existsSync(path.join(PEER_DIR, 'node_modules/better-auth/package.json'))) return;
  log('installing Better Auth for the comparison (bench/peers/better-auth, npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: PEER_DIR, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm ci of bench/peers/better-auth failed');
}

async function startPeer(databaseUrl: string): Promise<Peer> {
  const p: ChildProcess = spawn(process.execPath, [path.join(PEER_DIR, 'server.mjs')], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: randomBytes(32).toString('base64url') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    p.stdout!.on('data', (d) => {
      out += d;
      const m = /\{"url":"([^"]+)"\}/.exec(out);
      if (m) resolve(m[1]);
    });
    p.on('exit', (code) => reject(new Error(`Better Auth's server exited ${code}`)));
  });
  p.stdout!.resume();
  const exited = new Promise<void>((resolve) => p.on('exit', () => resolve()));
  return { url, pid: p.pid!, stop: async () => void (p.kill('SIGTERM'), await exited) };
}

/** The gateway's bench users (same e-mails, same argon2id hashes) as Better Auth's users and credential accounts. */
async function copyUsers(gatewaySql: pg.Pool, peerUrl: string, tenantId: string): Promise<void> {
  const { rows } = await gatewaySql.query<{ email: string; password_hash: string }>('select email, password_hash from users where tenant_id = $1', [tenantId]);
  const peer = new pg.Client({ connectionString: peerUrl });
  await peer.connect();
  try {
    const ids = rows.map(() => randomUUID());
    await peer.query(
      `insert into "user" (id, name, email, "emailVerified", "createdAt", "updatedAt")
       select unnest($1::text[]), unnest($2::text[]), unnest($2::text[]), true, now(), now()`,
      [ids, rows.map((r) => r.email)],
    );
    await peer.query(
      `insert into account (id, "accountId", "providerId", "userId", password, "createdAt", "updatedAt")
       select gen_random_uuid()::text, u, 'credential', u, p, now(), now() from unnest($1::text[], $2::text[]) as t(u, p)`,
      [ids, rows.map((r) => r.password_hash)],
    );
  } finally {
    await peer.end();
  }
}

/** A fresh database for the peer beside the gateway's (same server). */
async function peerDatabase(gatewayUrl: string): Promise<string> {
  await ensureDatabase(gatewayUrl, 'gw_bench_peer');
  const u = new URL(gatewayUrl);
  u.pathname = '/gw_bench_peer';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  await c.query('drop schema public cascade; create schema public');
  await c.end();
  return u.toString();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]) => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;

export async function peers(opts: { url: string; secretKey: string; signingKey: unknown; seed: BenchSeed; sql: pg.Pool; users: number; log: (m: string) => void }): Promise<string[]> {
  const { log, seed } = opts;
  installPeer(log);
  const peerUrl = await peerDatabase(opts.url);
  const gw: Gateway = await startGateway(opts.url, opts.secretKey, opts.signingKey);
  const peer = await startPeer(peerUrl);
  try {
    await copyUsers(opts.sql, peerUrl, seed.tenantId);
    const json = { 'content-type': 'application/json' };
    // Better Auth refuses a browser-like request (Node's fetch sends Sec-Fetch-Mode) without its own origin.
    const origin = { origin: 'http://127.0.0.1' };
    const signIn = await fetch(`${gw.base}/auth/login`, { method: 'POST', headers: json, body: JSON.stringify({ tenant: 'bench', email: 'user0@bench.test', password: 'password-0' }) });
    const accessToken = ((await signIn.json()) as { access_token: string }).access_token;
    const theirs = await fetch(`${peer.url}/api/auth/sign-in/email`, { method: 'POST', headers: { ...json, ...origin }, body: JSON.stringify({ email: 'user0@bench.test', password: 'password-0' }) });
    if (!theirs.ok) throw new Error(`Better Auth's sign-in answered ${theirs.status}: ${await theirs.text()}`);
    const cookie = theirs.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');

    let used = 0;
    const refreshBodies = (count: number) => seed.refreshTokens.slice(used, (used += count)).map((t) => JSON.stringify({ refresh_token: t }));
    const users = Array.from({ length: opts.users }, (_, i) => ({ email: `user${i}@bench.test`, password: `password-${i}` }));
    const sides = {
      'sign-in (REST; our limits on, theirs off)': [
        () => ({ url: `${gw.base}/auth/login`, method: 'POST' as const, headers: json, bodies: users.map((u) => JSON.stringify({ tenant: 'bench', ...u })) }),
        () => ({ url: `${peer.url}/api/auth/sign-in/email`, method: 'POST' as const, headers: { ...json, ...origin }, bodies: users.map((u) => JSON.stringify(u)) }),
      ],
      'session check (`me` REST / get-session)': [
        () => ({ url: `${gw.base}/auth/me`, method: 'GET' as const, headers: { authorization: `Bearer ${accessToken}` } }),
        () => ({ url: `${peer.url}/api/auth/get-session`, method: 'GET' as const, headers: { cookie, ...origin } }),
      ],
      '`me` GraphQL / get-session': [
        () => ({ url: `${gw.base}/graphql`, method: 'POST' as const, headers: { ...json, authorization: `Bearer ${accessToken}` }, body: JSON.stringify({ query: '{ me { id email tenant roles permissions } }' }) }),
        null,
      ],
      'refresh with rotation / `/token` (JWT plugin, no rotation)': [
        () => ({ url: `${gw.base}/auth/refresh`, method: 'POST' as const, headers: json, bodies: refreshBodies(30_000) }),
        () => ({ url: `${peer.url}/api/auth/token`, method: 'GET' as const, headers: { cookie, ...origin } }),
      ],
    } as const;

    const ours: Record<string, number[]> = {};
    const theirsRate: Record<string, number[]> = {};
    const failures: string[] = [];
    const checked = (name: string, who: string, r: LoadResult) => {
      if (r.non2xx || r.errors) failures.push(`${name}, ${who}: ${r.non2xx} non-2xx, ${r.errors} errors (${JSON.stringify(r.statusCodes)})`);
      return r.requestsPerSecond;
    };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, [mine, other]] of Object.entries(sides)) {
        log(`peers, round ${round}: ${name}...`);
        (ours[name] ??= []).push(checked(name, 'gateway', await load(mine())));
        if (other) (theirsRate[name] ??= []).push(checked(name, 'Better Auth', await load(other())));
      }
    }
    theirsRate['`me` GraphQL / get-session'] = theirsRate['session check (`me` REST / get-session)'];
    const memory = { ours: rssMb(gw.pid).peak, theirs: rssMb(peer.pid).peak };

    const lines = [
      `Side by side with Better Auth (bench/peers/better-auth, pinned), ${opts.users} users, argon2id m=19456 t=2 p=1 on both, medians of ${ROUNDS} rounds (range):`,
      '',
      '| | this gateway req/s | Better Auth req/s | ratio |',
      '|---|---|---|---|',
      ...Object.keys(sides).map((name) => `| ${name} | ${Math.round(median(ours[name]))} (${spread(ours[name])}) | ${Math.round(median(theirsRate[name]))} (${spread(theirsRate[name])}) | ${(median(ours[name]) / median(theirsRate[name])).toFixed(2)}× |`),
      `| peak RSS of the server | ${Math.round(memory.ours)} MB | ${Math.round(memory.theirs)} MB | ${(memory.ours / memory.theirs).toFixed(2)}× |`,
      '',
    ];
    const signInRatio = median(ours[Object.keys(sides)[0]]) / median(theirsRate[Object.keys(sides)[0]]);
    lines.push(`Sign-in / Better Auth's: ${signInRatio.toFixed(2)}× (goal ≥ ${SIGN_IN_GOAL}×, our limits on).`);
    if (failures.length) lines.push('', 'Answers that were not 2xx (the figures above count them as requests):', ...failures.map((f) => `- ${f}`));
    return lines;
  } finally {
    await peer.stop();
    await gw.stop();
  }
}
