// A real gateway per test file: its own fresh database on the run's PostgreSQL, migrated,
// the real app listening on an ephemeral port, spoken to over HTTP.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { expect, inject } from 'vitest';
import { buildApp, type Gateway } from '../../src/app.js';
import { generateIdTokenKey, generateSigningKey, loadConfig, type Config, type RsaJwk, type SigningJwk } from '../../src/config.js';
import { migrate, openDb, type Db } from '../../src/db/orm.js';
import { type ErrorCode } from '../../src/errors/catalog.js';
import { FIELD_RULES, PASSWORD_RULES } from '../../src/errors/auth-error.js';
import { operations, type OperationName, type OperationSpec } from '../../src/api/operations.js';
import { importDocument, type ImportDocument } from '../../src/services/operator/import.js';
import type { ServiceDeps } from '../../src/services/deps.js';
import { TcpProxy } from './tcp-proxy.js';

export const ISSUER = 'https://auth.test.example';
/** The production hashing parameters, for the tests whose subject is hashing cost. */
export const OWASP_ENV = { PASSWORD_HASH_MEMORY_KIB: '19456', PASSWORD_HASH_ITERATIONS: '2', PASSWORD_HASH_PARALLELISM: '1' };
export const AUDIENCE = 'https://api.test.example';

