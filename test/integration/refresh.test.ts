// Refresh rotation through both doors: a grace window that never logs a user out by accident, reuse that revokes the family, concurrency, lifetimes, logout.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setUserDisabled, setUserPassword } from '../../src/services/operator/commands.js';
import { ACME, ADA, expectGqlError, expectRestError, LOGIN, ME, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const GRACE = 10;
const IDLE = 3600;
const LIFETIME = 86400;
let clock = Date.now();
let gw: TestGateway;

const REFRESH = `mutation Refresh($t: String!) { refresh(input: {refreshToken: $t}) { accessToken refreshToken refreshExpiresIn user { roles permissions authMethod } } }`;
const LOGOUT = `mutation Logout($t: String!) { logout(input: {refreshToken: $t}) }`;
const LOGOUT_ALL = `mutation { logoutAll }`;

beforeAll(async () => {
  gw = await startTestGateway({
    env: { REFRESH_REUSE_GRACE: String(GRACE), SESSION_IDLE_TIMEOUT: String(IDLE), REFRESH_TOKEN_TTL: String(LIFETIME) },
    deps: { now: () => new Date(clock) },
  });
  await gw.seed(ACME);
});
afterAll(() => gw?.close());
beforeEach(() => {
  clock = Date.now();
});

const ada = ADA;
const advance = (seconds: number) => {
  clock += seconds * 1000;
};
const login = async (who = ada) => {
  const res = await gw.rest('POST', '/auth/login', who);
  expect(res.status).toBe(200);
  return res.body as { access_token: string; refresh_token: string; user: { id: string } };
};
const refreshRest = (t: string) => gw.rest('POST', '/auth/refresh', { refresh_token: t });
const refreshGql = (t: string) => gw.gql(REFRESH, { t });
const me = (at: string) => gw.rest('GET', '/auth/me', undefined, { authorization: `Bearer ${at}` });
const liveTokens = async (sid: string) =>
  (await gw.sql('select count(*)::int as n from refresh_tokens where session_id = $1 and rotated_at is null', [sid]))[0].n;

describe('rotation', () => {
  it('answers a new access token and a new refresh token, on both doors, in the same session', async () => {
    const first = await login();
    const sid = decodeJwt(first.access_token).sid as string;
    const r1 = await refreshRest(first.refresh_token);
    expect(r1.status).toBe(200);
    expect(r1.body.refresh_token).not.toBe(first.refresh_token);
    expect(r1.body.access_token).not.toBe(first.access_token);
    expect(decodeJwt(r1.body.access_token).sid).toBe(sid);
    expect(r1.body.refresh_expires_in).toBeLessThanOrEqual(LIFETIME);
    const r2 = await refreshGql(r1.body.refresh_token);
    expect(r2.body.errors).toBeUndefined();
    expect(r2.body.data.refresh.refreshToken).not.toBe(r1.body.refresh_token);
    expect(r2.body.data.refresh.user.authMethod).toBe('password');
    expect((await me(r2.body.data.refresh.accessToken)).status).toBe(200);
    expect(await liveTokens(sid)).toBe(1);
  });

  it('stores only hashes of the successors', async () => {
    const first = await login();
    const r1 = await refreshRest(first.refresh_token);
    const dump = JSON.stringify(await gw.sql('select * from refresh_tokens'));
    expect(dump).not.toContain(r1.body.refresh_token);
    expect(dump).not.toContain(first.refresh_token);
  });

  it('reloads roles and permissions, so a role change takes effect at the next refresh', async () => {
    const first = await login();
    const edited = structuredClone(ACME);
    edited.tenants[0].roles![0].permissions = ['api_keys:create', 'users:read', 'users:write'];
    await gw.seed(edited);
    try {
      const r = await refreshRest(first.refresh_token);
      expect(r.body.user.permissions).toEqual(['api_keys:create', 'users:read', 'users:write']);
      expect(decodeJwt(r.body.access_token).permissions).toEqual(['api_keys:create', 'users:read', 'users:write']);
    } finally {
      await gw.seed(ACME);
    }
  });
});

describe('grace window', () => {
  it('hands the same successor to a rotated token presented again within the window', async () => {
    const first = await login();
    const a = await refreshRest(first.refresh_token);
    advance(GRACE - 1);
    const b = await refreshGql(first.refresh_token);
    expect(b.body.errors).toBeUndefined();
    expect(b.body.data.refresh.refreshToken).toBe(a.body.refresh_token);
    // The successor still works afterwards: nobody was logged out.
    const c = await refreshRest(a.body.refresh_token);
    expect(c.status).toBe(200);
  });

  it('treats the same token just past the window as reuse: the family is revoked and recorded', async () => {
    const first = await login();
    const a = await refreshRest(first.refresh_token);
    advance(GRACE + 1);
    const replay = await refreshRest(first.refresh_token);
    expectRestError(replay, 'refresh', 'auth_refresh_reused', 401);
    // The newest refresh token and the access tokens of the session are dead too.
    expectRestError(await refreshRest(a.body.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
    expectRestError(await me(a.body.access_token), 'me', 'auth_unauthenticated', 401);
    const sid = decodeJwt(first.access_token).sid;
    const events = await gw.sql("select * from audit_events where session_id = $1 and type = 'auth_refresh_reused'", [sid]);
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(first.refresh_token);
    expect(gw.logs()).not.toContain(first.refresh_token);
    const warned = gw.logs().split('\n').filter((l) => l.includes('"security_event":true')).map((l) => JSON.parse(l));
    expect(warned.some((l) => l.code === 'auth_refresh_reused' && l.level === 40)).toBe(true);
  });

  it('treats reuse as reuse through GraphQL too', async () => {
    const first = await login();
    await refreshGql(first.refresh_token);
    advance(GRACE + 1);
    expectGqlError(await refreshGql(first.refresh_token), 'refresh', 'auth_refresh_reused', 401);
  });

  it('treats a rotated token as reuse, even within the window, once its successor was rotated too', async () => {
    const first = await login();
    const a = await refreshRest(first.refresh_token);
    const b = await refreshRest(a.body.refresh_token);
    expect(b.status).toBe(200);
    expectRestError(await refreshRest(first.refresh_token), 'refresh', 'auth_refresh_reused', 401);
    expectRestError(await refreshRest(b.body.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
  });
});

describe('concurrency', () => {
  for (const n of [2, 20]) {
    it(`${n} concurrent refreshes of one token all get the same single successor, never a 5xx`, async () => {
      const first = await login();
      const sid = decodeJwt(first.access_token).sid as string;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => (i % 2 ? refreshGql(first.refresh_token) : refreshRest(first.refresh_token))),
      );
      const tokens = results.map((r) => (r.body.data ? r.body.data.refresh.refreshToken : r.body.refresh_token));
      for (const r of results) expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(new Set(tokens).size).toBe(1);
      expect(await liveTokens(sid)).toBe(1);
      expect((await refreshRest(tokens[0])).status).toBe(200);
    });
  }
});

describe('invalid refresh tokens', () => {
  it('unknown, malformed, empty, or an access token: auth_refresh_invalid on both doors', async () => {
    const session = await login();
    for (const t of ['A'.repeat(43), 'not a token', '', session.access_token]) {
      expectRestError(await refreshRest(t), 'refresh', 'auth_refresh_invalid', 401);
      expectGqlError(await refreshGql(t), 'refresh', 'auth_refresh_invalid', 401);
    }
  });

  it('a missing or mistyped field is a request error', async () => {
    expectRestError(await gw.rest('POST', '/auth/refresh', {}), 'refresh', 'auth_request_invalid', 422);
    expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: 42 }), 'refresh', 'auth_request_invalid', 422);
  });

  it('past the absolute lifetime', async () => {
    const session = await login();
    let t = session.refresh_token;
    // Keep the session busy (never idle) until its absolute lifetime runs out.
    for (let used = 0; used + IDLE / 2 < LIFETIME; used += IDLE / 2) {
      advance(IDLE / 2);
      const r = await refreshRest(t);
      expect(r.status).toBe(200);
      t = r.body.refresh_token;
    }
    advance(IDLE / 2);
    expectRestError(await refreshRest(t), 'refresh', 'auth_refresh_invalid', 401);
  });

  it('past the idle timeout', async () => {
    const session = await login();
    advance(IDLE + 1);
    expectRestError(await refreshRest(session.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
  });
});

describe('ending sessions', () => {
  it('logout ends the session: its refresh tokens fail, its access tokens fail on me', async () => {
    const s = await login();
    const res = await gw.rest('POST', '/auth/logout', { refresh_token: s.refresh_token });
    expect(res.status).toBe(204);
    expectRestError(await refreshRest(s.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
    expectRestError(await me(s.access_token), 'me', 'auth_unauthenticated', 401);
  });

  it('mutation logout does the same, and is idempotent for unknown or revoked tokens', async () => {
    const s = await login();
    expect((await gw.gql(LOGOUT, { t: s.refresh_token })).body.data.logout).toBe(true);
    expectGqlError(await refreshGql(s.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
    expect((await gw.gql(LOGOUT, { t: s.refresh_token })).body.data.logout).toBe(true);
    expect((await gw.rest('POST', '/auth/logout', { refresh_token: 'B'.repeat(43) })).status).toBe(204);
  });

  it('logout everywhere ends every session of the caller and no one else\'s', async () => {
    const a = await login();
    const b = await login();
    const other = await login({ tenant: 'globex', email: 'ada@acme.test', password: 'another password' });
    const res = await gw.gql(LOGOUT_ALL, undefined, { authorization: `Bearer ${a.access_token}` });
    expect(res.body.data.logoutAll).toBe(true);
    for (const s of [a, b]) {
      expectRestError(await refreshRest(s.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
      expectRestError(await me(s.access_token), 'me', 'auth_unauthenticated', 401);
    }
    expect((await refreshRest(other.refresh_token)).status).toBe(200);
  });

  it('POST /auth/logout/all answers 204, with or without an empty JSON body, and needs an access token', async () => {
    const a = await login();
    const res = await gw.rest('POST', '/auth/logout/all', '', { authorization: `Bearer ${a.access_token}`, 'content-type': 'application/json' });
    expect(res.status).toBe(204);
    expectRestError(await me(a.access_token), 'me', 'auth_unauthenticated', 401);
    expectRestError(await gw.rest('POST', '/auth/logout/all'), 'logoutAll', 'auth_unauthenticated', 401);
    expectGqlError(await gw.gql(LOGOUT_ALL), 'logoutAll', 'auth_unauthenticated', 401);
  });

  it('disabling a user ends their sessions: the refresh says only that the token is dead', async () => {
    const s = await login({ tenant: 'globex', email: 'ada@acme.test', password: 'another password' });
    await setUserDisabled(gw.orm.em.fork(), 'globex', 'ada@acme.test', true);
    try {
      expectRestError(await refreshRest(s.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
      expectGqlError(await refreshGql(s.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
    } finally {
      await setUserDisabled(gw.orm.em.fork(), 'globex', 'ada@acme.test', false);
    }
    // Enabling again does not revive the sessions that disabling ended.
    expectRestError(await refreshRest(s.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
  });

  it('a live session of a user disabled behind the gateway\'s back: auth_login_account_disabled', async () => {
    const s = await login({ tenant: 'globex', email: 'ada@acme.test', password: 'another password' });
    await gw.sql(`update users set disabled = true where email = 'ada@acme.test' and tenant_id = (select id from tenants where slug = 'globex')`);
    try {
      expectRestError(await refreshRest(s.refresh_token), 'refresh', 'auth_login_account_disabled', 403);
      expectGqlError(await refreshGql(s.refresh_token), 'refresh', 'auth_login_account_disabled', 403);
    } finally {
      await gw.sql(`update users set disabled = false where email = 'ada@acme.test' and tenant_id = (select id from tenants where slug = 'globex')`);
    }
  });

  it('changing the password ends the user\'s sessions', async () => {
    const s = await login({ tenant: 'globex', email: 'ada@acme.test', password: 'another password' });
    await setUserPassword(gw.orm.em.fork(), gw.gateway.deps.passwords, 'globex', 'ada@acme.test', 'a brand new password');
    expectRestError(await refreshRest(s.refresh_token), 'refresh', 'auth_refresh_invalid', 401);
    expectRestError(await me(s.access_token), 'me', 'auth_unauthenticated', 401);
    expect((await gw.gql(LOGIN, { input: { tenant: 'globex', email: 'ada@acme.test', password: 'a brand new password' } })).body.data.login).toBeTruthy();
    await setUserPassword(gw.orm.em.fork(), gw.gateway.deps.passwords, 'globex', 'ada@acme.test', 'another password');
  });

  it('ME still works for a live session (the refusals above are about revocation)', async () => {
    const s = await login();
    expect((await gw.gql(ME, undefined, { authorization: `Bearer ${s.access_token}` })).body.data.me.email).toBe('ada@acme.test');
  });
});
