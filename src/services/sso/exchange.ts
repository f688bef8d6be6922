// The last step of the browser flow (SPEC §11): the app trades the one-time code and its PKCE
// verifier for the gateway's session.
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { requireSecondStep } from '../mfa/second-step.js';
import { limited, type Client } from '../rate-limits/limiter.js';
import { acrOf, hasActiveFactor, loadPrincipal, type AuthPayload } from '../sessions/principal.js';
import { startSession } from '../sessions/start.js';
import { isOpaqueToken, keyedHash } from '../shared/secrets.js';
import { s256 } from './flow.js';

type ExchangeDeps = Pick<ServiceDeps, 'config' | 'limiter' | 'tokens' | 'now' | 'sessions'>;

/**
 * The one-time code and its PKCE verifier for a session. The code is spent by its first use,
 * right or wrong (a wrong verifier spends it too). A user with an active TOTP factor takes the
 * second step unless the IdP asserted multi-factor.
 */
export async function ssoExchange(em: EntityManager, deps: ExchangeDeps, input: { code: string; codeVerifier: string }, client: Client): Promise<AuthPayload> {
  return limited(deps.limiter, [['sso_address', client.ip]], ['auth_sso_code_invalid'], async () => {
    if (!isOpaqueToken(input.code)) throw new AuthError('auth_sso_code_invalid');
    const [row] = (await em.execute('delete from sso_codes where code_hash = ? returning user_id, code_challenge, amr, expires_at', [keyedHash(deps.config.secretKey, input.code)])) as Array<{
      user_id: string;
      code_challenge: string | null;
      amr: string[];
      expires_at: Date;
    }>;
    // A code of an IdP-initiated response (a connection's opt-in) has no challenge: no app began it.
    if (!row || new Date(row.expires_at) <= deps.now() || (row.code_challenge !== null && s256(input.codeVerifier) !== row.code_challenge)) throw new AuthError('auth_sso_code_invalid');
    const principal = await loadPrincipal(em, row.user_id);
    if (!principal) throw new AuthError('auth_sso_code_invalid');
    if (principal.disabled) throw new AuthError('auth_login_account_disabled');
    const proof = { method: 'sso' as const, amr: row.amr, client };
    if (acrOf(row.amr) !== 'aal2' && (await hasActiveFactor(em, principal.userId))) await requireSecondStep(em, deps, principal, proof);
    return startSession(em, deps, principal, proof);
  });
}