/** Create a database on the run's server, migrated (a copy of the run's template) unless `empty`; answers its URL. */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(options.empty ? `create database ${name}` : `create database ${name} template ${inject('pgTemplate')}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestGatewayOptions {
  env?: Record<string, string>;
  /** Put a TCP proxy between the gateway and PostgreSQL, for real faults. */
  proxy?: boolean;
  deps?: Partial<ServiceDeps>;
  /** Reuse another gateway's database (or one the test made). */
  databaseUrl?: string;
  /** Migrate `databaseUrl` first (a database the test made itself). */
  migrate?: boolean;
  /** Listen on this port (default: any free one). */
  port?: number;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
}

/** One HTTP request; a JSON body is sent as JSON (a string as it is), a JSON answer parsed. */
export async function requestJson(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  // Redirects are answers to look at (an SSO callback's 303 back to the app), never followed.
  const init: RequestInit = { method, headers: { ...headers }, redirect: 'manual' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    if (typeof body !== 'string') (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A TCP port free on 127.0.0.1 now (for a gateway whose URL must be known before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The Authorization header of an access token or an API key. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Holds a user's row (FOR UPDATE, on a connection of its own) while `during` runs, to make
 * requests queue for it in a known order: `queued()` counts this database's statements
 * waiting on a lock, `release()` commits the hold. The connection ends afterwards.
 */
export async function holdingUserRow<T>(
  gw: Pick<TestGateway, 'databaseUrl' | 'sql'>,
  where: { email: string } | { id: string },
  during: (hold: { queued(): Promise<number>; release(): Promise<void> }) => Promise<T>,
): Promise<T> {
  const holder = new pg.Client({ connectionString: gw.databaseUrl });
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query(`select id from users where ${'email' in where ? 'email' : 'id'} = $1 for update`, ['email' in where ? where.email : where.id]);
    const queued = async () => (await gw.sql("select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()"))[0].n as number;
    return await during({ queued, release: async () => void (await holder.query('commit')) });
  } finally {
    await holder.end();
  }
}

/** The two doors of every operation: the REST shim and GraphQL. */
export type Door = 'rest' | 'graphql';
export const DOORS: readonly Door[] = ['rest', 'graphql'];

/** ACME's admin: api_keys:create and users:read. */
export const ADA = { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' } as const;

export interface SignedIn {
  access_token: string;
  refresh_token: string;
  user: { id: string; email: string; tenant: string; roles: string[]; permissions: string[] };
}

/** A password login over REST that must succeed. */
export async function signIn(gw: Pick<TestGateway, 'rest'>, who: { tenant: string; email: string; password: string } = ADA): Promise<SignedIn> {
  const res = await gw.rest('POST', '/auth/login', who);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Registers a passkey of `auth` for the signed-in user over REST; answers its id. */
export async function registerPasskey(gw: Pick<TestGateway, 'rest'>, auth: { create(options: unknown): unknown }, accessToken: string, name = 'passkey'): Promise<string> {
  const options = await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(accessToken));
  expect(options.status, JSON.stringify(options.body)).toBe(200);
  const res = await gw.rest('POST', '/auth/webauthn/register/verify', { response: auth.create(options.body), name }, bearer(accessToken));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

export interface TestGateway {
  url: string;
  config: Config;
  gateway: Gateway;
  orm: Db;
  /** Direct SQL on the gateway's database (not through the proxy). */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  proxy?: TcpProxy;
  signingKey: SigningJwk;
  databaseUrl: string;
  rest(method: string, route: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult>;
  gql(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<HttpResult>;
  seed(doc: ImportDocument): Promise<void>;
  /** Every JSON log line the gateway wrote so far. */
  logs(): string;
  close(): Promise<void>;
}

let rsa: RsaJwk | undefined;
/** One RS256 key per test process (made once: RSA keys are slow to make). */
const idTokenKey = () => (rsa ??= generateIdTokenKey());

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const db = options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? db!.url;
  let proxy: TcpProxy | undefined;
  let gatewayDbUrl = databaseUrl;
  if (options.proxy) {
    const u = new URL(databaseUrl);
    proxy = await TcpProxy.start({ host: u.hostname, port: Number(u.port || 5432) });
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    gatewayDbUrl = u.toString();
  }
  const signingKey = generateSigningKey('EdDSA');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'gw-test-')),
    DATABASE_URL: gatewayDbUrl,
    SECRET_KEY: randomBytes(32).toString('base64url'),
    // Production needs an RS256 key for the OpenID Provider's ID tokens; elsewhere one is made when first needed.
    JWT_PRIVATE_KEYS: JSON.stringify({ keys: [signingKey, ...(options.env?.NODE_ENV === 'production' ? [idTokenKey()] : [])] }),
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    PUBLIC_URL: ISSUER,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    DB_STATEMENT_TIMEOUT_MS: '1000',
    DB_QUERY_TIMEOUT_MS: '1500',
    DB_ACQUIRE_TIMEOUT_MS: '1500',
    DB_CONNECT_TIMEOUT_MS: '1000',
    // Most files make many failed attempts from 127.0.0.1; the limits have a file of their own.
    RATE_LIMIT_ACCOUNT_FAILURES: '10000',
    RATE_LIMIT_ADDRESS_FAILURES: '100000',
    RATE_LIMIT_OPTIONS_PER_ADDRESS: '100000',
    RATE_LIMIT_API_KEY_CREATES: '10000',
    // Tests change sessions behind the gateway's back (admin service calls): no session cache.
    SESSION_CACHE_TTL_MS: '0',
    // Cheap argon2id: hashing cost is what only the timing, rehash and stored-format tests are
    // about, and they ask for OWASP's parameters (OWASP_ENV) themselves.
    PASSWORD_HASH_MEMORY_KIB: '1024',
    PASSWORD_HASH_ITERATIONS: '1',
    // The purge runs when a test says so (purge.test.ts), never in the middle of another file's.
    PURGE_INTERVAL_SECONDS: '0',
    // Mail leaves when a service wakes the sender after its commit; no polling in the way of
    // the tests that count queries (tests of the sender set an interval).
    MAIL_POLL_INTERVAL_MS: '0',
    WEBHOOK_POLL_INTERVAL_MS: '0',
    ...options.env,
  });
  const orm = await openDb(gatewayDbUrl, config.db);
  if (!options.databaseUrl || options.migrate) {
    // Migrate over a direct connection so a proxy under test never gets in the way.
    // Not under test: lenient timeouts, so a loaded machine does not fail the setup.
    const direct = await openDb(databaseUrl, { ...config.db, connectTimeoutMs: 15_000, acquireTimeoutMs: 15_000, statementTimeoutMs: 60_000, queryTimeoutMs: 60_000 });
    await migrate(direct);
    await direct.close();
  }
  const logLines: string[] = [];
  const echo = process.env.TEST_LOG_LEVEL !== undefined;
  const logStream = {
    write(line: string) {
      logLines.push(line);
      if (echo) process.stdout.write(line);
    },
  };
  const gateway = await buildApp(config, orm, { deps: options.deps, logStream });
  const url = await gateway.app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  // Idle clients die with a restarted database; the next query makes new ones.
  pool.on('error', () => {});

  const http = (method: string, route: string, body: unknown, headers: Record<string, string>) => requestJson(url + route, method, body, headers);

  // Every response of every test is checked against the codes its operation declares.
  const checked = async (method: string, route: string, res: Promise<HttpResult>) => {
    const r = await res;
    assertDeclaredCodes(method, route, r);
    return r;
  };

  return {
    url,
    config,
    gateway,
    orm,
    proxy,
    signingKey,
    databaseUrl,
    sql: async (text, params) => (await pool.query(text, params as unknown[])).rows,
    rest: (method, route, body, headers = {}) => checked(method, route, http(method, route, body, headers)),
    gql: (query, variables, headers = {}) => checked('POST', '/graphql', http('POST', '/graphql', { query, variables }, headers)),
    logs: () => logLines.join(''),
    seed: async (doc) => {
      await importDocument(orm.em.fork(), gateway.deps.passwords, doc, gateway.deps);
    },
    async close() {
      await gateway.app.close();
      await orm.close();
      await pool.end();
      await proxy?.close();
      await db?.drop();
    },
  };
}

const restOperations = (Object.values(operations) as OperationSpec[]).flatMap((o) =>
  o.rest ? [{ op: o, method: o.rest.method, pattern: new RegExp(`^${o.rest.path.replace(/:[a-z]+/g, '[^/]+')}$`) }] : [],
);

/** Fails the test when a response carries a code its operation does not declare (docs/errors.md). */
export function assertDeclaredCodes(method: string, route: string, res: HttpResult): void {
  const path = route.split('?')[0];
  if (path === '/graphql') {
    for (const e of (res.body?.errors ?? []) as Array<{ path?: string[]; extensions?: { code?: string } }>) {
      const op = e.path?.length ? (Object.values(operations) as OperationSpec[]).find((o) => o.graphql === e.path![0]) : undefined;
      const code = e.extensions?.code;
      if (op && code && !op.codes.includes(code as ErrorCode)) {
        throw new Error(`GraphQL field ${op.graphql} answered ${code}, which operation ${op.name} does not declare`);
      }
    }
    return;
  }
  const code = res.headers.get('x-error-code');
  const match = restOperations.find((r) => r.method === method && r.pattern.test(path));
  if (match && code && !match.op.codes.includes(code as ErrorCode)) {
    throw new Error(`${method} ${path} answered ${code}, which operation ${match.op.name} does not declare`);
  }
}

/**
 * What a refusal says to fix (SPEC §16), beside the code: `fields` always for
 * auth_request_invalid, `rules` always for auth_password_weak, `missing` for some
 * auth_forbidden; each of the documented shape, and nothing else.
 */
export function expectRemedy(code: ErrorCode, where: Record<string, unknown>, known: string[]): void {
  const extra = Object.keys(where).filter((k) => !known.includes(k)).sort();
  const allowed = code === 'auth_request_invalid' ? ['fields'] : code === 'auth_password_weak' ? ['rules'] : code === 'auth_forbidden' ? ['missing'] : code === 'auth_sso_required' ? ['connection'] : [];
  expect(extra.filter((k) => !allowed.includes(k)), JSON.stringify(where)).toEqual([]);
  if (code === 'auth_request_invalid') {
    expect(where.fields, JSON.stringify(where)).toEqual(expect.arrayContaining([expect.anything()]));
    for (const f of where.fields as Array<{ field: string; rule: string }>) {
      expect(Object.keys(f).sort()).toEqual(['field', 'rule']);
      expect(typeof f.field).toBe('string');
      expect(FIELD_RULES).toContain(f.rule);
    }
  }
  if (code === 'auth_password_weak') {
    expect(where.rules, JSON.stringify(where)).toEqual(expect.arrayContaining([expect.anything()]));
    for (const r of where.rules as string[]) expect(PASSWORD_RULES).toContain(r);
  }
  if (where.missing !== undefined) for (const m of where.missing as string[]) expect(m).toMatch(/^[a-z_]+:[a-z_]+$/);
}

/** The REST error body and header carry `code`, and `code` is one the operation declares. */
export function expectRestError(res: HttpResult, op: OperationName, code: ErrorCode, status?: number): void {
  expect(res.body, JSON.stringify(res.body)).toMatchObject({ detail: { status: 'error', code } });
  expectRemedy(code, res.body.detail, ['code', 'message', 'status']);
  expect(res.headers.get('x-error-code')).toBe(code);
  if (status !== undefined) expect(res.status).toBe(status);
  expect(operations[op].codes).toContain(code);
}

/** The GraphQL error carries `code` in extensions, with HTTP 200 and no data. */
export function expectGqlError(res: HttpResult, op: OperationName, code: ErrorCode, status?: number): void {
  expect(res.status).toBe(200);
  expect(res.body.errors, JSON.stringify(res.body)).toHaveLength(1);
  const [err] = res.body.errors;
  expect(err.extensions.code).toBe(code);
  expectRemedy(code, err.extensions, ['code', 'status', 'retryAfter', 'mfaToken', 'methods']);
  if (status !== undefined) expect(err.extensions.status).toBe(status);
  expect(err.extensions).not.toHaveProperty('stacktrace');
  expect(err.path).toEqual([operations[op].graphql]);
  expect(operations[op].codes).toContain(code);
}

export const LOGIN = `mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken tokenType expiresIn refreshToken refreshExpiresIn
    user { id email tenant roles permissions authMethod } }
}`;

export const ME = `query { me { id email tenant roles permissions authMethod } }`;

/** A small tenant used by most tests. */
export const ACME: ImportDocument = {
  tenants: [
    {
      slug: 'acme',
      name: 'Acme Corp',
      google_domains: ['acme.test'],
      roles: [
        { name: 'admin', permissions: ['api_keys:create', 'users:read'] },
        { name: 'viewer', permissions: ['users:read'] },
      ],
      users: [
        { email: 'ada@acme.test', password: 'correct horse battery', roles: ['admin'] },
        { email: 'bob@acme.test', password: 'hunter2 hunter2', roles: ['viewer'], disabled: true },
      ],
    },
    {
      slug: 'globex',
      name: 'Globex',
      roles: [{ name: 'admin', permissions: ['api_keys:create'] }],
      users: [{ email: 'ada@acme.test', password: 'another password', roles: ['admin'] }],
    },
  ],
};
