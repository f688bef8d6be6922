// A tenant's provider for its resource servers (SPEC §12; RFC 8707, 9068): a token for a
// registered resource is a JWT a resource server checks offline with the JWKS (jose, as a
// resource server would), carrying the tenant's permissions the client may ask for and the
// user's roles hold when it is made; another resource is invalid_target. And the client
// authentication methods: client_secret_post, private_key_jwt with the client's jwks_uri.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import * as oc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requestJson, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { MiniBrowser } from '../helpers/oidc-idp.js';
import { authorizationRequest, relyingParty, throughPages } from '../helpers/op-flow.js';

let gw: TestGateway;
let publicUrl: string;
let jwksServer: Server;
let clientKey: jose.CryptoKey;
const APP = 'https://app.acme.example/callback';
const API = 'https://api.acme.example';
const REPORTS = 'https://reports.acme.example';
const SECRET = 'resource-client-secret-0123456789abcdef';
const PASSWORD = 'op resources passphrase 1';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  // The client's own keys for private_key_jwt, published at its jwks_uri on loopback.
  const pair = await jose.generateKeyPair('ES256', { extractable: true });
  clientKey = pair.privateKey;
  const jwks = { keys: [{ ...(await jose.exportJWK(pair.publicKey)), kid: 'client-1', alg: 'ES256', use: 'sig' }] };
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
  await new Promise<void>((ok) => jwksServer.listen(0, '127.0.0.1', ok));
  const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;

  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  gw = await startTestGateway({ port, env: { PUBLIC_URL: publicUrl } });
  const scopes = ['openid', 'email', 'offline_access', 'users:read', 'users:manage'];
  await gw.seed({
    tenants: [
      {
        slug: 'acme',
        name: 'Acme',
        roles: [
          { name: 'reader', permissions: ['users:read'] },
          { name: 'manager', permissions: ['users:read', 'users:manage'] },
        ],
        users: [
          { email: 'ada@acme.example', password: PASSWORD, roles: ['reader'] },
          { email: 'max@acme.example', password: PASSWORD, roles: ['manager'] },
        ],
        oauth_clients: [
          { client_id: 'partner', client_secret: SECRET, name: 'Partner app', redirect_uris: [APP], scopes, resources: [API] },
          { client_id: 'console', client_secret: SECRET, name: 'Acme Console', redirect_uris: [APP], scopes, resources: [API, REPORTS], first_party: true },
          { client_id: 'svc', client_secret: SECRET, name: 'Billing', grant_types: ['client_credentials'], scopes: ['users:read'], resources: [API], token_endpoint_auth_method: 'client_secret_post' },
          { client_id: 'signed', client_secret: SECRET, name: 'Signed service', grant_types: ['client_credentials'], scopes: ['users:read'], resources: [API], jwks_uri: jwksUri },
        ],
      },
    ],
  } as never);
}, 60_000);
afterAll(async () => {
  await gw?.close();
  jwksServer?.close();
});

const iss = () => `${publicUrl}/oidc/acme`;

/** A resource server's check of an access token: offline, with the provider's published keys. */
async function resourceServerCheck(token: string) {
  const doc = (await requestJson(`${iss()}/.well-known/openid-configuration`, 'GET')).body;
  const keys = jose.createRemoteJWKSet(new URL(doc.jwks_uri));
  return jose.jwtVerify(token, keys, { issuer: iss(), audience: API, typ: 'at+jwt' });
}

/** A code flow through the hosted pages asking for the API; the exchange names the resource too (RFC 8707). */
async function apiTokens(clientId: string, email: string, scope: string) {
  const config = await relyingParty(iss(), clientId, SECRET);
  const request = await authorizationRequest(config, APP, { scope, resource: API });
  const browser = new MiniBrowser();
  let consentPage = '';
  const at = await throughPages(request.url.href, APP, publicUrl, { email, password: PASSWORD }, browser, (page) => (consentPage = page));
  const tokens = await oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }, { resource: API });
  return { config, tokens, consentPage };
}

