// The admin CLI's single commands: create a tenant, a role or a user; disable, enable or set a
// user's password (both end the user's sessions; a password change also revokes their keys).
import { ApiKey } from '../../db/entities/api-key.entity.js';
import { Role } from '../../db/entities/role.entity.js';
import { Tenant } from '../../db/entities/tenant.entity.js';
import { User } from '../../db/entities/user.entity.js';
import { pgTextArray, transactional, type EntityManager } from '../../db/orm.js';
import type { PasswordHasher } from '../passwords/hasher.js';
import { revokeSessions } from '../sessions/end.js';
import type { Config } from '../../config.js';
import { passwordProblem } from '../passwords/policy.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { LONE_SURROGATE } from '../shared/fields.js';
import { GATEWAY_PERMISSIONS } from '../shared/permissions.js';
import { AdminError, check, EMAIL, rolesByName, tenantBySlug, upsertRole, upsertTenant, type TenantInput } from './records.js';
import { emitWebhook } from '../shared/webhook-events.js';

export async function createTenant(em: EntityManager, input: TenantInput): Promise<Tenant> {
  return transactional(em, async (tx) => {
    check(!(await tx.findOne(Tenant, { slug: input.slug })), `tenant ${input.slug} already exists`);
    return upsertTenant(tx, input, { created: 0, updated: 0, unchanged: 0 });
  });
}

/** Change a tenant's settings; what is not given stays as it is. */
export async function setTenantSettings(
  em: EntityManager,
  slug: string,
  settings: Pick<TenantInput, 'googleDomains' | 'defaultRoles' | 'signup' | 'signupDomains' | 'appUrl' | 'mfaRequiredRoles'> & { name?: string },
): Promise<Tenant> {
  return transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, slug);
    return upsertTenant(
      tx,
      {
        slug,
        name: settings.name ?? tenant.name,
        googleDomains: settings.googleDomains ?? tenant.googleDomains,
        defaultRoles: settings.defaultRoles ?? tenant.defaultRoles,
        signup: settings.signup,
        signupDomains: settings.signupDomains,
        appUrl: settings.appUrl,
        mfaRequiredRoles: settings.mfaRequiredRoles,
      },
      { created: 0, updated: 0, unchanged: 0 },
    );
  });
}

/**
 * Create a role. A permission that no operation of the gateway checks and no role holds yet is
 * most likely a typo (`users:mange`): refused, naming the closest known one, unless `force`
 * (an application's own permission, the first time).
 */
export async function createRole(em: EntityManager, tenantSlug: string, name: string, permissions: string[], force = false): Promise<Role> {
  return transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, tenantSlug);
    check(name.trim() !== '', 'the role name is required');
    check(!(await tx.findOne(Role, { tenant, name })), `tenant ${tenantSlug} already has a role ${name}`);
    if (!force) await refuseUnknownPermissions(tx, permissions);
    return upsertRole(tx, tenant, name, permissions, { created: 0, updated: 0, unchanged: 0 });
  });
}

/** Edit distance (Levenshtein), for naming the permission a typo meant. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

async function refuseUnknownPermissions(tx: EntityManager, permissions: string[]): Promise<void> {
  const unknown = permissions.filter((p) => !(GATEWAY_PERMISSIONS as readonly string[]).includes(p));
  if (unknown.length === 0) return;
  const held = (await tx.execute('select distinct p.name from permissions p join role_permissions rp on rp.permission_id = p.id where p.name = any(?)', [pgTextArray(unknown)])) as Array<{ name: string }>;
  for (const p of unknown.filter((u) => !held.some((h) => h.name === u))) {
    const closest = [...GATEWAY_PERMISSIONS].sort((a, b) => distance(p, a) - distance(p, b))[0];
    check(false, `permission ${p} is checked by no operation of the gateway and held by no role${distance(p, closest) <= 2 ? ` (did you mean ${closest}?)` : ''}; pass --force to create it anyway`);
  }
}

/** The password policy of the sign-up forms holds for the CLI too (config: its settings). */
export type PasswordPolicy = Pick<Config, 'accounts' | 'maxPasswordLength'>;

function checkPolicy(policy: PasswordPolicy | undefined, password: string, email: string): void {
  check(!LONE_SURROGATE.test(password), 'the password has an unpaired UTF-16 surrogate');
  if (!policy) return check(password.length >= 8, 'the password must have at least 8 characters');
  const problem = passwordProblem(policy, password, email);
  check(problem === null, `the password is refused by the password policy: ${problem}`);
}

export async function createUser(
  em: EntityManager,
  passwords: PasswordHasher,
  input: { tenant: string; email: string; password: string; roles?: string[]; disabled?: boolean },
  policy?: PasswordPolicy,
): Promise<User> {
  const email = normaliseEmail(input.email);
  check(EMAIL.test(email), 'not an e-mail address');
  checkPolicy(policy, input.password, email);
  const passwordHash = await passwords.hash(input.password);
  return transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, input.tenant);
    check(!(await tx.findOne(User, { tenant, email })), `tenant ${input.tenant} already has a user ${email}`);
    const user = tx.create(User, { tenant, email, passwordHash, disabled: input.disabled ?? false });
    user.roles.set(await rolesByName(tx, tenant, input.roles ?? []));
    // Written first: the message's body reads the new user's address.
    await tx.flush();
    await emitWebhook(tx, new Date(), tenant.id, user.id, 'user.created', { via: 'cli' });
    return user;
  });
}

export async function setUserDisabled(em: EntityManager, tenantSlug: string, email: string, disabled: boolean): Promise<void> {
  await transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, tenantSlug);
    const user = await tx.findOne(User, { tenant, email: normaliseEmail(email) });
    if (!user) throw new AdminError(`tenant ${tenantSlug} has no user ${normaliseEmail(email)}`);
    const changed = user.disabled !== disabled;
    user.disabled = disabled;
    if (disabled) await revokeSessions(tx, { user: user.id }, 'user_disabled');
    if (changed) await emitWebhook(tx, new Date(), tenant.id, user.id, disabled ? 'user.disabled' : 'user.enabled', { via: 'cli' });
  });
}

/**
 * Sets a new password (never the current one); every session of the user ends, every API key
 * is revoked and every pending second step voided, as a reset does.
 */
export async function setUserPassword(
  em: EntityManager,
  passwords: PasswordHasher,
  tenantSlug: string,
  email: string,
  password: string,
  policy?: PasswordPolicy,
): Promise<void> {
  checkPolicy(policy, password, normaliseEmail(email));
  const passwordHash = await passwords.hash(password);
  await transactional(em, async (tx) => {
    const tenant = await tenantBySlug(tx, tenantSlug);
    const user = await tx.findOne(User, { tenant, email: normaliseEmail(email) });
    if (!user) throw new AdminError(`tenant ${tenantSlug} has no user ${normaliseEmail(email)}`);
    check(user.passwordHash === null || !(await passwords.verify(user.passwordHash, password)).ok, 'the new password is the current one');
    user.passwordHash = passwordHash;
    user.passwordChangedAt = new Date();
    await revokeSessions(tx, { user: user.id }, 'password_changed');
    // A sign-in half-way through its second step proved the old password.
    await tx.execute('delete from mfa_challenges where user_id = ?', [user.id]);
    // A password change answers a suspected compromise: the keys minted with the old
    // password go too (other instances drop them within API_KEY_CACHE_TTL_MS).
    await tx.nativeUpdate(ApiKey, { user: user.id, revokedAt: null }, { revokedAt: new Date() });
    await emitWebhook(tx, new Date(), tenant.id, user.id, 'user.password_changed', { via: 'cli' });
  });
}

