// The security review's takeover and bypass paths stay closed: credential kinds, raced limits, Google linking, recent authentication, clone alarms, DB-read permissions, decoys, no-store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { operations, type OperationName } from '../../src/api/operations.js';
import { setUserPassword } from '../../src/services/operator/commands.js';
import { addressKey } from '../../src/services/rate-limits/limiter.js';
import { keyedHash } from '../../src/services/shared/secrets.js';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { ACME, bearer, expectGqlError, expectRestError, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let google: FakeGoogle;
const DOC = structuredClone(ACME);
DOC.tenants[0].roles!.push({ name: 'keymaster', permissions: ['api_keys:create', 'api_keys:manage', 'users:read'] });
DOC.tenants[0].users!.push(
  { email: 'kim@acme.test', password: 'kim password 123', roles: ['keymaster'] },
  { email: 'pat@acme.test', password: 'pat password 123', roles: ['admin'] },
  { email: 'gus@gmail.com', password: 'gus password 123', roles: ['viewer'] },
  { email: 'wes@acme.test', password: 'wes password 123', roles: ['viewer'] },
);
// A tenant that admits no Google domain: only links decide there.
DOC.tenants.push({
  slug: 'open',
  name: 'Open',
  roles: [{ name: 'member', permissions: ['api_keys:create'] }],
  users: [
    { email: 'vic@example.org', password: 'vic password 123', roles: ['member'] },
    { email: 'gil@gmail.com', password: 'gil password 123', roles: ['member'] },
    { email: 'hal@hosted.example', password: 'hal password 123', roles: ['member'] },
  ],
});

beforeAll(async () => {
  google = await FakeGoogle.start();
  gw = await startTestGateway({ proxy: true, env: { GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: google.url, API_KEY_CACHE_TTL_MS: '300' } });
  await gw.seed(DOC);
});
afterAll(async () => {
  await gw?.close();
  await google?.close();
});

type Session = { access_token: string; refresh_token: string };
async function signIn(tenant: string, email: string, password: string): Promise<Session> {
  const res = await gw.rest('POST', '/auth/login', { tenant, email, password });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}
const ada = () => signIn('acme', 'ada@acme.test', 'correct horse battery');
async function apiKey(s: Session, scopes?: string[]): Promise<string> {
  const res = await gw.rest('POST', '/auth/api-key', { name: 'k', ...(scopes ? { scopes } : {}) }, bearer(s.access_token));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.api_key;
}
/** The session's proof of a credential moved into the past; the next refresh carries it. */
async function staleAccessToken(s: Session, secondsAgo = 3600): Promise<string> {
  await gw.sql('update sessions set auth_time = now() - make_interval(secs => $1) where id = (select session_id from refresh_tokens where token_hash = $2)', [
    secondsAgo,
    keyedHash(gw.config.secretKey, s.refresh_token),
  ]);
  const res = await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token });
  expect(res.status).toBe(200);
  return res.body.access_token;
}

