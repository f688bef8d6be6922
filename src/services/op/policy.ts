// What the tenant's OpenID Provider asks before it answers (oidc-provider's prompts and one of
// ours), and which of its events are a failed request.
import type { KoaContextWithOIDC } from 'oidc-provider';
import { oidcProvider } from './library.js';

/** Whether an authorization request asks for two factors (acr_values=aal2). */
export const wantsAal2 = (acrValues: unknown) => typeof acrValues === 'string' && acrValues.split(' ').includes('aal2');

/**
 * oidc-provider's prompts, and one more: a request with acr_values=aal2 signs in again unless
 * the session already has two factors (the sign-in then refuses a user without a second factor).
 */
export function policy() {
  const { interactionPolicy } = oidcProvider();
  const prompts = interactionPolicy.base();
  prompts.get('login')!.checks.add(
    new interactionPolicy.Check('aal2_required', 'the client asks for two factors', (ctx: KoaContextWithOIDC) =>
      wantsAal2(ctx.oidc.params?.acr_values) && ctx.oidc.session?.acr !== 'aal2' && !ctx.oidc.result?.login ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT,
    ),
  );
  return prompts;
}

/** The provider's events of a failed request (each before its answer goes out). */
export const FAILURE_EVENTS = [
  'authorization.error',
  'grant.error',
  'userinfo.error',
  'introspection.error',
  'revocation.error',
  'end_session.error',
  'discovery.error',
  'jwks.error',
  'code_verification.error',
  'device_authorization.error',
  'pushed_authorization_request.error',
  'registration_create.error',
  'check_session_origin.error',
  'backchannel.error',
] as const;
