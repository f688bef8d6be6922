// The hosted sign-in's single sign-on (SPEC §12 with §11): an address whose domain has one of
// the tenant's connections goes to its IdP through the same flow as POST /auth/sso/start, and
// comes back to the interaction's own page with the one-time code, traded as POST
// /auth/sso/token trades it. The PKCE verifier between the page and the flow is a keyed hash
// of the interaction's uid: nothing to keep, and only this gateway can make it; the
// interaction itself is bound to the browser by oidc-provider's cookie.
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import type { ServiceDeps } from '../deps.js';
import type { Client } from '../rate-limits/limiter.js';
import type { AuthPayload } from '../sessions/principal.js';
import { keyedHash } from '../shared/secrets.js';
import { ssoExchange } from '../sso/exchange.js';
import { s256, ssoStart } from '../sso/flow.js';

const verifierOf = (config: Pick<Config, 'secretKey'>, uid: string) => keyedHash(config.secretKey, `op-sso-verifier ${uid}`);

/** Where the IdP's flow comes back to: the interaction's page under PUBLIC_URL. */
export const ssoReturnUrl = (config: Pick<Config, 'publicUrl'>, tenant: string, uid: string) => `${config.publicUrl}/oidc/${encodeURIComponent(tenant)}/interaction/${uid}/sso`;

/** The IdP's URL for `email`'s connection in the tenant (auth_sso_connection_not_found when its domain has none). */
export async function ssoSignInUrl(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'limiter' | 'now'>, tenant: string, uid: string, email: string, client: Client): Promise<string> {
  const { url } = await ssoStart(
    em,
    deps,
    { tenant, email, redirectTo: ssoReturnUrl(deps.config, tenant, uid), codeChallenge: s256(verifierOf(deps.config, uid)), codeChallengeMethod: 'S256', toGateway: true },
    client,
  );
  return url;
}

/** The session the flow's one-time code is worth, for this interaction only. */
export function ssoSignInSession(em: EntityManager, deps: Pick<ServiceDeps, 'config' | 'limiter' | 'tokens' | 'now' | 'sessions'>, uid: string, code: string, client: Client): Promise<AuthPayload> {
  return ssoExchange(em, deps, { code, codeVerifier: verifierOf(deps.config, uid) }, client);
}

/** Whether the tenant has a connection with a domain: the sign-in page then offers single sign-on. */
export async function ssoOffered(em: EntityManager, tenantId: string): Promise<boolean> {
  const [row] = (await em.execute('select exists (select 1 from sso_connections c join sso_domains d on d.connection_id = c.id where c.tenant_id = ?) as offered', [tenantId])) as Array<{ offered: boolean }>;
  return row.offered;
}