describe('1. credential kinds: an API key never authenticates what changes how the account signs in', () => {
  // Each session-only operation of the catalog, called through both doors with `headers`.
  const calls: Record<string, (h: Record<string, string>) => [rest: (() => Promise<HttpResult>) | null, gql: () => Promise<HttpResult>]> = {
    sessions: (h) => [() => gw.rest('GET', '/auth/sessions', undefined, h), () => gw.gql('{ sessions { id } }', undefined, h)],
    revokeSession: (h) => [
      () => gw.rest('DELETE', '/auth/sessions/0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11', undefined, h),
      () => gw.gql('mutation { revokeSession(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h),
    ],
    identities: (h) => [null, () => gw.gql('{ identities { password } }', undefined, h)],
    setUserRoles: (h) => [null, () => gw.gql('mutation { setUserRoles(userId: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11", roles: []) { id } }', undefined, h)],
    disableUser: (h) => [null, () => gw.gql('mutation { disableUser(userId: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") { id } }', undefined, h)],
    enableUser: (h) => [null, () => gw.gql('mutation { enableUser(userId: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") { id } }', undefined, h)],
    revokeUserSessions: (h) => [null, () => gw.gql('mutation { revokeUserSessions(userId: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h)],
    resetUserMfa: (h) => [null, () => gw.gql('mutation { resetUserMfa(userId: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") { id } }', undefined, h)],
    inviteUser: (h) => [null, () => gw.gql('mutation { inviteUser(input: {email: "new@acme.test", roles: []}) { id } }', undefined, h)],
    invitations: (h) => [null, () => gw.gql('{ invitations { edges { node { id } } } }', undefined, h)],
    revokeInvitation: (h) => [null, () => gw.gql('mutation { revokeInvitation(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h)],
    unlinkGoogle: (h) => [null, () => gw.gql('mutation { unlinkGoogle(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h)],
    logoutAll: (h) => [() => gw.rest('POST', '/auth/logout/all', undefined, h), () => gw.gql('mutation { logoutAll }', undefined, h)],
    webauthnRegisterOptions: (h) => [() => gw.rest('POST', '/auth/webauthn/register/options', {}, h), () => gw.gql('mutation { webauthnRegisterOptions }', undefined, h)],
    webauthnRegisterVerify: (h) => [
      () => gw.rest('POST', '/auth/webauthn/register/verify', { response: { id: 'x' } }, h),
      () => gw.gql('mutation($r: JSONObject!) { webauthnRegisterVerify(response: $r) { id } }', { r: { id: 'x' } }, h),
    ],
    passkeys: (h) => [() => gw.rest('GET', '/auth/webauthn/credentials', undefined, h), () => gw.gql('{ passkeys { id } }', undefined, h)],
    deletePasskey: (h) => [
      () => gw.rest('DELETE', '/auth/webauthn/credentials/0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11', undefined, h),
      () => gw.gql('mutation { deletePasskey(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h),
    ],
    linkGoogle: (h) => [
      () => gw.rest('POST', '/auth/login/google/link', { id_token: 'x.y.z' }, h),
      () => gw.gql('mutation { linkGoogle(input: {idToken: "x.y.z"}) { id } }', undefined, h),
    ],
    createApiKey: (h) => [() => gw.rest('POST', '/auth/api-key', { name: 'bred' }, h), () => gw.gql('mutation { createApiKey(input: {name: "bred"}) { id } }', undefined, h)],
    revokeApiKeys: (h) => [
      () => gw.rest('POST', '/auth/api-keys/revoke', { ids: ['0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11'] }, h),
      () => gw.gql('mutation { revokeApiKeys(ids: ["0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11"]) }', undefined, h),
    ],
    mfaTotpEnroll: (h) => [() => gw.rest('POST', '/auth/mfa/totp/enroll', {}, h), () => gw.gql('mutation { mfaTotpEnroll { secret } }', undefined, h)],
    mfaTotpActivate: (h) => [
      () => gw.rest('POST', '/auth/mfa/totp/activate', { code: '123456' }, h),
      () => gw.gql('mutation { mfaTotpActivate(code: "123456") { recoveryCodes } }', undefined, h),
    ],
    mfaRecoveryCodes: (h) => [() => gw.rest('POST', '/auth/mfa/recovery-codes', {}, h), () => gw.gql('mutation { mfaRecoveryCodes { recoveryCodes } }', undefined, h)],
    mfaTotpDisable: (h) => [() => gw.rest('DELETE', '/auth/mfa/totp', { code: '123456' }, h), () => gw.gql('mutation { mfaTotpDisable(code: "123456") }', undefined, h)],
    changePassword: (h) => [
      () => gw.rest('POST', '/auth/password/change', { current_password: 'correct horse battery', new_password: 'taken over passphrase 1' }, h),
      () => gw.gql('mutation { changePassword(input: {currentPassword: "correct horse battery", newPassword: "taken over passphrase 1"}) }', undefined, h),
    ],
  };
  const sessionOnly = (Object.keys(operations) as OperationName[]).filter((k) => operations[k].caller === 'session');

  it('the table covers every operation the catalog marks session-only', () => {
    expect(Object.keys(calls).sort()).toEqual([...sessionOnly].sort());
  });

  for (const op of sessionOnly) {
    it(`${op}: auth_forbidden to an API key, as Bearer or X-API-Key, through both doors`, async () => {
      const key = await apiKey(await ada(), ['users:read']);
      for (const headers of [bearer(key), { 'x-api-key': key }]) {
        const [rest, gql] = calls[op](headers);
        if (rest) expectRestError(await rest(), op, 'auth_forbidden', 403);
        expectGqlError(await gql(), op, 'auth_forbidden', 403);
      }
    });
  }

  it('the reported takeover fails: a scoped key gets no registration challenge and leaves no passkey', async () => {
    const key = await apiKey(await ada(), ['users:read']);
    const before = await gw.sql('select count(*)::int as n from webauthn_challenges');
    expect((await gw.rest('POST', '/auth/webauthn/register/options', {}, { 'x-api-key': key })).status).toBe(403);
    expect(await gw.sql('select count(*)::int as n from webauthn_challenges')).toEqual(before);
    // The key still does what it is for.
    expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key })).status).toBe(200);
  });
});

describe('2. brute-force limits are taken before the password is checked', () => {
  const racing = (env: Record<string, string>) => async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_ACCOUNT_FAILURES: '10', RATE_LIMIT_ADDRESS_FAILURES: '1000', ...env } });
    try {
      await limited.seed(ACME);
      const wrong = { tenant: 'acme', email: 'ada@acme.test', password: 'wrong password' };
      const query = 'mutation($i: LoginInput!) { login(input: $i) { accessToken } }';
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          i % 2 ? limited.rest('POST', '/auth/login', wrong).then((r) => r.headers.get('x-error-code')) : limited.gql(query, { i: wrong }).then((r) => r.body.errors?.[0]?.extensions?.code),
        ),
      );
      const verdicts = answers.filter((c) => c === 'auth_login_invalid_credentials').length;
      expect(verdicts).toBeLessThanOrEqual(10);
      expect(verdicts).toBeGreaterThan(0);
      expect(answers.filter((c) => c === 'auth_rate_limited')).toHaveLength(60 - verdicts);
      // Spent: even the right password is refused until the window passes.
      expect((await limited.rest('POST', '/auth/login', { ...wrong, password: 'correct horse battery' })).status).toBe(429);
    } finally {
      await limited.close();
    }
  };
  it('60 concurrent wrong passwords for one account, through both doors: at most 10 verdicts (PostgreSQL)', racing({}));
  it('the same in Redis', racing({ REDIS_URL: 'redis://127.0.0.1:6379' }));

  const burst = (env: Record<string, string>) => async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_ACCOUNT_FAILURES: '1000', RATE_LIMIT_ADDRESS_FAILURES: '3', ...env } });
    try {
      await limited.seed(ACME);
      const right = { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' };
      const statuses = await Promise.all(Array.from({ length: 30 }, () => limited.rest('POST', '/auth/login', right).then((r) => r.status)));
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s !== 429 && s !== 200)).toEqual([]);
      // Successes gave their points back, and the refused attempts kept none: the address is not spent.
      expect((await limited.rest('POST', '/auth/login', right)).status).toBe(200);
    } finally {
      await limited.close();
    }
  };
  it('a refused attempt keeps no point: after a burst of right passwords over the address limit, the next one succeeds (PostgreSQL)', burst({}));
  it('the same in Redis', burst({ REDIS_URL: 'redis://127.0.0.1:6379' }));

  it('a success gives its point back: more successful logins than the address limit all succeed', async () => {
    const limited = await startTestGateway({ env: { RATE_LIMIT_ACCOUNT_FAILURES: '3', RATE_LIMIT_ADDRESS_FAILURES: '3' } });
    try {
      await limited.seed(ACME);
      for (let i = 0; i < 6; i++) {
        expect((await limited.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' })).status).toBe(200);
      }
    } finally {
      await limited.close();
    }
  });

  it('counts IPv6 clients by /64, IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'));
    expect(addressKey('2001:0db8:0001:0002:0:0:0:1')).toBe(addressKey('2001:db8:1:2::9'));
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::1')).toBe(addressKey('::2'));
  });
});

