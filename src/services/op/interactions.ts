// The OpenID Provider's sign-in and consent (SPEC §12), the gateway's own: the password with the
// second step when the user has TOTP, through the same services as POST /auth/login and
// verifyMfa (limits, enforcement, audit, a gateway session), then consent for a client that is
// not first-party. The interaction is bound to the browser by oidc-provider's interaction cookie
// (SameSite=Lax), so a form posted from another site finds no interaction.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { catalog, type ErrorCode } from '../../errors/catalog.js';
import type { ServiceDeps } from '../deps.js';
import { verifyMfa } from '../mfa/second-step.js';
import { verifyLogin } from '../passkeys/login.js';
import { passwordLogin } from '../passwords/login.js';
import type { Client } from '../rate-limits/limiter.js';
import type { AuthPayload } from '../sessions/principal.js';
import { CONTROL_CHARACTERS } from '../shared/fields.js';
import { acrOf, loadPrincipal } from '../sessions/principal.js';
import { OIDC_SCOPES } from './clients.js';
import { wantsAal2 } from './policy.js';
import { ssoSignInSession, ssoSignInUrl } from './sso-sign-in.js';
import { googleNonce, googleOffered, googleSignInUrl } from './google-sign-in.js';
import { loginWithGoogle } from '../google/login.js';
import { heldResourceScopes } from './resources.js';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** What the page of an interaction shows next. */
export type Step =
  | { page: 'login'; email?: string; error?: ErrorCode }
  | { page: 'mfa'; mfaToken: string; error?: ErrorCode }
  | { page: 'consent'; scopes: string[] }
  | { page: 'redirect'; url: string }
  | { page: 'done' };

export interface Raw {
  req: IncomingMessage;
  res: ServerResponse;
}

type LoginDeps = Pick<ServiceDeps, 'config' | 'passwords' | 'limiter' | 'tokens' | 'now' | 'sessions' | 'google' | 'apiKeys'>;

/** The permission scopes of the resource servers the consent asks for, those the signed-in user's roles hold (SPEC §12: never more). */
async function heldScopes(em: EntityManager, details: Details): Promise<Record<string, string[]>> {
  const asked = (details.prompt.details.missingResourceScopes as Record<string, string[]> | undefined) ?? {};
  if (!Object.keys(asked).length) return {};
  const principal = details.session?.accountId ? await loadPrincipal(em, details.session.accountId) : undefined;
  return heldResourceScopes(asked, principal?.permissions ?? []);
}

/** What the interaction asks for now: its prompt's page (consent lists OpenID's scopes and the resource servers' permissions). */
export async function stepOf(em: EntityManager, details: Details): Promise<Step> {
  if (details.prompt.name === 'login') return { page: 'login', email: typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined };
  const missing = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
  const scopes = missing.length ? missing : String(details.params.scope ?? 'openid').split(' ').filter((s) => OIDC_SCOPES.includes(s));
  const permissions = [...new Set(Object.values(await heldScopes(em, details)).flat())];
  return { page: 'consent', scopes: [...scopes, ...permissions] };
}

/**
 * A signed-in gateway session made the interaction's login (the OP's session is the gateway's:
 * SPEC §12). A request for two factors (acr_values=aal2) that got one is access_denied.
 */
export async function finishLogin(provider: Provider, raw: Raw, details: Details, payload: AuthPayload): Promise<Step> {
  const aal2 = acrOf(payload.user.amr) === 'aal2';
  if (!aal2 && wantsAal2(details.params.acr_values)) {
    await provider.interactionFinished(raw.req, raw.res, { error: 'access_denied', error_description: 'the app asks for two factors and the user has no second factor' }, { mergeWithLastSubmission: false });
    return { page: 'done' };
  }
  await provider.interactionFinished(
    raw.req,
    raw.res,
    // The gateway session the sign-in made: the provider's session is linked to it (provider.ts).
    { login: { accountId: payload.user.userId, acr: aal2 ? 'aal2' : 'aal1', amr: payload.user.amr, ts: payload.user.authTime }, gatewaySession: payload.user.sessionId },
    { mergeWithLastSubmission: false },
  );
  return { page: 'done' };
}

