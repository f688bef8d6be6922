// Google links by e-mail only where Google owns the address; explicit links need a recent session; conflicts and forged tokens are refused.
import { describe, expect, it } from 'vitest';
import { bearer, expectGqlError, expectRestError } from '../helpers/gateway.js';
import { gw, google, signIn, useReviewGateway } from '../helpers/review-fixture.js';

useReviewGateway();

describe('Google links by e-mail only where Google owns the address', () => {
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
