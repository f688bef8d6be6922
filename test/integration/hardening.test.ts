// An attacker gains nothing the REST routes would not also refuse: shared brute-force limits, GraphQL abuse limits, strict input, security headers (equal timing: timing.test.ts).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, ADA, expectGqlError, expectRestError, LOGIN, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

// Long enough that a few requests on a loaded CI machine still fall in one window.
const WINDOW = 3;
const ACCOUNT = 3;
const ADDRESS = 6;
const LIMITS = {
  RATE_LIMIT_WINDOW_SECONDS: String(WINDOW),
  RATE_LIMIT_ACCOUNT_FAILURES: String(ACCOUNT),
  RATE_LIMIT_ADDRESS_FAILURES: String(ADDRESS),
  RATE_LIMIT_OPTIONS_PER_ADDRESS: '4',
  RATE_LIMIT_API_KEY_CREATES: '2',
};

let gw: TestGateway;
let twin: TestGateway; // a second instance on the same database
let open: TestGateway; // the same database, limits off: for the tests that are not about them

const DOC = structuredClone(ACME);
const UNICODE = 'pässwörd-密码-🔑-'.padEnd(80, 'é');
DOC.tenants[0].users!.push({ email: 'uni@acme.test', password: UNICODE, roles: ['viewer'] });