/** A refusal of a sign-in method on the page: the page again, saying why (a 5xx is the operation's). */
export function refusedOn(e: unknown, page: (code: ErrorCode) => Step): Step {
  if (!(e instanceof AuthError) || e.status >= 500) throw e;
  // A user with TOTP (and a first factor that was not two): the second step.
  if (e.code === 'auth_mfa_required' && e.mfa) return { page: 'mfa', mfaToken: e.mfa.mfaToken };
  return page(e.code);
}

/** The sign-in form: the tenant's password sign-in; a user with TOTP goes on to the second step. */
export async function submitLogin(
  em: EntityManager,
  deps: LoginDeps,
  provider: Provider,
  raw: Raw,
  tenant: string,
  form: { email?: unknown; password?: unknown; sso?: unknown },
  client: Client,
): Promise<Step> {
  const details = await provider.interactionDetails(raw.req, raw.res);
  if (details.prompt.name !== 'login') return stepOf(em, details);
  const email = typeof form.email === 'string' ? form.email : '';
  const password = typeof form.password === 'string' ? form.password : '';
  // As the REST and GraphQL doors refuse them: control characters are no address or password.
  if (CONTROL_CHARACTERS.test(email) || CONTROL_CHARACTERS.test(password) || email.length > 320 || password.length > 1024) return { page: 'login', error: 'auth_request_invalid' };
  // Single sign-on asked for, or the only way in for this address: to the domain's IdP.
  const viaSso = async () => {
    try {
      return { page: 'redirect', url: await ssoSignInUrl(em, deps, tenant, details.uid, email, client) } as const;
    } catch (e) {
      return refusedOn(e, (error) => ({ page: 'login', email, error }));
    }
  };
  if (form.sso === 'yes') return viaSso();
  try {
    const payload = await passwordLogin(em, deps, { tenant, email, password }, client);
    return await finishLogin(provider, raw, details, payload);
  } catch (e) {
    if (e instanceof AuthError && e.code === 'auth_sso_required') return viaSso();
    return refusedOn(e, (error) => ({ page: 'login', email, error }));
  }
}

/** "Sign in with Google": on to Google for an ID token bound to this interaction (google-sign-in.ts). */
export async function submitGoogleStart(em: EntityManager, config: LoginDeps['config'], provider: Provider, raw: Raw, tenant: string): Promise<Step> {
  const details = await provider.interactionDetails(raw.req, raw.res);
  if (details.prompt.name !== 'login') return stepOf(em, details);
  // Not offered on the page: a crafted request, refused as one.
  if (!googleOffered(config)) return { page: 'login', error: 'auth_request_invalid' };
  const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
  return { page: 'redirect', url: googleSignInUrl(config, tenant, details.uid, hint) };
}

/** Google's ID token, posted by the return page's script: checked as POST /auth/login/google checks it, with this interaction's nonce. */
export async function submitGoogleReturn(em: EntityManager, deps: LoginDeps, provider: Provider, raw: Raw, tenant: string, form: { id_token?: unknown }, client: Client): Promise<Step> {
  const details = await provider.interactionDetails(raw.req, raw.res);
  if (details.prompt.name !== 'login') return stepOf(em, details);
  if (!googleOffered(deps.config)) return { page: 'login', error: 'auth_request_invalid' };
  const idToken = typeof form.id_token === 'string' && form.id_token.length <= 8192 ? form.id_token : '';
  if (!idToken) return { page: 'login', error: 'auth_google_token_invalid' };
  try {
    return await finishLogin(provider, raw, details, await loginWithGoogle(em, deps, { tenant, idToken, nonce: googleNonce(deps.config, details.uid) }, client));
  } catch (e) {
    return refusedOn(e, (error) => ({ page: 'login', error }));
  }
}

