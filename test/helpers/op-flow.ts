// A relying party of the gateway's OpenID Provider (SPEC §12) in a few calls: openid-client
// (certified) for discovery and the token endpoint, a MiniBrowser for the hosted pages.
import * as oc from 'openid-client';
import { MiniBrowser } from './oidc-idp.js';

/** openid-client's view of a tenant's provider for a client (http on loopback allowed; ID token signatures checked). */
export async function relyingParty(issuer: string, clientId: string, secret?: string): Promise<oc.Configuration> {
  const config = await oc.discovery(new URL(issuer), clientId, secret, secret ? oc.ClientSecretBasic(secret) : oc.None(), { execute: [oc.allowInsecureRequests] });
  oc.enableNonRepudiationChecks(config);
  return config;
}

/** The authorization URL of a code flow with PKCE, and what the exchange needs. */
export async function authorizationRequest(config: oc.Configuration, redirect: string, params: Record<string, string> = {}) {
  const verifier = oc.randomPKCECodeVerifier();
  const state = oc.randomState();
  const nonce = oc.randomNonce();
  const url = oc.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid email', code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce, ...params });
  return { url, verifier, state, nonce };
}

/**
 * A browser through the hosted pages: the sign-in form (`email`, `password`), the second step
 * (`totp`), consent (`consent`), until the redirect URI; answers where it ended and its page.
 */
export async function throughPages(
  url: string,
  redirect: string,
  base: string,
  o: { email: string; password: string; consent?: 'allow' | 'deny'; totp?: () => string },
  browser = new MiniBrowser(),
  onPage: (html: string) => void = () => {},
) {
  const atApp = (u: URL) => u.href.startsWith(redirect.split('?')[0]);
  let at = await browser.follow(url, atApp);
  for (let i = 0; i < 4 && !atApp(at.url); i++) {
    const body = at.body ?? '';
    onPage(body);
    const action = new URL(/<form method="post" action="([^"]+)"/.exec(body)?.[1] ?? '', base).href;
    if (body.includes('name="password"')) at = await browser.submit(action, { email: o.email, password: o.password }, atApp);
    else if (body.includes('name="decision"')) at = await browser.submit(action, { decision: o.consent ?? 'allow' }, atApp);
    else if (body.includes('name="code"') && o.totp) at = await browser.submit(action, { mfa_token: /name="mfa_token" value="([^"]+)"/.exec(body)![1], code: o.totp() }, atApp);
    else break;
  }
  return at;
}

/** A user's tokens from a whole code flow. */
export async function providerTokens(config: oc.Configuration, redirect: string, base: string, who: { email: string; password: string }) {
  const request = await authorizationRequest(config, redirect);
  const at = await throughPages(request.url.href, redirect, base, who);
  return oc.authorizationCodeGrant(config, at.url, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
}
