// Password sign-up. The answer is the same for a new and a taken address (202, same body,
// same work: the password is hashed and one statement runs either way); a taken address's
// owner is mailed a notice instead, and nothing is created.
import { randomUUID } from 'node:crypto';
import type { SignupPolicy } from '../../db/entities/tenant.entity.js';
import { pgTextArray, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { type Client } from '../limits/rate-limiter.js';
import { sealMail } from '../mail/outbox.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { keyedHash, newOpaqueToken } from '../shared/secrets.js';
import { linkOf, signupExistingMail, verifyEmailMail, type TenantMailInfo } from './mails.js';
import { checkPassword } from './policy.js';
import { countMail, EMAIL_SHAPE } from './limits.js';

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

// One statement whatever the address: a new user (unverified, the tenant's default roles)
// with a verification token and its mail; for an address whose account is still unverified,
// the new password replaces the pending one and a new link voids the older ones (the latest
// sign-up wins, so nobody can plant a password on an address before its owner signs up and
// have the owner verify it); for a verified address, a notice to its owner. The update checks
// `not email_verified` on the row itself too: a sign-up that waited on the row while the owner
// verified it (a link, a reset, an invitation) must not replace the now-verified password.
const SIGN_UP = `
with existing as (select id, email_verified from users where tenant_id = ? and email = ?),
pending as (update users set password_hash = ?, updated_at = ? where id in (select id from existing where not email_verified) and not email_verified returning id),
voided as (delete from email_tokens where user_id in (select id from pending) and kind = 'verify_email'),
created as (
  insert into users (id, tenant_id, email, password_hash, disabled, email_verified, created_at, updated_at)
  select ?, ?, ?, ?, false, false, ?, ? where not exists (select 1 from existing)
  on conflict do nothing returning id),
target as (select id from created union all select id from pending),
granted as (insert into user_roles (user_id, role_id) select c.id, r.id from created c join roles r on r.tenant_id = ? and r.name = any(?::text[])),
token as (insert into email_tokens (id, tenant_id, user_id, kind, token_hash, created_at, expires_at) select ?, ?, t.id, 'verify_email', ?, ?, ? from target t),
verify_mail as (
  insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at)
  select ?, ?, 'verify_email', 'pending', ?, 0, ?, ? from target),
notice as (
  insert into mail_outbox (id, tenant_id, kind, status, payload, attempts, next_attempt_at, created_at)
  select ?, ?, 'signup_existing', 'pending', ?, 0, ?, ? from existing where email_verified)
select (select count(*) from target)::int as created`;

export async function signUp(em: EntityManager, deps: SignupDeps, input: { tenant: string; email: string; password: string }, client: Client): Promise<void> {
  const { config } = deps;
  const email = normaliseEmail(input.email);
  if (!EMAIL_SHAPE.test(email)) throw new AuthError('auth_request_invalid');
  // Refusals come first and never count against the limits.
  await checkPassword(deps, input.password, email);
  const [tenant] = (await em.execute('select id, name, app_url, signup, signup_domains, default_roles from tenants where slug = ?', [input.tenant])) as SignupTenant[];
  if (!admits(tenant, email)) throw new AuthError('auth_signup_not_allowed');
  // Beyond the mail limits the answer stays the same and nothing happens.
  if (!(await countMail(deps, input.tenant, email, client))) return;

  const now = deps.now();
  const token = newOpaqueToken();
  const link = linkOf(config, tenant, 'verify-email', token, 'auth_signup_internal_error');
  const verify = verifyEmailMail(email, tenant, link, config.accounts.emailVerifyTtl);
  const notice = signupExistingMail(email, tenant);
  const passwordHash = await deps.passwords.hash(input.password);
  const expires = new Date(now.getTime() + config.accounts.emailVerifyTtl * 1000);
  const { kind: _v, ...verifyContent } = verify;
  const { kind: _n, ...noticeContent } = notice;
  await em.execute(SIGN_UP, [
    tenant.id,
    email,
    passwordHash,
    now,
    randomUUID(),
    tenant.id,
    email,
    passwordHash,
    now,
    now,
    tenant.id,
    pgTextArray(tenant.default_roles),
    randomUUID(),
    tenant.id,
    keyedHash(config.secretKey, token),
    now,
    expires,
    randomUUID(),
    tenant.id,
    sealMail(config, verifyContent),
    now,
    now,
    randomUUID(),
    tenant.id,
    sealMail(config, noticeContent),
    now,
    now,
  ]);
  deps.mailer?.wake();
}
