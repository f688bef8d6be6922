// Forgotten passwords, resets and changes. A reset or a change ends every other session of
// the user, revokes their API keys and mails a notice; the new password keeps the policy and
// is not the current one.
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { credentialKeys, limited, type Client } from '../rate-limits/limiter.js';
import { enqueueMail } from '../mail/outbox.js';
import { revokeSessions } from '../sessions/end.js';
import { requireRecentAuthentication, requireSecondFactorIfEnrolled } from '../sessions/caller.js';
import type { Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { isOpaqueToken, keyedHash } from '../shared/secrets.js';
import { consumeToken, mailToken } from '../mail/mailed-tokens.js';
import { passwordChangedMail, resetPasswordMail, type TenantMailInfo } from '../mail/messages.js';
import { checkPassword } from './policy.js';
import { dropUnprovenCredentials } from '../users/claim.js';
import { refuseWhereSsoEnforced } from '../sso/enforce.js';

/** A reset mail for an address with an account; the same answer for any other. A new mail voids the older links. */
export async function forgotPassword(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'limiter' | 'now' | 'later' | 'mailer'>, input: { tenant: string; email: string }, client: Client): Promise<void> {
  // Where SSO is enforced the password is not the way in: no reset mail (the answer depends on the domain alone).
  await refuseWhereSsoEnforced(em, { slug: input.tenant }, input.email);
  await mailToken(em, deps, input, client, {
    kind: 'reset_password',
    path: 'reset-password',
    ttlSeconds: deps.config.accounts.passwordResetTtl,
    internalError: 'auth_password_internal_error',
    dbError: 'auth_password_db_error',
    compose: resetPasswordMail,
  });
}

interface Holder extends TenantMailInfo {
  user_id: string;
  email: string;
}

/**
 * The new password is stored, every other session of the user ends, their API keys are revoked
 * and pending second steps voided, a notice goes out: one transaction. A reset also proves the
 * address: one never verified before is taken clean (SPEC §15).
 */
async function replacePassword(
  tx: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'now'>,
  holder: Holder,
  hash: string,
  how: 'reset' | 'change',
  keepSession?: string,
): Promise<void> {
  const now = deps.now();
  // Whether the address was proven before this, read under the row's lock and before the
  // update: a statement's RETURNING sees the row as updated, and a CTE of the same statement
  // that it reads runs after the update too (then finding no row: every reset looked like a
  // first proof and dropped the factors of verified accounts).
  // A reset proves the address: the user's verification links go first, before the user's row
  // is locked, the order a verification takes (its token, then the user), so a verification
  // and a reset at once never deadlock.
  if (how === 'reset') await tx.execute("delete from email_tokens where user_id = ? and kind = 'verify_email'", [holder.user_id]);
  const [before] = (await tx.execute('select email_verified from users where id = ? for update', [holder.user_id])) as Array<{ email_verified: boolean }>;
  const wasVerified = before?.email_verified === true;
  await tx.execute('update users set password_hash = ?, password_changed_at = ?, updated_at = ?, email_verified = email_verified or ? where id = ?', [
    hash,
    now,
    now,
    how === 'reset',
    holder.user_id,
  ]);
  if (how === 'reset' && !wasVerified) await dropUnprovenCredentials(tx, now, holder.user_id, 'reset');
  await revokeSessions(tx, { user: holder.user_id }, how === 'reset' ? 'password_reset' : 'password_changed', now, keepSession);
  // A sign-in half-way through its second step proved the old password: its mfa token dies.
  await tx.execute('delete from mfa_challenges where user_id = ?', [holder.user_id]);
  // A new password answers a lost, stolen or suspected one: the API keys minted with the old one
  // go too (as with the admin CLI); passkeys stay, and the notice asks the owner to review them.
  await tx.execute('update api_keys set revoked_at = ? where user_id = ? and revoked_at is null', [now, holder.user_id]);
  await enqueueMail(tx, deps, { tenantId: holder.id, ...passwordChangedMail(holder.email, holder, how) });
  await recordAudit(tx, now, { tenantId: holder.id, userId: holder.user_id, sessionId: keepSession, type: how === 'reset' ? 'password_reset' : 'password_changed' });
}

/** auth_password_weak for a "new" password that is the current one (SPEC §15). */
async function refuseSamePassword(deps: Pick<ServiceDeps, 'passwords'>, current: string | null, candidate: string): Promise<void> {
  if (current !== null && (await deps.passwords.verify(current, candidate)).ok) throw new AuthError('auth_password_weak', { rules: ['same_as_current'] });
}

const HOLDER = `select u.id as user_id, u.email, te.id, te.name, te.app_url from users u join tenants te on te.id = u.tenant_id`;
const HOLDER_WITH_HASH = HOLDER.replace('select ', 'select u.password_hash, ');

export async function resetPassword(
  em: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'passwords' | 'sessions' | 'apiKeys' | 'now' | 'mailer' | 'breaches'>,
  input: { token: string; password: string },
): Promise<void> {
  const { config } = deps;
  if (!isOpaqueToken(input.token)) throw new AuthError('auth_email_token_invalid');
  // Looked at first (not consumed), so that a password the policy refuses leaves the link usable.
  const [holder] = (await em.execute(`${HOLDER_WITH_HASH} join email_tokens t on t.user_id = u.id where t.token_hash = ? and t.kind = 'reset_password' and t.expires_at > ?`, [
    keyedHash(config.secretKey, input.token),
    deps.now(),
  ])) as Array<Holder & { password_hash: string | null }>;
  if (!holder) throw new AuthError('auth_email_token_invalid');
  await refuseWhereSsoEnforced(em, { id: holder.id }, holder.email);
  await checkPassword(deps, input.password, holder.email);
  await refuseSamePassword(deps, holder.password_hash, input.password);
  const hash = await deps.passwords.hash(input.password);
  await transactional(em, async (tx) => {
    const used = await consumeToken(tx, deps, input.token, 'reset_password');
    if (!used || used.userId !== holder.user_id) throw new AuthError('auth_email_token_invalid');
    await replacePassword(tx, deps, holder, hash, 'reset');
  });
  deps.sessions.forgetUser(holder.user_id);
  deps.apiKeys.forgetUser(holder.user_id);
  deps.mailer?.wake();
}

export async function changePassword(
  em: EntityManager,
  deps: Pick<ServiceDeps, 'config' | 'passwords' | 'limiter' | 'sessions' | 'apiKeys' | 'now' | 'mailer' | 'breaches'>,
  viewer: Viewer,
  input: { currentPassword: string; newPassword: string },
  client: Client,
): Promise<void> {
  requireRecentAuthentication(deps, viewer);
  // A new password changes a way in: with a second factor (or a passkey, for a role that needs
  // two factors), only a session that used it may (SPEC §15).
  await requireSecondFactorIfEnrolled(em, viewer);
  // Wrong current passwords count against the account's login limit: this is a password check too.
  await limited(deps.limiter, credentialKeys(viewer.tenantSlug, viewer.email, client.ip), ['auth_password_change_invalid'], async () => {
    const [holder] = (await em.execute(`${HOLDER_WITH_HASH} where u.id = ?`, [viewer.userId])) as Array<Holder & { password_hash: string | null }>;
    const check = await deps.passwords.verify(holder?.password_hash ?? null, input.currentPassword);
    if (!holder || !check.ok) throw new AuthError('auth_password_change_invalid');
    await checkPassword(deps, input.newPassword, holder.email);
    await refuseSamePassword(deps, holder.password_hash, input.newPassword);
    const hash = await deps.passwords.hash(input.newPassword);
    await transactional(em, (tx) => replacePassword(tx, deps, holder, hash, 'change', viewer.sessionId));
  });
  deps.sessions.forgetUser(viewer.userId);
  deps.apiKeys.forgetUser(viewer.userId);
  deps.mailer?.wake();
}