beforeAll(async () => {
  gw = await startTestGateway({ env: LIMITS });
  await gw.seed(DOC);
  twin = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { ...LIMITS, SECRET_KEY: gw.config.secretKey } });
  open = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { RATE_LIMIT_ENABLED: 'false', SECRET_KEY: gw.config.secretKey } });
});
afterAll(async () => {
  await open?.close();
  await twin?.close();
  await gw?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ada = ADA;
/** Each test uses its own client address (trusted X-Forwarded-For on a TRUST_PROXY gateway), or waits out the window. */
const waitWindow = () => sleep(WINDOW * 1000 + 200);

async function hashCount(g: TestGateway): Promise<number> {
  const text = String((await g.rest('GET', '/metrics')).body);
  return [...text.matchAll(/^auth_password_hash_duration_seconds_count\{kind="(?:verify|hash)"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('brute-force limits', () => {
  it('locks an account after its failures, refusing even the right password, with Retry-After, then unlocks', async () => {
    for (let i = 0; i < ACCOUNT; i++) expectRestError(await gw.rest('POST', '/auth/login', { ...ada, password: `wrong ${i}` }), 'login', 'auth_login_invalid_credentials', 401);
    const locked = await gw.rest('POST', '/auth/login', ada);
    expectRestError(locked, 'login', 'auth_rate_limited', 429);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW);
    const gql = await gw.gql(LOGIN, { input: ada });
    expectGqlError(gql, 'login', 'auth_rate_limited', 429);
    expect(gql.body.errors[0].extensions.retryAfter).toBeGreaterThanOrEqual(1);
    // The lock is temporary.
    await waitWindow();
    expect((await gw.rest('POST', '/auth/login', ada)).status).toBe(200);
  });

  it('counts unknown accounts exactly like known ones', async () => {
    const nobody = { ...ada, email: 'nobody@acme.test' };
    const answers: number[] = [];
    for (let i = 0; i <= ACCOUNT; i++) answers.push((await gw.rest('POST', '/auth/login', { ...nobody, password: `x${i}` })).status);
    expect(answers).toEqual([...Array(ACCOUNT).fill(401), 429]);
    await waitWindow();
  });

  it('limits a client address across accounts', async () => {
    const answers: number[] = [];
    for (let i = 0; i <= ADDRESS; i++) answers.push((await gw.rest('POST', '/auth/login', { ...ada, email: `user${i}@acme.test`, password: 'x' })).status);
    expect(answers).toEqual([...Array(ADDRESS).fill(401), 429]);
    await waitWindow();
  });

  it('shares its counts between instances on one database', async () => {
    for (let i = 0; i < ACCOUNT; i++) await gw.rest('POST', '/auth/login', { ...ada, password: `wrong ${i}` });
    expectRestError(await twin.rest('POST', '/auth/login', ada), 'login', 'auth_rate_limited', 429);
    await waitWindow();
    expect((await twin.rest('POST', '/auth/login', ada)).status).toBe(200);
  });

  it('limits refresh, passkey, Google and API-key attempts per address too', async () => {
    const attempts = async (call: () => Promise<HttpResult>, n: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) statuses.push((await call()).status);
      return statuses;
    };
    expect(await attempts(() => gw.rest('POST', '/auth/refresh', { refresh_token: 'C'.repeat(43) }), ADDRESS + 1)).toEqual([...Array(ADDRESS).fill(401), 429]);
    expect(await attempts(() => gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme' }), 5)).toEqual([200, 200, 200, 200, 429]);
    const at = (await gw.rest('POST', '/auth/login', ada)).body.access_token;
    expect(await attempts(() => gw.rest('POST', '/auth/api-key', { name: 'k' }, { authorization: `Bearer ${at}` }), 3)).toEqual([201, 201, 429]);
    const { generateApiKey } = await import('../../src/services/api-keys/format.js');
    const keyStatuses = await attempts(() => gw.rest('GET', '/auth/me', undefined, { 'x-api-key': generateApiKey() }), ADDRESS + 1);
    expect(keyStatuses).toEqual([...Array(ADDRESS).fill(401), 429]);
    await waitWindow();
  });

  it('counts refresh failures after the fact: a success writes no limit row; a spent address refuses a valid token through both doors without rotating it', async () => {
    const refreshRows = async () => (await gw.sql("select count(*)::int as n from rate_limits where key like 'refresh_address:%'"))[0].n;
    await gw.sql("delete from rate_limits where key like 'refresh_address:%'");
    const first = (await open.rest('POST', '/auth/login', ada)).body;
    const next = await gw.rest('POST', '/auth/refresh', { refresh_token: first.refresh_token });
    expect(next.status).toBe(200);
    expect(await refreshRows()).toBe(0);
    for (let i = 0; i < ADDRESS; i++) expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: `${'D'.repeat(42)}${i}` }), 'refresh', 'auth_refresh_invalid', 401);
    expect(await refreshRows()).toBe(1);
    const refused = await gw.rest('POST', '/auth/refresh', { refresh_token: next.body.refresh_token });
    expectRestError(refused, 'refresh', 'auth_rate_limited', 429);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(WINDOW);
    expectGqlError(await gw.gql('mutation($t: String!) { refresh(input: {refreshToken: $t}) { accessToken } }', { t: next.body.refresh_token }), 'refresh', 'auth_rate_limited', 429);
    // A malformed token is refused the same, not counted again.
    expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: 'short' }), 'refresh', 'auth_rate_limited', 429);
    expect((await gw.sql("select points from rate_limits where key like 'refresh_address:%'"))[0].points).toBe(ADDRESS);
    await waitWindow();
    // Never rotated while refused: the token still works, and is not a reuse.
    expect((await gw.rest('POST', '/auth/refresh', { refresh_token: next.body.refresh_token })).status).toBe(200);
  });

  it('trusts X-Forwarded-For only under TRUST_PROXY', async () => {
    // Without TRUST_PROXY, a forged header does not make a new client.
    for (let i = 0; i < ADDRESS; i++) await gw.rest('POST', '/auth/login', { ...ada, email: `x${i}@acme.test` }, { 'x-forwarded-for': `10.9.0.${i}` });
    expectRestError(await gw.rest('POST', '/auth/login', { ...ada, email: 'y@acme.test' }, { 'x-forwarded-for': '10.9.1.1' }), 'login', 'auth_rate_limited', 429);
    await waitWindow();
    const proxied = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { ...LIMITS, SECRET_KEY: gw.config.secretKey, TRUST_PROXY: '1' } });
    try {
      for (let i = 0; i < ADDRESS; i++) await proxied.rest('POST', '/auth/login', { ...ada, email: `p${i}@acme.test` }, { 'x-forwarded-for': '10.9.2.1' });
      expectRestError(await proxied.rest('POST', '/auth/login', { ...ada, email: 'q@acme.test' }, { 'x-forwarded-for': '10.9.2.1' }), 'login', 'auth_rate_limited', 429);
      expect((await proxied.rest('POST', '/auth/login', { ...ada, email: 'q@acme.test' }, { 'x-forwarded-for': '10.9.2.2' })).status).toBe(401);
    } finally {
      await proxied.close();
    }
    await waitWindow();
  });
});

