// What operators count is true: aliases never become labels or change codes, bad text is a request error on both doors, and an operation's own database code wins over the caller check's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operations, type OperationName } from '../../src/api/operations.js';
import { ACME, ADA, bearer, expectGqlError, expectRestError, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const MAX_PASSWORD = 100;
beforeAll(async () => {
  gw = await startTestGateway({ proxy: true, env: { MAX_PASSWORD_LENGTH: String(MAX_PASSWORD) } });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());

const ada = ADA;
async function accessToken(): Promise<string> {
  const res = await gw.rest('POST', '/auth/login', ada);
  expect(res.status).toBe(200);
  return res.body.access_token;
}

describe('GraphQL aliases', () => {
  it('never reach a metric label or a log field: the field\'s name does, or one fixed label', async () => {
    const alias = `weirdAlias${Date.now()}`;
    const res = await gw.gql(`{ ${alias}: me { id } }`);
    expect(res.body.errors[0].path).toEqual([alias]);
    expect(res.body.errors[0].extensions.code).toBe('auth_unauthenticated');
    await gw.gql(`{ ${alias}x: __typename }`);
    const metrics = (await gw.rest('GET', '/metrics')).body as string;
    expect(metrics).not.toContain(alias);
    expect(metrics).toMatch(/auth_errors_total\{code="auth_unauthenticated",operation="me",transport="graphql"/);
    expect(gw.logs()).not.toContain(`"operation":"${alias}`);
  });

  it('an aliased field answers its field\'s codes: { x: login } with the database down is auth_login_db_error', async () => {
    gw.proxy!.refuse();
    try {
      const res = await gw.gql('mutation($i: LoginInput!) { x: login(input: $i) { accessToken } }', { i: ada });
      expect(res.body.errors[0].path).toEqual(['x']);
      expect(res.body.errors[0].extensions).toMatchObject({ code: 'auth_login_db_error', status: 503 });
    } finally {
      gw.proxy!.restore();
    }
  });
});

describe('text fields: one definition, the same answer through both doors', () => {
  type Case = [what: string, op: OperationName, rest: (at: string) => Promise<HttpResult>, gql: (at: string) => Promise<HttpResult>];
  const login = (i: Record<string, string>): Case[2] => () => gw.rest('POST', '/auth/login', { ...ada, ...i });
  const loginGql = (i: Record<string, string>): Case[3] => () => gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { ...ada, ...i } });
  const cases: Case[] = [
    ['a NUL in the e-mail (once a fake database outage)', 'login', login({ email: 'a\u0000b@x.test' }), loginGql({ email: 'a\u0000b@x.test' })],
    ['an empty tenant', 'login', login({ tenant: '' }), loginGql({ tenant: '' })],
    ['a tenant over its length', 'login', login({ tenant: 'a'.repeat(65) }), loginGql({ tenant: 'a'.repeat(65) })],
    ['a unit separator in the tenant', 'login', login({ tenant: 'ac\u001fme' }), loginGql({ tenant: 'ac\u001fme' })],
    ['a DEL in the password', 'login', login({ password: 'correct\u007fhorse' }), loginGql({ password: 'correct\u007fhorse' })],
    // SPEC §15: a lone surrogate is stored as U+FFFD, so two different passwords would hash alike.
    ['an unpaired UTF-16 surrogate in the password', 'login', login({ password: 'correct\ud800horse' }), loginGql({ password: 'correct\ud800horse' })],
    [
      'an unpaired UTF-16 surrogate in a sign-up password',
      'signUp',
      () => gw.rest('POST', '/auth/signup', { tenant: 'acme', email: 'new@acme.test', password: 'a decent \udfffpassphrase' }),
      () => gw.gql('mutation($i: SignUpInput!) { signUp(input: $i) }', { i: { tenant: 'acme', email: 'new@acme.test', password: 'a decent \udfffpassphrase' } }),
    ],
    [
      'an unpaired UTF-16 surrogate in a new password',
      'changePassword',
      (at) => gw.rest('POST', '/auth/password/change', { current_password: ada.password, new_password: 'new \ud83d passphrase' }, bearer(at)),
      (at) => gw.gql('mutation($i: ChangePasswordInput!) { changePassword(input: $i) }', { i: { currentPassword: ada.password, newPassword: 'new \ud83d passphrase' } }, bearer(at)),
    ],
    ['a password over MAX_PASSWORD_LENGTH', 'login', login({ password: 'p'.repeat(MAX_PASSWORD + 1) }), loginGql({ password: 'p'.repeat(MAX_PASSWORD + 1) })],
    [
      'a newline in a refresh token',
      'refresh',
      () => gw.rest('POST', '/auth/refresh', { refresh_token: 'abc\ndef' }),
      () => gw.gql('mutation { refresh(input: {refreshToken: "abc\\ndef"}) { accessToken } }'),
    ],
    [
      'a NUL in a Google ID token',
      'loginWithGoogle',
      () => gw.rest('POST', '/auth/login/google', { tenant: 'acme', id_token: 'a.b\u0000.c' }),
      () => gw.gql('mutation($i: GoogleLoginInput!) { loginWithGoogle(input: $i) { accessToken } }', { i: { tenant: 'acme', idToken: 'a.b\u0000.c' } }),
    ],
    [
      'a tab in the passkey login e-mail',
      'webauthnLoginOptions',
      () => gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme', email: 'ada@acme.test\t' }),
      () => gw.gql('mutation($i: WebauthnLoginOptionsInput!) { webauthnLoginOptions(input: $i) }', { i: { tenant: 'acme', email: 'ada@acme.test\t' } }),
    ],
    [
      'a passkey name over its length',
      'webauthnRegisterVerify',
      (at) => gw.rest('POST', '/auth/webauthn/register/verify', { response: { id: 'x' }, name: 'n'.repeat(101) }, bearer(at)),
      (at) => gw.gql('mutation($n: String) { webauthnRegisterVerify(response: {id: "x"}, name: $n) { id } }', { n: 'n'.repeat(101) }, bearer(at)),
    ],
    [
      'a control character in a passkey name',
      'webauthnRegisterVerify',
      (at) => gw.rest('POST', '/auth/webauthn/register/verify', { response: { id: 'x' }, name: 'my\u0007key' }, bearer(at)),
      (at) => gw.gql('mutation($n: String) { webauthnRegisterVerify(response: {id: "x"}, name: $n) { id } }', { n: 'my\u0007key' }, bearer(at)),
    ],
    [
      'a NUL in an API key name',
      'createApiKey',
      (at) => gw.rest('POST', '/auth/api-key', { name: 'ci\u0000' }, bearer(at)),
      (at) => gw.gql('mutation($n: String!) { createApiKey(input: {name: $n}) { id } }', { n: 'ci\u0000' }, bearer(at)),
    ],
    [
      'a control character in a scope',
      'createApiKey',
      (at) => gw.rest('POST', '/auth/api-key', { name: 'ci', scopes: ['users:read\u001b'] }, bearer(at)),
      (at) => gw.gql('mutation($s: [String!]) { createApiKey(input: {name: "ci", scopes: $s}) { id } }', { s: ['users:read\u001b'] }, bearer(at)),
    ],
    [
      'a control character in an id',
      'revokeApiKey',
      (at) => gw.rest('DELETE', '/auth/api-key/%01', undefined, bearer(at)),
      (at) => gw.gql('mutation($id: ID!) { revokeApiKey(id: $id) }', { id: '\u0001' }, bearer(at)),
    ],
  ];
  for (const [what, op, rest, gql] of cases) {
    it(`${what}: auth_request_invalid (422) on both doors`, async () => {
      const at = await accessToken();
      expectRestError(await rest(at), op, 'auth_request_invalid', 422);
      expectGqlError(await gql(at), op, 'auth_request_invalid', 422);
    });
  }

  it('a well-formed pair (an emoji) in a password is a character like any other', async () => {
    expectRestError(await gw.rest('POST', '/auth/login', { ...ada, password: 'correct \ud83d\ude00 horse' }), 'login', 'auth_login_invalid_credentials', 401);
  });

  it('nothing of the above was counted as a database failure', async () => {
    const metrics = (await gw.rest('GET', '/metrics')).body as string;
    expect(metrics).not.toMatch(/auth_errors_total\{code="auth_login_db_error"[^}]*transport="rest"/);
  });
});

describe('database failures and the caller check', () => {
  // Operations whose own database code must answer even when checking the access token fails.
  const own: Array<[OperationName, (at: string) => Promise<HttpResult>, (at: string) => Promise<HttpResult>]> = [
    ['createApiKey', (at) => gw.rest('POST', '/auth/api-key', { name: 'x' }, bearer(at)), (at) => gw.gql('mutation { createApiKey(input: {name: "x"}) { id } }', undefined, bearer(at))],
    ['apiKeys', (at) => gw.rest('GET', '/auth/api-keys', undefined, bearer(at)), (at) => gw.gql('{ apiKeys { id } }', undefined, bearer(at))],
    ['passkeys', (at) => gw.rest('GET', '/auth/webauthn/credentials', undefined, bearer(at)), (at) => gw.gql('{ passkeys { id } }', undefined, bearer(at))],
  ];
  for (const [op, rest, gql] of own) {
    it(`${op} answers its own ${operations[op].dbError} when the database is down, the caller check included`, async () => {
      const at = await accessToken();
      gw.proxy!.refuse();
      try {
        expectRestError(await rest(at), op, operations[op].dbError, 503);
        expectGqlError(await gql(at), op, operations[op].dbError, 503);
      } finally {
        gw.proxy!.restore();
      }
    });
  }

  it('an operation without a code of its own (me) answers its caller check\'s store\'s', async () => {
    const at = await accessToken();
    gw.proxy!.refuse();
    try {
      expectRestError(await gw.rest('GET', '/auth/me', undefined, bearer(at)), 'me', 'auth_session_db_error', 503);
    } finally {
      gw.proxy!.restore();
    }
  });
});
