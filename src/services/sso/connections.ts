// A tenant's SSO connections as data (SPEC §11): listed, created, replaced and deleted over
// GraphQL by holders of sso:manage, written by the operator through the import document.
// A client secret is sealed at rest and never read back; a domain belongs to one connection of
// the whole gateway; domains an editor adds are unverified until the operator verifies them.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { pgTextArray, transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { currentPermissions, managedTarget, requirePermission, type Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { secretOf } from './sp-key.js';
import { coversRoles, rolesByName, tenantOf } from '../users/manage.js';
import { checkConnection, requireClientSecret, rolesNamed, type CheckedConnection, type ConnectionInput } from './rules.js';

export interface SsoDomainInfo {
  domain: string;
  verified: boolean;
  verifiedAt: Date | null;
}

/** A connection as any read shows it: never its client secret, only whether it has one. */
export interface SsoConnectionInfo extends Omit<CheckedConnection, 'domains' | 'clientSecret'> {
  id: string;
  domains: SsoDomainInfo[];
  hasClientSecret: boolean;
  createdAt: Date;
  updatedAt: Date;
}


type Row = {
  id: string;
  name: string;
  type: 'oidc' | 'saml';
  enforce: boolean;
  jit: boolean;
  default_roles: string[];
  role_claim: string | null;
  role_map: Record<string, string[]>;
  settings: Record<string, unknown>;
  has_secret: boolean;
  created_at: Date;
  updated_at: Date;
  domains: Array<{ domain: string; verified_at: string | null }>;
};

const SELECT = `select c.id, c.name, c.type, c.enforce, c.jit, c.default_roles, c.role_claim, c.role_map, c.settings,
  c.client_secret is not null as has_secret, c.created_at, c.updated_at,
  coalesce((select json_agg(json_build_object('domain', d.domain, 'verified_at', d.verified_at) order by d.domain) from sso_domains d where d.connection_id = c.id), '[]') as domains
  from sso_connections c`;

const info = (r: Row): SsoConnectionInfo => ({
  id: r.id,
  name: r.name,
  type: r.type,
  enforce: r.enforce,
  jit: r.jit,
  defaultRoles: r.default_roles,
  roleClaim: r.role_claim,
  roleMap: r.role_map,
  settings: r.settings,
  hasClientSecret: r.has_secret,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
  domains: r.domains.map((d) => ({ domain: d.domain, verified: d.verified_at !== null, verifiedAt: d.verified_at ? new Date(d.verified_at) : null })),
});

async function one(em: EntityManager, tenantId: string, id: string): Promise<SsoConnectionInfo> {
  const [row] = (await em.execute(`${SELECT} where c.tenant_id = ? and c.id = ?`, [tenantId, id])) as Row[];
  if (!row) throw new AuthError('auth_sso_connection_not_found');
  return info(row);
}

export async function listSsoConnections(em: EntityManager, viewer: Viewer): Promise<SsoConnectionInfo[]> {
  await requirePermission(em, viewer, 'sso:manage');
  const tenantId = await tenantOf(em, viewer);
  return ((await em.execute(`${SELECT} where c.tenant_id = ? order by c.name`, [tenantId])) as Row[]).map(info);
}

/**
 * The roles a connection grants must be roles of the tenant (auth_request_invalid) whose
 * permissions the editor holds (auth_forbidden): a connection never grants more than its editor.
 */
async function requireGrantable(em: EntityManager, viewer: Viewer, tenantId: string, c: Pick<CheckedConnection, 'defaultRoles' | 'roleMap'>): Promise<void> {
  const names = rolesNamed(c);
  const roles = await rolesByName(em, tenantId, names);
  if (roles.length !== names.length) throw new AuthError('auth_request_invalid', { fields: [{ field: c.defaultRoles.every((n) => roles.some((r) => r.name === n)) ? 'role_map' : 'default_roles', rule: 'unknown' }] });
  if (!coversRoles(await currentPermissions(em, viewer), roles)) throw new AuthError('auth_forbidden');
}

