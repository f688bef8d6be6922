// The tenant's users for its administrators (permissions read from the database: users:read to
// list, users:manage to change). Lists are cursor pages over (created_at, id), newest first,
// loaded in a constant number of queries whatever the page size: the page with its counts in
// one, the roles of the whole page in another.
import type { EntityManager } from '../../db/orm.js';
import { pgTextArray, transactional } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import { revokeSessions } from '../sessions/end.js';
import { currentPermissions, currentPrincipal, requirePermission, type Viewer } from '../sessions/principal.js';
import { pageWindow, toPage, type Page } from '../shared/pages.js';
import { recordAudit } from '../shared/audit.js';
import { canonicalId, normaliseEmail } from '../shared/identifiers.js';

export interface UserInfo {
  id: string;
  email: string;
  roles: string[];
  disabled: boolean;
  emailVerified: boolean;
  mfaEnabled: boolean;
  passkeyCount: number;
  createdAt: Date;
  lastSignInAt: Date | null;
}

export interface UserFilter {
  email?: string | null;
  role?: string | null;
  disabled?: boolean | null;
}

/** The caller's tenant, as the database has it now. */
export async function tenantOf(em: EntityManager, viewer: Viewer): Promise<string> {
  return (await currentPrincipal(em, viewer)).tenantId;
}

const USER_COLUMNS = `u.id, u.email, u.disabled, u.email_verified, u.created_at,
  exists(select 1 from mfa_factors f where f.user_id = u.id and f.status = 'active') as mfa_enabled,
  (select count(*) from webauthn_credentials c where c.user_id = u.id)::int as passkey_count,
  (select max(s.created_at) from sessions s where s.user_id = u.id) as last_sign_in_at`;

type UserRow = { id: string; email: string; disabled: boolean; email_verified: boolean; created_at: Date; mfa_enabled: boolean; passkey_count: number; last_sign_in_at: Date | null };

/** The roles of many users in one query. */
async function rolesOf(em: EntityManager, ids: string[]): Promise<Map<string, string[]>> {
  const rows = ids.length
    ? ((await em.execute('select ur.user_id, r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = any(?::uuid[]) order by r.name', [`{${ids.join(',')}}`])) as Array<{
        user_id: string;
        name: string;
      }>)
    : [];
  const by = new Map<string, string[]>();
  for (const r of rows) by.set(r.user_id, [...(by.get(r.user_id) ?? []), r.name]);
  return by;
}

const toInfo = (r: UserRow, roles: Map<string, string[]>): UserInfo => ({
  id: r.id,
  email: r.email,
  roles: roles.get(r.id) ?? [],
  disabled: r.disabled,
  emailVerified: r.email_verified,
  mfaEnabled: r.mfa_enabled,
  passkeyCount: r.passkey_count,
  createdAt: new Date(r.created_at),
  lastSignInAt: r.last_sign_in_at ? new Date(r.last_sign_in_at) : null,
});

