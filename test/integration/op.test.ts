// Every tenant an OpenID Provider (SPEC §12), driven by openid-client (the certified relying
// party) over HTTP: discovery, the authorization code with PKCE and the ID token validated with
// its signature, consent for a third-party client, the TOTP step, refresh rotation and reuse,
// client credentials, userinfo; and the refusals: no PKCE, an unregistered redirect URI (never
// redirected to), a reused code, a wrong secret, another tenant's users and clients.
import * as oc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { bearer, freePort, requestJson, signIn, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MiniBrowser } from '../helpers/oidc-idp.js';
import { authorizationRequest, relyingParty, throughPages } from '../helpers/op-flow.js';
import { PgAdapter } from '../../src/services/op/adapter.js';

let gw: TestGateway;
let publicUrl: string;
const APP = 'https://app.acme.example/callback';
const SECRET = 'web-client-secret-0123456789abcdefghij';
const PASSWORD = 'op test passphrase 1';

beforeAll(async () => {
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  gw = await startTestGateway({ port, env: { PUBLIC_URL: publicUrl } });
  const clients = [
    { client_id: 'web', client_secret: SECRET, name: 'Acme Web', redirect_uris: [APP], post_logout_redirect_uris: ['https://app.acme.example/bye'] },
    { client_id: 'console', client_secret: SECRET, name: 'Acme Console', redirect_uris: [APP], first_party: true },
    { client_id: 'cli', name: 'Acme CLI', public: true, redirect_uris: ['http://127.0.0.1:8765/cb'], first_party: true },
    { client_id: 'svc', client_secret: SECRET, name: 'Billing service', grant_types: ['client_credentials'], scopes: ['openid'] },
    { client_id: 'tv', name: 'Acme TV', public: true, grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], first_party: true },
    { client_id: 'narrow', client_secret: SECRET, name: 'Acme Narrow', redirect_uris: [APP], scopes: ['openid'] },
  ];
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        roles: [
          { name: 'member', permissions: ['users:read'] },
          { name: 'clients', permissions: ['clients:manage'] },
          { name: 'client-boss', permissions: ['clients:manage', 'users:read', 'users:manage'] },
        ],
        users: [
          { email: 'ada@acme.example', password: PASSWORD, roles: ['member'] },
          { email: 'cleo@acme.example', password: PASSWORD, roles: ['clients'] },
          { email: 'boss@acme.example', password: PASSWORD, roles: ['client-boss'] },
          { email: 'off@acme.example', password: PASSWORD, roles: [], disabled: true },
        ],
        oauth_clients: clients,
      },
      // The same client ids in another tenant: a different provider, other users.
      { slug: 'globex', name: 'Globex', roles: [], users: [{ email: 'gus@globex.example', password: PASSWORD, roles: [] }], oauth_clients: [clients[0]] },
    ],
  } as never);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const issuer = (tenant = 'acme') => `${publicUrl}/oidc/${tenant}`;
const rp = (clientId: string, secret?: string, tenant = 'acme') => relyingParty(issuer(tenant), clientId, secret);

/** A browser's sign-in at the provider: the authorization URL, the sign-in form (and what follows), back at the redirect URI. */
async function authorize(
  config: oc.Configuration,
  o: { email?: string; password?: string; consent?: 'allow' | 'deny'; params?: Record<string, string>; redirect?: string; totp?: () => string; browser?: MiniBrowser } = {},
) {
  const redirect = o.redirect ?? APP;
  const { url, verifier, state, nonce } = await authorizationRequest(config, redirect, o.params);
  const at = await throughPages(url.href, redirect, publicUrl, { email: o.email ?? 'ada@acme.example', password: o.password ?? PASSWORD, consent: o.consent, totp: o.totp }, o.browser);
  return { at, verifier, state, nonce };
}

