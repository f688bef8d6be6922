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
import { currentPermissions, requirePermission, type Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { canonicalId } from '../shared/identifiers.js';
import { derivedKey, seal } from '../shared/secrets.js';
import { coversRoles, rolesByName, tenantOf } from '../users/manage.js';
import { checkConnection, rolesNamed, type CheckedConnection, type ConnectionInput } from './rules.js';

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

const secretKey = (config: Pick<Config, 'secretKey'>) => derivedKey(config.secretKey, 'sso-client-secret v1');
export const sealClientSecret = (config: Pick<Config, 'secretKey'>, secret: string) => seal(secretKey(config), secret);

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

/**
 * Writes a connection's row and domains inside `tx`. A domain of another connection is
 * `taken`; one the connection already had keeps its verification; a new one is verified only
 * when the operator writes it.
 */
export async function writeConnection(tx: EntityManager, deps: { config: Pick<Config, 'secretKey'>; now: () => Date }, tenantId: string, id: string, c: CheckedConnection, by: 'operator' | 'editor'): Promise<void> {
  const now = deps.now();
  const secret = c.clientSecret === undefined ? undefined : sealClientSecret(deps.config, c.clientSecret);
  const named = (await tx.execute('select id from sso_connections where tenant_id = ? and name = ? and id <> ?', [tenantId, c.name, id])) as unknown[];
  if (named.length) throw new AuthError('auth_request_invalid', { fields: [{ field: 'name', rule: 'taken' }] });
  await tx.execute(
    `insert into sso_connections (id, tenant_id, name, type, enforce, jit, default_roles, role_claim, role_map, settings, client_secret, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?::text[], ?, ?::jsonb, ?::jsonb, ?, ?, ?)
     on conflict (id) do update set name = excluded.name, type = excluded.type, enforce = excluded.enforce, jit = excluded.jit,
       default_roles = excluded.default_roles, role_claim = excluded.role_claim, role_map = excluded.role_map, settings = excluded.settings,
       client_secret = case when ? then excluded.client_secret when excluded.type = 'oidc' then sso_connections.client_secret end, updated_at = excluded.updated_at`,
    [id, tenantId, c.name, c.type, c.enforce, c.jit, pgTextArray(c.defaultRoles), c.roleClaim, JSON.stringify(c.roleMap), JSON.stringify(c.settings), secret ?? null, now, now, secret !== undefined],
  );
  await tx.execute('delete from sso_domains where connection_id = ? and domain <> all(?::text[])', [id, pgTextArray(c.domains)]);
  for (const domain of c.domains) {
    const [held] = (await tx.execute('select connection_id from sso_domains where domain = ? for update', [domain])) as Array<{ connection_id: string }>;
    if (held && held.connection_id !== id) throw new AuthError('auth_request_invalid', { fields: [{ field: 'domains', rule: 'taken' }] });
    if (held) {
      if (by === 'operator') await tx.execute('update sso_domains set verified_at = coalesce(verified_at, ?) where domain = ?', [now, domain]);
    } else {
      await tx.execute('insert into sso_domains (domain, connection_id, verified_at) values (?, ?, ?)', [domain, id, by === 'operator' ? now : null]);
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
  const checked = checkConnection(input, deps.config, { newConnection: true });
  await requireGrantable(em, viewer, tenantId, checked);
  const id = randomUUID();
  await edit(em, async (tx) => {
    await writeConnection(tx, deps, tenantId, id, checked, 'editor');
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_connection_created', details: { connection: id, name: checked.name, type: checked.type }, client });
  });
  return one(em, tenantId, id);
}

/** Replaces a connection's fields; without `client_secret` the stored secret stays (same type). */
export async function updateSsoConnection(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, input: ConnectionInput, client: Client): Promise<SsoConnectionInfo> {
  await requirePermission(em, viewer, 'sso:manage');
  const tenantId = await tenantOf(em, viewer);
  const connectionId = canonicalId(id);
  const stored = connectionId ? await one(em, tenantId, connectionId) : undefined;
  if (!stored) throw new AuthError('auth_sso_connection_not_found');
  const checked = checkConnection(input, deps.config, { newConnection: input.type !== stored.type || !stored.hasClientSecret });
  await requireGrantable(em, viewer, tenantId, checked);
  // The editor also covers what the connection granted before (nobody takes away more than they hold).
  await requireGrantable(em, viewer, tenantId, stored);
  await edit(em, async (tx) => {
    await writeConnection(tx, deps, tenantId, stored.id, checked, 'editor');
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_connection_updated', details: { connection: stored.id, name: checked.name }, client });
  });
  return one(em, tenantId, stored.id);
}

export async function deleteSsoConnection(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, client: Client): Promise<void> {
  await requirePermission(em, viewer, 'sso:manage');
  const tenantId = await tenantOf(em, viewer);
  const connectionId = canonicalId(id);
  const stored = connectionId ? await one(em, tenantId, connectionId) : undefined;
  if (!stored) throw new AuthError('auth_sso_connection_not_found');
  await requireGrantable(em, viewer, tenantId, stored);
  await transactional(em, async (tx) => {
    const gone = (await tx.execute('delete from sso_connections where id = ? and tenant_id = ? returning id', [stored.id, tenantId])) as unknown[];
    if (!gone.length) throw new AuthError('auth_sso_connection_not_found');
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_connection_deleted', details: { connection: stored.id, name: stored.name }, client });
  });
}
