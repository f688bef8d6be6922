// The app's side of an SSO sign-in (SPEC §11) through either door: a PKCE pair, ssoStart, and
// the exchange of the one-time code (its GraphQL answer written as the REST token response).
import { createHash, randomBytes } from 'node:crypto';
import type { Door, HttpResult, TestGateway } from './gateway.js';

export const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** ssoStart through a door (REST names in `input`), answering the IdP URL or the failed response. */
export async function ssoStartVia(gw: TestGateway, door: Door, input: Record<string, unknown>): Promise<HttpResult> {
  if (door === 'rest') return gw.rest('POST', '/auth/sso/start', input);
  const i = { tenant: input.tenant, email: input.email, connection: input.connection, redirectTo: input.redirect_to, codeChallenge: input.code_challenge, codeChallengeMethod: input.code_challenge_method };
  return gw.gql('mutation($i: SsoStartInput!) { ssoStart(input: $i) { url } }', { i });
}

/** The IdP URL of a started flow. */
export const idpUrlOf = (door: Door, res: HttpResult): string => (door === 'rest' ? res.body.url : res.body.data.ssoStart.url);

/** ssoExchange through a door; a GraphQL success is written as the REST body (`access_token`, `refresh_token`, `user` with `auth_method`). */
export async function ssoExchangeVia(gw: TestGateway, door: Door, code: string, verifier: string): Promise<HttpResult> {
  if (door === 'rest') return gw.rest('POST', '/auth/sso/token', { code, code_verifier: verifier });
  const res = await gw.gql('mutation($i: SsoExchangeInput!) { ssoExchange(input: $i) { accessToken refreshToken user { id email tenant roles authMethod } } }', { i: { code, codeVerifier: verifier } });
  const p = res.body.data?.ssoExchange;
  return p ? { ...res, body: { access_token: p.accessToken, refresh_token: p.refreshToken, user: { ...p.user, auth_method: p.user.authMethod.toLowerCase() } } } : res;
}