describe('3. Google links by e-mail only where Google owns the address', () => {
  const googleLogin = (tenant: string, idToken: string) => gw.rest('POST', '/auth/login/google', { tenant, id_token: idToken });
  const googleLoginGql = (tenant: string, idToken: string) =>
    gw.gql('mutation($i: GoogleLoginInput!) { loginWithGoogle(input: $i) { accessToken user { email } } }', { i: { tenant, idToken } });
  const identities = (email: string) =>
    gw.sql('select count(*)::int as n from external_identities e join users u on u.id = e.user_id where u.email = $1', [email]);

  it('a consumer Google account claiming a password user\'s address: auth_google_link_required, nothing linked', async () => {
    const token = await google.idToken({ email: 'vic@example.org', hd: undefined });
    expectRestError(await googleLogin('open', token), 'loginWithGoogle', 'auth_google_link_required', 403);
    expectGqlError(await googleLoginGql('open', token), 'loginWithGoogle', 'auth_google_link_required', 403);
    // A Workspace account of another domain does not own the address either.
    expectRestError(await googleLogin('open', await google.idToken({ email: 'vic@example.org', hd: 'elsewhere.example' })), 'loginWithGoogle', 'auth_google_link_required', 403);
    expect(await identities('vic@example.org')).toEqual([{ n: 0 }]);
  });

  it('an @gmail.com address, or a Workspace account of the address\'s own domain, links by e-mail', async () => {
    expect((await googleLogin('open', await google.idToken({ email: 'gil@gmail.com', hd: undefined }))).status).toBe(200);
    expect((await googleLoginGql('open', await google.idToken({ email: 'hal@hosted.example', hd: 'hosted.example' }))).body.data.loginWithGoogle.user.email).toBe('hal@hosted.example');
    expect(await identities('gil@gmail.com')).toEqual([{ n: 1 }]);
  });

  it('links explicitly from a recent session (201), after which that account signs in; linking again is a no-op', async () => {
    const vic = await signIn('open', 'vic@example.org', 'vic password 123');
    const sub = `9${Date.now()}`;
    const token = await google.idToken({ sub, email: 'vic.personal@example.net', hd: undefined });
    const res = await gw.rest('POST', '/auth/login/google/link', { id_token: token }, bearer(vic.access_token));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ provider: 'google', subject: sub, email: 'vic.personal@example.net' });
    expect(Object.keys(res.body).sort()).toEqual(['created_at', 'email', 'id', 'provider', 'subject']);
    const again = await gw.gql('mutation($t: String!) { linkGoogle(input: {idToken: $t}) { id subject } }', { t: token }, bearer(vic.access_token));
    expect(again.body.data.linkGoogle).toEqual({ id: res.body.id, subject: sub });
    const signedIn = await googleLogin('open', await google.idToken({ sub, email: 'vic.personal@example.net', hd: undefined }));
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.email).toBe('vic@example.org');
    const [event] = await gw.sql("select details from audit_events where type = 'google_linked' and details->>'identityId' = $1", [res.body.id]);
    expect(event.details.how).toBe('explicit');
  });

  it('a Google account linked to another user: auth_google_link_conflict (409) through both doors', async () => {
    const gil = await signIn('open', 'gil@gmail.com', 'gil password 123');
    const hal = await signIn('open', 'hal@hosted.example', 'hal password 123');
    const sub = `8${Date.now()}`;
    expect((await gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken({ sub, hd: undefined }) }, bearer(gil.access_token))).status).toBe(201);
    const token = await google.idToken({ sub, hd: undefined });
    expectRestError(await gw.rest('POST', '/auth/login/google/link', { id_token: token }, bearer(hal.access_token)), 'linkGoogle', 'auth_google_link_conflict', 409);
    expectGqlError(await gw.gql('mutation($t: String!) { linkGoogle(input: {idToken: $t}) { id } }', { t: token }, bearer(hal.access_token)), 'linkGoogle', 'auth_google_link_conflict', 409);
  });

  it('a forged ID token cannot be linked', async () => {
    const s = await signIn('open', 'vic@example.org', 'vic password 123');
    const forged = (await google.idToken({ hd: undefined })).slice(0, -4) + 'AAAA';
    expectRestError(await gw.rest('POST', '/auth/login/google/link', { id_token: forged }, bearer(s.access_token)), 'linkGoogle', 'auth_google_token_invalid', 401);
  });
});

