// Refusals say what to fix, never what was sent (SPEC §16): auth_request_invalid names each
// input and the rule it broke (`fields`), auth_password_weak the checks that failed (`rules`),
// auth_forbidden for a missing permission the permissions lacking (`missing`), through both
// doors, in OpenAPI, and on the request's log line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME, bearer, expectGqlError, expectRestError, requestJson, signIn, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
const APP = 'https://app.refusals.example';

beforeAll(async () => {
  gw = await startTestGateway({ env: { BODY_LIMIT: '4096' } });
  const doc = structuredClone(ACME);
  doc.tenants.push({
    slug: 'open',
    name: 'Open',
    signup: 'open',
    app_url: APP,
    roles: [{ name: 'member', permissions: [] }],
    users: [{ email: 'mel@open.test', password: 'mel chose a passphrase 1', roles: ['member'] }],
  });
  await gw.seed(doc);
});
afterAll(() => gw?.close());

const raw = (route: string, body: string, contentType?: string) => requestJson(`${gw.url}${route}`, 'POST', body, contentType ? { 'content-type': contentType } : {});
const fieldsOf = (res: HttpResult) => res.body.detail?.fields ?? res.body.errors?.[0]?.extensions?.fields;

describe('auth_request_invalid names the input and the rule', () => {
  it('REST: the body as a whole: no or another content type, malformed JSON (a trailing comma), too large', async () => {
    const login = JSON.stringify({ tenant: 'acme', email: 'ada@acme.test', password: 'x' });
    for (const [res, rule, status] of [
      [await raw('/auth/login', login), 'unknown_content_type', 422],
      [await raw('/auth/login', login, 'text/plain'), 'unknown_content_type', 422],
      [await raw('/auth/login', '{"tenant": "acme", "email": "ada@acme.test", "password": "x",}', 'application/json'), 'malformed_json', 422],
      [await raw('/auth/signup', JSON.stringify({ tenant: 'open', email: 'a@open.test', password: 'x'.repeat(5000) }), 'application/json'), 'too_large', 413],
    ] as const) {
      expectRestError(res, res.status === 413 ? 'signUp' : 'login', 'auth_request_invalid', status);
      expect(fieldsOf(res)).toEqual([{ field: 'body', rule }]);
    }
  });

  it('REST: each field by its name: missing (`mail` instead of `email`), of the wrong type, too long, too short, with control characters, a bad address', async () => {
    const cases: Array<[string, object, Array<{ field: string; rule: string }>]> = [
      // The password grant's form names the address `username`: either will do, and both are named.
      ['/auth/login', { tenant: 'acme', mail: 'ada@acme.test', password: 'correct horse battery' }, [{ field: 'email', rule: 'required' }, { field: 'username', rule: 'required' }]],
      ['/auth/login', { tenant: 5, email: 'ada@acme.test', password: 'x' }, [{ field: 'tenant', rule: 'type' }]],
      ['/auth/login', { tenant: 't'.repeat(65), email: 'ada@acme.test', password: 'x' }, [{ field: 'tenant', rule: 'too_long' }]],
      ['/auth/login', { tenant: '', email: 'ada@acme.test', password: 'x' }, [{ field: 'tenant', rule: 'too_short' }]],
      ['/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'pass\u0007word' }, [{ field: 'password', rule: 'control_characters' }]],
      ['/auth/signup', { tenant: 'open', email: 'not an address', password: 'a long enough passphrase 9' }, [{ field: 'email', rule: 'format' }]],
    ];
    for (const [route, body, fields] of cases) {
      const res = await gw.rest('POST', route, body);
      expectRestError(res, route === '/auth/login' ? 'login' : 'signUp', 'auth_request_invalid', 422);
      expect(fieldsOf(res), JSON.stringify(body)).toEqual(fields);
    }
  });

  it('REST: a credential in the query string, by its parameter name', async () => {
    const res = await requestJson(`${gw.url}/auth/me?access_token=abc.def.ghi`, 'GET');
    expectRestError(res, 'me', 'auth_request_invalid', 422);
    expect(fieldsOf(res)).toEqual([{ field: 'access_token', rule: 'credential_in_query' }]);
  });

  it('GraphQL: the same inputs by their path in the arguments, from the schema\'s rules and from the services', async () => {
    const login = (input: object) => gw.gql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: input });
    let res = await login({ tenant: 'acme', email: 'ada@acme.test', password: 'pass\u0007word' });
    expectGqlError(res, 'login', 'auth_request_invalid', 422);
    expect(fieldsOf(res)).toEqual([{ field: 'input.password', rule: 'control_characters' }]);

    res = await gw.gql('mutation($i: SignUpInput!) { signUp(input: $i) }', { i: { tenant: 'open', email: 'not an address', password: 'a long enough passphrase 9' } });
    expectGqlError(res, 'signUp', 'auth_request_invalid', 422);
    expect(fieldsOf(res)).toEqual([{ field: 'input.email', rule: 'format' }]);

    const { access_token } = await signIn(gw);
    res = await gw.gql('query { users(first: 0) { edges { cursor } } }', {}, bearer(access_token));
    expectGqlError(res, 'users', 'auth_request_invalid', 422);
    expect(fieldsOf(res)).toEqual([{ field: 'first', rule: 'too_short' }]);
    res = await gw.gql('query($a: String) { users(after: $a) { edges { cursor } } }', { a: 'not-a-cursor' }, bearer(access_token));
    expectGqlError(res, 'users', 'auth_request_invalid', 422);
    expect(fieldsOf(res)).toEqual([{ field: 'after', rule: 'format' }]);
  });

  it('GraphQL document errors never echo a variable or a literal: only names, types and paths', async () => {
    const secret = 'Secret-Passphrase-do-not-echo 7';
    const cases: Array<[string, Record<string, unknown>]> = [
      ['mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { tenant: 'acme', email: 'ada@acme.test', password: secret, otp: 'x' } }],
      ['mutation($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { tenant: 'acme', email: 'ada@acme.test', password: [secret] } }],
      ['mutation($i: ResetPasswordInput!) { resetPassword(input: $i) }', { i: { token: secret, password: secret, extra: secret } }],
      ['mutation($i: RefreshInput!) { refresh(input: $i) { accessToken } }', { i: secret }],
      [`mutation { login(input: {tenant: "acme", email: "ada@acme.test", password: 5${secret.length}}) { accessToken } }`, {}],
      // An enum literal, and a string the lexer cannot read (a bad escape in a password).
      [`query { invitations(status: do_not_echo_${secret.length}) { edges { cursor } } }`, {}],
      [`mutation { login(input: {tenant: "acme", email: "ada@acme.test", password: "\\udo-not-echo"}) { accessToken } }`, {}],
      [`mutation { login(input: {tenant: "acme", email: "ada@acme.test" password: "do-not-echo" x}) { accessToken } }`, {}],
    ];
    for (const [query, variables] of cases) {
      const res = await gw.gql(query, variables);
      const text = JSON.stringify(res.body);
      expect(res.body.errors?.length, text).toBeGreaterThan(0);
      expect(text).not.toContain('do-not-echo');
      expect(text).not.toContain('do_not_echo');
      expect(text).not.toContain('udo');
      expect(text).not.toContain(`5${secret.length}`);
    }
    const unknownField = await gw.gql(cases[0][0], cases[0][1]);
    expect(unknownField.body.errors[0].message).toBe('Variable "$i" got an invalid value: Field "otp" is not defined by type "LoginInput".');
  });

  it('REST: any other content type is unknown_content_type, whatever its family', async () => {
    for (const type of ['text/whatever', 'application/xml', 'application/json-seq']) {
      const res = await raw('/auth/login', JSON.stringify({ tenant: 'acme', email: 'ada@acme.test', password: 'x' }), type);
      expectRestError(res, 'login', 'auth_request_invalid', 422);
      expect(fieldsOf(res), type).toEqual([{ field: 'body', rule: 'unknown_content_type' }]);
    }
  });

  it('the log line carries the same fields and rules, never the value sent', async () => {
    const secret = 'pass\u0007word-never-logged';
    await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: secret });
    const line = gw
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .reverse()
      .find((l) => l.code === 'auth_request_invalid' && l.operation === 'login');
    expect(line.fields).toEqual([{ field: 'password', rule: 'control_characters' }]);
    expect(gw.logs()).not.toContain('never-logged');
  });
});

