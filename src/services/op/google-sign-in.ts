// The hosted sign-in's "Sign in with Google" (SPEC §12). The gateway keeps no Google client
// secret and loads no Google script (a third-party asset), so it uses Google's ID-token flow:
// the browser goes to Google with a nonce keyed to the interaction; Google sends it back to one
// fixed return page (the redirect URI registered at Google), whose same-origin script posts the
// ID token from the URL fragment (which no server sees) to the interaction; the token is then
// checked as POST /auth/login/google checks it, and its nonce must be that interaction's.
import type { Config } from '../../config.js';
import { keyedHash } from '../shared/secrets.js';

/** The redirect URI to register at Google for the hosted sign-in. */
export const googleReturnUrl = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/auth/google/return`;

/** The nonce Google's ID token must carry for interaction `uid`. */
export const googleNonce = (config: Pick<Config, 'secretKey'>, uid: string) => keyedHash(config.secretKey, `op-google-nonce ${uid}`);

/** Whether Google sign-in is configured (GOOGLE_CLIENT_IDS): the page then offers it. */
export const googleOffered = (config: Pick<Config, 'google'>) => config.google.clientIds.length > 0;

/** Google's authorization URL for the interaction: an ID token for the first configured client, its state the tenant and the interaction. */
export function googleSignInUrl(config: Pick<Config, 'google' | 'publicUrl' | 'secretKey'>, tenant: string, uid: string, loginHint?: string): string {
  const url = new URL(config.google.authorizationUrl);
  url.searchParams.set('client_id', config.google.clientIds[0]);
  url.searchParams.set('response_type', 'id_token');
  url.searchParams.set('scope', 'openid email');
  url.searchParams.set('redirect_uri', googleReturnUrl(config));
  url.searchParams.set('nonce', googleNonce(config, uid));
  url.searchParams.set('state', `${tenant}.${uid}`);
  url.searchParams.set('prompt', 'select_account');
  if (loginHint) url.searchParams.set('login_hint', loginHint);
  return url.href;
}
