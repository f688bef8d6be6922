// A user's own grants to clients of their tenant's OpenID Provider (SPEC §12): what they
// consented to (or a first-party client was given), listed and revoked. Revoking one removes it
// and everything issued under it (codes, access and refresh tokens), so the client asks again.
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import type { Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { tenantOf } from '../users/manage.js';

export interface OAuthGrantInfo {
  id: string;
  clientId: string;
  clientName: string;
  scopes: string[];
  createdAt: Date;
}

type Row = { id: string; client_id: string; client_name: string | null; scope: string | null; iat: number };

const GRANTS = `select g.id, g.payload->>'clientId' as client_id, c.name as client_name, g.payload->'openid'->>'scope' as scope, (g.payload->>'iat')::bigint as iat
  from oidc_models g left join oauth_clients c on c.tenant_id = g.tenant_id and c.client_id = g.payload->>'clientId'
  where g.tenant_id = ? and g.model = 'Grant' and g.payload->>'accountId' = ? and (g.expires_at is null or g.expires_at > now())`;

export async function listOAuthGrants(em: EntityManager, viewer: Viewer): Promise<OAuthGrantInfo[]> {
  const rows = (await em.execute(`${GRANTS} order by iat desc`, [await tenantOf(em, viewer), viewer.userId])) as Row[];
  return rows.map((r) => ({ id: r.id, clientId: r.client_id, clientName: r.client_name ?? r.client_id, scopes: r.scope ? r.scope.split(' ') : [], createdAt: new Date(Number(r.iat) * 1000) }));
}

/** Revokes one of the caller's own grants; another user's, or none, is auth_oauth_grant_not_found. */
export async function revokeOAuthGrant(em: EntityManager, deps: Pick<ServiceDeps, 'now'>, viewer: Viewer, id: string, client: Client): Promise<void> {
  const tenantId = await tenantOf(em, viewer);
  if (typeof id !== 'string' || id.length > 200) throw new AuthError('auth_oauth_grant_not_found');
  const gone = (await em.execute("delete from oidc_models where tenant_id = ? and model = 'Grant' and id = ? and payload->>'accountId' = ? returning payload->>'clientId' as client_id", [
    tenantId,
    id,
    viewer.userId,
  ])) as Array<{ client_id: string }>;
  if (!gone.length) throw new AuthError('auth_oauth_grant_not_found');
  await em.execute('delete from oidc_models where tenant_id = ? and grant_id = ?', [tenantId, id]);
  await recordAudit(em, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'oauth_grant_revoked', details: { client: gone[0].client_id }, client });
}
