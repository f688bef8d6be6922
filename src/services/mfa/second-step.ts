// The second step of a sign-in. A user with an active factor who proved a password or a Google
// account gets auth_mfa_required with an mfa token (opaque, keyed hash at rest, bound to the
// user and tenant, 300 s, single-use, dead after 5 tries) instead of tokens; verifyMfa with a
// TOTP or recovery code then starts the session with amr ..., otp, mfa and acr aal2.
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { AuthMethod } from '../../db/entities/session.entity.js';
import { recoveryCodeUsedMail } from '../mail/messages.js';
import type { ServiceDeps } from '../deps.js';
import { credentialKeys, limited, type Client } from '../rate-limits/limiter.js';
import { enqueueMail } from '../mail/outbox.js';
import { loadPrincipal, type AuthPayload, type Principal, type Proof } from '../sessions/principal.js';
import { startSession } from '../sessions/start.js';
import { recordAudit } from '../shared/audit.js';
import { isOpaqueToken, keyedHash, newOpaqueToken } from '../shared/secrets.js';
import { matchingStep, openSecret, recoveryCodeHash, takeTotpStep } from './totp.js';

export const MFA_TOKEN_TTL_SECONDS = 300;
export const MFA_MAX_TRIES = 5;
const METHODS = ['totp', 'recovery_code'];

/** At most this many unexpired mfa tokens per user (SPEC §15): a new one voids the oldest. */
export const MFA_MAX_PENDING = 10;

// The new token, and the user's older ones beyond the newest MFA_MAX_PENDING - 1 voided (the
// statement does not see its own insert, so the older rows it keeps plus the new one make the
// bound). A known password can ask for tokens without end; the table stays bounded.
const ISSUE = `
with issued as (
  insert into mfa_challenges (id, tenant_id, user_id, token_hash, method, amr, attempts, created_at, expires_at)
  values (?, ?, ?, ?, ?, ?::text[], 0, ?, ?) returning id)
delete from mfa_challenges where id = any(array(
  select id from mfa_challenges where user_id = ? order by created_at desc, id desc offset ${MFA_MAX_PENDING - 1}))`;

/** Instead of a session: an mfa token for the second step, thrown as auth_mfa_required. */
export async function requireSecondStep(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'now'>, principal: Principal, proof: Proof): Promise<never> {
  const token = newOpaqueToken();
  const now = deps.now();
  await em.execute(ISSUE, [
    randomUUID(),
    principal.tenantId,
    principal.userId,
    keyedHash(deps.config.secretKey, token),
    proof.method,
    `{${proof.amr.join(',')}}`,
    now,
    new Date(now.getTime() + MFA_TOKEN_TTL_SECONDS * 1000),
    principal.userId,
  ]);
  throw new AuthError('auth_mfa_required', { mfa: { mfaToken: token, methods: METHODS } });
}

type VerifyDeps = Pick<ServiceDeps, 'config' | 'limiter' | 'tokens' | 'now' | 'mailer'>;

export async function verifyMfa(
  em: EntityManager,
  deps: VerifyDeps,
  input: { mfaToken: string; code?: string | null; recoveryCode?: string | null },
  client: Client,
): Promise<AuthPayload> {
  const { config } = deps;
  if (Boolean(input.code) === Boolean(input.recoveryCode)) throw new AuthError('auth_request_invalid', { fields: [{ field: input.code ? 'recovery_code' : 'code', rule: input.code ? 'format' : 'required' }] });
  if (!isOpaqueToken(input.mfaToken)) throw new AuthError('auth_mfa_token_invalid');
  const now = deps.now();
  // Every try counts against the token, before the code is looked at: the 6th finds it spent.
  const [challenge] = (await em.execute(
    'update mfa_challenges set attempts = attempts + 1 where token_hash = ? and expires_at > ? and attempts < ? returning id, user_id, method, amr',
    [keyedHash(config.secretKey, input.mfaToken), now, MFA_MAX_TRIES],
  )) as Array<{ id: string; user_id: string; method: AuthMethod; amr: string[] }>;
  if (!challenge) throw new AuthError('auth_mfa_token_invalid');
  const principal = await loadPrincipal(em, challenge.user_id);
  if (!principal) throw new AuthError('auth_mfa_token_invalid');

  // Wrong codes count against the account's login limit too.
  return limited(deps.limiter, credentialKeys(principal.tenantSlug, principal.email, client.ip), ['auth_mfa_code_invalid'], async () => {
    const [factor] = (await em.execute("select id, secret, last_step from mfa_factors where user_id = ? and status = 'active'", [principal.userId])) as Array<{
      id: string;
      secret: string;
      last_step: string | number | null;
    }>;
    if (!factor) throw new AuthError('auth_mfa_code_invalid');
    // The code is judged now and consumed with the session (SPEC §15): a refused second step
    // (a disabled user, a database fault) leaves the step or the recovery code unused.
    let consume: (tx: EntityManager) => Promise<boolean>;
    const recoveryUsed = !input.code;
    if (input.code) {
      const step = matchingStep(openSecret(config, factor.secret), input.code, now);
      if (step === undefined || (factor.last_step !== null && Number(factor.last_step) >= step)) throw new AuthError('auth_mfa_code_invalid');
      consume = (tx) => takeTotpStep(tx, factor.id, step);
    } else {
      const [code] = (await em.execute('select id from mfa_recovery_codes where user_id = ? and code_hash = ? and used_at is null', [
        principal.userId,
        recoveryCodeHash(config, input.recoveryCode!),
      ])) as Array<{ id: string }>;
      if (!code) throw new AuthError('auth_mfa_code_invalid');
      consume = async (tx) => ((await tx.execute('update mfa_recovery_codes set used_at = ? where id = ? and used_at is null returning id', [now, code.id])) as unknown[]).length === 1;
    }
    if (principal.disabled) throw new AuthError('auth_login_account_disabled');
    const proof: Proof = { method: challenge.method, amr: [...new Set([...challenge.amr, 'otp', 'mfa'])], client };
    const payload = await startSession(em, deps, principal, proof, async (tx) => {
      // Single use: the token goes with the session; a concurrent success found it gone.
      const gone = await tx.execute('delete from mfa_challenges where id = ? returning id', [challenge.id]);
      if ((gone as unknown[]).length !== 1) throw new AuthError('auth_mfa_token_invalid');
      // A concurrent second step with the same code took it first: this one is a replay.
      if (!(await consume(tx))) throw new AuthError('auth_mfa_code_invalid');
      if (recoveryUsed) {
        const [{ left }] = (await tx.execute('select count(*)::int as left from mfa_recovery_codes where user_id = ? and used_at is null', [principal.userId])) as Array<{ left: number }>;
        const [tenant] = (await tx.execute('select id, name, app_url from tenants where id = ?', [principal.tenantId])) as Array<{ id: string; name: string; app_url: string | null }>;
        await recordAudit(tx, now, { tenantId: principal.tenantId, userId: principal.userId, type: 'mfa_recovery_code_used', details: { left } });
        await enqueueMail(tx, deps, { tenantId: principal.tenantId, ...recoveryCodeUsedMail(principal.email, tenant, left) });
      }
    });
    if (recoveryUsed) deps.mailer?.wake();
    return payload;
  });
}