/** What makes a connection this IdP: changing any of it is a new IdP, for the secret and the domains. */
const IDENTITY = ['issuer', 'client_id', 'idp_entity_id', 'idp_sso_url', 'idp_certificate', 'trust_email'];
export const sameIdp = (a: Pick<CheckedConnection, 'type' | 'settings'>, b: Pick<CheckedConnection, 'type' | 'settings'>) =>
  a.type === b.type && IDENTITY.every((k) => JSON.stringify(a.settings[k] ?? null) === JSON.stringify(b.settings[k] ?? null));

/**
 * Writes a connection's row and domains inside `tx`: `insert` a new one, or `update` the row
 * `id` (locked by the caller; gone is auth_sso_connection_not_found, never re-created).
 * A domain of another connection is `taken`, except that the operator takes over one nobody
 * verified. The operator's domains are verified; an editor's new ones are not, and when an
 * editor points the connection at another IdP (`newIdp`) its domains lose their verification.
 * Domains are claimed in order, so concurrent claims never deadlock.
 */
export async function writeConnection(
  tx: EntityManager,
  deps: { config: Pick<Config, 'secretKey'>; now: () => Date },
  tenantId: string,
  id: string,
  c: CheckedConnection,
  how: { by: 'operator' | 'editor'; mode: 'insert' | 'update'; newIdp: boolean },
): Promise<void> {
  const now = deps.now();
  const secret = await secretOf(tx, deps, id, c, how.mode, now);
  const named = (await tx.execute('select id from sso_connections where tenant_id = ? and name = ? and id <> ?', [tenantId, c.name, id])) as unknown[];
  if (named.length) throw new AuthError('auth_request_invalid', { fields: [{ field: 'name', rule: 'taken' }] });
  const values = [c.name, c.type, c.enforce, c.jit, pgTextArray(c.defaultRoles), c.roleClaim, JSON.stringify(c.roleMap), JSON.stringify(c.settings)];
  if (how.mode === 'insert') {
    await tx.execute(
      `insert into sso_connections (id, tenant_id, name, type, enforce, jit, default_roles, role_claim, role_map, settings, client_secret, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?::text[], ?, ?::jsonb, ?::jsonb, ?, ?, ?)`,
      [id, tenantId, ...values, secret ?? null, now, now],
    );
  } else {
    // Without a new secret the stored one stays, for the same IdP only (the caller refuses otherwise).
    const updated = (await tx.execute(
      `update sso_connections set name = ?, type = ?, enforce = ?, jit = ?, default_roles = ?::text[], role_claim = ?, role_map = ?::jsonb, settings = ?::jsonb,
         client_secret = case when ? then ? else client_secret end, updated_at = ?
       where id = ? and tenant_id = ? returning id`,
      [...values, secret !== undefined, secret ?? null, now, id, tenantId],
    )) as unknown[];
    if (!updated.length) throw new AuthError('auth_sso_connection_not_found');
  }
  if (how.newIdp && how.by === 'editor') await tx.execute('update sso_domains set verified_at = null where connection_id = ?', [id]);
  // Another IdP's subjects are not the old one's: the links made through the old IdP go, or the
  // new one could assert an old subject and sign in as its user.
  if (how.newIdp && how.mode === 'update') await tx.execute('delete from sso_identities where connection_id = ?', [id]);
  await tx.execute('delete from sso_domains where connection_id = ? and domain <> all(?::text[])', [id, pgTextArray(c.domains)]);
  for (const domain of [...c.domains].sort()) {
    const [held] = (await tx.execute('select connection_id, verified_at from sso_domains where domain = ? for update', [domain])) as Array<{ connection_id: string; verified_at: Date | null }>;
    const verifiedAt = how.by === 'operator' ? now : null;
    if (!held) {
      await tx.execute('insert into sso_domains (domain, connection_id, verified_at) values (?, ?, ?)', [domain, id, verifiedAt]);
    } else if (held.connection_id === id) {
      if (how.by === 'operator') await tx.execute('update sso_domains set verified_at = coalesce(verified_at, ?) where domain = ?', [now, domain]);
    } else if (how.by === 'operator' && held.verified_at === null) {
      // An unverified claim never blocks the operator, who is authoritative for domains.
      await tx.execute('update sso_domains set connection_id = ?, verified_at = ? where domain = ?', [id, now, domain]);
    } else {
      throw new AuthError('auth_request_invalid', { fields: [{ field: 'domains', rule: 'taken' }] });
    }
  }
}

