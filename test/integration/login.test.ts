// Password login through both doors: tokens on success, and the same catalog code for each failure on REST and GraphQL.
import { createHmac } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, ADA, AUDIENCE, expectGqlError, expectRestError, ISSUER, LOGIN, OWASP_ENV, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  // Stored hashes and rehashing are this file's subject: production parameters.
  gw = await startTestGateway({ env: OWASP_ENV });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());

const ada = ADA;

describe('successful login', () => {
  it('answers the token response over REST, with roles and permissions from the tenant', async () => {
    const res = await gw.rest('POST', '/auth/login', ada);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      token_type: 'bearer',
      expires_in: gw.config.accessTokenTtl,
      refresh_expires_in: gw.config.refreshTokenTtl,
      user: { email: 'ada@acme.test', tenant: 'acme', roles: ['admin'], permissions: ['api_keys:create', 'users:read'] },
    });
    const header = decodeProtectedHeader(res.body.access_token);
    expect(header).toEqual({ alg: 'EdDSA', kid: gw.signingKey.kid, typ: 'at+jwt' });
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: res.body.user.id, tenant: 'acme', roles: ['admin'] });
    expect(claims.exp! - claims.iat!).toBe(gw.config.accessTokenTtl);
    for (const c of ['jti', 'sid', 'tid']) expect(typeof claims[c]).toBe('string');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers the same payload through mutation login', async () => {
    const res = await gw.gql(LOGIN, { input: ada });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.login).toMatchObject({
      tokenType: 'bearer',
      user: { email: 'ada@acme.test', tenant: 'acme', roles: ['admin'], authMethod: 'password' },
    });
    expect(decodeProtectedHeader(res.body.data.login.accessToken).typ).toBe('at+jwt');
  });

  it('accepts the OAuth2 password grant as a form, ignoring grant_type, scope and client_id', async () => {
    const form = new URLSearchParams({ username: ada.email, password: ada.password, tenant: 'acme', grant_type: 'password', scope: 'x', client_id: 'y' });
    const res = await gw.rest('POST', '/auth/login', form.toString(), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(200);
    expect(res.body.user.email).toBe('ada@acme.test');
  });

  it('treats the e-mail case-insensitively and keeps tenants apart', async () => {
    const res = await gw.rest('POST', '/auth/login', { ...ada, email: 'ADA@Acme.Test' });
    expect(res.status).toBe(200);
    const globex = await gw.rest('POST', '/auth/login', { tenant: 'globex', email: ada.email, password: 'another password' });
    expect(globex.status).toBe(200);
    expect(globex.body.user.id).not.toBe(res.body.user.id);
    expect(decodeJwt(globex.body.access_token).tid).not.toBe(decodeJwt(res.body.access_token).tid);
  });

  it('stores the refresh token only as a keyed hash, in a session of the user', async () => {
    const res = await gw.rest('POST', '/auth/login', ada);
    const { sid } = decodeJwt(res.body.access_token) as { sid: string };
    const rows = await gw.sql('select t.token_hash, s.user_id, s.auth_method from refresh_tokens t join sessions s on s.id = t.session_id where s.id = $1', [sid]);
    expect(rows).toHaveLength(1);
    expect(rows[0].user_id).toBe(res.body.user.id);
    expect(rows[0].auth_method).toBe('password');
    expect(JSON.stringify(rows)).not.toContain(res.body.refresh_token);
    expect(rows[0].token_hash).toBe(createHmac('sha256', gw.config.secretKey).update(res.body.refresh_token).digest('base64url'));
  });

  it('ignores unknown fields', async () => {
    const res = await gw.rest('POST', '/auth/login', { ...ada, roles: ['superuser'], is_admin: true });
    expect(res.status).toBe(200);
    expect(res.body.user.roles).toEqual(['admin']);
  });
});

