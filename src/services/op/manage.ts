// A tenant's OAuth clients over GraphQL (SPEC §12, permission clients:manage): listed, created
// (the secret made here and shown once), replaced, their secret rotated, deleted. Secrets are
// sealed at rest and never read back. A client's permission scopes are permissions its editor
// holds (SPEC §12): nobody registers a client that asks for more than they have.
import { randomBytes } from 'node:crypto';
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { currentPermissions, managedTarget, requirePermission, type Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { tenantOf } from '../users/manage.js';
import { authMethodOf, checkClient, CLIENT_COLUMNS, permissionScopes, writeClient, type CheckedClient, type ClientColumns, type OAuthClientInput } from './clients.js';

export interface OAuthClientInfo extends Omit<CheckedClient, 'clientSecret'> {
  id: string;
  hasSecret: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A client just made or given a new secret: the secret is shown this once (null for a public client). */
export interface CreatedOAuthClientInfo {
  client: OAuthClientInfo;
  clientSecret: string | null;
}

type Row = ClientColumns & { id: string; has_secret: boolean; created_at: Date; updated_at: Date };
const SELECT = `select id, ${CLIENT_COLUMNS}, client_secret is not null as has_secret, created_at, updated_at from oauth_clients`;

const info = (r: Row): OAuthClientInfo => ({
  id: r.id,
  clientId: r.client_id,
  name: r.name,
  redirectUris: r.redirect_uris,
  postLogoutRedirectUris: r.post_logout_redirect_uris,
  grantTypes: r.grant_types,
  scopes: r.scopes,
  resources: r.resources,
  public: r.public,
  firstParty: r.first_party,
  jwksUri: r.jwks_uri,
  tokenEndpointAuthMethod: authMethodOf(r),
  hasSecret: r.has_secret,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

type EditDeps = Pick<ServiceDeps, 'config' | 'now'>;
type Input = Omit<OAuthClientInput, 'client_id' | 'client_secret'>;

/** A client's secret: 43 characters of a 256-bit random value. */
const newSecret = () => randomBytes(32).toString('base64url');
/** Unknown, or another tenant's: the same refusal (the id names nothing of the caller's). */
const unknownClient = () => new AuthError('auth_request_invalid', { fields: [{ field: 'id', rule: 'unknown' }] });

export async function listOAuthClients(em: EntityManager, viewer: Viewer): Promise<OAuthClientInfo[]> {
  await requirePermission(em, viewer, 'clients:manage');
  return ((await em.execute(`${SELECT} where tenant_id = ? order by name, client_id`, [await tenantOf(em, viewer)])) as Row[]).map(info);
}

async function one(em: EntityManager, tenantId: string, id: string): Promise<OAuthClientInfo> {
  const [row] = (await em.execute(`${SELECT} where tenant_id = ? and id = ?`, [tenantId, id])) as Row[];
  if (!row) throw unknownClient();
  return info(row);
}

/** The client's permission scopes are the editor's own permissions (auth_forbidden, naming those they lack). */
async function requireHeld(em: EntityManager, viewer: Viewer, scopes: string[]): Promise<void> {
  const held = await currentPermissions(em, viewer);
  const missing = permissionScopes(scopes).filter((s) => !held.includes(s));
  if (missing.length) throw new AuthError('auth_forbidden', { missing });
}

/** Locks the tenant's client `id` for the rest of `tx`. */
async function locked(tx: EntityManager, tenantId: string, id: string): Promise<OAuthClientInfo> {
  if (!((await tx.execute('select id from oauth_clients where tenant_id = ? and id = ? for update', [tenantId, id])) as unknown[]).length) throw unknownClient();
  return one(tx, tenantId, id);
}

export async function createOAuthClient(em: EntityManager, deps: EditDeps, viewer: Viewer, input: Input, client: Client): Promise<CreatedOAuthClientInfo> {
  const { tenantId } = await managedTarget(em, viewer, 'clients:manage', undefined, unknownClient);
  const secret = input.public ? null : newSecret();
  const checked = checkClient({ ...input, client_id: `c_${randomBytes(12).toString('base64url')}`, client_secret: secret }, deps.config);
  await requireHeld(em, viewer, checked.scopes);
  const id = await transactional(em, async (tx) => {
    const made = await writeClient(tx, deps, tenantId, checked);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'oauth_client_created', details: { client: checked.clientId, name: checked.name }, client });
    return made;
  });
  return { client: await one(em, tenantId, id), clientSecret: secret };
}

/** Replaces a client's fields (its id and secret stay; a client made public loses its secret). */
export async function updateOAuthClient(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, input: Input, client: Client): Promise<OAuthClientInfo> {
  const { tenantId, id: clientRowId } = await managedTarget(em, viewer, 'clients:manage', id, unknownClient);
  await transactional(em, async (tx) => {
    const stored = await locked(tx, tenantId, clientRowId);
    const checked = checkClient({ ...input, client_id: stored.clientId }, deps.config);
    // The editor also covers what the client could ask before (nobody takes away more than they hold).
    await requireHeld(tx, viewer, [...checked.scopes, ...stored.scopes]);
    // A confidential client needs a secret: one that was public gets it from rotateOAuthClientSecret.
    if (!checked.public && !stored.hasSecret) throw new AuthError('auth_request_invalid', { fields: [{ field: 'public', rule: 'format' }] });
    await writeClient(tx, deps, tenantId, checked, clientRowId);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'oauth_client_updated', details: { client: stored.clientId, name: checked.name }, client });
  });
  return one(em, tenantId, clientRowId);
}

/** A new secret for a confidential client, shown once; the old one stops working at once. */
export async function rotateOAuthClientSecret(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, client: Client): Promise<CreatedOAuthClientInfo> {
  const { tenantId, id: clientRowId } = await managedTarget(em, viewer, 'clients:manage', id, unknownClient);
  const secret = newSecret();
  await transactional(em, async (tx) => {
    const stored = await locked(tx, tenantId, clientRowId);
    if (stored.public) throw new AuthError('auth_request_invalid', { fields: [{ field: 'public', rule: 'format' }] });
    await writeClient(tx, deps, tenantId, { ...stored, clientSecret: secret }, clientRowId);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'oauth_client_secret_rotated', details: { client: stored.clientId }, client });
  });
  return { client: await one(em, tenantId, clientRowId), clientSecret: secret };
}

export async function deleteOAuthClient(em: EntityManager, deps: EditDeps, viewer: Viewer, id: string, client: Client): Promise<void> {
  const { tenantId, id: clientRowId } = await managedTarget(em, viewer, 'clients:manage', id, unknownClient);
  await transactional(em, async (tx) => {
    const stored = await locked(tx, tenantId, clientRowId);
    await tx.execute('delete from oauth_clients where id = ?', [clientRowId]);
    // What the provider issued to it goes too (a deleted client's tokens are refused anyway).
    await tx.execute("delete from oidc_models where tenant_id = ? and payload->>'clientId' = ?", [tenantId, stored.clientId]);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'oauth_client_deleted', details: { client: stored.clientId, name: stored.name }, client });
  });
}