describe('the provider of each tenant', () => {
  it('publishes discovery under PUBLIC_URL with PKCE S256 only and RS256 ID tokens; no provider for an unknown tenant', async () => {
    const doc = (await requestJson(`${issuer()}/.well-known/openid-configuration`, 'GET')).body;
    expect(doc.issuer).toBe(issuer());
    expect(doc.authorization_endpoint.startsWith(`${issuer()}/`)).toBe(true);
    expect(doc.token_endpoint.startsWith(`${issuer()}/`)).toBe(true);
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.id_token_signing_alg_values_supported).toContain('RS256');
    expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
    expect((await requestJson(`${issuer('globex')}/.well-known/openid-configuration`, 'GET')).body.issuer).toBe(issuer('globex'));
    expect((await requestJson(`${issuer('nope')}/.well-known/openid-configuration`, 'GET')).status).toBe(404);
  });

  it('signs a user in with the code flow and PKCE (consent for a third-party client); the ID token checks out, signature included', async () => {
    const config = await rp('web', SECRET);
    const { at, verifier, state, nonce } = await authorize(config);
    expect(at.url.searchParams.get('code'), at.url.href).toBeTruthy();
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    const claims = tokens.claims()!;
    const [ada] = await gw.sql("select id from users where email = 'ada@acme.example'");
    expect(claims).toMatchObject({ iss: issuer(), aud: 'web', sub: ada.id, email: 'ada@acme.example', tenant: 'acme', roles: ['member'], acr: 'aal1' });
    expect(JSON.parse(Buffer.from(tokens.id_token!.split('.')[0], 'base64url').toString()).alg).toBe('RS256');
    const info = await oc.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: ada.id, email: 'ada@acme.example' });
    // The provider's tokens are not the gateway's: `me` refuses them.
    expect((await gw.rest('GET', '/auth/me', undefined, { authorization: `Bearer ${tokens.access_token}` })).status).toBe(401);
  });

  it('a user with TOTP takes the second step on the hosted page: acr aal2, amr with otp', async () => {
    const email = 'two@acme.example';
    await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [{ email, password: PASSWORD, roles: [] }] }] } as never);
    const { access_token } = await signIn(gw, { tenant: 'acme', email, password: PASSWORD });
    const secret = (await gw.rest('POST', '/auth/mfa/totp/enroll', {}, bearer(access_token))).body.secret;
    const code = (steps: number) => new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret) }).generate({ timestamp: Date.now() + steps * 30_000 });
    expect((await gw.rest('POST', '/auth/mfa/totp/activate', { code: code(0) }, bearer(access_token))).status).toBe(200);
    const config = await rp('web', SECRET);
    const { at, verifier, state, nonce } = await authorize(config, { email, totp: () => code(1), params: { acr_values: 'aal2' } });
    expect(at.url.searchParams.get('code'), at.body?.slice(0, 300)).toBeTruthy();
    const claims = (await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })).claims()!;
    expect([claims.email, claims.acr, claims.amr]).toEqual([email, 'aal2', ['pwd', 'otp', 'mfa']]);
  });

  it('acr_values=aal2: a user without a second factor gets access_denied saying so; discovery lists aal1 and aal2', async () => {
    const config = await rp('web', SECRET);
    const { at } = await authorize(config, { params: { acr_values: 'aal2' } });
    expect([at.url.searchParams.get('error'), at.url.searchParams.get('error_description')]).toEqual(['access_denied', 'the app asks for two factors and the user has no second factor']);
    expect((await requestJson(`${issuer()}/.well-known/openid-configuration`, 'GET')).body.acr_values_supported).toEqual(['aal1', 'aal2']);
  });

  it('prompt=none without a session at the provider answers login_required, counted as auth_oauth_login_required', async () => {
    const config = await rp('web', SECRET);
    const { url } = await authorizationRequest(config, APP, { prompt: 'none' });
    const res = await requestJson(url.href, 'GET');
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('login_required');
    expect(res.headers.get('x-error-code')).toBe('auth_oauth_login_required');
  });

  it('the browser session\'s cookie value is stored nowhere in plain (an interaction names its session sealed)', async () => {
    const browser = new MiniBrowser();
    const config = await rp('web', SECRET);
    const { at } = await authorize(config, { browser });
    expect(at.url.searchParams.get('code')).toBeTruthy();
    // Signed in: a request for more scopes makes an interaction (consent) of this browser's session; left open.
    const more = await authorizationRequest(config, APP, { scope: 'openid email profile' });
    expect((await browser.follow(more.url.href, (u) => u.href.startsWith(APP))).body).toContain('name="decision"');
    const cookie = browser.cookie(publicUrl, '_session');
    expect(cookie).toBeTruthy();
    expect(await gw.sql("select count(*)::int as n from oidc_models where id = $1 or strpos(payload::text, $1) > 0", [cookie])).toEqual([{ n: 0 }]);
    expect((await gw.sql("select count(*)::int as n from oidc_models where model = 'Interaction' and payload->'session' ? 'sealedCookie'"))[0].n).toBeGreaterThan(0);
  });

  it('a user who denies consent goes back with access_denied', async () => {
    const config = await rp('web', SECRET);
    const { at } = await authorize(config, { consent: 'deny' });
    expect(at.url.searchParams.get('error')).toBe('access_denied');
    expect(at.url.searchParams.get('code')).toBeNull();
  });

  it('a first-party client gets no consent page and a refresh token without offline_access; refresh rotates and a reused one revokes the grant', async () => {
    const config = await rp('console', SECRET);
    const { at, verifier, state, nonce } = await authorize(config, { consent: 'deny' });
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.refresh_token).toBeTruthy();
    // Codes and tokens are kept as keyed hashes (sealed where the provider needs them back), never in plain.
    for (const value of [at.url.searchParams.get('code')!, tokens.access_token, tokens.refresh_token!]) {
      expect(await gw.sql('select count(*)::int as n from oidc_models where id = $1 or strpos(payload::text, $1) > 0', [value])).toEqual([{ n: 0 }]);
    }
    const next = await oc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(next.refresh_token).toBeTruthy();
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    await expect(oc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // The reuse revoked the grant: the newer token is dead too.
    await expect(oc.refreshTokenGrant(config, next.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('a code or a refresh token presented twice at once: one answer at most, the other invalid_grant, and the grant revoked (the answer\'s tokens die)', async () => {
    const config = await rp('console', SECRET);
    const settled = <T>(results: PromiseSettledResult<T>[]) => ({
      won: results.filter((r): r is PromiseFulfilledResult<T> => r.status === 'fulfilled').map((r) => r.value),
      lost: results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason.error),
    });
    for (let round = 0; round < 3; round++) {
      const { at, verifier, state, nonce } = await authorize(config, { consent: 'deny' });
      const codes = settled(await Promise.allSettled([1, 2].map(() => oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }))));
      expect(codes.won.length).toBeLessThanOrEqual(1);
      expect(codes.lost).toEqual(Array(2 - codes.won.length).fill('invalid_grant'));
      for (const tokens of codes.won) {
        await expect(oc.fetchUserInfo(config, tokens.access_token, oc.skipSubjectCheck)).rejects.toBeTruthy();
        await expect(oc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      }

      const fresh = await authorize(config, { consent: 'deny' });
      const tokens = await oc.authorizationCodeGrant(config, fresh.at.url, { pkceCodeVerifier: fresh.verifier, expectedState: fresh.state, expectedNonce: fresh.nonce });
      const refreshes = settled(await Promise.allSettled([1, 2].map(() => oc.refreshTokenGrant(config, tokens.refresh_token!))));
      expect(refreshes.won.length).toBeLessThanOrEqual(1);
      expect(refreshes.lost).toEqual(Array(2 - refreshes.won.length).fill('invalid_grant'));
      for (const next of refreshes.won) await expect(oc.refreshTokenGrant(config, next.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    }
  });

  it('a revoked grant is never written back by a request that found it before the revoke', async () => {
    const [acme] = await gw.sql("select id from tenants where slug = 'acme'");
    const adapter = (model: string) => new PgAdapter({ config: gw.config, fork: () => gw.orm.em.fork(), findClient: async () => undefined }, acme.id, model);
    const grants = adapter('Grant');
    const payload = { accountId: 'someone', clientId: 'console', kind: 'Grant' } as never;
    await grants.upsert('grant-written-back', payload, 3600);
    await adapter('AccessToken').upsert('token-of-the-grant', { grantId: 'grant-written-back', kind: 'AccessToken' } as never, 3600);
    expect(await grants.find('grant-written-back')).toBeTruthy();
    await grants.destroy('grant-written-back');
    expect(await adapter('AccessToken').find('token-of-the-grant')).toBeUndefined();
    // The late save of a request that loaded the grant before it was destroyed.
    await grants.upsert('grant-written-back', payload, 3600);
    expect(await grants.find('grant-written-back')).toBeUndefined();
    // Another grant is written as ever.
    await grants.upsert('another-grant', payload, 3600);
    expect(await grants.find('another-grant')).toBeTruthy();
  });

  it('a public client signs in with PKCE alone', async () => {
    const config = await rp('cli');
    const { at, verifier, state, nonce } = await authorize(config, { redirect: 'http://127.0.0.1:8765/cb' });
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()!.email).toBe('ada@acme.example');
  });

  it('client credentials: the token is for the client', async () => {
    const config = await rp('svc', SECRET);
    const tokens = await oc.clientCredentialsGrant(config, { scope: 'openid' });
    expect(tokens.access_token).toBeTruthy();
    const intro = await oc.tokenIntrospection(config, tokens.access_token);
    expect(intro).toMatchObject({ active: true, client_id: 'svc', sub: 'svc' });
  });
});

describe('what the provider refuses', () => {
  it('a scope the client was not given: invalid_scope at the authorization endpoint (back to the app) and the token endpoint', async () => {
    const config = await rp('narrow', SECRET);
    const { url } = await authorizationRequest(config, APP, { scope: 'openid email' });
    const res = await requestJson(url.href, 'GET');
    const back = new URL(res.headers.get('location')!);
    expect([back.href.startsWith(APP), back.searchParams.get('error'), res.headers.get('x-error-code')]).toEqual([true, 'invalid_scope', 'auth_oauth_invalid_scope']);
    const basic = { authorization: `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' };
    const cc = await requestJson(`${issuer()}/token`, 'POST', 'grant_type=client_credentials&scope=openid%20email', basic);
    expect([cc.status, cc.body.error, cc.headers.get('x-error-code')]).toEqual([400, 'invalid_scope', 'auth_oauth_invalid_scope']);
  });

  it('an authorization request without PKCE, or with plain, never reaches a sign-in', async () => {
    const config = await rp('web', SECRET);
    for (const params of [{ code_challenge: '', code_challenge_method: '' }, { code_challenge_method: 'plain' }]) {
      const url = oc.buildAuthorizationUrl(config, { redirect_uri: APP, scope: 'openid', state: 's', ...params });
      if (!params.code_challenge_method) {
        url.searchParams.delete('code_challenge');
        url.searchParams.delete('code_challenge_method');
      }
      const res = await new MiniBrowser().follow(url.href, (u) => u.href.startsWith(APP));
      expect(res.url.searchParams.get('error'), res.url.href).toBe('invalid_request');
    }
  });

  it('an unregistered redirect URI gets the provider\'s own error page and is never redirected to', async () => {
    const config = await rp('web', SECRET);
    const url = oc.buildAuthorizationUrl(config, { redirect_uri: 'https://evil.example/cb', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
    const res = await new MiniBrowser().follow(url.href, (u) => u.hostname === 'evil.example');
    expect(res.url.hostname).not.toBe('evil.example');
    expect(res.status).toBe(400);
    // A page in words, never raw JSON.
    expect(res.body).toContain('has not registered');
    expect(res.body).not.toMatch(/^\s*\{/);
  });

  it('a code works once; a wrong secret is invalid_client', async () => {
    const config = await rp('web', SECRET);
    const { at, verifier, state, nonce } = await authorize(config);
    await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    await expect(oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })).rejects.toMatchObject({ error: 'invalid_grant' });
    const wrong = await rp('web', `${SECRET}-wrong`);
    const refused = await oc.clientCredentialsGrant(wrong).catch((e: unknown) => e);
    expect(JSON.stringify(refused)).toContain('"error":"invalid_client"');
  });

  it('counts each refusal by its catalog code (X-Error-Code, auth_errors_total) while the body stays the RFC\'s', async () => {
    const basic = (secret: string) => ({ authorization: `Basic ${Buffer.from(`svc:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' });
    const wrong = await requestJson(`${issuer()}/token`, 'POST', 'grant_type=client_credentials&scope=openid', basic('not the secret at all, no'));
    expect([wrong.status, wrong.headers.get('x-error-code'), wrong.body.error]).toEqual([401, 'auth_oauth_invalid_client', 'invalid_client']);
    // A grant the client does not have (oidc-provider answers invalid_request for it).
    const grant = await requestJson(`${issuer()}/token`, 'POST', 'grant_type=refresh_token&refresh_token=nope', basic(SECRET));
    expect([grant.status, grant.headers.get('x-error-code'), grant.body.error], JSON.stringify(grant.body)).toEqual([400, 'auth_oauth_invalid_request', 'invalid_request']);
    const unsupported = await requestJson(`${issuer()}/token`, 'POST', 'grant_type=password&username=a&password=b', basic(SECRET));
    expect([unsupported.status, unsupported.headers.get('x-error-code'), unsupported.body.error]).toEqual([400, 'auth_oauth_unsupported_grant_type', 'unsupported_grant_type']);
    const userinfo = await requestJson(`${issuer()}/me`, 'GET', undefined, { authorization: 'Bearer not-a-token' });
    expect([userinfo.status, userinfo.headers.get('x-error-code')]).toEqual([401, 'auth_oauth_invalid_token']);
    // A NUL where an id is looked up names nothing: a refusal, never a database failure.
    for (const [path, body] of [
      ['/token', 'grant_type=client_credentials&client_id=svc%00&client_secret=x'],
      ['/token', 'grant_type=refresh_token&refresh_token=a%00b'],
      ['/token/introspection', 'token=a%00b'],
    ]) {
      const res = await requestJson(`${issuer()}${path}`, 'POST', body, path === '/token' && body.includes('client_id') ? { 'content-type': 'application/x-www-form-urlencoded' } : basic(SECRET));
      expect(res.headers.get('x-error-code'), `${path} ${body}`).not.toBe('auth_oauth_db_error');
      expect(res.status, `${path} ${body}`).toBeLessThan(500);
    }
    const nulAuth = await requestJson(`${issuer()}/auth?client_id=web%00&redirect_uri=${encodeURIComponent(APP)}`, 'GET');
    expect(nulAuth.status).toBeLessThan(500);
    const metrics = (await gw.rest('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/auth_errors_total\{[^}]*code="auth_oauth_invalid_client"[^}]*\} [1-9]/);
  });

  it('a refusal on the sign-in page is counted (X-Error-Code, its catalog status); control characters are refused, never a database error', async () => {
    const config = await rp('web', SECRET);
    const { url } = await authorizationRequest(config, APP);
    const browser = new MiniBrowser();
    const page = await browser.follow(url.href, () => false);
    const action = new URL(/<form method="post" action="([^"]+)"/.exec(page.body!)![1], publicUrl).href;
    const wrong = await browser.submit(action, { email: 'ada@acme.example', password: 'wrong password 123' }, () => false);
    expect(wrong.status).toBe(401);
    const nul = await browser.submit(action, { email: 'ada@acme.example\u0000', password: PASSWORD }, () => false);
    expect(nul.status).toBe(422);
    expect(nul.body).toContain('auth_request_invalid');
    // Google is not configured here: its routes are crafted requests, refused on the page (never a 5xx).
    const interaction = action.replace(/\/login$/, '');
    for (const [path, fields] of [['/google', {}], ['/google/return', { id_token: 'a.b.c' }]] as const) {
      const res = await browser.submit(`${interaction}${path}`, fields, () => false);
      expect([res.status, res.body?.includes('auth_request_invalid')], path).toEqual([422, true]);
    }
    // The passkey's form: not JSON, or an answer to no challenge of this gateway.
    const passkey = new URL(/<form id="passkey-form" method="post" action="([^"]+)"/.exec(page.body!)![1], publicUrl).href;
    for (const [response, status, code] of [
      ['{not json', 422, 'auth_request_invalid'],
      ['[1]', 422, 'auth_request_invalid'],
      [JSON.stringify({ id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'bm90LWEtY2hhbGxlbmdl', origin: publicUrl })).toString('base64url'), authenticatorData: 'AA', signature: 'AA' }, clientExtensionResults: {} }), 400, 'auth_webauthn_challenge_invalid'],
    ] as const) {
      const refused = await browser.submit(passkey, { response }, () => false);
      expect([refused.status, refused.body?.includes(code)], response).toEqual([status, true]);
      expect(refused.body).toContain('name="password"');
    }
    const metrics = (await gw.rest('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/auth_errors_total\{[^}]*code="auth_login_invalid_credentials"[^}]*operation="oidcInteraction"[^}]*\} [1-9]|auth_errors_total\{[^}]*operation="oidcInteraction"[^}]*code="auth_login_invalid_credentials"[^}]*\} [1-9]/);
  });

  it('revocation ends an access token and a refresh token; prompt=login and max_age=0 ask for the password again despite the session', async () => {
    const config = await rp('console', SECRET);
    const browser = new MiniBrowser();
    const first = await authorize(config, { browser });
    const tokens = await oc.authorizationCodeGrant(config, first.at.url, { pkceCodeVerifier: first.verifier, expectedState: first.state, expectedNonce: first.nonce });
    await oc.tokenRevocation(config, tokens.access_token);
    expect(await oc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
    await oc.tokenRevocation(config, tokens.refresh_token!);
    await expect(oc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // The browser has a session: without a prompt it goes straight back; with one, the sign-in page.
    const quiet = await authorizationRequest(config, APP);
    expect((await browser.follow(quiet.url.href, (u) => u.href.startsWith(APP))).url.searchParams.get('code')).toBeTruthy();
    for (const params of [{ prompt: 'login' }, { max_age: '0' }]) {
      const again = await authorizationRequest(config, APP, params);
      expect((await browser.follow(again.url.href, (u) => u.href.startsWith(APP))).body, JSON.stringify(params)).toContain('name="password"');
    }
  });

  it('a user disabled mid-grant: the code no longer exchanges, the refresh token no longer refreshes, userinfo refuses the access token', async () => {
    await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [{ email: 'dan@acme.example', password: PASSWORD, roles: [] }, { email: 'dee@acme.example', password: PASSWORD, roles: [] }] }] } as never);
    const config = await rp('console', SECRET);
    // Dan has tokens; Dee has a code not yet exchanged.
    const dan = await authorize(config, { email: 'dan@acme.example' });
    const tokens = await oc.authorizationCodeGrant(config, dan.at.url, { pkceCodeVerifier: dan.verifier, expectedState: dan.state, expectedNonce: dan.nonce });
    const dee = await authorize(config, { email: 'dee@acme.example' });
    expect(dee.at.url.searchParams.get('code')).toBeTruthy();
    const admin = (await signIn(gw, { tenant: 'acme', email: 'boss@acme.example', password: PASSWORD })).access_token;
    for (const email of ['dan@acme.example', 'dee@acme.example']) {
      const [u] = await gw.sql('select id from users where email = $1', [email]);
      const res = await gw.gql('mutation($id: ID!) { disableUser(userId: $id) { id } }', { id: u.id }, bearer(admin));
      expect(res.body.errors, JSON.stringify(res.body)).toBeUndefined();
    }
    await expect(oc.authorizationCodeGrant(config, dee.at.url, { pkceCodeVerifier: dee.verifier, expectedState: dee.state, expectedNonce: dee.nonce })).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oc.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).rejects.toBeTruthy();
    expect(await oc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
  });

  it('a wrong password or a disabled user stays on the sign-in page; another tenant\'s user cannot sign in here', async () => {
    const config = await rp('web', SECRET);
    for (const [email, password] of [
      ['ada@acme.example', 'wrong password 123'],
      ['off@acme.example', PASSWORD],
      ['gus@globex.example', PASSWORD],
    ]) {
      const { at } = await authorize(config, { email, password });
      expect(at.url.searchParams.get('code'), email).toBeNull();
      expect(at.body ?? '', email).toContain('name="password"');
    }
  });

  it("a tenant's tokens are not another's: globex's userinfo and introspection refuse acme's token", async () => {
    const config = await rp('web', SECRET);
    const { at, verifier, state, nonce } = await authorize(config);
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const globex = await rp('web', SECRET, 'globex');
    await expect(oc.fetchUserInfo(globex, tokens.access_token, oc.skipSubjectCheck)).rejects.toBeTruthy();
    expect((await oc.tokenIntrospection(globex, tokens.access_token)).active).toBe(false);
    // Nor does another client of the same tenant learn about it.
    expect((await oc.tokenIntrospection(await rp('console', SECRET), tokens.access_token)).active).toBe(false);
    expect((await oc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  });
});

describe('clients over GraphQL (clients:manage)', () => {
  const FIELDS = 'id clientId name redirectUris grantTypes scopes public firstParty hasSecret';
  const CREATE = `mutation($i: OAuthClientInput!) { createOAuthClient(input: $i) { clientId clientSecret client { ${FIELDS} } } }`;
  const token = async (email: string) => (await signIn(gw, { tenant: 'acme', email, password: PASSWORD })).access_token;
  const app = { name: 'Partner app', redirectUris: ['https://partner.example/cb'] };
  const fieldsOf = (res: { body: any }) => res.body.errors?.[0]?.extensions?.fields;
  const codeOf = (res: { body: any }) => res.body.errors?.[0]?.extensions?.code;

  it('needs clients:manage and a session; scopes only the editor\'s permissions; an unknown or another tenant\'s id is unknown', async () => {
    const ada = await token('ada@acme.example');
    expect(codeOf(await gw.gql(CREATE, { i: app }, bearer(ada)))).toBe('auth_forbidden');
    expect(codeOf(await gw.gql('{ oauthClients { id } }', undefined, bearer(ada)))).toBe('auth_forbidden');
    const cleo = await token('cleo@acme.example');
    // Cleo holds clients:manage only: a client asking for users:manage would be more than she has.
    const beyond = await gw.gql(CREATE, { i: { ...app, scopes: ['openid', 'users:manage'] } }, bearer(cleo));
    expect([codeOf(beyond), beyond.body.errors?.[0]?.extensions?.missing]).toEqual(['auth_forbidden', ['users:manage']]);
    expect(codeOf(await gw.gql(CREATE, { i: { ...app, scopes: ['openid', 'clients:manage'] } }, bearer(cleo)))).toBeUndefined();
    for (const [bad, field, rule] of [
      [{ redirectUris: ['https://u:p@partner.example/cb'] }, 'input.redirectUris', 'format'],
      [{ redirectUris: ['https://partner.example/cb#x'] }, 'input.redirectUris', 'format'],
      [{ redirectUris: [] }, 'input.redirectUris', 'required'],
      [{ grantTypes: ['password'] }, 'input.grantTypes', 'format'],
      [{ public: true, grantTypes: ['client_credentials'] }, 'input.grantTypes', 'format'],
      [{ name: 'a\u0000b' }, 'input.name', 'control_characters'],
      [{ tokenEndpointAuthMethod: 'private_key_jwt' }, 'input.jwksUri', 'required'],
      [{ tokenEndpointAuthMethod: 'client_secret_jwt' }, 'input.tokenEndpointAuthMethod', 'format'],
      [{ public: true, tokenEndpointAuthMethod: 'client_secret_post' }, 'input.tokenEndpointAuthMethod', 'format'],
      [{ public: true, jwksUri: 'https://partner.example/jwks' }, 'input.jwksUri', 'format'],
    ] as const) {
      expect(fieldsOf(await gw.gql(CREATE, { i: { ...app, ...bad } }, bearer(cleo))), JSON.stringify(bad)).toEqual([{ field, rule }]);
    }
    const [globexWeb] = await gw.sql("select c.id from oauth_clients c join tenants t on t.id = c.tenant_id where t.slug = 'globex'");
    for (const id of [globexWeb.id, '00000000-0000-4000-8000-000000000000', 'nope']) {
      const res = await gw.gql('mutation($id: ID!) { deleteOAuthClient(id: $id) }', { id }, bearer(cleo));
      expect(fieldsOf(res), id).toEqual([{ field: 'id', rule: 'unknown' }]);
    }
    expect(await gw.sql("select count(*)::int as n from oauth_clients c join tenants t on t.id = c.tenant_id where t.slug = 'globex'")).toEqual([{ n: 1 }]);
  });

  it('creates a client whose secret is shown once and works; rotation ends the old secret; deletion ends the client', async () => {
    const boss = await token('boss@acme.example');
    const made = await gw.gql(CREATE, { i: { ...app, scopes: ['openid', 'email'], grantTypes: ['authorization_code', 'client_credentials'] } }, bearer(boss));
    expect(made.body.errors, JSON.stringify(made.body.errors)).toBeUndefined();
    const { clientId, clientSecret, client } = made.body.data.createOAuthClient;
    expect([client.clientId, client.hasSecret, client.public, clientSecret.length >= 43]).toEqual([clientId, true, false, true]);
    // Never in a read, and sealed at rest.
    const list = await gw.gql(`{ oauthClients { ${FIELDS} } }`, undefined, bearer(boss));
    expect(JSON.stringify(list.body)).not.toContain(clientSecret);
    const [row] = await gw.sql('select client_secret from oauth_clients where client_id = $1', [clientId]);
    expect(row.client_secret).not.toContain(clientSecret);
    expect((await oc.clientCredentialsGrant(await rp(clientId, clientSecret), { scope: 'openid' })).access_token).toBeTruthy();

    const rotated = await gw.gql('mutation($id: ID!) { rotateOAuthClientSecret(id: $id) { clientSecret } }', { id: client.id }, bearer(boss));
    const fresh = rotated.body.data.rotateOAuthClientSecret.clientSecret as string;
    expect(fresh).not.toBe(clientSecret);
    expect(JSON.stringify(await oc.clientCredentialsGrant(await rp(clientId, clientSecret)).catch((e: unknown) => e))).toContain('invalid_client');
    expect((await oc.clientCredentialsGrant(await rp(clientId, fresh), { scope: 'openid' })).access_token).toBeTruthy();

    const updated = await gw.gql('mutation($id: ID!, $i: OAuthClientInput!) { updateOAuthClient(id: $id, input: $i) { name grantTypes hasSecret } }', { id: client.id, i: { ...app, name: 'Renamed' } }, bearer(boss));
    expect(updated.body.data.updateOAuthClient).toEqual({ name: 'Renamed', grantTypes: ['authorization_code', 'refresh_token'], hasSecret: true });

    expect((await gw.gql('mutation($id: ID!) { deleteOAuthClient(id: $id) }', { id: client.id }, bearer(boss))).body.data.deleteOAuthClient).toBe(true);
    expect(JSON.stringify(await oc.clientCredentialsGrant(await rp(clientId, fresh)).catch((e: unknown) => e))).toContain('invalid_client');
    const types = (await gw.sql("select type from audit_events where type like 'oauth_client_%' order by created_at")).map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['oauth_client_created', 'oauth_client_secret_rotated', 'oauth_client_updated', 'oauth_client_deleted']));
  });

  it('a public client gets no secret, and none can be rotated onto it', async () => {
    const boss = await token('boss@acme.example');
    const made = await gw.gql(CREATE, { i: { ...app, public: true, firstParty: true } }, bearer(boss));
    expect([made.body.data.createOAuthClient.clientSecret, made.body.data.createOAuthClient.client.hasSecret]).toEqual([null, false]);
    const rotated = await gw.gql('mutation($id: ID!) { rotateOAuthClientSecret(id: $id) { clientSecret } }', { id: made.body.data.createOAuthClient.client.id }, bearer(boss));
    expect(fieldsOf(rotated)).toEqual([{ field: 'public', rule: 'format' }]);
  });
});

describe("a user's own grants", () => {
  it('lists what the user granted; revoking one ends its tokens and the app asks again; another user\'s grant is not found', async () => {
    // A clean slate: the earlier tests' grants of ada's to this client go first.
    const ada0 = (await signIn(gw, { tenant: 'acme', email: 'ada@acme.example', password: PASSWORD })).access_token;
    for (const g of (await gw.gql('{ oauthGrants { id clientId } }', undefined, bearer(ada0))).body.data.oauthGrants as Array<{ id: string; clientId: string }>) {
      if (g.clientId === 'web') await gw.gql('mutation($id: ID!) { revokeOAuthGrant(id: $id) }', { id: g.id }, bearer(ada0));
    }
    const config = await rp('web', SECRET);
    const { at, verifier, state, nonce } = await authorize(config);
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const ada = (await signIn(gw, { tenant: 'acme', email: 'ada@acme.example', password: PASSWORD })).access_token;
    const list = await gw.gql('{ oauthGrants { id clientId clientName scopes createdAt } }', undefined, bearer(ada));
    const grant = (list.body.data.oauthGrants as Array<{ id: string; clientId: string; clientName: string; scopes: string[] }>).find((g) => g.clientId === 'web')!;
    expect(grant).toMatchObject({ clientName: 'Acme Web', scopes: expect.arrayContaining(['openid', 'email']) });

    const boss = (await signIn(gw, { tenant: 'acme', email: 'boss@acme.example', password: PASSWORD })).access_token;
    const other = await gw.gql('mutation($id: ID!) { revokeOAuthGrant(id: $id) }', { id: grant.id }, bearer(boss));
    expect(other.body.errors?.[0]?.extensions?.code).toBe('auth_oauth_grant_not_found');
    expect((await oc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);

    expect((await gw.gql('mutation($id: ID!) { revokeOAuthGrant(id: $id) }', { id: grant.id }, bearer(ada))).body.data.revokeOAuthGrant).toBe(true);
    expect((await oc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    const again = await gw.gql('mutation($id: ID!) { revokeOAuthGrant(id: $id) }', { id: grant.id }, bearer(ada));
    expect(again.body.errors?.[0]?.extensions?.code).toBe('auth_oauth_grant_not_found');
    // A new sign-in asks for consent again (the remembered grant is gone).
    const next = await authorize(config, { consent: 'deny' });
    expect(next.at.url.searchParams.get('error')).toBe('access_denied');
  });
});

describe("the provider's session is a gateway session", () => {
  it("is listed in the user's sessions; when it ends (logoutAll), what the provider issued under it stops, offline_access refresh tokens included", async () => {
    const email = 'sid@acme.example';
    await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [{ email, password: PASSWORD, roles: [] }] }] } as never);
    const [user] = await gw.sql('select id from users where email = $1', [email]);
    const before = (await gw.sql('select count(*)::int as n from sessions where user_id = $1', [user.id]))[0].n;
    const config = await rp('console', SECRET);
    const { at, verifier, state, nonce } = await authorize(config, { email, params: { scope: 'openid email offline_access', prompt: 'consent' } });
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect((await gw.sql('select count(*)::int as n from sessions where user_id = $1 and revoked_at is null', [user.id]))[0].n).toBe(before + 1);
    expect((await oc.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
    expect(tokens.refresh_token).toBeTruthy();

    // The user ends every session elsewhere: the provider's tokens end with them.
    const elsewhere = (await signIn(gw, { tenant: 'acme', email, password: PASSWORD })).access_token;
    expect((await gw.rest('POST', '/auth/logout/all', undefined, bearer(elsewhere))).status).toBe(204);
    expect((await oc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
    await expect(oc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('RP-initiated logout', () => {
  it('ends the provider session and its gateway session; an offline_access refresh token outlives it', async () => {
    const email = 'bye@acme.example';
    await gw.seed({ tenants: [{ slug: 'acme', name: 'Acme', roles: [], users: [{ email, password: PASSWORD, roles: [] }] }] } as never);
    const browser = new MiniBrowser();
    const config = await rp('web', SECRET);
    const { at, verifier, state, nonce } = await authorize(config, { email, browser, params: { scope: 'openid email offline_access', prompt: 'consent' } });
    const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.refresh_token).toBeTruthy();
    const live = async () => (await gw.sql("select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.email = $1 and s.revoked_at is null", [email]))[0].n;
    expect(await live()).toBe(1);

    const end = oc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://app.acme.example/bye' });
    const confirm = await browser.follow(end.href, (u) => u.hostname === 'app.acme.example');
    const body = confirm.body ?? '';
    const action = /<form[^>]*action="([^"]+)"/.exec(body)![1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(body)![1];
    const done = await browser.submit(new URL(action, publicUrl).href, { xsrf, logout: 'yes' }, (u) => u.hostname === 'app.acme.example');
    expect(done.url.href).toBe('https://app.acme.example/bye');
    await expect.poll(live).toBe(0);
    // Issued with offline_access: it outlives the provider's session (SPEC §12).
    expect((await oc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).toBeTruthy();
  });
});

describe('the device grant (RFC 8628)', () => {
  const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
  const poll = (deviceCode: string) => requestJson(`${issuer()}/token`, 'POST', new URLSearchParams({ grant_type: DEVICE, device_code: deviceCode, client_id: 'tv' }).toString(), { 'content-type': 'application/x-www-form-urlencoded' });

  it('a device polls (authorization_pending, no failure counted) while the user enters the code on the hosted pages, signs in and connects it', async () => {
    const config = await rp('tv');
    const waiting = await oc.initiateDeviceAuthorization(config, { scope: 'openid email' });
    const pending = await poll(waiting.device_code);
    expect([pending.status, pending.body.error, pending.headers.get('x-error-code')]).toEqual([400, 'authorization_pending', null]);
    // Again at once, before RFC 8628's interval: slow_down, no failure either.
    const tooSoon = await poll(waiting.device_code);
    expect([tooSoon.status, tooSoon.body.error, tooSoon.headers.get('x-error-code')]).toEqual([400, 'slow_down', null]);

    const device = await oc.initiateDeviceAuthorization(config, { scope: 'openid email' });
    const browser = new MiniBrowser();
    const never = () => false;
    let at = await browser.follow(device.verification_uri, never);
    for (let i = 0; i < 8 && !(at.body ?? '').includes('Device connected'); i++) {
      const body = at.body ?? '';
      const action = new URL(/<form[^>]*action="([^"]+)"/.exec(body)?.[1] ?? '', publicUrl).href;
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(body)?.[1] ?? '';
      if (body.includes('op.deviceInputForm')) at = await browser.submit(action, { xsrf, user_code: device.user_code }, never);
      else if (body.includes('name="password"')) at = await browser.submit(action, { email: 'ada@acme.example', password: PASSWORD }, never);
      else if (body.includes('op.deviceConfirmForm')) at = await browser.submit(action, { xsrf, user_code: /name="user_code" value="([^"]+)"/.exec(body)![1], confirm: 'yes' }, never);
      else throw new Error(`an unexpected page: ${body.slice(0, 300)}`);
    }
    expect(at.body).toContain('Device connected');
    // The pages are the gateway's: nothing from elsewhere, no script.
    expect(at.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)|<script/);
    const granted = await poll(device.device_code);
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    expect(JSON.parse(Buffer.from(granted.body.id_token.split('.')[1], 'base64url').toString()).email).toBe('ada@acme.example');
    const spent = await poll(device.device_code);
    expect([spent.body.error, spent.headers.get('x-error-code')]).toEqual(['invalid_grant', 'auth_oauth_invalid_grant']);
  });
});