async function redisReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(6379, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe.runIf(await redisReachable())('brute-force limits in Redis (REDIS_URL)', () => {
  it('locks and shares the lock between instances through Redis', async () => {
    const env = { ...LIMITS, SECRET_KEY: gw.config.secretKey, REDIS_URL: 'redis://127.0.0.1:6379', RATE_LIMIT_WINDOW_SECONDS: '2' };
    const a = await startTestGateway({ databaseUrl: gw.databaseUrl, env });
    const b = await startTestGateway({ databaseUrl: gw.databaseUrl, env });
    try {
      const rows = async () => (await gw.sql('select count(*)::int as n from rate_limits'))[0].n;
      const before = await rows();
      const who = { ...ada, email: `redis-${Date.now()}@acme.test` };
      for (let i = 0; i < ACCOUNT; i++) expect((await a.rest('POST', '/auth/login', { ...who, password: `w${i}` })).status).toBe(401);
      expectRestError(await b.rest('POST', '/auth/login', who), 'login', 'auth_rate_limited', 429);
      // Counted in Redis, not in PostgreSQL.
      expect(await rows()).toBe(before);
      // Refresh failures counted after the fact in Redis: the spent address refuses a valid token on the other instance.
      const session = (await open.rest('POST', '/auth/login', ada)).body;
      for (let i = 0; i < ADDRESS; i++) expect((await a.rest('POST', '/auth/refresh', { refresh_token: `${'E'.repeat(42)}${i}` })).status).toBe(401);
      expectRestError(await b.rest('POST', '/auth/refresh', { refresh_token: session.refresh_token }), 'refresh', 'auth_rate_limited', 429);
      expect(await rows()).toBe(before);
    } finally {
      await a.close();
      await b.close();
    }
    await waitWindow();
  });
});

describe('GraphQL abuse limits', () => {
  it('an aliased batch of 50 logins is refused before any password is hashed', async () => {
    const before = await hashCount(open);
    const doc = `mutation($i: LoginInput!) { ${Array.from({ length: 50 }, (_, i) => `a${i}: login(input: $i) { accessToken }`).join(' ')} }`;
    const res = await open.gql(doc, { i: { ...ada, password: 'guess' } });
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.errors.map((e: { message: string }) => e.message).join(' ')).toMatch(/at most one credential-checking field/);
    expect(res.body.data).toBeUndefined();
    expect(await hashCount(open)).toBe(before);
    // Even two are refused.
    const two = await open.gql('mutation { a: login(input: {tenant: "acme", email: "x", password: "y"}) { accessToken } b: refresh(input: {refreshToken: "z"}) { accessToken } }');
    expect(two.body.errors[0].message).toMatch(/at most one credential-checking field/);
    expect(await hashCount(open)).toBe(before);
  });

  it('limits aliases, depth and tokens without telling the thresholds', async () => {
    const aliases = await open.gql(`{ ${Array.from({ length: 40 }, (_, i) => `c${i}: errorCodes { code }`).join(' ')} }`);
    expect(aliases.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // The schema is shallow (depth 3 at most), so the depth limit shows on a gateway configured lower.
    const shallow = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { GRAPHQL_MAX_DEPTH: '2', RATE_LIMIT_ENABLED: 'false' } });
    let deep: HttpResult;
    try {
      deep = await shallow.gql('mutation($i: LoginInput!) { login(input: $i) { user { id } } }', { i: ada });
      expect(deep.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await shallow.gql('{ errorCodes { code } }')).body.errors).toBeUndefined();
    } finally {
      await shallow.close();
    }
    const tokens = await open.gql(`{ errorCodes { ${'code '.repeat(2000)} } }`);
    expect(tokens.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    for (const r of [aliases, deep, tokens]) expect(r.body.errors.map((e: { message: string }) => e.message).join(' ')).not.toMatch(/\d/);
  });

  it('refuses array batching', async () => {
    const res = await open.rest('POST', '/graphql', [{ query: '{ errorCodes { code } }' }, { query: '{ errorCodes { code } }' }]);
    expect(res.status).toBe(400);
  });

  it('limits the body size of /graphql with the same error envelope', async () => {
    const res = await open.rest('POST', '/graphql', { query: `{ errorCodes { code } } # ${'x'.repeat(open.config.bodyLimit)}` });
    expect(res.status).toBe(413);
    expect(res.body.errors[0].extensions.code).toBe('auth_request_invalid');
  });
});