/** Back from the IdP at the interaction's page: `code` the flow's one-time code, or `error` its refusal's catalog code. */
export async function submitSsoReturn(em: EntityManager, deps: LoginDeps, provider: Provider, raw: Raw, query: { code?: unknown; error?: unknown }, client: Client): Promise<Step> {
  const details = await provider.interactionDetails(raw.req, raw.res);
  if (details.prompt.name !== 'login') return stepOf(em, details);
  if (typeof query.code !== 'string') {
    // A refusal the flow names (a catalog code of a client error); anything else is the code's own refusal.
    const named = typeof query.error === 'string' && Object.hasOwn(catalog, query.error) ? catalog[query.error as ErrorCode] : undefined;
    const error = named && named.status < 500 ? (query.error as ErrorCode) : 'auth_sso_code_invalid';
    return { page: 'login', error };
  }
  try {
    return await finishLogin(provider, raw, details, await ssoSignInSession(em, deps, details.uid, query.code, client));
  } catch (e) {
    return refusedOn(e, (error) => ({ page: 'login', error }));
  }
}

/** The sign-in page's passkey: the browser's signed answer (JSON), checked as POST /auth/webauthn/login/verify checks it. */
export async function submitPasskey(em: EntityManager, deps: LoginDeps, provider: Provider, raw: Raw, tenant: string, form: { response?: unknown }, client: Client): Promise<Step> {
  const details = await provider.interactionDetails(raw.req, raw.res);
  if (details.prompt.name !== 'login') return stepOf(em, details);
  let response: unknown;
  try {
    response = typeof form.response === 'string' && form.response.length <= 16_384 ? JSON.parse(form.response) : undefined;
  } catch {
    response = undefined;
  }
  if (!response || typeof response !== 'object' || Array.isArray(response)) return { page: 'login', error: 'auth_request_invalid' };
  try {
    const payload = await verifyLogin(em, deps, { tenant, response: response as Parameters<typeof verifyLogin>[2]['response'] }, client);
    return await finishLogin(provider, raw, details, payload);
  } catch (e) {
    return refusedOn(e, (error) => ({ page: 'login', error }));
  }
}

/** The second step's form: a TOTP code for the mfa_token the sign-in gave. */
export async function submitSecondStep(em: EntityManager, deps: ServiceDeps, provider: Provider, raw: Raw, form: { mfa_token?: unknown; code?: unknown }, client: Client): Promise<Step> {
  const details = await provider.interactionDetails(raw.req, raw.res);
  if (details.prompt.name !== 'login') return stepOf(em, details);
  const mfaToken = typeof form.mfa_token === 'string' ? form.mfa_token : '';
  const code = typeof form.code === 'string' ? form.code : '';
  if (CONTROL_CHARACTERS.test(mfaToken) || CONTROL_CHARACTERS.test(code) || mfaToken.length > 256 || code.length > 64) return { page: 'login', error: 'auth_request_invalid' };
  try {
    const payload = await verifyMfa(em, deps, { mfaToken, code }, client);
    return await finishLogin(provider, raw, details, payload);
  } catch (e) {
    // A spent or expired step starts the sign-in again.
    return refusedOn(e, (error) => (error === 'auth_mfa_token_invalid' ? { page: 'login', error } : { page: 'mfa', mfaToken, error }));
  }
}

/** The consent form: `allow` grants what the client asked for; anything else is access_denied. */
export async function submitConsent(em: EntityManager, provider: Provider, raw: Raw, decision: unknown): Promise<Step> {
  const details = await provider.interactionDetails(raw.req, raw.res);
  if (details.prompt.name !== 'consent') return stepOf(em, details);
  if (decision !== 'allow') {
    await provider.interactionFinished(raw.req, raw.res, { error: 'access_denied', error_description: 'the user denied access' }, { mergeWithLastSubmission: false });
    return { page: 'done' };
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant!.addOIDCScope((missing.missingOIDCScope as string[]).join(' '));
  if (missing.missingOIDCClaims) grant!.addOIDCClaims(missing.missingOIDCClaims as string[]);
  for (const [indicator, scopes] of Object.entries(await heldScopes(em, details))) if (scopes.length) grant!.addResourceScope(indicator, scopes.join(' '));
  await provider.interactionFinished(raw.req, raw.res, { consent: { grantId: await grant!.save() } }, { mergeWithLastSubmission: true });
  return { page: 'done' };
}
