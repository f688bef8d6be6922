// A tenant's redirect URLs (SPEC §11): where a finished SSO flow may send the browser back, with
// its one-time code. Managed with sso:manage (a URL here receives codes: an editor who adds one
// can send sign-ins there), written by the operator's import too.
import { pgTextArray, transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { requirePermission, type Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { tenantOf } from '../users/manage.js';
import { isRedirectUrl } from './rules.js';

export async function ssoRedirectUrls(em: EntityManager, viewer: Viewer): Promise<string[]> {
  await requirePermission(em, viewer, 'sso:manage');
  const [row] = (await em.execute('select redirect_urls from tenants where id = ?', [await tenantOf(em, viewer)])) as Array<{ redirect_urls: string[] }>;
  return row.redirect_urls;
}

/** Replaces the tenant's redirect URLs: each https (http only on a loopback address), without user, query or fragment; at most 20. */
export async function setSsoRedirectUrls(em: EntityManager, deps: Pick<ServiceDeps, 'now'>, viewer: Viewer, urls: string[], client: Client): Promise<string[]> {
  await requirePermission(em, viewer, 'sso:manage');
  const wanted = [...new Set(urls)];
  if (wanted.length > 20) throw new AuthError('auth_request_invalid', { fields: [{ field: 'urls', rule: 'too_long' }] });
  if (!wanted.every(isRedirectUrl)) throw new AuthError('auth_request_invalid', { fields: [{ field: 'urls', rule: 'format' }] });
  const tenantId = await tenantOf(em, viewer);
  await transactional(em, async (tx) => {
    await tx.execute('update tenants set redirect_urls = ?::text[] where id = ?', [pgTextArray(wanted), tenantId]);
    await recordAudit(tx, deps.now(), { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_redirect_urls_changed', details: { urls: wanted }, client });
  });
  return wanted;
}
