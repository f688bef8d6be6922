// SPEC §11 enforcement: an address in a verified domain of a tenant's connection that sets
// `enforce` signs in through that connection only. Password, passkey and Google sign-in,
// sign-up and password reset answer auth_sso_required for it, naming the connection, before any
// password is checked and whoever the address belongs to (the answer depends on the domain
// alone, so it tells nothing of accounts). A connection enforces only in its own tenant.
import type { EntityManager } from '../../db/orm.js';
import { AuthError } from '../../errors/auth-error.js';
import { domainOf } from './rules.js';

export { domainOf };

/** The enforcing connection's name for (domain, tenant) as a scalar subquery: parameters domain, then the tenant's slug or id. */
export const ENFORCING_SQL = (tenantBy: 'slug' | 'id') => `(select c.name from sso_domains d
    join sso_connections c on c.id = d.connection_id join tenants t on t.id = c.tenant_id
   where d.domain = ? and t.${tenantBy} = ?${tenantBy === 'id' ? '::uuid' : ''} and c.enforce and d.verified_at is not null)`;

export const ssoRequired = (connection: string) => new AuthError('auth_sso_required', { connection });

/** Refuses an address that must sign in through its tenant's enforcing connection. */
export async function refuseWhereSsoEnforced(em: EntityManager, tenant: { slug: string } | { id: string }, email: string): Promise<void> {
  const by = 'slug' in tenant ? 'slug' : 'id';
  const [row] = (await em.execute(`select ${ENFORCING_SQL(by)} as connection`, [domainOf(email), 'slug' in tenant ? tenant.slug : tenant.id])) as Array<{ connection: string | null }>;
  if (row?.connection) throw ssoRequired(row.connection);
}