describe('login failures give the same code through both doors', () => {
  const cases = [
    { what: 'unknown tenant', input: { ...ada, tenant: 'nope' }, code: 'auth_login_invalid_credentials', status: 401 },
    { what: 'unknown user', input: { ...ada, email: 'nobody@acme.test' }, code: 'auth_login_invalid_credentials', status: 401 },
    { what: 'wrong password', input: { ...ada, password: 'wrong horse' }, code: 'auth_login_invalid_credentials', status: 401 },
    { what: 'user of another tenant', input: { ...ada, tenant: 'globex' }, code: 'auth_login_invalid_credentials', status: 401 },
    {
      what: 'disabled account with the right password',
      input: { tenant: 'acme', email: 'bob@acme.test', password: 'hunter2 hunter2' },
      code: 'auth_login_account_disabled',
      status: 403,
    },
    {
      what: 'disabled account with a wrong password (disabled is never said before the password is right)',
      input: { tenant: 'acme', email: 'bob@acme.test', password: 'wrong' },
      code: 'auth_login_invalid_credentials',
      status: 401,
    },
  ] as const;

  for (const c of cases) {
    it(c.what, async () => {
      const rest = await gw.rest('POST', '/auth/login', c.input);
      expectRestError(rest, 'login', c.code, c.status);
      const gql = await gw.gql(LOGIN, { input: c.input });
      expectGqlError(gql, 'login', c.code, c.status);
      expect(gql.body.data).toBeNull();
      expect(rest.body.detail.message).toBe(gql.body.errors[0].message);
    });
  }

  it('answers unknown users and wrong passwords with byte-identical bodies', async () => {
    const unknown = await gw.rest('POST', '/auth/login', { ...ada, email: 'nobody@acme.test' });
    const wrong = await gw.rest('POST', '/auth/login', { ...ada, password: 'nope nope' });
    expect(JSON.stringify(unknown.body)).toBe(JSON.stringify(wrong.body));
  });
});

describe('invalid requests', () => {
  it('refuses malformed JSON with auth_request_invalid (422)', async () => {
    const res = await gw.rest('POST', '/auth/login', '{"tenant": ', { 'content-type': 'application/json' });
    expectRestError(res, 'login', 'auth_request_invalid', 422);
  });

  it('refuses a missing field and a field of the wrong type, never coercing', async () => {
    expectRestError(await gw.rest('POST', '/auth/login', { tenant: 'acme', email: ada.email }), 'login', 'auth_request_invalid', 422);
    expectRestError(await gw.rest('POST', '/auth/login', { ...ada, password: 12345678 }), 'login', 'auth_request_invalid', 422);
    expectRestError(await gw.rest('POST', '/auth/login', { ...ada, tenant: ['acme'] }), 'login', 'auth_request_invalid', 422);
  });

  it('refuses other content types', async () => {
    const res = await gw.rest('POST', '/auth/login', JSON.stringify(ada), { 'content-type': 'text/plain' });
    expectRestError(res, 'login', 'auth_request_invalid', 422);
  });

  it('answers 413 with the same body shape for a body over the limit', async () => {
    const res = await gw.rest('POST', '/auth/login', { ...ada, filler: 'x'.repeat(gw.config.bodyLimit + 1) });
    expectRestError(res, 'login', 'auth_request_invalid', 413);
  });

  it('refuses credentials in the query string without looking them up', async () => {
    const res = await gw.rest('POST', '/auth/login?password=correct%20horse%20battery', ada);
    expectRestError(res, 'login', 'auth_request_invalid', 422);
  });

  it('keeps GraphQL document errors on Apollo\'s codes, without field suggestions leaking input', async () => {
    const res = await gw.gql('mutation { login(input: {tenant: "acme"}) { accessToken } }');
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const parse = await gw.gql('mutation { login(');
    expect(parse.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
  });
});

describe('password hashing', () => {
  it('stores argon2id with at least the OWASP parameters', async () => {
    const [row] = await gw.sql("select password_hash from users where email = 'ada@acme.test' limit 1");
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('rehashes on login when the configured parameters change', async () => {
    const stronger = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { PASSWORD_HASH_MEMORY_KIB: '20480', PASSWORD_HASH_ITERATIONS: '3' } });
    try {
      const res = await stronger.rest('POST', '/auth/login', ada);
      expect(res.status).toBe(200);
      const [row] = await gw.sql("select u.password_hash from users u join tenants t on t.id = u.tenant_id where t.slug = 'acme' and u.email = 'ada@acme.test'");
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=20480,t=3,p=1\$/);
      // The new hash still proves the same password, on the old gateway too.
      expect((await gw.rest('POST', '/auth/login', ada)).status).toBe(200);
    } finally {
      await stronger.close();
    }
  });
});

describe('logs', () => {
  it('never contain the passwords or tokens this file used', async () => {
    const res = await gw.rest('POST', '/auth/login', ada);
    const logs = gw.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [ada.password, 'wrong horse', 'hunter2 hunter2', res.body.access_token, res.body.refresh_token]) {
      expect(logs).not.toContain(secret);
    }
  });
});