export async function listUsers(em: EntityManager, viewer: Viewer, args: { first?: number | null; after?: string | null; filter?: UserFilter | null }): Promise<Page<UserInfo>> {
  await requirePermission(em, viewer, 'users:read');
  const where = ['u.tenant_id = ?'];
  const params: unknown[] = [await tenantOf(em, viewer)];
  const first = pageWindow(args, 'u', where, params);
  const f = args.filter ?? {};
  if (f.email) {
    where.push(`u.email like ? escape '\\'`);
    params.push(`%${normaliseEmail(f.email).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (f.disabled !== undefined && f.disabled !== null) {
    where.push('u.disabled = ?');
    params.push(f.disabled);
  }
  if (f.role) {
    where.push('exists(select 1 from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = u.id and r.name = ?)');
    params.push(f.role);
  }
  const rows = (await em.execute(`select ${USER_COLUMNS} from users u where ${where.join(' and ')} order by u.created_at desc, u.id desc limit ?`, [
    ...params,
    first + 1,
  ])) as UserRow[];
  const roles = await rolesOf(em, rows.slice(0, first).map((r) => r.id));
  return toPage(rows, first, (r) => toInfo(r, roles));
}

/** A user of the caller's tenant (another tenant's id is not found); `row.id` is its canonical id. */
async function target(em: EntityManager, viewer: Viewer, id: string): Promise<{ row: UserRow; tenantId: string }> {
  const tenantId = await tenantOf(em, viewer);
  const userId = canonicalId(id);
  const [row] = userId ? ((await em.execute(`select ${USER_COLUMNS} from users u where u.id = ? and u.tenant_id = ?`, [userId, tenantId])) as UserRow[]) : [];
  if (!row) throw new AuthError('auth_user_not_found');
  return { row, tenantId };
}

/** The union of the permissions of a user's roles, as held now. */
async function permissionsOf(em: EntityManager, userId: string): Promise<string[]> {
  const rows = (await em.execute(
    'select distinct p.name from user_roles ur join role_permissions rp on rp.role_id = ur.role_id join permissions p on p.id = rp.permission_id where ur.user_id = ?',
    [userId],
  )) as Array<{ name: string }>;
  return rows.map((r) => r.name);
}

/**
 * A user the caller may act on (SPEC §15): the caller's permissions (from the database) must
 * include every permission the target holds now, or auth_forbidden: a helpdesk cannot demote,
 * disable, strip or sign out an owner. Oneself is always covered, and is recognised by the row
 * found, whatever case or form the id was sent in.
 */
async function coveredTarget(tx: EntityManager, viewer: Viewer, id: string): Promise<{ row: UserRow; tenantId: string; self: boolean }> {
  const found = await target(tx, viewer, id);
  // Judged under the target's row lock, in the transaction of the change: a promotion
  // committing meanwhile is seen (every change to a user takes this lock first).
  await tx.execute('select 1 from users where id = ? for update', [found.row.id]);
  const held = new Set(await currentPermissions(tx, viewer));
  if (!(await permissionsOf(tx, found.row.id)).every((p) => held.has(p))) throw new AuthError('auth_forbidden');
  return { ...found, self: found.row.id === viewer.userId };
}

export async function getUser(em: EntityManager, viewer: Viewer, id: string): Promise<UserInfo> {
  await requirePermission(em, viewer, 'users:read');
  const { row } = await target(em, viewer, id);
  return toInfo(row, await rolesOf(em, [row.id]));
}

type AdminDeps = Pick<ServiceDeps, 'sessions' | 'apiKeys' | 'now'>;

export interface GrantedRole {
  id: string;
  name: string;
  permissions: string[];
}

/** Roles of a tenant by name, each with its permissions; names that are not roles of the tenant are left out. */
export async function rolesByName(em: EntityManager, tenantId: string, names: string[]): Promise<GrantedRole[]> {
  return (await em.execute(
    `select r.id, r.name, coalesce(array_agg(p.name) filter (where p.name is not null), '{}') as permissions
       from roles r left join role_permissions rp on rp.role_id = r.id left join permissions p on p.id = rp.permission_id
      where r.tenant_id = ? and r.name = any(?::text[]) group by r.id, r.name order by r.name`,
    [tenantId, pgTextArray([...new Set(names)])],
  )) as GrantedRole[];
}

/** Whether `held` covers every permission of `roles`: nobody grants more than they hold. */
export const coversRoles = (held: Iterable<string>, roles: GrantedRole[]) => {
  const mine = new Set(held);
  return roles.every((r) => r.permissions.every((p) => mine.has(p)));
};

/**
 * The roles named, which the caller may grant: every name a role of the tenant
 * (auth_request_invalid otherwise), no permission beyond the caller's own (auth_forbidden).
 */
export async function grantableRoles(em: EntityManager, viewer: Viewer, tenantId: string, names: string[]): Promise<GrantedRole[]> {
  const roles = await rolesByName(em, tenantId, names);
  if (roles.length !== new Set(names).size) throw new AuthError('auth_request_invalid', { fields: [{ field: 'roles', rule: 'unknown' }] });
  if (!coversRoles(await currentPermissions(em, viewer), roles)) throw new AuthError('auth_forbidden');
  return roles;
}

/**
 * Replace a user's roles. The caller must cover the user's current permissions and every
 * permission granted (nobody grants more than they hold), and nobody removes their own
 * users:manage.
 */
export async function setUserRoles(em: EntityManager, deps: AdminDeps, viewer: Viewer, id: string, roleNames: string[]): Promise<UserInfo> {
  await requirePermission(em, viewer, 'users:manage');
  const row = await transactional(em, async (tx) => {
    const { row, tenantId, self } = await coveredTarget(tx, viewer, id);
    const roles = await grantableRoles(tx, viewer, tenantId, roleNames);
    if (self && !roles.some((r) => r.permissions.includes('users:manage'))) throw new AuthError('auth_forbidden');
    await tx.execute('delete from user_roles where user_id = ?', [row.id]);
    await tx.execute('delete from sso_role_grants where user_id = ?', [row.id]); // set by hand: no SSO connection takes them back
    for (const r of roles) await tx.execute('insert into user_roles (user_id, role_id) values (?, ?)', [row.id, r.id]);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, subjectId: row.id, type: 'roles_changed', details: { subject: row.id, roles: roles.map((r) => r.name).sort() } });
    return row;
  });
  deps.sessions.forgetUser(row.id);
  deps.apiKeys.forgetUser(row.id);
  return getUser(em, viewer, row.id);
}

/** Disable (ending every session) or enable a user the caller covers; nobody disables themself. */
export async function setUserDisabledByAdmin(em: EntityManager, deps: AdminDeps, viewer: Viewer, id: string, disabled: boolean): Promise<UserInfo> {
  await requirePermission(em, viewer, 'users:manage');
  const row = await transactional(em, async (tx) => {
    const { row, tenantId, self } = await coveredTarget(tx, viewer, id);
    if (disabled && self) throw new AuthError('auth_forbidden');
    await tx.execute('update users set disabled = ?, updated_at = ? where id = ?', [disabled, deps.now(), row.id]);
    if (disabled) await tx.execute("update sessions set revoked_at = ?, revoked_reason = 'user_disabled' where user_id = ? and revoked_at is null", [deps.now(), row.id]);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, subjectId: row.id, type: disabled ? 'user_disabled' : 'user_enabled', details: { subject: row.id } });
    return row;
  });
  deps.sessions.forgetUser(row.id);
  deps.apiKeys.forgetUser(row.id);
  return getUser(em, viewer, row.id);
}

/** End every session of a user the caller covers; answers how many. */
export async function revokeUserSessions(em: EntityManager, deps: AdminDeps, viewer: Viewer, id: string): Promise<number> {
  await requirePermission(em, viewer, 'users:manage');
  return transactional(em, async (tx) => {
    const { row, tenantId } = await coveredTarget(tx, viewer, id);
    const ended = (await tx.execute("update sessions set revoked_at = ?, revoked_reason = 'revoked_by_admin' where user_id = ? and revoked_at is null returning id", [deps.now(), row.id])) as unknown[];
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, subjectId: row.id, type: 'sessions_revoked_by_admin', details: { subject: row.id, sessions: ended.length } });
    deps.sessions.forgetUser(row.id);
    return ended.length;
  });
}

/** Clear the second factor and recovery codes of a user the caller covers (they lost their device). */
export async function resetUserMfa(em: EntityManager, deps: AdminDeps, viewer: Viewer, id: string): Promise<UserInfo> {
  await requirePermission(em, viewer, 'users:manage');
  const row = await transactional(em, async (tx) => {
    const { row, tenantId } = await coveredTarget(tx, viewer, id);
    await tx.execute('delete from mfa_factors where user_id = ?', [row.id]);
    await tx.execute('delete from mfa_recovery_codes where user_id = ?', [row.id]);
    // For a holder of a role in mfa_required_roles every way in the password alone could have
    // added goes too: passkeys (there the second factor), Google links (a way back in to enrol
    // a factor of one's own) and API keys (live again once a factor is), so that nothing
    // planted before a promotion stays.
    const [{ passkeys, links, keys }] = (await tx.execute(
      `with holder as (
         select exists (select 1 from user_roles ur join roles r on r.id = ur.role_id join tenants t on t.id = r.tenant_id
                         where ur.user_id = ? and r.name = any(t.mfa_required_roles)) as yes),
       removed as (delete from webauthn_credentials where user_id = ? and (select yes from holder) returning 1),
       linked as (delete from external_identities where user_id = ? and (select yes from holder) returning 1),
       revoked as (update api_keys set revoked_at = ? where user_id = ? and revoked_at is null and (select yes from holder) returning 1)
       select (select count(*) from removed)::int as passkeys, (select count(*) from linked)::int as links, (select count(*) from revoked)::int as keys`,
      [row.id, row.id, row.id, deps.now(), row.id],
    )) as Array<{ passkeys: number; links: number; keys: number }>;
    // Whatever signed in with the old factors ends: the user signs in again and enrols anew.
    await revokeSessions(tx, { user: row.id }, 'mfa_reset', deps.now());
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, subjectId: row.id, type: 'mfa_reset', details: { subject: row.id, passkeys_removed: passkeys, links_removed: links, api_keys_revoked: keys } });
    return row;
  });
  deps.sessions.forgetUser(row.id);
  deps.apiKeys.forgetUser(row.id);
  return getUser(em, viewer, row.id);
}
