// Who may call what: an API key never authenticates what changes how the account signs in; adding a sign-in method needs a recent proof; tenant-wide key management reads its permission from the database; a password set by an operator revokes the keys.
import { describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { operations, type OperationName } from '../../src/api/operations.js';
import { setUserPassword } from '../../src/services/operator/commands.js';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import type { ImportDocument } from '../../src/services/operator/import.js';
import { bearer, expectGqlError, expectRestError, holdingUserRow, registerPasskey, type HttpResult } from '../helpers/gateway.js';
import { gw, google, signIn, ada, apiKey, staleAccessToken, useReviewGateway } from '../helpers/review-fixture.js';

useReviewGateway();

type Tenant = ImportDocument['tenants'][number];
/** Vault Co, whose `vault` role needs two factors (mfa_required_roles), with `users` and the roles beside it. */
const seedVault = (users: NonNullable<Tenant['users']>, roles: NonNullable<Tenant['roles']> = []) =>
  gw.seed({ tenants: [{ slug: 'vaultco', name: 'Vault Co', mfa_required_roles: ['vault'], roles: [{ name: 'vault', permissions: ['users:read'] }, ...roles], users }] });
/** How many notices of a new way in Vault Co has mailed so far. */
const wayInNotices = async (): Promise<number> =>
  (await gw.sql("select count(*)::int as n from mail_outbox m join tenants t on t.id = m.tenant_id where t.slug = 'vaultco' and m.kind = 'way_in_added'"))[0].n;

describe('credential kinds: an API key never authenticates what changes how the account signs in', () => {
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
    createSsoConnection: (h) => [null, () => gw.gql('mutation { createSsoConnection(input: {name: "x", type: OIDC, issuer: "https://idp.example", clientId: "c", clientSecret: "s"}) { id } }', undefined, h)],
    updateSsoConnection: (h) => [
      null,
      () => gw.gql('mutation { updateSsoConnection(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11", input: {name: "x", type: OIDC, issuer: "https://idp.example", clientId: "c"}) { id } }', undefined, h),
    ],
    setSsoRedirectUrls: (h) => [null, () => gw.gql('mutation { setSsoRedirectUrls(urls: []) }', undefined, h)],
    verifySsoDomain: (h) => [null, () => gw.gql('mutation { verifySsoDomain(domain: "acme.example") { verified } }', undefined, h)],
    deleteSsoConnection: (h) => [null, () => gw.gql('mutation { deleteSsoConnection(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h)],
    createOAuthClient: (h) => [null, () => gw.gql('mutation { createOAuthClient(input: {name: "x", redirectUris: ["https://app.example/cb"]}) { clientId } }', undefined, h)],
    updateOAuthClient: (h) => [null, () => gw.gql('mutation { updateOAuthClient(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11", input: {name: "x", redirectUris: ["https://app.example/cb"]}) { id } }', undefined, h)],
    rotateOAuthClientSecret: (h) => [null, () => gw.gql('mutation { rotateOAuthClientSecret(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") { clientId } }', undefined, h)],
    oauthGrants: (h) => [null, () => gw.gql('{ oauthGrants { id } }', undefined, h)],
    revokeOAuthGrant: (h) => [null, () => gw.gql('mutation { revokeOAuthGrant(id: "x") }', undefined, h)],
    deleteOAuthClient: (h) => [null, () => gw.gql('mutation { deleteOAuthClient(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h)],
    unlinkGoogle: (h) => [null, () => gw.gql('mutation { unlinkGoogle(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h)],
    createWebhookEndpoint: (h) => [null, () => gw.gql('mutation { createWebhookEndpoint(input: {url: "https://hooks.example/x"}) { secret } }', undefined, h)],
    updateWebhookEndpoint: (h) => [null, () => gw.gql('mutation { updateWebhookEndpoint(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11", input: {url: "https://hooks.example/x"}) { id } }', undefined, h)],
    rotateWebhookSecret: (h) => [null, () => gw.gql('mutation { rotateWebhookSecret(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") { secret } }', undefined, h)],
    deleteWebhookEndpoint: (h) => [null, () => gw.gql('mutation { deleteWebhookEndpoint(id: "0b0a0e3c-2b9e-4a36-9d0e-6d3f0f1c2a11") }', undefined, h)],
    redeliverWebhook: (h) => [null, () => gw.gql('mutation { redeliverWebhook(messageId: "msg_00000000000000000000000000000000") }', undefined, h)],
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

describe('adding a sign-in method needs a recent proof of a credential', () => {
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

describe('a passkey holder whose role needs two factors', () => {
  it('a session the password alone opened cannot add or remove a way in beside the passkey (passkey, TOTP, Google link, password): auth_reauthentication_required through both doors; a passkey session can', async () => {
    await seedVault([{ email: 'val@vault.test', password: 'val password 123', roles: ['vault'] }]);
    const who = { tenant: 'vaultco', email: 'val@vault.test', password: 'val password 123' };
    const auth = new SoftAuthenticator();
    // The first strong way in comes from the restricted session the password opens: that is what it is for.
    const first = await signIn(who.tenant, who.email, who.password);
    expect(decodeJwt(first.access_token).acr).toBe('aal1');
    await registerPasskey(gw, auth, first.access_token);
    const passwordOnly = (await signIn(who.tenant, who.email, who.password)).access_token;
    const ways: Array<[OperationName, () => Promise<HttpResult>, () => Promise<HttpResult>]> = [
      ['webauthnRegisterOptions', () => gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(passwordOnly)), () => gw.gql('mutation { webauthnRegisterOptions }', undefined, bearer(passwordOnly))],
      ['mfaTotpEnroll', () => gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(passwordOnly)), () => gw.gql('mutation { mfaTotpEnroll { secret } }', undefined, bearer(passwordOnly))],
      [
        'linkGoogle',
        async () => gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken() }, bearer(passwordOnly)),
        async () => gw.gql('mutation($t: String!) { linkGoogle(input: {idToken: $t}) { id } }', { t: await google.idToken() }, bearer(passwordOnly)),
      ],
    ];
    for (const [op, rest, gql] of ways) {
      expectRestError(await rest(), op, 'auth_reauthentication_required', 401);
      expectGqlError(await gql(), op, 'auth_reauthentication_required', 401);
    }
    // Nor remove one: else it could remove the passkey and add its own as the "first".
    const [{ id: passkeyId }] = await gw.sql("select c.id from webauthn_credentials c join users u on u.id = c.user_id where u.email = 'val@vault.test'");
    expectRestError(await gw.rest('DELETE', `/auth/webauthn/credentials/${passkeyId}`, undefined, bearer(passwordOnly)), 'deletePasskey', 'auth_reauthentication_required', 401);
    expectGqlError(await gw.gql('mutation($id: ID!) { deletePasskey(id: $id) }', { id: passkeyId }, bearer(passwordOnly)), 'deletePasskey', 'auth_reauthentication_required', 401);
    expectGqlError(await gw.gql('mutation($id: ID!) { unlinkGoogle(id: $id) }', { id: passkeyId }, bearer(passwordOnly)), 'unlinkGoogle', 'auth_reauthentication_required', 401);
    expectRestError(
      await gw.rest('POST', '/auth/password/change', { current_password: who.password, new_password: 'taken over passphrase 9' }, bearer(passwordOnly)),
      'changePassword',
      'auth_reauthentication_required',
      401,
    );
    expect(await gw.sql("select count(*)::int as n from mfa_factors f join users u on u.id = f.user_id where u.email = 'val@vault.test'")).toEqual([{ n: 0 }]);
    expect(await gw.sql("select count(*)::int as n from webauthn_credentials c join users u on u.id = c.user_id where u.email = 'val@vault.test'")).toEqual([{ n: 1 }]);

    // Signed in with the passkey (user verified: two factors), the same calls go through.
    const options = await gw.rest('POST', '/auth/webauthn/login/options', { tenant: who.tenant, email: who.email });
    const signedIn = await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: who.tenant, response: auth.get(options.body) });
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(decodeJwt(signedIn.body.access_token).acr).toBe('aal2');
    expect((await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(signedIn.body.access_token))).status).toBe(200);
    expect((await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(signedIn.body.access_token))).status).toBe(200);
  });
});

describe('the first strong way in of a holder of a role that needs two factors', () => {
  let n = 0;
  /** A fresh holder of the vault role (mfa_required_roles) with nothing but a password. */
  async function holder(): Promise<{ tenant: string; email: string; password: string }> {
    const who = { tenant: 'vaultco', email: `first${n++}.${Date.now()}@vault.test`, password: 'first way passphrase 1' };
    await seedVault([{ email: who.email, password: who.password, roles: ['vault'] }]);
    return who;
  }
  const restricted = async (who: { tenant: string; email: string; password: string }) => {
    const at = (await signIn(who.tenant, who.email, who.password)).access_token;
    expect(decodeJwt(at).acr).toBe('aal1');
    return at;
  };
  const countOf = async (table: 'webauthn_credentials' | 'mfa_factors', email: string, where = 'true') =>
    (await gw.sql(`select count(*)::int as n from ${table} t join users u on u.id = t.user_id where u.email = $1 and ${where}`, [email]))[0].n;

  it('a TOTP enrolment begun before the owner\'s passkey cannot be activated after it by a password session', async () => {
    const who = await holder();
    const { secret } = (await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(await restricted(who)))).body;
    await registerPasskey(gw, new SoftAuthenticator(), await restricted(who));
    const code = new TOTP({ secret: Secret.fromBase32(secret) }).generate();
    expectRestError(await gw.rest('POST', '/auth/mfa/totp/activate', { code }, bearer(await restricted(who))), 'mfaTotpActivate', 'auth_reauthentication_required', 401);
    expect(await countOf('mfa_factors', who.email, "t.status = 'active'")).toBe(0);
  });

  it('registration options fetched before the owner\'s passkey carry no right when the ceremony ends (both doors)', async () => {
    const who = await holder();
    const early = await restricted(who);
    const auth = new SoftAuthenticator();
    const rest = (await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(early))).body;
    const gql = (await gw.gql('mutation { webauthnRegisterOptions }', undefined, bearer(early))).body.data.webauthnRegisterOptions;
    await registerPasskey(gw, new SoftAuthenticator(), await restricted(who));
    const late = await restricted(who);
    expectRestError(await gw.rest('POST', '/auth/webauthn/register/verify', { response: auth.create(rest) }, bearer(late)), 'webauthnRegisterVerify', 'auth_reauthentication_required', 401);
    expectGqlError(
      await gw.gql('mutation($i: WebauthnRegisterVerifyInput) { webauthnRegisterVerify(input: $i) { id } }', { i: { response: auth.create(gql) } }, bearer(late)),
      'webauthnRegisterVerify',
      'auth_reauthentication_required',
      401,
    );
    expect(await countOf('webauthn_credentials', who.email)).toBe(1);
  });

  it('a restricted session links no Google account (it would outlive a reset of the password): auth_reauthentication_required through both doors', async () => {
    const who = await holder();
    const at = await restricted(who);
    expectRestError(await gw.rest('POST', '/auth/login/google/link', { id_token: await google.idToken() }, bearer(at)), 'linkGoogle', 'auth_reauthentication_required', 401);
    expectGqlError(await gw.gql('mutation($t: String!) { linkGoogle(input: {idToken: $t}) { id } }', { t: await google.idToken() }, bearer(at)), 'linkGoogle', 'auth_reauthentication_required', 401);
    expect(await gw.sql('select count(*)::int as n from external_identities e join users u on u.id = e.user_id where u.email = $1', [who.email])).toEqual([{ n: 0 }]);
  });

  it('the first passkey ends the other one-factor sessions, as a TOTP activation does, and the owner is told of it', async () => {
    const who = await holder();
    const other = await signIn(who.tenant, who.email, who.password);
    const before = await wayInNotices();
    await registerPasskey(gw, new SoftAuthenticator(), await restricted(who));
    expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: other.refresh_token }), 'refresh', 'auth_refresh_invalid', 401);
    expect(await wayInNotices()).toBe(before + 1);
  });

  it('a passkey, a Google link and an API key planted with the password alone before a promotion: the owner is told, and an administrator\'s resetUserMfa removes them and ends their sessions', async () => {
    const email = `promoted${Date.now()}@vault.test`;
    await seedVault(
      [
        { email, password: 'promoted passphrase 1', roles: ['plain'] },
        { email: 'keeper@vault.test', password: 'keeper passphrase 1', roles: ['keeper'] },
      ],
      [
        { name: 'plain', permissions: ['api_keys:create'] },
        { name: 'keeper', permissions: ['users:read', 'users:manage', 'api_keys:create'] },
      ],
    );
    const before = await wayInNotices();
    // Before the promotion the password alone may add a passkey (the account needs no second factor yet)...
    const planted = new SoftAuthenticator();
    const beforePromotion = (await signIn('vaultco', email, 'promoted passphrase 1')).access_token;
    await registerPasskey(gw, planted, beforePromotion);
    const googleToken = await google.idToken({ email: 'planter@elsewhere.test', hd: undefined });
    expect((await gw.rest('POST', '/auth/login/google/link', { id_token: googleToken }, bearer(beforePromotion))).status).toBe(201);
    expect(await wayInNotices()).toBe(before + 2); // ...and the owner of the mailbox is told of each.
    expect((await gw.rest('POST', '/auth/api-key', { name: 'planted' }, bearer(beforePromotion))).status).toBe(201);
    const keeper = (await signIn('vaultco', 'keeper@vault.test', 'keeper passphrase 1')).access_token;
    const [{ id: userId }] = await gw.sql('select id from users where email = $1', [email]);
    expect((await gw.gql('mutation($id: ID!) { setUserRoles(userId: $id, roles: ["vault"]) { roles } }', { id: userId }, bearer(keeper))).body.data.setUserRoles.roles).toEqual(['vault']);
    const options = await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'vaultco', email });
    const withPlanted = await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'vaultco', response: planted.get(options.body) });
    expect(withPlanted.status).toBe(200);

    // The administrator's recovery: the passkey (here the second factor) and its sessions go.
    const reset = await gw.gql('mutation($id: ID!) { resetUserMfa(userId: $id) { passkeyCount mfaEnabled } }', { id: userId }, bearer(keeper));
    expect(reset.body.data.resetUserMfa).toEqual({ passkeyCount: 0, mfaEnabled: false });
    expect(await gw.sql('select count(*)::int as n from external_identities where user_id = $1', [userId])).toEqual([{ n: 0 }]);
    expect(await gw.sql('select count(*)::int as n from api_keys where user_id = $1 and revoked_at is null', [userId])).toEqual([{ n: 0 }]);
    const viaGoogle = await gw.rest('POST', '/auth/login/google', { tenant: 'vaultco', id_token: googleToken });
    expect(viaGoogle.body.user?.email).not.toBe(email);
    expectRestError(await gw.rest('POST', '/auth/refresh', { refresh_token: withPlanted.body.refresh_token }), 'refresh', 'auth_refresh_invalid', 401);
    const again = await gw.rest('POST', '/auth/webauthn/login/options', { tenant: 'vaultco' }); // discoverable: the authenticator still holds it
    expect((await gw.rest('POST', '/auth/webauthn/login/verify', { tenant: 'vaultco', response: planted.get(again.body) })).status).toBe(401);
  });

  it('a manager who covers a user only until a promotion commits cannot act on them after it: coverage is judged under the user\'s row lock', async () => {
    const email = `racing${Date.now()}@vault.test`;
    await seedVault(
      [
        { email, password: 'racing passphrase 1', roles: ['plain'] },
        { email: 'keeper@vault.test', password: 'keeper passphrase 1', roles: ['keeper'] },
        { email: 'desk@vault.test', password: 'desk passphrase 1', roles: ['desk'] },
      ],
      [
        { name: 'plain', permissions: [] },
        { name: 'keeper', permissions: ['users:read', 'users:manage'] },
        { name: 'desk', permissions: ['users:manage'] },
      ],
    );
    const [{ id: userId }] = await gw.sql('select id from users where email = $1', [email]);
    const keeper = (await signIn('vaultco', 'keeper@vault.test', 'keeper passphrase 1')).access_token;
    const desk = (await signIn('vaultco', 'desk@vault.test', 'desk passphrase 1')).access_token;
    // The promotion queues for the user's row first, the reset second.
    await holdingUserRow(gw, { id: userId }, async ({ queued, release }) => {
      const promotion = gw.gql('mutation($id: ID!) { setUserRoles(userId: $id, roles: ["vault"]) { roles } }', { id: userId }, bearer(keeper));
      await expect.poll(queued).toBe(1);
      const reset = gw.gql('mutation($id: ID!) { resetUserMfa(userId: $id) { mfaEnabled } }', { id: userId }, bearer(desk));
      await expect.poll(queued).toBe(2);
      await release();
      expect((await promotion).body.data.setUserRoles.roles).toEqual(['vault']);
      expectGqlError(await reset, 'resetUserMfa', 'auth_forbidden', 403);
    });
  });

  it('two first ways in at once: one is added, the other refused', async () => {
    const who = await holder();
    const at = await restricted(who);
    const [a, b] = [new SoftAuthenticator(), new SoftAuthenticator()];
    const optionsA = (await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(at))).body;
    const optionsB = (await gw.rest('POST', '/auth/webauthn/register/options', {}, bearer(at))).body;
    const results = await Promise.all([
      gw.rest('POST', '/auth/webauthn/register/verify', { response: a.create(optionsA) }, bearer(at)),
      gw.rest('POST', '/auth/webauthn/register/verify', { response: b.create(optionsB) }, bearer(at)),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 401]);
    expect(await countOf('webauthn_credentials', who.email)).toBe(1);
  });
});

describe('tenant-wide key management reads the permission from the database', () => {
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

describe('an operator-set password', () => {
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
