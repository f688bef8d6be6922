// The OpenID Connect side of a connection, through openid-client (a certified relying party):
// discovery (cached per connection version), the authorization URL with PKCE, state and nonce,
// and the code exchange, with the ID token's signature checked against the IdP's JWKS even
// though it came from the token endpoint (openid-client skips that unless told; SPEC §11).
import * as client from 'openid-client';
import type { Config } from '../../config.js';
import { AuthError } from '../../errors/auth-error.js';
import { outboundFetch } from '../shared/outbound.js';
import { openClientSecret } from './client-secret.js';

export interface OidcConnection {
  id: string;
  updatedAt: Date;
  settings: { issuer: string; client_id: string; scopes: string[]; trust_email: boolean };
  /** Sealed. */
  clientSecret: string | null;
}

type Deps = { config: Pick<Config, 'secretKey' | 'env' | 'ssoIdpTimeoutSeconds' | 'outbound'> };

const CACHE_MAX = 100;
const CACHE_TTL_MS = 10 * 60_000;
const cache = new Map<string, { at: number; configuration: Promise<client.Configuration> }>();

/**
 * What went wrong with an identity provider, for the log: named IdpError, so the log writes its
 * message (ours, and the client library's) instead of treating a socket error in its causes as
 * the database's.
 */
export const idpFailure = (message: string, cause?: unknown) => Object.assign(new Error(message), { name: 'IdpError', ...(cause === undefined ? {} : { cause }) });

/** The IdP failed to answer (network, timeout, 5xx): auth_sso_idp_unavailable; anything it answered that did not validate: auth_sso_failed. */
export function idpError(e: unknown, reason: string): AuthError {
  if (e instanceof AuthError) return e;
  const err = e as { name?: string; code?: string; status?: number; cause?: unknown };
  const unreachable =
    e instanceof TypeError ||
    err.name === 'TimeoutError' ||
    err.name === 'AbortError' ||
    err.code === 'OAUTH_TIMEOUT' ||
    err.name === 'OutboundRefused' ||
    (typeof err.status === 'number' && err.status >= 500) ||
    err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM';
  return new AuthError(unreachable ? 'auth_sso_idp_unavailable' : 'auth_sso_failed', { cause: idpFailure(`${reason}: ${(e as Error)?.message ?? e}`, e) });
}


/** The IdP's configuration for a connection: discovered once per connection version, for ten minutes. */
export function idpConfiguration(deps: Deps, c: OidcConnection): Promise<client.Configuration> {
  const key = `${c.id}@${c.updatedAt.getTime()}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.configuration;
  const issuer = new URL(c.settings.issuer);
  // A local IdP over http on a loopback address is accepted outside production only (rules.ts).
  const insecure = issuer.protocol === 'http:' && deps.config.env !== 'production';
  // Every call to the IdP (discovery, JWKS, token) goes through the outbound rules (SPEC §13).
  const fetchFn = outboundFetch(deps.config.outbound) as client.CustomFetch;
  const configuration = client
    .discovery(issuer, c.settings.client_id, c.clientSecret ? openClientSecret(deps.config, c.clientSecret) : undefined, undefined, {
      timeout: deps.config.ssoIdpTimeoutSeconds,
      [client.customFetch]: fetchFn,
      execute: [client.enableNonRepudiationChecks, ...(insecure ? [client.allowInsecureRequests] : []), (config) => void (config[client.customFetch] = fetchFn)],
    })
    .catch((e: unknown) => {
      cache.delete(key);
      // Whatever went wrong with discovery (unreachable, too large, not a valid document, another
      // issuer), the IdP cannot be used now: SPEC §11's "discovery ... failed".
      throw new AuthError('auth_sso_idp_unavailable', { cause: idpFailure(`discovery: ${(e as Error)?.message ?? e}`, e) });
    });
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(key, { at: Date.now(), configuration });
  return configuration;
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  nonce: string;
  verifier: string;
}

export async function authorizationRequest(deps: Deps, c: OidcConnection, redirectUri: string, loginHint?: string): Promise<AuthorizationRequest> {
  const configuration = await idpConfiguration(deps, c);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  let url: URL;
  try {
    url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: c.settings.scopes.join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...(loginHint ? { login_hint: loginHint } : {}),
    });
  } catch (e) {
    throw new AuthError('auth_sso_idp_unavailable', { cause: idpFailure('discovery: an authorization endpoint that cannot be used', e) });
  }
  // The browser goes where discovery said: only somewhere a browser may be sent (never javascript:).
  if (!['https:', 'http:'].includes(url.protocol) || (url.protocol === 'http:' && deps.config.env === 'production')) {
    throw new AuthError('auth_sso_idp_unavailable', { cause: idpFailure(`discovery: authorization_endpoint is ${url.protocol}`) });
  }
  return { url: url.href, state, nonce, verifier };
}

/** The ID token's claims after the code exchange and every check (state, PKCE, nonce, signature, iss, aud, exp, RFC 9207 iss). */
export async function exchangeCode(
  deps: Deps,
  c: OidcConnection,
  callbackUrl: URL,
  checks: { state: string; nonce: string; verifier: string; redirectUri: string },
): Promise<Record<string, unknown>> {
  const configuration = await idpConfiguration(deps, c);
  try {
    const tokens = await client.authorizationCodeGrant(
      configuration,
      callbackUrl,
      { expectedState: checks.state, expectedNonce: checks.nonce, pkceCodeVerifier: checks.verifier, idTokenExpected: true },
      { redirect_uri: checks.redirectUri },
    );
    const claims = tokens.claims();
    if (!claims) throw new AuthError('auth_sso_failed', { cause: idpFailure('no ID token') });
    return claims as Record<string, unknown>;
  } catch (e) {
    throw idpError(e, 'code exchange');
  }
}
