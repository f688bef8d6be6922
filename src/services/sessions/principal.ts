// Who a session or a key acts for: the viewer of a request, the principal a token is signed
// for, and the one query that loads a user's roles and permissions.
import type { AuthMethod } from '../../db/entities/session.entity.js';
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { canonicalId } from '../shared/identifiers.js';
import { executePrepared } from '../../db/prepared.js';

export interface Viewer {
  userId: string;
  email: string;
  tenantSlug: string;
  roles: string[];
  permissions: string[];
  authMethod: AuthMethod;
  /** When the caller last proved a credential in this session (epoch seconds; 0 for an API key). */
  authTime: number;
  /** RFC 8176 method references of that proof (empty for an API key). */
  amr: string[];
  /** The session of an access token (none for an API key). */
  sessionId?: string;
  /** An access token's caller: the roles and permissions the database held within the session cache's bound (its claims may be minutes old). */
  current?: { roles: string[]; permissions: string[] };
  /** The key of an API-key caller (none for an access token). */
  apiKeyId?: string;
  /** A holder of an MFA-required role signed in with one factor: the token can only enrol one (mfa:enroll). */
  mfaRequired: boolean;
}

/** How a session's user proved who they are: the session's method and its RFC 8176 amr values. */
export interface Proof {
  method: AuthMethod;
  amr: string[];
  /** Where the sign-in came from: kept on the session for the user's list of sessions. */
  client?: { ip: string; userAgent?: string };
  /** The stored hash a password was verified against: the session starts only while it is still the user's. */
  passwordHash?: string;
  /** A session replacing another (accepting an invitation signed in) keeps its authentication time and end of life. */
  continues?: { sessionId: string; authTime: Date; expiresAt: Date };
}

export interface AuthPayload {
  accessToken: string;
  tokenType: 'bearer';
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
  user: Viewer;
}


/** Who a token is for: the user, the tenant, and the grants of the user's roles. */
export interface Principal {
  userId: string;
  email: string;
  tenantId: string;
  tenantSlug: string;
  roles: string[];
  permissions: string[];
  /** Holds a role of the tenant's mfa_required_roles: without two factors, tokens only enrol one. */
  mfaRequiredRole: boolean;
}

/**
 * The role names and the union of their permissions of user `alias`, as two sorted text[]
 * columns, and whether one of the roles is among its tenant's mfa_required_roles.
 */
export const GRANTS_SQL = (alias: string) => `
       coalesce((select array_agg(distinct r.name order by r.name) from user_roles ur join roles r on r.id = ur.role_id
                  where ur.user_id = ${alias}.id), '{}') as roles,
       coalesce((select array_agg(distinct p.name order by p.name) from user_roles ur
                   join role_permissions rp on rp.role_id = ur.role_id join permissions p on p.id = rp.permission_id
                  where ur.user_id = ${alias}.id), '{}') as permissions,
       exists(select 1 from user_roles ur join roles r on r.id = ur.role_id join tenants rt on rt.id = r.tenant_id
               where ur.user_id = ${alias}.id and r.name = any(rt.mfa_required_roles)) as mfa_required_role`;


/** What every query of a principal selects: the user, the tenant and GRANTS_SQL's columns. */
export interface PrincipalRow {
  user_id: string;
  email: string;
  disabled: boolean;
  tenant_id: string;
  slug: string;
  roles: string[];
  permissions: string[];
  mfa_required_role: boolean;
}

export const principalOfRow = (r: PrincipalRow): Principal => ({
  userId: r.user_id,
  email: r.email,
  tenantId: r.tenant_id,
  tenantSlug: r.slug,
  roles: r.roles,
  permissions: r.permissions,
  mfaRequiredRole: r.mfa_required_role,
});

// One round trip: a user, their tenant and their grants.
const PRINCIPAL_SELECT = `
select u.id as user_id, u.email, u.disabled, te.id as tenant_id, te.slug,${GRANTS_SQL('u')}
  from users u join tenants te on te.id = u.tenant_id
 where u.id = ?`;

/** What a token of an MFA-required role signed in with one factor may do: enrol a second. */
export const MFA_ENROLL_PERMISSION = 'mfa:enroll';

/** NIST SP 800-63 assurance of a proof: two factors (a second step, or a passkey the user verified on) are aal2. */
export const acrOf = (amr: readonly string[]): 'aal1' | 'aal2' => (amr.includes('mfa') || (amr.includes('hwk') && amr.includes('user')) ? 'aal2' : 'aal1');

/**
 * SPEC §9, §15 (mfa_required_roles): a user holding such a role, in a session that proved one
 * factor, may only enrol a second one, and their tokens carry no roles, whenever the role or
 * the setting was added.
 */