describe('4. adding a sign-in method needs a recent proof of a credential', () => {
  it('access tokens carry auth_time and amr, and a refresh keeps them', async () => {
    const s = await ada();
    const claims = decodeJwt(s.access_token);
    expect(claims.amr).toEqual(['pwd']);
    expect(Math.abs((claims.auth_time as number) - Date.now() / 1000)).toBeLessThan(60);
    await new Promise((r) => setTimeout(r, 1100));
    const refreshed = decodeJwt((await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token })).body.access_token);
    expect(refreshed.auth_time).toBe(claims.auth_time);
    expect(refreshed.amr).toEqual(['pwd']);
    expect(refreshed.iat).toBeGreaterThan(claims.iat!);
  });

  const stale: Array<[OperationName, (at: string) => Promise<HttpResult>, (at: string) => Promise<HttpResult>]> = [
    [
      'webauthnRegisterOptions',
      (at) => gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(at)),
      (at) => gw.gql('mutation { webauthnRegisterOptions }', undefined, bearer(at)),
    ],
    ['createApiKey', (at) => gw.rest('POST', '/auth/api-key', { name: 'late' }, bearer(at)), (at) => gw.gql('mutation { createApiKey(input: {name: "late"}) { id } }', undefined, bearer(at))],
    [
      'linkGoogle',
      async (at) => gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken() }, bearer(at)),
      async (at) => gw.gql('mutation($t: String!) { linkGoogle(input: {idToken: $t}) { id } }', { t: await google.idToken() }, bearer(at)),
    ],
  ];
  for (const [op, rest, gql] of stale) {
    it(`${op}: auth_reauthentication_required past REAUTH_MAX_AGE, through both doors; fine after signing in again`, async () => {
      const at = await staleAccessToken(await ada(), gw.config.reauthMaxAge + 60);
      expectRestError(await rest(at), op, 'auth_reauthentication_required', 401);
      expectGqlError(await gql(at), op, 'auth_reauthentication_required', 401);
      const fresh = (await ada()).access_token;
      const ok = await rest(fresh);
      expect(ok.status, JSON.stringify(ok.body)).toBeLessThan(300);
    });
  }
});

