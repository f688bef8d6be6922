// Real database faults during login and `me` give the route's *_db_error within the bound, through both doors, issue no token, and heal without a restart.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { ACME, ADA, expectGqlError, expectRestError, LOGIN, ME, startTestGateway, type HttpResult, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let accessToken: string;
const ada = ADA;
// The bound docs/resilience.md promises operators: a dead or hung database answers within 3 seconds.
const BOUND_MS = 3000;

beforeAll(async () => {
  gw = await startTestGateway({ proxy: true });
  await gw.seed(ACME);
  accessToken = (await gw.rest('POST', '/auth/login', ada)).body.access_token;
});
afterAll(() => gw?.close());

async function timed(call: () => Promise<HttpResult>): Promise<HttpResult & { ms: number }> {
  const started = performance.now();
  const res = await call();
  return { ...res, ms: performance.now() - started };
}

const sessionCount = async () => Number((await gw.sql('select count(*)::int as n from sessions'))[0].n);

/** Login and `me` through both doors answer their db codes, in time, with no token and no session written. */
async function expectDbErrors() {
  const before = await sessionCount();
  const rest = await timed(() => gw.rest('POST', '/auth/login', ada));
  expectRestError(rest, 'login', 'auth_login_db_error', 503);
  expect(rest.body).not.toHaveProperty('access_token');
  expect(rest.ms).toBeLessThan(BOUND_MS);

  const gql = await timed(() => gw.gql(LOGIN, { input: ada }));
  expectGqlError(gql, 'login', 'auth_login_db_error', 503);
  expect(gql.body.data).toBeNull();
  expect(gql.ms).toBeLessThan(BOUND_MS);

  const me = await timed(() => gw.rest('GET', '/auth/me', undefined, { authorization: `Bearer ${accessToken}` }));
  expectRestError(me, 'me', 'auth_session_db_error', 503);
  expect(me.ms).toBeLessThan(BOUND_MS);
  expectGqlError(await gw.gql(ME, undefined, { authorization: `Bearer ${accessToken}` }), 'me', 'auth_session_db_error', 503);

  // The body says nothing about the cause.
  expect(JSON.stringify(rest.body)).not.toMatch(/ECONN|terminat|timeout|select|postgres/i);
  expect(await sessionCount()).toBe(before);
}

async function expectHealthy() {
  const rest = await gw.rest('POST', '/auth/login', ada);
  expect(rest.status, JSON.stringify(rest.body)).toBe(200);
  const gql = await gw.gql(LOGIN, { input: ada });
  expect(gql.body.errors).toBeUndefined();
  expect((await gw.rest('GET', '/auth/me', undefined, { authorization: `Bearer ${accessToken}` })).status).toBe(200);
  expect((await gw.rest('GET', '/readyz')).status).toBe(200);
}

describe('database faults', () => {
  it('works through the proxy to begin with', expectHealthy);

  it('connections reset (the database crashed or restarted)', async () => {
    gw.proxy!.cut();
    await expectDbErrors();
    expect((await gw.rest('GET', '/readyz')).status).toBe(503);
    await gw.proxy!.restore();
    await expectHealthy();
  });

  it('connection refused (nothing listening)', async () => {
    await gw.proxy!.refuse();
    await expectDbErrors();
    await gw.proxy!.restore();
    await expectHealthy();
  });

  it('a black hole (connections accepted, nothing answered)', async () => {
    gw.proxy!.blackhole();
    await expectDbErrors();
    await gw.proxy!.restore();
    await expectHealthy();
  });

  it('a lock on the role tables held past the statement timeout', async () => {
    const locker = new pg.Client({ connectionString: gw.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table role_permissions in access exclusive mode');
      const before = await sessionCount().catch(() => -1);
      const rest = await timed(() => gw.rest('POST', '/auth/login', ada));
      expectRestError(rest, 'login', 'auth_login_db_error', 503);
      expect(rest.ms).toBeLessThan(BOUND_MS);
      expectGqlError(await gw.gql(LOGIN, { input: ada }), 'login', 'auth_login_db_error', 503);
      await locker.query('rollback');
      expect(await sessionCount()).toBe(before);
    } finally {
      await locker.end();
    }
    await expectHealthy();
  });

  it('the gateway\'s backends terminated by the server: the pool heals by itself', async () => {
    await gw.sql("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'auth-gateway' and datname = current_database()");
    await new Promise((r) => setTimeout(r, 200));
    // A terminated connection whose notice has not arrived yet may fail the one request that
    // takes it (never hanging, always with the db code); the pool then replaces it.
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await timed(() => gw.rest('POST', '/auth/login', ada));
      expect(res.ms).toBeLessThan(BOUND_MS);
      if (res.status === 200) break;
      expectRestError(res, 'login', 'auth_login_db_error', 503);
    }
    await expectHealthy();
  });
});

