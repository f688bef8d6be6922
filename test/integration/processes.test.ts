// Real processes: graceful shutdown on SIGTERM, and two instances sharing nothing but PostgreSQL (no sticky routing).
import { Secret, TOTP } from 'otpauth';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { ACME, ADA, requestJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { sharingEnv, spawnGateway, type GatewayProcess } from '../helpers/process.js';

const CACHE_TTL_MS = 500;
const LIMITS = { RATE_LIMIT_ACCOUNT_FAILURES: '3', RATE_LIMIT_ADDRESS_FAILURES: '1000', RATE_LIMIT_WINDOW_SECONDS: '60' };
let a: TestGateway;
let b: GatewayProcess;
const ada = ADA;

const envOf = (gw: TestGateway, extra: Record<string, string> = {}) => ({
  ...sharingEnv(gw),
  API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS),
  ...LIMITS,
  ...extra,
});

const http = (base: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) => requestJson(base + route, method, body, headers);

beforeAll(async () => {
  a = await startTestGateway({ env: { API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS), ...LIMITS } });
  const doc = structuredClone(ACME);
  doc.tenants[0].users!.push({ email: 'lockme@acme.test', password: 'lock me 12345', roles: ['viewer'] });
  await a.seed(doc);
  b = await spawnGateway(envOf(a));
}, 60_000);

afterAll(async () => {
  b?.kill('SIGKILL');
  await a?.close();
});

describe('two instances on one database', () => {
  it('passkey options asked of A verify on B', async () => {
    const at = (await a.rest('POST', '/auth/login', ada)).body.access_token;
    const auth = new SoftAuthenticator();
    // Register on B with options from A, then log in on A with options from B.
    const regOptions = (await a.rest('POST', '/auth/webauthn/register/options', {}, { authorization: `Bearer ${at}` })).body;
    const reg = await http(b.url, 'POST', '/auth/webauthn/register/verify', { response: auth.create(regOptions) }, { authorization: `Bearer ${at}` });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    const loginOptions = (await http(b.url, 'POST', '/auth/webauthn/login/options', { tenant: 'acme' })).body;
    const login = await a.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: auth.get(loginOptions) });
    expect(login.status).toBe(200);
    expect(login.body.user.email).toBe('ada@acme.test');
  });

  it('concurrent refreshes of one token split across A and B keep the grace and reuse rules', async () => {
    const first = (await a.rest('POST', '/auth/login', ada)).body;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? a.rest('POST', '/auth/refresh', { refresh_token: first.refresh_token }) : http(b.url, 'POST', '/auth/refresh', { refresh_token: first.refresh_token }),
      ),
    );
    for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
    const successors = new Set(results.map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    const [successor] = successors;
    // The successor moves on (on B); the first token coming back to A is now reuse.
    expect((await http(b.url, 'POST', '/auth/refresh', { refresh_token: successor })).status).toBe(200);
    const reuse = await a.rest('POST', '/auth/refresh', { refresh_token: first.refresh_token });
    expect(reuse.body.detail.code).toBe('auth_refresh_reused');
    // Revoked for both.
    expect((await http(b.url, 'GET', '/auth/me', undefined, { authorization: `Bearer ${results[0].body.access_token}` })).status).toBe(401);
  });

  it('shares the brute-force limits', async () => {
    const who = { tenant: 'acme', email: 'lockme@acme.test', password: 'nope' };
    await a.rest('POST', '/auth/login', who);
    await http(b.url, 'POST', '/auth/login', who);
    await a.rest('POST', '/auth/login', who);
    const locked = await http(b.url, 'POST', '/auth/login', { ...who, password: 'lock me 12345' });
    expect(locked.status).toBe(429);
    expect(locked.body.detail.code).toBe('auth_rate_limited');
  });

  it('honours on B an API-key revocation made on A within the cache bound', async () => {
    const at = (await a.rest('POST', '/auth/login', ada)).body.access_token;
    const key = (await a.rest('POST', '/auth/api-key', { name: 'shared' }, { authorization: `Bearer ${at}` })).body;
    expect((await http(b.url, 'GET', '/auth/me', undefined, { 'x-api-key': key.api_key })).status).toBe(200);
    const revokedAt = Date.now();
    expect((await a.rest('DELETE', `/auth/api-key/${key.id}`, undefined, { authorization: `Bearer ${at}` })).status).toBe(204);
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 10 * CACHE_TTL_MS) {
      status = (await http(b.url, 'GET', '/auth/me', undefined, { 'x-api-key': key.api_key })).status;
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(CACHE_TTL_MS + 300);
  });
});

