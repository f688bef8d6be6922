// E-mail verification: a self-signed-up user proves the address by following the mailed
// link; until then the right password answers auth_email_not_verified.
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { recordAudit } from '../shared/audit.js';
import { emitWebhook } from '../shared/webhook-events.js';
import { signupContestedMail, verifyEmailMail } from '../mail/messages.js';
import { consumeToken, mailToken } from '../mail/mailed-tokens.js';

export async function verifyEmail(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'now'>, token: string): Promise<void> {
  await transactional(em, async (tx) => {
    const used = await consumeToken(tx, deps, token, 'verify_email');
    if (!used) throw new AuthError('auth_email_token_invalid');
    const first = (await tx.execute('update users set email_verified = true, updated_at = ? where id = ? and not email_verified returning id', [deps.now(), used.userId])) as unknown[];
    // A sign-up's account becomes usable when its address is verified: that is its user.created (SPEC §13).
    if (first.length) await emitWebhook(tx, deps.now(), used.tenantId, used.userId, 'user.created', { via: 'signup' });
    await recordAudit(tx, deps.now(), { tenantId: used.tenantId, userId: used.userId, type: 'email_verified' });
  });
}

/** A new verification mail for an unverified address (a set-password mail if its sign-up was contested); the same answer for any other. */
export async function resendVerification(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'limiter' | 'now' | 'later' | 'mailer'>, input: { tenant: string; email: string }, client: Client): Promise<void> {
  await mailToken(em, deps, input, client, {
    kind: 'verify_email',
    path: 'verify-email',
    ttlSeconds: deps.config.accounts.emailVerifyTtl,
    internalError: 'auth_email_internal_error',
    dbError: 'auth_email_db_error',
    compose: verifyEmailMail,
    // A contested sign-up (SPEC §15): the set-password link, never one that activates the first
    // sign-up's password for whoever asked.
    alternative: { kind: 'reset_password', path: 'reset-password', ttlSeconds: deps.config.accounts.passwordResetTtl, compose: signupContestedMail, when: 'u.signup_contested_at is not null' },
  });
}
