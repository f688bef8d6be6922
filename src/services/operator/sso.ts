// The operator's SSO commands (npm run admin -- sso ...): list a tenant's connections, delete one,
// and verify a domain (the operator is authoritative for domains: SPEC §11). Creating and
// changing connections is the import document's (sso_connections).
import type { EntityManager } from '../../db/orm.js';
import { normaliseDomain } from '../sso/rules.js';
import { AdminError } from './records.js';

async function tenantId(em: EntityManager, slug: string): Promise<string> {
  const [t] = (await em.execute('select id from tenants where slug = ?', [slug])) as Array<{ id: string }>;
  if (!t) throw new AdminError(`no tenant ${JSON.stringify(slug)}`);
  return t.id;
}

/** One line per connection: name, type, issuer or IdP entity id, domains (a trailing * where unverified). */
export async function listConnections(em: EntityManager, slug: string): Promise<string[]> {
  const rows = (await em.execute(
    `select c.name, c.type, coalesce(c.settings->>'issuer', c.settings->>'idp_entity_id') as idp, c.enforce,
            coalesce(array_agg(d.domain || case when d.verified_at is null then '*' else '' end order by d.domain) filter (where d.domain is not null), '{}') as domains
       from sso_connections c left join sso_domains d on d.connection_id = c.id
      where c.tenant_id = ? group by c.id order by c.name`,
    [await tenantId(em, slug)],
  )) as Array<{ name: string; type: string; idp: string; enforce: boolean; domains: string[] }>;
  return rows.map((r) => `${r.name}\t${r.type}\t${r.idp}\t${r.enforce ? 'enforced' : '-'}\t${r.domains.join(',') || '-'}`);
}

export async function deleteConnection(em: EntityManager, slug: string, name: string): Promise<void> {
  const gone = (await em.execute('delete from sso_connections where tenant_id = ? and name = ? returning id', [await tenantId(em, slug), name])) as unknown[];
  if (!gone.length) throw new AdminError(`tenant ${slug} has no SSO connection ${JSON.stringify(name)}`);
}

/** Marks a domain of one of the tenant's connections verified (the operator vouches for it). */
export async function verifyDomain(em: EntityManager, slug: string, domain: string, now: Date): Promise<void> {
  const done = (await em.execute(
    'update sso_domains d set verified_at = coalesce(d.verified_at, ?) from sso_connections c where c.id = d.connection_id and c.tenant_id = ? and d.domain = ? returning d.domain',
    [now, await tenantId(em, slug), normaliseDomain(domain)],
  )) as unknown[];
  if (!done.length) throw new AdminError(`no SSO connection of tenant ${slug} has the domain ${JSON.stringify(domain)}`);
}