describe('input', () => {
  it('passwords of 64+ characters and any Unicode work, however the client composed them', async () => {
    expect(UNICODE.length).toBeGreaterThan(64);
    const who = { tenant: 'acme', email: 'uni@acme.test' };
    expect((await open.rest('POST', '/auth/login', { ...who, password: UNICODE })).status).toBe(200);
    expect((await open.gql(LOGIN, { input: { ...who, password: UNICODE.normalize('NFD') } })).body.data.login.user.email).toBe('uni@acme.test');
  });

  it('an oversized password is refused before hashing, through both doors', async () => {
    const before = await hashCount(open);
    const huge = 'p'.repeat(open.config.maxPasswordLength + 1);
    expectRestError(await open.rest('POST', '/auth/login', { ...ada, password: huge }), 'login', 'auth_request_invalid', 422);
    expectGqlError(await open.gql(LOGIN, { input: { ...ada, password: huge } }), 'login', 'auth_request_invalid', 422);
    expect(await hashCount(open)).toBe(before);
  });

  it('type confusion is rejected, never coerced, on both doors', async () => {
    for (const password of [12345678, ['correct horse battery'], { $ne: null }, true]) {
      expectRestError(await open.rest('POST', '/auth/login', { ...ada, password }), 'login', 'auth_request_invalid', 422);
      const gql = await open.gql(LOGIN, { input: { ...ada, password } });
      expect(gql.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    expectRestError(await open.rest('POST', '/auth/refresh', { refresh_token: { token: 'x' } }), 'refresh', 'auth_request_invalid', 422);
  });

  it('ignores unknown fields and never lets them take effect', async () => {
    const res = await open.rest('POST', '/auth/login', { ...ada, tenant_id: 'globex', roles: ['admin'], permissions: ['*'], __proto__: { admin: true } });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ tenant: 'acme', permissions: ['api_keys:create', 'users:read'] });
    const proto = await open.rest('POST', '/auth/login', '{"tenant":"acme","email":"ada@acme.test","password":"correct horse battery","__proto__":{"x":1}}', { 'content-type': 'application/json' });
    expectRestError(proto, 'login', 'auth_request_invalid', 422);
  });
});

describe('security headers', () => {
  it('REST answers carry helmet\'s headers and a locked-down CSP', async () => {
    const res = await open.rest('GET', '/auth/error-codes');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('strict-transport-security')).toBeTruthy();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('leave the Sandbox page its own CSP', async () => {
    const page = await open.rest('GET', '/graphql', undefined, { accept: 'text/html' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBeNull();
    expect(String(page.body)).toContain('Content-Security-Policy');
  });
});