type EditDeps = Pick<ServiceDeps, 'config' | 'now'>;

/** A change in one transaction; a name or domain that a concurrent change took first is `taken`, as if it had been there before. */
async function edit(em: EntityManager, fn: (tx: EntityManager) => Promise<void>): Promise<void> {
  try {
    await transactional(em, fn);
  } catch (e) {
    if (!(e instanceof UniqueConstraintViolationException)) throw e;
    const field = /sso_connections_tenant_name_unique/.test(e.message) ? 'name' : 'domains';
    throw new AuthError('auth_request_invalid', { fields: [{ field, rule: 'taken' }] });
  }
}

export async function createSsoConnection(em: EntityManager, deps: EditDeps, viewer: Viewer, input: ConnectionInput, client: Client): Promise<SsoConnectionInfo> {
  await requirePermission(em, viewer, 'sso:manage');
  const tenantId = await tenantOf(em, viewer);
  const checked = checkConnection(input, deps.config);
  requireClientSecret(checked);
  await requireGrantable(em, viewer, tenantId, checked);
  const id = randomUUID();
  await edit(em, async (tx) => {
    await writeConnection(tx, deps, tenantId, id, checked, { by: 'editor', mode: 'insert', newIdp: true });
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_connection_created', details: { connection: id, name: checked.name, type: checked.type }, client });
  });
  return one(em, tenantId, id);
}

/**
 * Replaces a connection's fields. Without `client_secret` the stored secret stays, for the same
 * IdP only: a new issuer or client needs its own secret (the old one never goes to another
 * token endpoint). Pointing it at another IdP unverifies its domains. The row is locked and
 * judged in the transaction that writes it: a concurrent delete or change waits.
 */
export async function updateSsoConnection(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, input: ConnectionInput, client: Client): Promise<SsoConnectionInfo> {
  const { tenantId, id: connectionId } = await managedTarget(em, viewer, 'sso:manage', id, () => new AuthError('auth_sso_connection_not_found'));
  await edit(em, async (tx) => {
    const stored = await locked(tx, tenantId, connectionId);
    const checked = checkConnection(input, deps.config);
    const newIdp = !sameIdp(checked, stored);
    if (newIdp || !stored.hasClientSecret) requireClientSecret(checked);
    await requireGrantable(tx, viewer, tenantId, checked);
    // The editor also covers what the connection granted before (nobody takes away more than they hold).
    await requireGrantable(tx, viewer, tenantId, stored);
    await writeConnection(tx, deps, tenantId, stored.id, checked, { by: 'editor', mode: 'update', newIdp });
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_connection_updated', details: { connection: stored.id, name: checked.name, new_idp: newIdp }, client });
  });
  return one(em, tenantId, connectionId);
}


/** The connection `id` of the tenant, locked for the rest of `tx`; auth_sso_connection_not_found when there is none. */
async function locked(tx: EntityManager, tenantId: string, id: string): Promise<SsoConnectionInfo> {
  const rows = (await tx.execute('select id from sso_connections where tenant_id = ? and id = ? for update', [tenantId, id])) as unknown[];
  if (!rows.length) throw new AuthError('auth_sso_connection_not_found');
  return one(tx, tenantId, id);
}

export async function deleteSsoConnection(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, client: Client): Promise<void> {
  const { tenantId, id: connectionId } = await managedTarget(em, viewer, 'sso:manage', id, () => new AuthError('auth_sso_connection_not_found'));
  await edit(em, async (tx) => {
    const stored = await locked(tx, tenantId, connectionId);
    await requireGrantable(tx, viewer, tenantId, stored);
    await tx.execute('delete from sso_connections where id = ?', [stored.id]);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_connection_deleted', details: { connection: stored.id, name: stored.name }, client });
  });
}