describe('auth_password_weak names the checks that failed', () => {
  it('through both doors: too short, common, the address, the current password', async () => {
    const signUpRest = (email: string, password: string) => gw.rest('POST', '/auth/signup', { tenant: 'open', email, password });
    const signUpGql = (email: string, password: string) => gw.gql('mutation($i: SignUpInput!) { signUp(input: $i) }', { i: { tenant: 'open', email, password } });
    for (const [password, rules] of [
      ['Zq9#x', ['too_short']],
      ['password123', ['common']],
      ['newcomer@open.test', ['contains_email']],
    ] as const) {
      const rest = await signUpRest('newcomer@open.test', password);
      expectRestError(rest, 'signUp', 'auth_password_weak', 422);
      expect(rest.body.detail.rules).toEqual(rules);
      const gql = await signUpGql('newcomer@open.test', password);
      expectGqlError(gql, 'signUp', 'auth_password_weak', 422);
      expect(gql.body.errors[0].extensions.rules).toEqual(rules);
    }
    const mel = await signIn(gw, { tenant: 'open', email: 'mel@open.test', password: 'mel chose a passphrase 1' });
    const same = await gw.rest('POST', '/auth/password/change', { current_password: 'mel chose a passphrase 1', new_password: 'mel chose a passphrase 1' }, bearer(mel.access_token));
    expectRestError(same, 'changePassword', 'auth_password_weak', 422);
    expect(same.body.detail.rules).toEqual(['same_as_current']);
  });
});

