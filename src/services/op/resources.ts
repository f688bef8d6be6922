// The resource servers of a tenant's provider (SPEC §12; RFC 8707 and 9068). A client asks
// tokens only for the resources it registered (another is invalid_target); such a token is a
// JWT (typ at+jwt, aud = the resource, client_id, scope) signed with the gateway's published
// keys, checked offline by the resource server until it expires. Its scopes are the tenant's
// permissions the client may ask for, narrowed to what the user's roles hold when the token is
// made (a client_credentials token, whose sub is the client, gets the client's).
import type { KoaContextWithOIDC } from 'oidc-provider';
import { oidcProvider } from './library.js';
import type { Config } from '../../config.js';
import { OIDC_SCOPES } from './clients.js';

type Client = NonNullable<KoaContextWithOIDC['oidc']['client']>;

const listed = (client: Client, key: 'resources' | 'permission_scopes') => (client.metadata()[key] as string[] | undefined) ?? [];

/** The permissions of a user (their roles' now); undefined for no such user. */
export type PermissionsOf = (accountId: string) => Promise<string[] | undefined>;

/** The permissions of the user a request acts for: the account the provider loaded (findAccount puts them there), else the session's user. */
async function accountPermissions(ctx: KoaContextWithOIDC, permissionsOf: PermissionsOf): Promise<string[] | undefined> {
  const loaded = (ctx.oidc.account as { permissions?: string[] } | undefined)?.permissions;
  if (loaded) return loaded;
  const accountId = ctx.oidc.route === 'token' ? undefined : ctx.oidc.session?.accountId;
  return accountId ? ((await permissionsOf(accountId)) ?? []) : undefined;
}

const machineRequest = (ctx: KoaContextWithOIDC) => ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'client_credentials';

/**
 * The permission scopes a token for one of the client's resources may carry now: narrowed by
 * the user when there is one (so consent never asks for what the user cannot give); the
 * client's for client_credentials; none at the token endpoint without an account (closed
 * rather than open); before sign-in the client's: the grant and the tokens narrow them.
 */
async function resourceScopes(ctx: KoaContextWithOIDC, client: Client, permissionsOf: PermissionsOf): Promise<string[]> {
  const allowed = listed(client, 'permission_scopes');
  const held = await accountPermissions(ctx, permissionsOf);
  if (held) return allowed.filter((p) => held.includes(p));
  if (machineRequest(ctx)) return allowed;
  return ctx.oidc.route === 'token' ? [] : allowed;
}

/** oidc-provider's features.resourceIndicators for a tenant's provider; `alg` the gateway's first signing key's. */
export function resourceIndicators(config: Pick<Config, 'accessTokenTtl'>, alg: 'EdDSA' | 'ES256', permissionsOf: PermissionsOf) {
  return {
    enabled: true,
    // A machine token that names permissions must name the resource server they are for (an
    // opaque token would carry whatever scope the client asked, unchecked).
    defaultResource: async (ctx: KoaContextWithOIDC, _client: Client, oneOf?: readonly string[]) => {
      const permission = String(ctx.oidc.params?.scope ?? '').split(' ').find((s) => s && !OIDC_SCOPES.includes(s));
      if (oneOf === undefined && machineRequest(ctx) && permission) {
        throw new (oidcProvider().errors.InvalidScope)('permission scopes are for a resource server: name it with the resource parameter', permission);
      }
      return oneOf as string | string[] | undefined;
    },
    getResourceServerInfo: async (ctx: KoaContextWithOIDC, resource: string, client: Client) => {
      if (!listed(client, 'resources').includes(resource)) throw new (oidcProvider().errors.InvalidTarget)('the client did not register this resource');
      return {
        scope: (await resourceScopes(ctx, client, permissionsOf)).join(' '),
        audience: resource,
        accessTokenTTL: config.accessTokenTtl,
        accessTokenFormat: 'jwt' as const,
        jwt: { sign: { alg } },
      };
    },
  };
}

/** The permission scopes of a grant's resources the user may hold: what consent lists and grants. */
export const heldResourceScopes = (requested: Record<string, string[]>, permissions: string[]) =>
  Object.fromEntries(Object.entries(requested).map(([resource, scopes]) => [resource, scopes.filter((s) => permissions.includes(s))]));