export const restrictedForMfa = (p: Pick<Principal, 'mfaRequiredRole'>, amr: readonly string[]) => p.mfaRequiredRole && acrOf(amr) === 'aal1';

/** A principal as a restricted session sees it: no roles, only mfa:enroll. */
export const mfaRestricted = <P extends Principal>(p: P): P => ({ ...p, roles: [], permissions: [MFA_ENROLL_PERMISSION] });

/**
 * What the caller may do now, from the database, never from a token's claims (they may be
 * minutes old): an access token's user's current grants, restricted by mfa_required_roles
 * from the session's own assurance; an API key's scopes within its user's current grants
 * (read when the key was verified, at most API_KEY_CACHE_TTL_MS ago).
 */
export async function currentPermissions(em: EntityManager, viewer: Viewer): Promise<string[]> {
  if (viewer.authMethod === 'api_key') return viewer.permissions;
  return (await currentPrincipal(em, viewer)).permissions;
}

// The caller's user, tenant and grants, with the amr of the caller's session (null for a key).
const CALLER_SELECT = `
select u.id as user_id, u.email, u.disabled, te.id as tenant_id, te.slug,${GRANTS_SQL('u')},
       (select s.amr from sessions s where s.id = ?::uuid and s.user_id = u.id) as session_amr
  from users u join tenants te on te.id = u.tenant_id
 where u.id = ?`;

// One load per request: a viewer object lives as long as its request.
const loaded = new WeakMap<Viewer, Promise<Principal & { disabled: boolean }>>();

/** The caller as the database has them now (loaded once per request), restricted as their session must be. */
export function currentPrincipal(em: EntityManager, viewer: Viewer): Promise<Principal & { disabled: boolean }> {
  let p = loaded.get(viewer);
  if (!p) {
    p = (async () => {
      const [row] = await executePrepared<PrincipalRow & { session_amr: string[] | null }>(em, CALLER_SELECT, [viewer.sessionId ?? null, viewer.userId]);
      if (!row || row.disabled) throw new AuthError('auth_unauthenticated');
      const user = { ...principalOfRow(row), disabled: row.disabled };
      if (viewer.authMethod === 'api_key') return user;
      return restrictedForMfa(user, row.session_amr ?? []) ? mfaRestricted(user) : user;
    })();
    p.catch(() => loaded.delete(viewer));
    loaded.set(viewer, p);
  }
  return p;
}

/** A user as a token would carry them, read from the database now; undefined when there is no such user. */
export async function loadPrincipal(em: EntityManager, userId: string): Promise<(Principal & { disabled: boolean }) | undefined> {
  const [row] = await executePrepared<PrincipalRow>(em, PRINCIPAL_SELECT, [userId]);
  return row && { ...principalOfRow(row), disabled: row.disabled };
}

/**
 * Whether the user can sign in with more than a password: an active TOTP factor, or a passkey
 * (with WEBAUTHN_USER_VERIFICATION=required, the default, a passkey sign-in is two factors).
 * One query.
 */
export async function hasStrongerWayIn(em: EntityManager, userId: string): Promise<boolean> {
  const [row] = (await em.execute(
    "select exists (select 1 from mfa_factors where user_id = ? and status = 'active') or exists (select 1 from webauthn_credentials where user_id = ?) as stronger",
    [userId, userId],
  )) as Array<{ stronger: boolean }>;
  return row.stronger;
}

/** Whether the user has an active factor (one query). */
export async function hasActiveFactor(em: EntityManager, userId: string): Promise<boolean> {
  return ((await em.execute("select 1 from mfa_factors where user_id = ? and status = 'active'", [userId])) as unknown[]).length > 0;
}

/** The permission check every management operation starts with (read from the database). */
export async function requirePermission(em: EntityManager, viewer: Viewer, permission: string): Promise<void> {
  if (!(await currentPermissions(em, viewer)).includes(permission)) throw new AuthError('auth_forbidden', { missing: [permission] });
}

/**
 * A tenant's data managed by its own administrators (SSO connections, OAuth clients, webhook
 * endpoints): the caller holds `permission` now; their tenant, and `id` as the database writes
 * ids ('' when none is given; `unknown()` when it cannot be one: it names nothing of theirs).
 */
export async function managedTarget(em: EntityManager, viewer: Viewer, permission: string, id: string | undefined, unknown: () => AuthError): Promise<{ tenantId: string; id: string }> {
  await requirePermission(em, viewer, permission);
  const { tenantId } = await currentPrincipal(em, viewer);
  if (id === undefined) return { tenantId, id: '' };
  const canonical = canonicalId(id);
  if (!canonical) throw unknown();
  return { tenantId, id: canonical };
}
