// Google sign-in through both doors, with real ID-token verification against certificates served on loopback: linking by (issuer, sub), domain admission, and every failure code.
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserDisabled } from '../../src/services/operator/commands.js';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { ACME, expectGqlError, expectRestError, startTestGateway, type HttpResult, type TestGateway, type Door } from '../helpers/gateway.js';

let google: FakeGoogle;
let gw: TestGateway;

const DOC = structuredClone(ACME);
DOC.tenants[0].default_roles = ['viewer'];

beforeAll(async () => {
  google = await FakeGoogle.start();
  gw = await startTestGateway({ proxy: true, env: { GOOGLE_CLIENT_IDS: `other-client.apps.googleusercontent.com,${CLIENT_ID}`, GOOGLE_CERTS_URL: google.url } });
  await gw.seed(DOC);
});
afterAll(async () => {
  await gw?.close();
  await google?.close();
});

const LOGIN_GOOGLE = 'mutation($i: GoogleLoginInput!) { loginWithGoogle(input: $i) { accessToken refreshToken user { id email tenant roles permissions authMethod } } }';

function signIn(door: Door, tenant: string, idToken: string): Promise<HttpResult> {
  return door === 'rest' ? gw.rest('POST', '/auth/login/google', { tenant, id_token: idToken }) : gw.gql(LOGIN_GOOGLE, { i: { tenant, idToken } });
}

const user = (door: Door, res: HttpResult) => (door === 'rest' ? res.body.user : res.body.data.loginWithGoogle.user);

type GoogleCode = 'auth_google_token_invalid' | 'auth_google_email_unverified' | 'auth_google_account_not_allowed' | 'auth_login_account_disabled' | 'auth_google_internal_error' | 'auth_google_db_error';
function expectGoogleError(res: HttpResult, door: Door, code: GoogleCode, status: number) {
  if (door === 'rest') expectRestError(res, 'loginWithGoogle', code, status);
  else expectGqlError(res, 'loginWithGoogle', code, status);
}

async function adaId(): Promise<string> {
  return (await gw.sql("select u.id from users u join tenants t on t.id = u.tenant_id where t.slug = 'acme' and u.email = 'ada@acme.test'"))[0].id;
}

describe('signing in', () => {
  it('links an existing user with the same verified e-mail, then the (issuer, sub) link alone decides', async () => {
    const sub = '1000000000000000001';
    const first = await signIn('rest', 'acme', await google.idToken({ sub, email: 'ada@acme.test' }));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.user).toMatchObject({ id: await adaId(), email: 'ada@acme.test', roles: ['admin'], auth_method: 'google' });
    const links = await gw.sql("select issuer, subject, email_at_link from external_identities where subject = $1", [sub]);
    expect(links).toEqual([{ issuer: 'https://accounts.google.com', subject: sub, email_at_link: 'ada@acme.test' }]);
    // An e-mail change at Google does not re-link; the bare-host issuer spelling is the same issuer.
    const later = await signIn('graphql', 'acme', await google.idToken({ sub, email: 'ada.lovelace@acme.test', iss: 'accounts.google.com' }));
    expect(user('graphql', later)).toMatchObject({ id: await adaId(), email: 'ada@acme.test', authMethod: 'google' });
  });

  it('creates a user just in time when the tenant admits the account\'s domain, with the tenant\'s default roles', async () => {
    for (const door of ['rest', 'graphql'] as const) {
      const email = `new-${door}@acme.test`;
      const sub = `20000000000000000${door === 'rest' ? 1 : 2}`;
      const res = await signIn(door, 'acme', await google.idToken({ sub, email }));
      expect(user(door, res)).toMatchObject({ email, tenant: 'acme', roles: ['viewer'], permissions: ['users:read'] });
      const again = await signIn(door, 'acme', await google.idToken({ sub, email }));
      expect(user(door, again).id).toBe(user(door, res).id);
      const [row] = await gw.sql("select password_hash from users where email = $1", [email]);
      expect(row.password_hash).toBeNull();
    }
  });

  it('accepts `credential` as the name of the ID token (Google Identity Services)', async () => {
    const res = await gw.rest('POST', '/auth/login/google', { tenant: 'acme', credential: await google.idToken({ sub: '1000000000000000001', email: 'ada@acme.test' }) });
    expect(res.status).toBe(200);
  });

  it('accepts every configured client ID as audience', async () => {
    const res = await signIn('rest', 'acme', await google.idToken({ sub: '1000000000000000001', email: 'ada@acme.test', aud: 'other-client.apps.googleusercontent.com' }));
    expect(res.status).toBe(200);
  });

  it('creates exactly one user for concurrent first sign-ins of one account', async () => {
    const sub = '3000000000000000001';
    const tokens = await Promise.all(Array.from({ length: 10 }, () => google.idToken({ sub, email: 'racer@acme.test' })));
    const results = await Promise.all(tokens.map((t, i) => signIn(i % 2 ? 'graphql' : 'rest', 'acme', t)));
    const ids = results.map((r, i) => {
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return user(i % 2 ? 'graphql' : 'rest', r).id;
    });
    expect(new Set(ids).size).toBe(1);
    expect(await gw.sql("select id from users where email = 'racer@acme.test'")).toHaveLength(1);
    expect(await gw.sql('select id from external_identities where subject = $1', [sub])).toHaveLength(1);
  });

  it('fetches the certificates once and then honours their Cache-Control', () => {
    expect(google.requests).toBe(1);
  });
});

