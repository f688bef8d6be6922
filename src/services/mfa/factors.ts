// Enrolling, activating and disabling a user's TOTP factor, and their recovery codes. Every
// change needs a session with recent authentication (never an API key).
import { randomUUID } from 'node:crypto';
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { credentialKeys, limited, type Client } from '../rate-limits/limiter.js';
import { revokeSessions } from '../sessions/end.js';
import { requireFirstWayIn, requireRecentAuthentication, requireSecondFactorIfEnrolled } from '../sessions/caller.js';
import type { Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { mfaEnrolledMail, type TenantMailInfo } from '../mail/messages.js';
import { keysBeforeFactor, type ApiKeyInfo } from '../api-keys/manage.js';
import { enqueueMail } from '../mail/outbox.js';
import { acceptTotp, newRecoveryCode, newTotpSecret, otpauthUri, RECOVERY_CODES, recoveryCodeHash, sealSecret } from './totp.js';

type MfaDeps = Pick<ServiceDeps, 'config' | 'now'>;
type CodeDeps = MfaDeps & Pick<ServiceDeps, 'limiter' | 'sessions'>;

/** A code typed to change the factor is a credential check: wrong ones count against the account's login limit. */
const checkingCode = <T>(deps: CodeDeps, viewer: Viewer, client: Client, attempt: () => Promise<T>) =>
  limited(deps.limiter, credentialKeys(viewer.tenantSlug, viewer.email, client.ip), ['auth_mfa_code_invalid'], attempt);

interface FactorRow {
  id: string;
  tenant_id: string;
  secret: string;
  status: 'pending' | 'active';
}

const factorOf = async (em: EntityManager, userId: string) =>
  ((await em.execute('select id, tenant_id, secret, status from mfa_factors where user_id = ?', [userId])) as FactorRow[])[0];

/** Replace the user's recovery codes with ten new ones (inside `tx`); answers them, to show once. */
async function newRecoveryCodes(tx: EntityManager, deps: MfaDeps, userId: string): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
  await tx.execute('delete from mfa_recovery_codes where user_id = ?', [userId]);
  for (const code of codes) {
    await tx.execute('insert into mfa_recovery_codes (id, user_id, code_hash, created_at) values (?, ?, ?, ?)', [randomUUID(), userId, recoveryCodeHash(deps.config, code), deps.now()]);
  }
  return codes;
}

/** A new pending factor (replacing a pending one): its secret and otpauth:// URI, shown once. */
export async function enrollTotp(em: EntityManager, deps: MfaDeps, viewer: Viewer): Promise<{ secret: string; otpauthUri: string }> {
  requireRecentAuthentication(deps, viewer);
  // A session restricted by mfa_required_roles enrols no factor beside the user's passkey.
  if (viewer.mfaRequired) await requireSecondFactorIfEnrolled(em, viewer);
  const secret = newTotpSecret();
  const [tenant] = (await em.execute('select t.id, t.name from tenants t join users u on u.tenant_id = t.id where u.id = ?', [viewer.userId])) as Array<{ id: string; name: string }>;
  const rows = await em.execute(
    `insert into mfa_factors (id, tenant_id, user_id, kind, secret, status, created_at) values (?, ?, ?, 'totp', ?, 'pending', ?)
     on conflict (user_id) do update set secret = excluded.secret, last_step = null, created_at = excluded.created_at where mfa_factors.status = 'pending'
     returning id`,
    [randomUUID(), tenant.id, viewer.userId, sealSecret(deps.config, secret), deps.now()],
  );
  if ((rows as unknown[]).length === 0) throw new AuthError('auth_mfa_already_enrolled');
  return { secret, otpauthUri: otpauthUri(secret, tenant.name, viewer.email) };
}

/** New recovery codes, and the API keys made before the factor that still work (keysBeforeFactor). */
export interface RecoveryCodeSet {
  recoveryCodes: string[];
  apiKeysBeforeFactor: ApiKeyInfo[];
}

/**
 * The first valid code makes the factor count; answers the ten recovery codes and the API keys
 * made before it (mailed to the owner too, when there are any).
 */
