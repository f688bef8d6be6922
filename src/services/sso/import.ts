// The import document's SSO part (SPEC §11): a tenant's `sso_connections`, by name. The
// operator writes them, so their domains are verified; their roles must be roles of the tenant.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { importRefusal } from '../shared/input.js';
import { rolesByName } from '../users/manage.js';
import { sameIdp, writeConnection } from './connections.js';
import { checkConnection, requireClientSecret, rolesNamed, type ConnectionInput } from './rules.js';

export interface SsoImportDeps {
  config: Pick<Config, 'env' | 'secretKey' | 'production' | 'outbound'>;
  now: () => Date;
}

/** Writes each connection of the list (created, or replaced by name); `fail` turns a refusal into the import's message. */
export async function importSsoConnections(
  tx: EntityManager,
  deps: SsoImportDeps,
  tenantId: string,
  list: ConnectionInput[],
  where: string,
  fail: (message: string) => never,
): Promise<{ created: number; updated: number }> {
  const counts = { created: 0, updated: 0 };
  for (const [i, input] of list.entries()) {
    const at = `${where}.sso_connections[${i}]`;
    if (!input || typeof input !== 'object') fail(`${at} must be an object`);
    const [stored] = (await tx.execute('select id, type, settings, client_secret is not null as has_secret from sso_connections where tenant_id = ? and name = ? for update', [
      tenantId,
      input.name,
    ])) as Array<{ id: string; type: 'oidc' | 'saml'; settings: Record<string, unknown>; has_secret: boolean }>;
    try {
      const checked = checkConnection(input, deps.config);
      // A stored secret stays only for the same IdP (as over GraphQL).
      const same = stored !== undefined && sameIdp(checked, stored);
      if (!(same && stored.has_secret)) requireClientSecret(checked);
      const names = rolesNamed(checked);
      const roles = await rolesByName(tx, tenantId, names);
      if (roles.length !== names.length) fail(`${at} names a role the tenant does not have (default_roles or role_map)`);
      await writeConnection(tx, deps, tenantId, stored?.id ?? randomUUID(), checked, { by: 'operator', mode: stored ? 'update' : 'insert', newIdp: !same });
    } catch (e) {
      importRefusal(e, at, fail);
    }
    counts[stored ? 'updated' : 'created']++;
  }
  return counts;
}
