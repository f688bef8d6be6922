// Verifying a domain an editor added (SPEC §11): the tenant publishes its verification value in
// a DNS TXT record `_auth-gateway-verify.<domain>`, and verifySsoDomain looks it up on request.
// The value is a keyed hash of the tenant's id: stable, the tenant's own, and nobody else can
// compute it. Until verified, a domain routes sign-ins but links no existing user and enforces nothing.
import { Resolver } from 'node:dns/promises';
import type { Config } from '../../config.js';
import { transactional, type EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import { requirePermission, type Viewer } from '../sessions/principal.js';
import { recordAudit } from '../shared/audit.js';
import { keyedHash } from '../shared/secrets.js';
import { tenantOf } from '../users/manage.js';
import { normaliseDomain } from './rules.js';

export const VERIFICATION_PREFIX = '_auth-gateway-verify';
export const verificationRecord = (domain: string) => `${VERIFICATION_PREFIX}.${domain}`;
export const verificationValue = (config: Pick<Config, 'secretKey'>, tenantId: string) => `auth-gateway-verify=${keyedHash(config.secretKey, `sso-domain ${tenantId}`)}`;

/** The TXT value the caller's tenant publishes to verify its domains (sso:manage). */
export async function domainVerificationValue(em: EntityManager, deps: Pick<ServiceDeps, 'config'>, viewer: Viewer): Promise<string> {
  await requirePermission(em, viewer, 'sso:manage');
  return verificationValue(deps.config, await tenantOf(em, viewer));
}

/** The TXT strings at `name` (each record's chunks joined); none when the lookup fails. */
async function txt(config: Pick<Config, 'ssoDnsServers' | 'ssoIdpTimeoutSeconds'>, name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: config.ssoIdpTimeoutSeconds * 1000, tries: 1 });
  if (config.ssoDnsServers.length) resolver.setServers(config.ssoDnsServers);
  try {
    return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  } catch {
    return [];
  }
}

export interface DomainState {
  domain: string;
  verified: boolean;
  verifiedAt: Date | null;
}

/**
 * Looks up the domain's TXT record and verifies the domain when it holds the tenant's value.
 * The domain must be one of the caller's tenant's connections' (auth_sso_connection_not_found).
 * Answers the domain's state either way; a verified domain stays verified.
 */
export async function verifySsoDomain(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'now'>, viewer: Viewer, input: string, client: Client): Promise<DomainState> {
  await requirePermission(em, viewer, 'sso:manage');
  const tenantId = await tenantOf(em, viewer);
  const domain = normaliseDomain(input);
  const [row] = (await em.execute('select d.domain, d.verified_at from sso_domains d join sso_connections c on c.id = d.connection_id where d.domain = ? and c.tenant_id = ?', [
    domain,
    tenantId,
  ])) as Array<{ domain: string; verified_at: Date | null }>;
  if (!row) throw new AuthError('auth_sso_connection_not_found');
  let verifiedAt = row.verified_at ? new Date(row.verified_at) : null;
  if (!verifiedAt && (await txt(deps.config, verificationRecord(domain))).includes(verificationValue(deps.config, tenantId))) {
    const now = deps.now();
    verifiedAt = await transactional(em, async (tx) => {
      // Still the tenant's, still unverified: a change meanwhile (a deleted connection, the operator) wins.
      const [done] = (await tx.execute(
        'update sso_domains d set verified_at = ? from sso_connections c where c.id = d.connection_id and d.domain = ? and c.tenant_id = ? and d.verified_at is null returning d.verified_at',
        [now, domain, tenantId],
      )) as Array<{ verified_at: Date }>;
      if (!done) return null;
      await recordAudit(tx, now, { tenantId, userId: viewer.userId, sessionId: viewer.sessionId, type: 'sso_domain_verified', details: { domain }, client });
      return new Date(done.verified_at);
    });
  }
  return { domain: row.domain, verified: verifiedAt !== null, verifiedAt };
}