export async function activateTotp(em: EntityManager, deps: CodeDeps & Pick<ServiceDeps, 'mailer'>, viewer: Viewer, code: string, client: Client): Promise<RecoveryCodeSet> {
  requireRecentAuthentication(deps, viewer);
  const factor = await factorOf(em, viewer.userId);
  if (!factor) throw new AuthError('auth_mfa_not_enrolled');
  if (factor.status === 'active') throw new AuthError('auth_mfa_already_enrolled');
  await checkingCode(deps, viewer, client, async () => {
    if (!(await acceptTotp(em, deps.config, factor, code, deps.now()))) throw new AuthError('auth_mfa_code_invalid');
  });
  const codes = await transactional(em, async (tx) => {
    // A session that mfa_required_roles restricts activates only the user's first strong way in.
    if (viewer.mfaRequired) await requireFirstWayIn(tx, viewer);
    await tx.execute("update mfa_factors set status = 'active', activated_at = ? where id = ?", [deps.now(), factor.id]);
    // Sessions opened with one factor before it, elsewhere, end: from now on the second step counts.
    await revokeSessions(tx, { user: viewer.userId }, 'mfa_enrolled', deps.now(), viewer.sessionId);
    const fresh = await newRecoveryCodes(tx, deps, viewer.userId);
    await recordAudit(tx, deps.now(), { tenantId: factor.tenant_id, userId: viewer.userId, sessionId: viewer.sessionId, type: 'mfa_enrolled' });
    const before = await keysBeforeFactor(tx, viewer.userId, deps.now());
    // The owner hears of it, whoever turned it on (and of the keys made before it).
    const [tenant] = (await tx.execute('select id, name, app_url from tenants where id = ?', [factor.tenant_id])) as TenantMailInfo[];
    await enqueueMail(tx, deps, { tenantId: factor.tenant_id, ...mfaEnrolledMail(viewer.email, tenant, before) });
    return { recoveryCodes: fresh, apiKeysBeforeFactor: before };
  });
  deps.sessions.forgetUser(viewer.userId);
  deps.mailer?.wake();
  return codes;
}

/** New recovery codes; the old set stops working. Also answers the API keys made before the factor. */
export async function regenerateRecoveryCodes(em: EntityManager, deps: MfaDeps, viewer: Viewer): Promise<RecoveryCodeSet> {
  requireRecentAuthentication(deps, viewer);
  await requireSecondFactorIfEnrolled(em, viewer);
  const factor = await factorOf(em, viewer.userId);
  if (factor?.status !== 'active') throw new AuthError('auth_mfa_not_enrolled');
  return transactional(em, async (tx) => {
    const codes = await newRecoveryCodes(tx, deps, viewer.userId);
    await recordAudit(tx, deps.now(), { tenantId: factor.tenant_id, userId: viewer.userId, sessionId: viewer.sessionId, type: 'mfa_recovery_codes_regenerated' });
    return { recoveryCodes: codes, apiKeysBeforeFactor: await keysBeforeFactor(tx, viewer.userId, deps.now()) };
  });
}

/** Disabling needs recent authentication and a current code; the factor and its codes go. */
export async function disableTotp(em: EntityManager, deps: CodeDeps, viewer: Viewer, code: string, client: Client): Promise<void> {
  requireRecentAuthentication(deps, viewer);
  const factor = await factorOf(em, viewer.userId);
  if (factor?.status !== 'active') throw new AuthError('auth_mfa_not_enrolled');
  await requireSecondFactorIfEnrolled(em, viewer);
  await checkingCode(deps, viewer, client, async () => {
    if (!(await acceptTotp(em, deps.config, factor, code, deps.now()))) throw new AuthError('auth_mfa_code_invalid');
  });
  await transactional(em, async (tx) => {
    await tx.execute('delete from mfa_factors where id = ?', [factor.id]);
    await tx.execute('delete from mfa_recovery_codes where user_id = ?', [viewer.userId]);
    await recordAudit(tx, deps.now(), { tenantId: factor.tenant_id, userId: viewer.userId, sessionId: viewer.sessionId, type: 'mfa_disabled' });
  });
}