describe('refusals, through both doors', () => {
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const now = Math.floor(Date.now() / 1000);
  const invalid: Array<[string, () => Promise<string>]> = [
    ['a bad signature', () => google.idToken({ email: 'ada@acme.test' }, { signWith: otherKey })],
    ['an unknown kid', () => google.idToken({ email: 'ada@acme.test' }, { kid: 'unknown-kid', signWith: otherKey })],
    ['a wrong audience', () => google.idToken({ aud: 'someone-else.apps.googleusercontent.com' })],
    ['a wrong issuer', () => google.idToken({ iss: 'https://evil.example' })],
    ['an expired token', () => google.idToken({ iat: now - 7200, exp: now - 3600 })],
    ['a malformed token', async () => 'not.a.jwt'],
    ['an access token of this gateway', async () => (await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' })).body.access_token],
  ];

  for (const [what, make] of invalid) {
    it(`${what}: auth_google_token_invalid, and the token is echoed nowhere`, async () => {
      const token = await make();
      for (const door of ['rest', 'graphql'] as const) {
        const res = await signIn(door, 'acme', token);
        expectGoogleError(res, door, 'auth_google_token_invalid', 401);
        expect(JSON.stringify(res.body)).not.toContain(token);
      }
      expect(gw.logs()).not.toContain(token);
    });
  }

  it('an unverified e-mail: auth_google_email_unverified', async () => {
    for (const door of ['rest', 'graphql'] as const) {
      expectGoogleError(await signIn(door, 'acme', await google.idToken({ email: 'ada@acme.test', email_verified: false })), door, 'auth_google_email_unverified', 403);
    }
  });

  it('an account the tenant does not admit: auth_google_account_not_allowed', async () => {
    const cases = [
      // A consumer account (no hd) unknown to the tenant.
      { tenant: 'acme', claims: { email: 'stranger@gmail.test', hd: undefined } },
      // Another hosted domain, even with the e-mail of an existing user: acme restricts domains.
      { tenant: 'acme', claims: { email: 'ada@acme.test', hd: 'evil.test' } },
      // A tenant without Google domains creates no one.
      { tenant: 'globex', claims: { email: 'newcomer@acme.test' } },
      // No such tenant.
      { tenant: 'nowhere', claims: { email: 'ada@acme.test' } },
    ];
    for (const c of cases) {
      for (const door of ['rest', 'graphql'] as const) {
        expectGoogleError(await signIn(door, c.tenant, await google.idToken(c.claims)), door, 'auth_google_account_not_allowed', 403);
      }
    }
    expect(await gw.sql("select id from users where email in ('stranger@gmail.test', 'newcomer@acme.test')")).toHaveLength(0);
  });

  it('a linked but disabled user: auth_login_account_disabled', async () => {
    await setUserDisabled(gw.orm.em.fork(), 'acme', 'ada@acme.test', true);
    try {
      for (const door of ['rest', 'graphql'] as const) {
        expectGoogleError(await signIn(door, 'acme', await google.idToken({ sub: '1000000000000000001', email: 'ada@acme.test' })), door, 'auth_login_account_disabled', 403);
      }
    } finally {
      await setUserDisabled(gw.orm.em.fork(), 'acme', 'ada@acme.test', false);
    }
  });

  it('a missing token is a request error', async () => {
    expectRestError(await gw.rest('POST', '/auth/login/google', { tenant: 'acme' }), 'loginWithGoogle', 'auth_request_invalid', 422);
  });
});

describe('the gateway\'s own faults', () => {
  it('certificates that cannot be fetched: auth_google_internal_error, on both doors', async () => {
    const down = await FakeGoogle.start();
    const token = await down.idToken({ email: 'ada@acme.test' });
    await down.close();
    const other = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: down.url } });
    try {
      const rest = await other.rest('POST', '/auth/login/google', { tenant: 'acme', id_token: token });
      expectRestError(rest, 'loginWithGoogle', 'auth_google_internal_error', 500);
      expectGqlError(await other.gql(LOGIN_GOOGLE, { i: { tenant: 'acme', idToken: token } }), 'loginWithGoogle', 'auth_google_internal_error', 500);
      expect(other.logs()).toContain('fetching Google certificates failed');
      expect(other.logs()).not.toContain(token);
    } finally {
      await other.close();
    }
  });

  it('GOOGLE_CLIENT_IDS unset: auth_google_internal_error, and the log says why', async () => {
    const other = await startTestGateway({ databaseUrl: gw.databaseUrl, env: { GOOGLE_CERTS_URL: google.url } });
    try {
      const res = await other.rest('POST', '/auth/login/google', { tenant: 'acme', id_token: await google.idToken() });
      expectRestError(res, 'loginWithGoogle', 'auth_google_internal_error', 500);
      expect(other.logs()).toContain('GOOGLE_CLIENT_IDS is unset');
    } finally {
      await other.close();
    }
  });

  it('a database cut: auth_google_db_error on both doors, then recovery', async () => {
    const token = await google.idToken({ sub: '1000000000000000001', email: 'ada@acme.test' });
    const sessions = async () => (await gw.sql('select count(*)::int as n from sessions'))[0].n;
    const before = await sessions();
    gw.proxy!.cut();
    const started = performance.now();
    expectGoogleError(await signIn('rest', 'acme', token), 'rest', 'auth_google_db_error', 503);
    expect(performance.now() - started).toBeLessThan(3000);
    expectGoogleError(await signIn('graphql', 'acme', token), 'graphql', 'auth_google_db_error', 503);
    await gw.proxy!.restore();
    expect(await sessions()).toBe(before);
    expect((await signIn('rest', 'acme', token)).status).toBe(200);
  });
});
