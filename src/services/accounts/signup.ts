// Password sign-up. The answer is the same for a new and a taken address (202, same body,
// same work: the password is hashed and one statement runs either way); a taken address's
// owner is mailed a notice instead, and nothing is created or changed.
import { randomUUID } from 'node:crypto';
import type { SignupPolicy } from '../../db/entities/tenant.entity.js';
import { pgTextArray, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { type Client } from '../rate-limits/limiter.js';
import { sealMail, type MailKind, type OutgoingMail } from '../mail/outbox.js';
import { EMAIL_SHAPE, normaliseEmail } from '../shared/identifiers.js';
import { keyedHash, newOpaqueToken } from '../shared/secrets.js';
import { linkOf, signupExistingMail, signupPendingMail, verifyEmailMail, type TenantMailInfo } from '../mail/messages.js';
import { checkPassword } from '../passwords/policy.js';
import { refuseWhereSsoEnforced } from '../sso/enforce.js';
import { countMail } from '../mail/budget.js';

type SignupDeps = Pick<ServiceDeps, 'config' | 'passwords' | 'limiter' | 'now' | 'mailer' | 'breaches'>;

interface SignupTenant extends TenantMailInfo {
  signup: SignupPolicy;
  signup_domains: string[];
  default_roles: string[];
}

/** Whether the tenant admits a password sign-up of this address. */
function admits(tenant: SignupTenant | undefined, email: string): tenant is SignupTenant {
  if (!tenant || tenant.signup === 'closed') return false;
  return tenant.signup === 'open' || tenant.signup_domains.includes(email.slice(email.lastIndexOf('@') + 1));
}

// One statement whatever the address (SPEC §8, §15):
// - a new address: a user (unverified, the tenant's default roles), a verification token and
//   its mail;
// - an address whose sign-up still waits for verification: nothing of it changes (its password
//   and its mailed link stay), and the address gets a notice with a set-password link, a reset
//   token (voiding older ones), which proves the address when used. So nobody can swap the
//   password of a pending sign-up before its owner reads the mail. The sign-up is marked
//   contested: a resend then mails the set-password link, never the first sign-up's link.
//   The insert's own conflict decides (not a read before it), so of two sign-ups at the same
//   moment the second waits for the first and is the contest;
// - a verified address: a notice to its owner, without a link.
// The token is made either way and stored for whichever branch applies.
const SIGN_UP = `
with upsert as (
  insert into users (id, tenant_id, email, password_hash, disabled, email_verified, created_at, updated_at)
  values (?, ?, ?, ?, false, false, ?, ?)
  on conflict (tenant_id, email) do update set signup_contested_at = coalesce(users.signup_contested_at, excluded.created_at)
  where not users.email_verified
  returning id, xmax = 0 as created),
created as (select id from upsert where created),
pending as (select id from upsert where not created),
verified as (select id from users where tenant_id = ? and email = ? and email_verified and not exists (select 1 from upsert)),
granted as (insert into user_roles (user_id, role_id) select c.id, r.id from created c join roles r on r.tenant_id = ? and r.name = any(?::text[])),
voided as (delete from email_tokens where user_id in (select id from pending) and kind = 'reset_password'),
verify_token as (
  insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at)
  select ?, ?, c.id, 'verify_email', ?, ?, ? from created c),
reset_token as (
  insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at)
  select ?, ?, p.id, 'reset_password', ?, ?, ? from pending p),
verify_mail as (
  insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at)
  select ?, ?, 'verify_email', 'pending', ?, 0, ?, ? from created),
pending_mail as (
  insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at)
  select ?, ?, 'signup_pending', 'pending', ?, 0, ?, ? from pending),
notice as (
  insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at)
  select ?, ?, 'signup_existing', 'pending', ?, 0, ?, ? from verified)
select 1`;

export async function signUp(em: EntityManager, deps: SignupDeps, input: { tenant: string; email: string; password: string }, client: Client): Promise<void> {
  const { config } = deps;
  const email = normaliseEmail(input.email);
  if (!EMAIL_SHAPE.test(email)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'email', rule: 'format' }] });
  // Refusals come first and never count against the limits; SSO enforcement before any password rule.
  await refuseWhereSsoEnforced(em, { slug: input.tenant }, email);
  await checkPassword(deps, input.password, email);
  const [tenant] = (await em.execute('select id, name, app_url, signup, signup_domains, default_roles from tenants where slug = ?', [input.tenant])) as SignupTenant[];
  if (!admits(tenant, email)) throw new AuthError('auth_signup_not_allowed');
  // Beyond the mail limits the answer stays the same and nothing happens.
  if (!(await countMail(deps, input.tenant, email, client))) return;

  const now = deps.now();
  const token = newOpaqueToken();
  const { emailVerifyTtl, passwordResetTtl } = config.accounts;
  const verify = verifyEmailMail(email, tenant, linkOf(config, tenant, 'verify-email', token, 'auth_signup_internal_error'), emailVerifyTtl);
  const pendingNotice = signupPendingMail(email, tenant, linkOf(config, tenant, 'reset-password', token, 'auth_signup_internal_error'), passwordResetTtl);
  const notice = signupExistingMail(email, tenant);
  const passwordHash = await deps.passwords.hash(input.password);
  const tokenHash = keyedHash(config.secretKey, token);
  const expiring = (seconds: number) => new Date(now.getTime() + seconds * 1000);
  const sealed = (m: OutgoingMail & { kind: MailKind }) => {
    const { kind: _kind, ...content } = m;
    return sealMail(config, content);
  };
  await em.execute(SIGN_UP, [
    randomUUID(),
    tenant.id,
    email,
    passwordHash,
    now,
    now,
    tenant.id,
    email,
    tenant.id,
    pgTextArray(tenant.default_roles),
    randomUUID(),
    tenant.id,
    tokenHash,
    now,
    expiring(emailVerifyTtl),
    randomUUID(),
    tenant.id,
    tokenHash,
    now,
    expiring(passwordResetTtl),
    ...[sealed(verify), sealed(pendingNotice), sealed(notice)].flatMap((payload) => [randomUUID(), tenant.id, payload, now, now]),
  ]);
  deps.mailer?.wake();
}