describe('5. a counter regression is recorded only for a correctly signed assertion', () => {
  it('an unsigned assertion with a stale counter writes nothing; a signed one (a clone) is recorded', async () => {
    const s = await signIn('acme', 'wes@acme.test', 'wes password 123');
    const auth = new SoftAuthenticator();
    const opts = (await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(s.access_token))).body;
    expect((await gw.rest('POST', '/auth/webauthn/register/verify', { response: auth.create(opts) }, bearer(s.access_token))).status).toBe(201);
    const options = async () => (await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme', email: 'wes@acme.test' })).body;
    expect((await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: auth.get(await options(), { counter: 5 }) })).status).toBe(200);
    const regressions = async () => (await gw.sql("select count(*)::int as n from audit_events where type = 'webauthn_counter_regression'"))[0].n;
    const before = await regressions();

    const forged = await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: auth.get(await options(), { counter: 3, badSignature: true }) });
    expectRestError(forged, 'webauthnLoginVerify', 'auth_webauthn_verification_failed', 401);
    const forgedGql = await gw.gql('mutation($i: WebauthnLoginVerifyInput!) { webauthnLoginVerify(input: $i) { accessToken } }', {
      i: { tenant: 'acme', response: auth.get(await options(), { counter: 2, badSignature: true }) },
    });
    expectGqlError(forgedGql, 'webauthnLoginVerify', 'auth_webauthn_verification_failed', 401);
    expect(await regressions()).toBe(before);
    expect(gw.logs()).not.toContain('"security_event":"webauthn_counter_regression"');

    const clone = await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response: auth.get(await options(), { counter: 4 }) });
    expectRestError(clone, 'webauthnLoginVerify', 'auth_webauthn_verification_failed', 401);
    expect(await regressions()).toBe(before + 1);
    expect(gw.logs()).toContain('"security_event":"webauthn_counter_regression"');
  });
});

describe('6. tenant-wide key management reads the permission from the database', () => {
  it('after api_keys:manage is taken away, the old token lists and revokes only its own keys', async () => {
    const kim = await signIn('acme', 'kim@acme.test', 'kim password 123');
    const other = await apiKey(await signIn('acme', 'pat@acme.test', 'pat password 123'));
    const [otherRow] = await gw.sql("select id from api_keys where prefix = $1", [other.slice(0, 12)]);
    const listed = async () => (await gw.rest('GET', '/auth/api-keys', undefined, bearer(kim.access_token))).body.api_keys.map((k: { id: string }) => k.id);
    expect(await listed()).toContain(otherRow.id);

    await gw.sql(`delete from user_roles where user_id = (select id from users where email = 'kim@acme.test')`);
    // The token still claims api_keys:manage.
    expect(decodeJwt(kim.access_token).permissions).toContain('api_keys:manage');
    expect(await listed()).not.toContain(otherRow.id);
    expect((await gw.gql('{ apiKeys { id } }', undefined, bearer(kim.access_token))).body.data.apiKeys.map((k: { id: string }) => k.id)).not.toContain(otherRow.id);
    expectRestError(await gw.rest('DELETE', `/auth/api-key/${otherRow.id}`, undefined, bearer(kim.access_token)), 'revokeApiKey', 'auth_api_key_not_found', 404);
    expectGqlError(await gw.gql(`mutation { revokeApiKey(id: "${otherRow.id}") }`, undefined, bearer(kim.access_token)), 'revokeApiKey', 'auth_api_key_not_found', 404);
    expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': other })).status).toBe(200);
  });
});

