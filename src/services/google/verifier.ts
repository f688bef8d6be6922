// Google ID tokens, verified by google-auth-library against the configured client IDs with
// the issuers pinned. The raw ID token never reaches a response or a log line: the
// library's error messages embed it, so they are dropped.
import type { OAuth2Client, TokenPayload } from 'google-auth-library';
import type { Config } from '../../config.js';
import { AuthError } from '../../errors/auth-error.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { lazy } from '../shared/lazy.js';

/** Google's two spellings of its issuer; links are stored under the https one. */
const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];
export const GOOGLE_ISSUER = 'https://accounts.google.com';

export interface GoogleIdentity {
  subject: string;
  email: string;
  emailVerified: boolean;
  hostedDomain: string | undefined;
  /** The nonce the sign-in that asked for the token put in it (the hosted sign-in's), if any. */
  nonce: string | undefined;
}

export interface GoogleVerifier {
  /** Throws AuthError: auth_google_token_invalid, or auth_google_internal_error when the gateway is at fault. */
  verify(idToken: string): Promise<GoogleIdentity>;
}

export function createGoogleVerifier(config: Pick<Config, 'google'>): GoogleVerifier {
  const { clientIds, certsUrl } = config.google;
  // One client per process: it caches Google's certificates as their Cache-Control says. The
  // library (with gaxios and its other dependencies) is loaded by the first Google sign-in.
  const clientOf = lazy(async (): Promise<OAuth2Client> => {
    const { OAuth2Client } = await import('google-auth-library');
    return new OAuth2Client({
      endpoints: certsUrl ? { oauth2FederatedSignonPemCertsUrl: certsUrl } : undefined,
      issuers: GOOGLE_ISSUERS,
      transporterOptions: { timeout: 2000 },
    });
  });

  return {
    async verify(idToken) {
      if (clientIds.length === 0) {
        throw new AuthError('auth_google_internal_error', { cause: new Error('Google sign-in is not configured: GOOGLE_CLIENT_IDS is unset') });
      }
      const client = await clientOf();
      let certs;
      try {
        certs = (await client.getFederatedSignonCertsAsync()).certs;
      } catch (e) {
        // Not the client's fault: the gateway could not obtain Google's certificates.
        throw new AuthError('auth_google_internal_error', { cause: new Error(`fetching Google certificates failed: ${(e as Error).name}`) });
      }
      let payload: TokenPayload | undefined;
      try {
        const ticket = await client.verifySignedJwtWithCertsAsync(idToken, certs, clientIds, GOOGLE_ISSUERS);
        payload = ticket.getPayload();
      } catch {
        // The library's message contains the token itself: keep none of it.
        throw new AuthError('auth_google_token_invalid');
      }
      if (!payload || typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.email !== 'string') {
        throw new AuthError('auth_google_token_invalid');
      }
      return {
        subject: payload.sub,
        email: normaliseEmail(payload.email),
        emailVerified: payload.email_verified === true,
        hostedDomain: typeof payload.hd === 'string' ? payload.hd.toLowerCase() : undefined,
        nonce: typeof payload.nonce === 'string' ? payload.nonce : undefined,
      };
    },
  };
}