describe('auth_forbidden names the missing permissions, and only those of the operation', () => {
  it('a GraphQL field behind a permission, and the REST key route behind api_keys:create', async () => {
    const mel = await signIn(gw, { tenant: 'open', email: 'mel@open.test', password: 'mel chose a passphrase 1' });
    const users = await gw.gql('query { users { edges { cursor } } }', {}, bearer(mel.access_token));
    expectGqlError(users, 'users', 'auth_forbidden', 403);
    expect(users.body.errors[0].extensions.missing).toEqual(['users:read']);
    const audit = await gw.gql('query { auditEvents { edges { cursor } } }', {}, bearer(mel.access_token));
    expect(audit.body.errors[0].extensions.missing).toEqual(['audit:read']);
    const key = await gw.rest('POST', '/auth/api-key', { name: 'k' }, bearer(mel.access_token));
    expectRestError(key, 'createApiKey', 'auth_forbidden', 403);
    expect(key.body.detail.missing).toEqual(['api_keys:create']);
  });

  it('a refusal for another reason says nothing more: an API key where a session is required', async () => {
    const { access_token } = await signIn(gw);
    const key = (await gw.rest('POST', '/auth/api-key', { name: 'k2' }, bearer(access_token))).body.api_key;
    const res = await gw.rest('POST', '/auth/logout/all', undefined, { 'x-api-key': key });
    expectRestError(res, 'logoutAll', 'auth_forbidden', 403);
    expect(res.body.detail).not.toHaveProperty('missing');
  });
});

describe('OpenAPI', () => {
  it('documents fields, rules and missing on the refusals that carry them', async () => {
    const doc = (await gw.rest('GET', '/openapi.json')).body;
    const detail = (route: string, status: string) => doc.paths[route].post.responses[status].content['application/json'].schema.properties.detail.properties;
    expect(detail('/auth/login', '422').fields.items.properties.rule.enum).toContain('malformed_json');
    expect(detail('/auth/signup', '422').rules.items.enum).toEqual(['too_short', 'too_long', 'common', 'contains_email', 'breached', 'same_as_current']);
    expect(detail('/auth/api-key', '403').missing.type).toBe('array');
  });
});