describe('7. passkey login options do not tell accounts apart', () => {
  const options = async (tenant: string, email: string) => {
    const res = await gw.rest('POST', '/auth/webauthn/login/options', { tenant, email });
    expect(res.status).toBe(200);
    return res.body.allowCredentials as Array<{ id: string; transports: string[] }>;
  };

  it('decoys vary from address to address like real accounts, and stay the same for one address', async () => {
    const decoys = await Promise.all(Array.from({ length: 40 }, (_, i) => options('acme', `nobody${i}@acme.test`)));
    expect(new Set(decoys.map((d) => d.length)).size).toBeGreaterThan(1);
    expect(new Set(decoys.flat().map((c) => Buffer.from(c.id, 'base64url').length)).size).toBeGreaterThan(1);
    expect(new Set(decoys.flat().map((c) => c.transports.join(','))).size).toBeGreaterThan(1);
    expect(await options('acme', 'nobody7@acme.test')).toEqual(decoys[7]);
    expect(await options('nowhere', 'nobody7@acme.test')).not.toEqual(decoys[7]);
  });

  it('a known account, an unknown e-mail and an unknown tenant cost the same number of queries', async () => {
    const counted = async (tenant: string, email: string) => {
      const before = gw.proxy!.queries;
      await options(tenant, email);
      return gw.proxy!.queries - before;
    };
    const known = await counted('acme', 'wes@acme.test');
    expect(await counted('acme', 'nobody@acme.test')).toBe(known);
    expect(await counted('nowhere', 'nobody@acme.test')).toBe(known);
    expect(await counted('acme', 'ada@acme.test')).toBe(known);
  });
});

describe('also', () => {
  it('a NUL smuggled inside the encoded WebAuthn challenge is an unknown challenge, not a database failure', async () => {
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'a\u0000b', origin: 'http://localhost:4000' })).toString('base64url');
    const response = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA' } };
    expectRestError(await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response }), 'webauthnLoginVerify', 'auth_webauthn_challenge_invalid', 400);
    expectGqlError(
      await gw.gql('mutation($i: WebauthnLoginVerifyInput!) { webauthnLoginVerify(input: $i) { accessToken } }', { i: { tenant: 'acme', response } }),
      'webauthnLoginVerify',
      'auth_webauthn_challenge_invalid',
      400,
    );
  });

  it('URLs the router cannot decode, or path parameters over the limit, get the catalog\'s body', async () => {
    for (const url of ['/auth/webauthn/credentials/%ff', `/auth/api-key/${'a'.repeat(5000)}`]) {
      const res = await gw.rest('DELETE', url);
      expect(res.body, url).toMatchObject({ detail: { status: 'error', code: 'auth_request_invalid' } });
      expect(res.headers.get('x-error-code')).toBe('auth_request_invalid');
      expect(JSON.stringify(res.body)).not.toContain('FST_');
    }
  });

  it('token responses carry Cache-Control: no-store through both doors', async () => {
    const s = await ada();
    const login = await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' });
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect((await gw.rest('POST', '/auth/refresh', { refresh_token: s.refresh_token })).headers.get('cache-control')).toBe('no-store');
    const key = await gw.rest('POST', '/auth/api-key', { name: 'ns' }, bearer(s.access_token));
    expect(key.headers.get('cache-control')).toBe('no-store');
    const gql = await gw.gql('mutation { login(input: {tenant: "acme", email: "ada@acme.test", password: "correct horse battery"}) { accessToken } }');
    expect(gql.headers.get('cache-control')).toBe('no-store');
  });

  it('a password set with the admin CLI also revokes the user\'s API keys', async () => {
    const pat = await signIn('acme', 'pat@acme.test', 'pat password 123');
    const key = await apiKey(pat);
    expect((await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key })).status).toBe(200);
    await setUserPassword(gw.orm.em.fork(), gw.gateway.deps.passwords, 'acme', 'pat@acme.test', 'pat password 456');
    await new Promise((r) => setTimeout(r, gw.config.apiKeys.cacheTtlMs + 100));
    expectRestError(await gw.rest('GET', '/auth/me', undefined, { 'x-api-key': key }), 'me', 'auth_api_key_invalid', 401);
    await setUserPassword(gw.orm.em.fork(), gw.gateway.deps.passwords, 'acme', 'pat@acme.test', 'pat password 123');
  });
});
