// Password login. One answer and one cost for unknown tenant, unknown user and wrong
// password; "disabled" is said only after the password proved right.
import type { EntityManager } from '../../db/orm.js';
import { executePrepared } from '../../db/prepared.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { credentialKeys, limitedAlong, type CarriedLimits, type Client, type TakenRow } from '../rate-limits/limiter.js';
import { GRANTS_SQL, principalOfRow, type AuthPayload, type PrincipalRow } from '../sessions/principal.js';
import { requireSecondStep } from '../mfa/second-step.js';
import { startSession } from '../sessions/start.js';
import { normaliseEmail } from '../shared/identifiers.js';
import { recordAudit } from '../shared/audit.js';
import { domainOf, ENFORCING_SQL, ssoRequired } from '../sso/enforce.js';

/** The permission of break-glass admins: a password sign-in where SSO is enforced. */
export const SSO_BYPASS_PERMISSION = 'sso:bypass';

export interface PasswordLoginInput {
  tenant: string;
  email: string;
  password: string;
  /** The break-glass form (SPEC §11): where SSO is enforced, a holder of sso:bypass signs in with the password. */
  breakGlass?: boolean | null;
}

/** What a password login touches. */
type PasswordLoginDeps = Pick<ServiceDeps, 'config' | 'passwords' | 'limiter' | 'tokens' | 'now'>;

export async function passwordLogin(em: EntityManager, deps: PasswordLoginDeps, input: PasswordLoginInput, client: Client): Promise<AuthPayload> {
  // Refused before hashing: a megabyte "password" must not buy a megabyte of argon2 input.
  if (input.password.length > deps.config.maxPasswordLength) throw new AuthError('auth_request_invalid', { fields: [{ field: 'password', rule: 'too_long' }] });
  const [account, address] = credentialKeys(input.tenant, normaliseEmail(input.email), client.ip);
  // A successful login clears its account's failures.
  return limitedAlong(deps.limiter, [account, address], ['auth_login_invalid_credentials'], (limits) => verifyAndStart(em, deps, input, client, limits), [account]);
}

// The user of the tenant with their password hash and grants.
export const LOGIN_SELECT = `
select u.id as user_id, u.email, u.password_hash, u.disabled, u.email_verified, te.id as tenant_id,
       exists(select 1 from mfa_factors f where f.user_id = u.id and f.status = 'active') as mfa, te.slug,${GRANTS_SQL('u')}
  from users u join tenants te on te.id = u.tenant_id
 where te.slug = ? and u.email = ?`;

// One row always: the enforcing SSO connection of the address's domain in the tenant, if any
// (parameters: domain, slug), and the user's columns, null for an unknown account.
const LOGIN_ROW = `${ENFORCING_SQL('slug')} as sso_required, login.*
  from (select 1) as one left join (${LOGIN_SELECT}) as login on true`;
export const LOGIN_SELECT_ONE = `select ${LOGIN_ROW}`;

// The same with the limits taken in the same statement (PostgreSQL store), the limit rows in `limit_rows`.
export const LOGIN_SELECT_TAKING = (take: string) => `
with ${take}
select (select json_agg(limit_taken) from limit_taken) as limit_rows, ${LOGIN_ROW}`;

interface LoginRow extends PrincipalRow {
  password_hash: string | null;
  email_verified: boolean;
  mfa: boolean;
  sso_required: string | null;
}

async function verifyAndStart(em: EntityManager, deps: PasswordLoginDeps, input: PasswordLoginInput, client: Client, limits?: CarriedLimits): Promise<AuthPayload> {
  const lookup = [domainOf(input.email), input.tenant, input.tenant, normaliseEmail(input.email)];
  let row: LoginRow;
  if (limits) {
    const [taking] = await executePrepared<LoginRow & { limit_rows: TakenRow[] }>(em, LOGIN_SELECT_TAKING(limits.take.ctes), [...limits.take.params, ...lookup]);
    await limits.taken(taking.limit_rows);
    row = taking;
  } else {
    [row] = await executePrepared<LoginRow>(em, LOGIN_SELECT_ONE, lookup);
  }
  // SSO enforced for the domain: refused before any hash, whoever the address belongs to;
  // only the break-glass form goes on, to check the password and then sso:bypass.
  if (row.sso_required && !input.breakGlass) throw ssoRequired(row.sso_required);
  const user = row.user_id ? row : undefined;
  const check = await deps.passwords.verify(user?.password_hash ?? null, input.password);
  if (!user || !check.ok) throw new AuthError('auth_login_invalid_credentials');
  if (row.sso_required && !principalOfRow(user).permissions.includes(SSO_BYPASS_PERMISSION)) throw ssoRequired(row.sso_required);
  if (user.disabled) throw new AuthError('auth_login_account_disabled');
  // Said only after the password proved right, like "disabled".
  if (!user.email_verified) throw new AuthError('auth_email_not_verified');
  if (row.sso_required) {
    // The break-glass sign-in: right password, sso:bypass held. Audited whether or not a second step follows.
    await recordAudit(em, deps.now(), { tenantId: user.tenant_id, userId: user.user_id, type: 'sso_break_glass', details: { connection: row.sso_required }, client });
  }
  const proof = { method: 'password', amr: ['pwd'] } as const;
  // A second factor: an mfa token instead of a session (the password stays unrehashed till then).
  if (user.mfa) await requireSecondStep(em, deps, principalOfRow(user), { ...proof, amr: [...proof.amr] });
  const from = { ip: client.ip, userAgent: client.userAgent };

  const start = (verified: string) => startSession(em, deps, principalOfRow(user), { ...proof, amr: [...proof.amr], client: from, passwordHash: verified }, undefined, limits?.settle);
  let payload: AuthPayload;
  try {
    payload = await start(user.password_hash!);
  } catch (e) {
    // The hash changed since it was read: a new password (refused), or another sign-in's rehash
    // of this same password (two tabs after the parameters changed), checked once more.
    const current = e instanceof AuthError && e.code === 'auth_login_invalid_credentials' ? await rehashedBy(em, deps, user, input.password) : undefined;
    if (!current) throw e;
    return start(current);
  }
  if (check.needsRehash) await rehash(em, deps, user.user_id, user.password_hash!, input.password);
  return payload;
}

/** The user's stored hash if it changed from the one verified and the password verifies against it too. */
async function rehashedBy(em: EntityManager, deps: Pick<PasswordLoginDeps, 'passwords'>, user: LoginRow, password: string): Promise<string | undefined> {
  const [now] = await executePrepared<{ password_hash: string | null }>(em, 'select password_hash from users where id = ?::uuid', [user.user_id]);
  const stored = now?.password_hash;
  if (!stored || stored === user.password_hash || !(await deps.passwords.verify(stored, password)).ok) return undefined;
  return stored;
}

/**
 * Store the password under the configured parameters, only if the hash it was verified against
 * is still the user's: a password change or reset committed meanwhile is never undone. Best
 * effort: a failure leaves the old hash, and the next sign-in tries again.
 */
async function rehash(em: EntityManager, deps: Pick<PasswordLoginDeps, 'passwords'>, userId: string, verified: string, password: string): Promise<void> {
  try {
    await em.execute('update users set password_hash = ? where id = ? and password_hash = ?', [await deps.passwords.hash(password), userId, verified]);
  } catch {
    // the session is started; the rehash waits for the next sign-in
  }
}
