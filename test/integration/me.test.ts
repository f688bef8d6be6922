// `me` accepts only our own live access tokens: pinned alg, typ, issuer, audience and key; session checked on every call.
import { randomUUID } from 'node:crypto';
import { base64url, decodeJwt, importJWK, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/config.js';
import { setUserDisabled } from '../../src/services/operator/commands.js';
import { ACME, AUDIENCE, bearer, expectGqlError, expectRestError, ISSUER, ME, startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let login: any;

beforeAll(async () => {
  gw = await startTestGateway();
  await gw.seed(ACME);
  login = (await gw.rest('POST', '/auth/login', { tenant: 'acme', email: 'ada@acme.test', password: 'correct horse battery' })).body;
});
afterAll(() => gw?.close());


/** Both doors refuse the token with auth_unauthenticated. */
async function expectRefused(token: string | undefined, headers = token === undefined ? {} : bearer(token)) {
  expectRestError(await gw.rest('GET', '/auth/me', undefined, headers), 'me', 'auth_unauthenticated', 401);
  expectGqlError(await gw.gql(ME, undefined, headers), 'me', 'auth_unauthenticated', 401);
}

/** A token like the gateway's, with the given changes, signed by `key` (default: the gateway's own key). */
async function forge(change: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: ReturnType<typeof generateSigningKey> }) {
  const key = change.key ?? gw.signingKey;
  const real = decodeJwt(login.access_token);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...real, iat: now, exp: now + 600, jti: randomUUID(), ...change.claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...change.header } as any)
    .sign((await importJWK(key, key.alg)) as CryptoKey);
}

describe('a valid access token', () => {
  it('answers the user through both doors', async () => {
    const rest = await gw.rest('GET', '/auth/me', undefined, bearer(login.access_token));
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual({ ...login.user, auth_method: 'password' });
    const gql = await gw.gql(ME, undefined, bearer(login.access_token));
    expect(gql.body.data.me).toEqual({
      id: login.user.id,
      email: 'ada@acme.test',
      tenant: 'acme',
      roles: ['admin'],
      permissions: ['api_keys:create', 'users:read'],
      authMethod: 'password',
    });
  });

  it('is accepted when re-signed by the test with the gateway key (the forging helper is faithful)', async () => {
    const res = await gw.rest('GET', '/auth/me', undefined, bearer(await forge({})));
    expect(res.status).toBe(200);
  });
});

describe('refused tokens', () => {
  it('no token, or a malformed Authorization header', async () => {
    await expectRefused(undefined);
    await expectRefused(undefined, { authorization: `Basic ${login.access_token}` });
    await expectRefused('not-a-jwt');
  });

  it('an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await forge({ claims: { iat: now - 1000, exp: now - 60 } }));
  });

  it('alg none', async () => {
    const real = decodeJwt(login.access_token);
    const enc = (o: object) => base64url.encode(JSON.stringify(o));
    await expectRefused(`${enc({ alg: 'none', typ: 'at+jwt', kid: gw.signingKey.kid })}.${enc(real)}.`);
  });

  it('a token signed by another key, with our kid or its own', async () => {
    const other = generateSigningKey('EdDSA', gw.signingKey.kid);
    await expectRefused(await forge({ key: other }));
    await expectRefused(await forge({ key: generateSigningKey('ES256') }));
  });

  it('a token of another issuer or another audience', async () => {
    await expectRefused(await forge({ claims: { iss: 'https://other-tenant.example' } }));
    await expectRefused(await forge({ claims: { aud: 'https://other-api.example' } }));
    expect(ISSUER).not.toBe(AUDIENCE);
  });

  it('a token of another kind (typ JWT) or with an embedded jwk header', async () => {
    await expectRefused(await forge({ header: { typ: 'JWT' } }));
    const attacker = generateSigningKey('EdDSA');
    const { d: _d, ...pub } = attacker;
    await expectRefused(await forge({ key: attacker, header: { jwk: pub, kid: gw.signingKey.kid } }));
  });

  it('a refresh token presented as an access token', async () => {
    await expectRefused(login.refresh_token);
  });

  it('a token whose tenant claim was moved to another tenant', async () => {
    const [other] = await gw.sql("select id from tenants where slug = 'globex'");
    await expectRefused(await forge({ claims: { tid: other.id, tenant: 'globex' } }));
  });

  it('a token of a session that no longer exists, or of a disabled user', async () => {
    await expectRefused(await forge({ claims: { sid: randomUUID() } }));
    const fresh = (await gw.rest('POST', '/auth/login', { tenant: 'globex', email: 'ada@acme.test', password: 'another password' })).body;
    expect((await gw.rest('GET', '/auth/me', undefined, bearer(fresh.access_token))).status).toBe(200);
    await setUserDisabled(gw.orm.em.fork(), 'globex', 'ada@acme.test', true);
    await expectRefused(fresh.access_token);
    await setUserDisabled(gw.orm.em.fork(), 'globex', 'ada@acme.test', false);
    // Disabling ended the session: enabling again does not bring it back.
    await expectRefused(fresh.access_token);
  });
});

describe('public keys', () => {
  it('publishes the public half of every signing key, and no private parts', async () => {
    const res = await gw.rest('GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys).toHaveLength(1);
    const [k] = res.body.keys;
    expect(k).toMatchObject({ kid: gw.signingKey.kid, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x: gw.signingKey.x, use: 'sig' });
    expect(k).not.toHaveProperty('d');
  });
});