describe('tokens for a resource server', () => {
  it('a third-party client: consent lists only the permissions the user holds; the token is an RFC 9068 JWT with those alone', async () => {
    const { tokens, consentPage } = await apiTokens('partner', 'ada@acme.example', 'openid users:read users:manage');
    expect(consentPage).toContain('users:read');
    expect(consentPage).not.toContain('users:manage');
    const { payload, protectedHeader } = await resourceServerCheck(tokens.access_token);
    const [ada] = await gw.sql("select id from users where email = 'ada@acme.example'");
    expect(payload).toMatchObject({ iss: iss(), aud: API, sub: ada.id, client_id: 'partner', scope: 'users:read' });
    expect(payload.exp! - payload.iat!).toBe(gw.config.accessTokenTtl);
    // Signed with the gateway's own key, never the RSA key kept for ID tokens.
    expect(protectedHeader.alg).toBe(gw.config.jwt.privateKeys[0].alg);
    expect(tokens.scope?.split(' ')).toContain('users:read');
  });

  it('a first-party client gets what the user holds without consent; a refresh after a role loses a permission carries it no more', async () => {
    const { config, tokens } = await apiTokens('console', 'max@acme.example', 'openid offline_access users:read users:manage');
    expect(String((await resourceServerCheck(tokens.access_token)).payload.scope).split(' ').sort()).toEqual(['users:manage', 'users:read']);
    await gw.sql("delete from role_permissions where role_id = (select r.id from roles r join tenants t on t.id = r.tenant_id where t.slug = 'acme' and r.name = 'manager') and permission_id = (select id from permissions where name = 'users:manage')");
    const refreshed = await oc.refreshTokenGrant(config, tokens.refresh_token!, { resource: API });
    expect((await resourceServerCheck(refreshed.access_token)).payload.scope).toBe('users:read');
  });

  it('permissions never reach an opaque token: a first-party refresh without a resource carries OpenID\'s scopes alone', async () => {
    const { config, tokens } = await apiTokens('console', 'ada@acme.example', 'openid offline_access users:read users:manage');
    const opaque = await oc.refreshTokenGrant(config, tokens.refresh_token!);
    // offline_access goes without prompt=consent (oidc-provider's rule); the first-party client still has its refresh token.
    expect(opaque.scope).toBe('openid');
    const intro = await oc.tokenIntrospection(config, opaque.access_token);
    expect([intro.active, intro.scope]).toEqual([true, 'openid']);
    // The refresh token names what it may still be exchanged for: the resource's permissions Ada holds, never one she lacks.
    expect(String((await oc.tokenIntrospection(config, opaque.refresh_token!)).scope).split(' ').sort()).toEqual(['openid', 'users:read']);
  });

  it('a refresh for a resource its grant did not name is invalid_target, and the refresh token survives it', async () => {
    const { config, tokens } = await apiTokens('console', 'ada@acme.example', 'openid offline_access users:read');
    await expect(oc.refreshTokenGrant(config, tokens.refresh_token!, { resource: REPORTS })).rejects.toMatchObject({ error: 'invalid_target' });
    const next = await oc.refreshTokenGrant(config, tokens.refresh_token!, { resource: API });
    expect((await resourceServerCheck(next.access_token)).payload.scope).toBe('users:read');
  });

  it('a resource the client did not register is invalid_target, at the authorization endpoint and the token endpoint', async () => {
    const config = await relyingParty(iss(), 'partner', SECRET);
    const request = await authorizationRequest(config, APP, { resource: 'https://elsewhere.example' });
    const res = await new MiniBrowser().follow(request.url.href, (u) => u.href.startsWith(APP));
    expect(res.url.searchParams.get('error'), res.body?.slice(0, 200)).toBe('invalid_target');
    const svc = await requestJson(`${iss()}/token`, 'POST', new URLSearchParams({ grant_type: 'client_credentials', client_id: 'svc', client_secret: SECRET, scope: 'users:read', resource: 'https://elsewhere.example' }).toString(), FORM);
    expect([svc.status, svc.body.error, svc.headers.get('x-error-code')]).toEqual([400, 'invalid_target', 'auth_oauth_invalid_target']);
  });
});

describe('machine clients', () => {
  const cc = (body: Record<string, string>, headers: Record<string, string> = {}) => requestJson(`${iss()}/token`, 'POST', new URLSearchParams({ grant_type: 'client_credentials', ...body }).toString(), { ...FORM, ...headers });

  it('client_secret_post: a JWT whose sub is the client, with the client\'s permissions only; a wrong secret in the body is invalid_client', async () => {
    const methods = (await requestJson(`${iss()}/.well-known/openid-configuration`, 'GET')).body.token_endpoint_auth_methods_supported;
    expect(methods).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt']));
    const res = await cc({ client_id: 'svc', client_secret: SECRET, scope: 'users:read users:manage', resource: API });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await resourceServerCheck(res.body.access_token)).payload).toMatchObject({ sub: 'svc', client_id: 'svc', scope: 'users:read' });
    const wrong = await cc({ client_id: 'svc', client_secret: `${SECRET}x`, scope: 'users:read', resource: API });
    expect([wrong.status, wrong.body.error, wrong.headers.get('x-error-code')]).toEqual([401, 'invalid_client', 'auth_oauth_invalid_client']);
  });

  it('a permission asked for without a resource server is invalid_scope (an opaque token would carry it unchecked)', async () => {
    const res = await cc({ client_id: 'svc', client_secret: SECRET, scope: 'users:manage' });
    expect([res.status, res.body.error, res.headers.get('x-error-code')]).toEqual([400, 'invalid_scope', 'auth_oauth_invalid_scope']);
  });

  it('private_key_jwt with the keys at the client\'s jwks_uri (openid-client signs the assertion); another key is invalid_client', async () => {
    const config = await oc.discovery(new URL(iss()), 'signed', undefined, oc.PrivateKeyJwt({ key: clientKey, kid: 'client-1' }), { execute: [oc.allowInsecureRequests] });
    const tokens = await oc.clientCredentialsGrant(config, { scope: 'users:read', resource: API });
    expect((await resourceServerCheck(tokens.access_token)).payload).toMatchObject({ sub: 'signed', scope: 'users:read' });
    const other = (await jose.generateKeyPair('ES256')).privateKey;
    const forged = await oc.discovery(new URL(iss()), 'signed', undefined, oc.PrivateKeyJwt({ key: other, kid: 'client-1' }), { execute: [oc.allowInsecureRequests] });
    expect(JSON.stringify(await oc.clientCredentialsGrant(forged, { scope: 'users:read', resource: API }).catch((e: unknown) => e))).toContain('invalid_client');
    // An assertion good for ten years is refused (its replay record would be kept as long).
    const doc = (await requestJson(`${iss()}/.well-known/openid-configuration`, 'GET')).body;
    const lasting = await new jose.SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'client-1' })
      .setIssuer('signed')
      .setSubject('signed')
      .setAudience(doc.token_endpoint)
      .setIssuedAt()
      .setExpirationTime('3650d')
      .sign(clientKey);
    const long = await cc({ client_id: 'signed', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: lasting, scope: 'users:read', resource: API });
    expect([long.status, long.body.error]).toEqual([401, 'invalid_client']);
    // Its secret is not its method.
    const bySecret = await cc({ client_id: 'signed', client_secret: SECRET, scope: 'users:read', resource: API });
    expect(bySecret.body.error).toBe('invalid_client');
  });
});
