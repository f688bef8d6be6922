// Passkey ceremonies refuse what a forger sends: a counter regression counts only for a signed assertion, login options do not tell accounts apart, a NUL in a challenge is an unknown challenge.
import { describe, expect, it } from 'vitest';
import { SoftAuthenticator } from '../helpers/authenticator.js';
import { bearer, expectGqlError, expectRestError } from '../helpers/gateway.js';
import { gw, signIn, ada, useReviewGateway } from '../helpers/review-fixture.js';

useReviewGateway();

describe('a counter regression is recorded only for a correctly signed assertion', () => {
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

describe('passkey login options do not tell accounts apart', () => {
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

describe('challenges', () => {
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
});