describe('TOTP replay across instances', () => {
  it('the same code raced on A and B is accepted once: the last step is a compare-and-set in the database', async () => {
    const email = `racer${Date.now()}@acme.test`;
    await a.seed({ tenants: [{ slug: 'acme', name: 'Acme Corp', google_domains: ['acme.test'], roles: [{ name: 'viewer', permissions: ['users:read'] }], users: [{ email, password: 'racer passphrase 1', roles: ['viewer'] }] }] });
    const who = { tenant: 'acme', email, password: 'racer passphrase 1' };
    const at = (await a.rest('POST', '/auth/login', who)).body.access_token;
    const secret = (await a.rest('POST', '/auth/mfa/totp/enroll', {}, { authorization: `Bearer ${at}` })).body.secret;
    const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) });
    expect((await a.rest('POST', '/auth/mfa/totp/activate', { code: totp.generate() }, { authorization: `Bearer ${at}` })).status).toBe(200);
    // Three sign-ins waiting for their second step (the account's limit is 3 verdicts).
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push((await (i % 2 ? http(b.url, 'POST', '/auth/login', who) : a.rest('POST', '/auth/login', who))).body.detail.mfa_token);
    const code = totp.generate({ timestamp: Date.now() + 30_000 });
    const results = await Promise.all(
      tokens.map((mfa_token, i) => (i % 2 ? http(b.url, 'POST', '/auth/mfa/verify', { mfa_token, code }) : a.rest('POST', '/auth/mfa/verify', { mfa_token, code }))),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect(r.body.detail.code).toBe('auth_mfa_code_invalid');
  });
});

describe('session revocation across instances', () => {
  it('an access token of a session ended on A stops working on B within SESSION_CACHE_TTL_MS (default 2 s, at most 5 s)', async () => {
    const s = (await a.rest('POST', '/auth/login', ada)).body;
    const me = () => http(b.url, 'GET', '/auth/me', undefined, { authorization: `Bearer ${s.access_token}` });
    expect((await me()).status).toBe(200); // B now holds the session's state in its cache
    const loggedOutAt = Date.now();
    expect((await a.rest('POST', '/auth/logout', { refresh_token: s.refresh_token })).status).toBe(204);
    let status = 200;
    while (status === 200 && Date.now() - loggedOutAt < 6000) {
      status = (await me()).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(401);
    expect(Date.now() - loggedOutAt).toBeLessThanOrEqual(2000 + 400);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM: readiness goes false, in-flight requests finish, new connections are refused, the pool closes, exit 0', async () => {
    const c = await spawnGateway(envOf(a, { SHUTDOWN_READY_DELAY_MS: '600', SHUTDOWN_TIMEOUT_MS: '10000', DB_STATEMENT_TIMEOUT_MS: '8000', DB_QUERY_TIMEOUT_MS: '9000' }));
    expect((await http(c.url, 'GET', '/readyz')).status).toBe(200);
    const pid = Number((await a.sql("select count(*)::int as n from pg_stat_activity where application_name = 'auth-gateway' and datname = current_database()"))[0].n);
    expect(pid).toBeGreaterThan(0);
    // Slow requests: logins held by a lock on the users table.
    const locker = new pg.Client({ connectionString: a.databaseUrl });
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table users in access exclusive mode');
    const slow = Array.from({ length: 3 }, () => http(c.url, 'POST', '/auth/login', ada));
    await new Promise((r) => setTimeout(r, 300));
    c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    expect((await http(c.url, 'GET', '/readyz')).status).toBe(503);
    await new Promise((r) => setTimeout(r, 800));
    await expect(http(c.url, 'GET', '/healthz')).rejects.toThrow();
    await locker.query('rollback');
    await locker.end();
    for (const res of await Promise.all(slow)) expect(res.status).toBe(200);
    const code = await c.exited;
    expect(code, c.output().split('\n').slice(-8).join('\n')).toBe(0);
    expect(c.output()).toContain('shut down cleanly');
  }, 60_000);
});