describe('refresh under database faults', () => {
  const refresh = (t: string) => gw.rest('POST', '/auth/refresh', { refresh_token: t });
  const refreshGql = (t: string) => gw.gql('mutation($t: String!) { refresh(input: {refreshToken: $t}) { refreshToken } }', { t });

  it('a reset connection: auth_refresh_db_error on both doors; afterwards the same token works, not as a reuse', async () => {
    const s = (await gw.rest('POST', '/auth/login', ada)).body;
    gw.proxy!.cut();
    const rest = await timed(() => refresh(s.refresh_token));
    expectRestError(rest, 'refresh', 'auth_refresh_db_error', 503);
    expect(rest.ms).toBeLessThan(BOUND_MS);
    expectGqlError(await refreshGql(s.refresh_token), 'refresh', 'auth_refresh_db_error', 503);
    // Session operations answer their own db code.
    expectRestError(await gw.rest('POST', '/auth/logout', { refresh_token: s.refresh_token }), 'logout', 'auth_session_db_error', 503);
    expectRestError(await gw.rest('POST', '/auth/logout/all', undefined, { authorization: `Bearer ${s.access_token}` }), 'logoutAll', 'auth_session_db_error', 503);
    await gw.proxy!.restore();
    const after = await refresh(s.refresh_token);
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect((await refresh(after.body.refresh_token)).status).toBe(200);
  });

  it('a lock met in the middle of a refresh (after the session row was locked) rolls everything back', async () => {
    const s = (await gw.rest('POST', '/auth/login', ada)).body;
    const locker = new pg.Client({ connectionString: gw.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table users in access exclusive mode');
      const rest = await timed(() => refresh(s.refresh_token));
      expectRestError(rest, 'refresh', 'auth_refresh_db_error', 503);
      expect(rest.ms).toBeLessThan(BOUND_MS);
      expectGqlError(await refreshGql(s.refresh_token), 'refresh', 'auth_refresh_db_error', 503);
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    const [row] = await gw.sql('select count(*)::int as n from refresh_tokens t join sessions x on x.id = t.session_id where x.id = $1 and t.rotated_at is not null', [
      JSON.parse(Buffer.from(s.access_token.split('.')[1], 'base64url').toString()).sid,
    ]);
    expect(row.n).toBe(0);
    expect((await refresh(s.refresh_token)).status).toBe(200);
  });
});

describe('passkeys under database faults', () => {
  const auth = new SoftAuthenticator();
  const options = async (door: 'rest' | 'graphql') =>
    door === 'rest'
      ? gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'acme', email: ada.email })
      : gw.gql('mutation($i: WebauthnLoginOptionsInput!) { webauthnLoginOptions(input: $i) }', { i: { tenant: 'acme', email: ada.email } });
  const verify = (door: 'rest' | 'graphql', response: unknown) =>
    door === 'rest'
      ? gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'acme', response })
      : gw.gql('mutation($i: WebauthnLoginVerifyInput!) { webauthnLoginVerify(input: $i) { accessToken } }', { i: { tenant: 'acme', response } });
  const counter = async () => Number((await gw.sql('select counter from webauthn_credentials where credential_id = $1', [auth.credentials[0].id]))[0].counter);

  beforeAll(async () => {
    const at = { authorization: `Bearer ${accessToken}` };
    const opts = (await gw.rest('POST', '/auth/webauthn/register/options', {}, at)).body;
    expect((await gw.rest('POST', '/auth/webauthn/register/verify', { response: auth.create(opts) }, at)).status).toBe(201);
  });

  it('a reset connection: every WebAuthn route answers auth_webauthn_db_error on both doors, then recovers', async () => {
    const pending = (await options('rest')).body;
    const before = await counter();
    gw.proxy!.cut();
    const rest = await timed(() => options('rest'));
    expectRestError(rest, 'webauthnLoginOptions', 'auth_webauthn_db_error', 503);
    expect(rest.ms).toBeLessThan(BOUND_MS);
    expectGqlError(await options('graphql'), 'webauthnLoginOptions', 'auth_webauthn_db_error', 503);
    expectRestError(await verify('rest', auth.get(pending)), 'webauthnLoginVerify', 'auth_webauthn_db_error', 503);
    expectGqlError(await verify('graphql', auth.get(pending)), 'webauthnLoginVerify', 'auth_webauthn_db_error', 503);
    const at = { authorization: `Bearer ${accessToken}` };
    // The caller's session cannot be checked: the operation's own code answers, whatever step failed.
    expectRestError(await gw.rest('POST', '/auth/webauthn/register/options', {}, at), 'webauthnRegisterOptions', 'auth_webauthn_db_error', 503);
    await gw.proxy!.restore();
    expect(await counter()).toBe(before);
    // The challenge was never consumed, so the pending ceremony can still complete.
    const done = await verify('rest', auth.get(pending));
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(await counter()).toBeGreaterThan(before);
  });

  it('a lock on the credentials held past the statement timeout: no session, no counter advanced', async () => {
    const pending = (await options('rest')).body;
    const before = await counter();
    const sessionsBefore = await sessionCount();
    const locker = new pg.Client({ connectionString: gw.databaseUrl });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table webauthn_credentials in access exclusive mode');
      const res = await timed(() => verify('rest', auth.get(pending)));
      expectRestError(res, 'webauthnLoginVerify', 'auth_webauthn_db_error', 503);
      expect(res.ms).toBeLessThan(BOUND_MS);
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    expect(await counter()).toBe(before);
    expect(await sessionCount()).toBe(sessionsBefore);
    const again = (await options('graphql')).body.data.webauthnLoginOptions;
    expect((await verify('graphql', auth.get(again))).body.data.webauthnLoginVerify.accessToken).toBeTruthy();
  });
});
