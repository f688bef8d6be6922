// A user's own sessions and sign-in methods: listed with the current one marked and where each came from, ended one by one (never another user's), and Google unlinked unless it is the last way in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { CLIENT_ID, FakeGoogle } from '../helpers/fake-google.js';
import { bearer, expectGqlError, expectRestError, registerPasskey, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let google: FakeGoogle;
const PASSWORD = 'own sessions passphrase 1';
let n = 0;

beforeAll(async () => {
  google = await FakeGoogle.start();
  gw = await startTestGateway({ env: { GOOGLE_CLIENT_IDS: CLIENT_ID, GOOGLE_CERTS_URL: google.url } });
});
afterAll(async () => {
  await gw?.close();
  await google?.close();
});

async function user(): Promise<string> {
  const email = `own${n++}.${Date.now()}@acme.test`;
  await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme Corp', roles: [{ name: 'member', permissions: ['api_keys:create'] }], users: [{ email, password: PASSWORD, roles: ['member'] }] }] });
  return email;
}
const login = (email: string, agent: string) =>
  gw.rest('POST', '/auth/login', { tenant: 'acme', email, password: PASSWORD }, { 'user-agent': agent }).then((r) => {
    expect(r.status).toBe(200);
    return r.body as { access_token: string; refresh_token: string };
  });

describe('own sessions', () => {
  it('lists the live sessions newest first, marks the current one, with method, times, address and user agent (both doors)', async () => {
    const email = await user();
    const laptop = await login(email, 'Laptop Browser/1.0');
    const phone = await login(email, 'Phone App/2.0');
    const ended = await login(email, 'Old Tablet/0.1');
    await gw.rest('POST', '/auth/logout', { refresh_token: ended.refresh_token });
    const rest = await gw.rest('GET', '/auth/sessions', undefined, bearer(phone.access_token));
    expect(rest.status).toBe(200);
    const sessions = rest.body.sessions;
    expect(sessions.map((s: { user_agent: string }) => s.user_agent)).toEqual(['Phone App/2.0', 'Laptop Browser/1.0']);
    expect(sessions.map((s: { current: boolean }) => s.current)).toEqual([true, false]);
    expect(Object.keys(sessions[0]).sort()).toEqual(['auth_method', 'created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent']);
    expect(sessions[0]).toMatchObject({ auth_method: 'password', ip: '127.0.0.1' });
    const gql = await gw.gql('{ sessions { id current authMethod userAgent ip } }', undefined, bearer(laptop.access_token));
    expect(gql.body.data.sessions.map((s: { current: boolean }) => s.current)).toEqual([false, true]);
    // A refresh records where the session was last used from.
    await gw.rest('POST', '/auth/refresh', { refresh_token: laptop.refresh_token }, { 'user-agent': 'Laptop Browser/1.1' });
    const after = (await gw.rest('GET', '/auth/sessions', undefined, bearer(phone.access_token))).body.sessions;
    expect(after.find((s: { id: string }) => s.id === sessions[1].id).user_agent).toBe('Laptop Browser/1.1');
  });

  it('revokes one session by id: it stops working, the others go on; another user\'s or an ended one is not found (both doors)', async () => {
    const email = await user();
    const a = await login(email, 'A');
    const b = await login(email, 'B');
    const c = await login(email, 'C');
    const ids = (await gw.rest('GET', '/auth/sessions', undefined, bearer(a.access_token))).body.sessions.map((s: { id: string; user_agent: string }) => [s.user_agent, s.id]);
    const idOf = (agent: string) => ids.find(([ua]: string[]) => ua === agent)[1];
    expect((await gw.rest('DELETE', `/auth/sessions/${idOf('B')}`, undefined, bearer(a.access_token))).status).toBe(204);
    expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: b.refresh_token }), 'refresh', 'auth_refresh_invalid', 401);
    expectRestError(await gw.rest('GET', '/auth/me', undefined, bearer(b.access_token)), 'me', 'auth_unauthenticated', 401);
    expect((await gw.gql(`mutation { revokeSession(id: "${idOf('C')}") }`, undefined, bearer(a.access_token))).body.data.revokeSession).toBe(true);
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(c.access_token))).status).toBe(401);
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(a.access_token))).status).toBe(200);
    // Another user's session, an ended one, a malformed id: not found.
    const other = await login(await user(), 'X');
    const otherId = (await gw.rest('GET', '/auth/sessions', undefined, bearer(other.access_token))).body.sessions[0].id;
    for (const id of [otherId, idOf('B'), 'not-a-uuid']) {
      expectRestError(await gw.rest('DELETE', `/auth/sessions/${id}`, undefined, bearer(a.access_token)), 'revokeSession', 'auth_session_not_found', 404);
      expectGqlError(await gw.gql(`mutation { revokeSession(id: "${id}") }`, undefined, bearer(a.access_token)), 'revokeSession', 'auth_session_not_found', 404);
    }
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(other.access_token))).status).toBe(200);
    const [event] = await gw.sql("select count(*)::int as n from audit_events where type = 'session_revoked' and session_id = $1", [idOf('B')]);
    expect(event.n).toBe(1);
  });
});

describe('own sign-in methods', () => {
  it('lists the password, passkeys and Google links; unlinks Google unless it is the last way in', async () => {
    const email = await user();
    const s = await signIn(gw, { tenant: 'acme', email, password: PASSWORD });
    const sub = `u${Date.now()}`;
    const link = await gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken({ sub, hd: undefined }) }, bearer(s.access_token));
    expect(link.status).toBe(201);
    await registerPasskey(gw, new SoftAuthenticator(), s.access_token, 'laptop');
    const listed = (await gw.gql('{ identities { password passkeys { name } google { id subject provider } } }', undefined, bearer(s.access_token))).body.data.identities;
    expect(listed).toEqual({ password: true, passkeys: [{ name: 'laptop' }], google: [{ id: link.body.id, subject: sub, provider: 'google' }] });

    // A Google-only user cannot remove their only way in.
    await gw.sql("update users set password_hash = null where email = $1", [email]);
    await gw.sql('delete from webauthn_credentials where user_id = (select id from users where email = $1)', [email]);
    expectGqlError(await gw.gql(`mutation { unlinkGoogle(id: "${link.body.id}") }`, undefined, bearer(s.access_token)), 'unlinkGoogle', 'auth_identity_last_method', 409);
    expectGqlError(await gw.gql('mutation { unlinkGoogle(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, bearer(s.access_token)), 'unlinkGoogle', 'auth_identity_not_found', 404);
    // With a passkey again, the link can go.
    await registerPasskey(gw, new SoftAuthenticator(), s.access_token, 'phone');
    expect((await gw.gql(`mutation { unlinkGoogle(id: "${link.body.id}") }`, undefined, bearer(s.access_token))).body.data.unlinkGoogle).toBe(true);
    expect((await gw.gql('{ identities { password google { id } } }', undefined, bearer(s.access_token))).body.data.identities).toEqual({ password: false, google: [] });
    const [event] = await gw.sql("select count(*)::int as n from audit_events where type = 'google_unlinked' and details->>'identityId' = $1", [link.body.id]);
    expect(event.n).toBe(1);
  });
});
