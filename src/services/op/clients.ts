// A tenant's OAuth clients of its OpenID Provider (SPEC §12) as data: what a client may say
// (checked the same wherever it comes from; each refusal names its field and rule), the import
// document's `oauth_clients`, and the metadata oidc-provider reads (the secret opened only then).
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import { pgTextArray, type EntityManager } from '../../db/orm.js';
import { flag, importRefusal, isLoopbackHost, refuse, text, texts } from '../shared/input.js';
import { derivedKey, seal, unseal } from '../shared/secrets.js';
import { executePrepared } from '../../db/prepared.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'] as const;
/** The scopes every tenant's provider knows besides its permissions. */
export const OIDC_SCOPES = ['openid', 'email', 'profile', 'offline_access'];
/** How a confidential client authenticates at the token endpoint (SPEC §12); a public one says `none`. */
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
/** A client's scopes that are the tenant's permissions, not OpenID's (they go into resource servers' tokens). */
export const permissionScopes = (scopes: string[]) => scopes.filter((s) => !OIDC_SCOPES.includes(s));

/** A client as the import document writes it. */
export interface OAuthClientInput {
  client_id: string;
  client_secret?: string | null;
  name: string;
  redirect_uris?: string[] | null;
  post_logout_redirect_uris?: string[] | null;
  grant_types?: string[] | null;
  scopes?: string[] | null;
  resources?: string[] | null;
  public?: boolean | null;
  first_party?: boolean | null;
  jwks_uri?: string | null;
  /** client_secret_basic (the default), client_secret_post, or private_key_jwt (the default with a jwks_uri). */
  token_endpoint_auth_method?: string | null;
}

export interface CheckedClient {
  clientId: string;
  /** Plain; sealed when written. Undefined: keep the stored one. */
  clientSecret: string | undefined;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  scopes: string[];
  resources: string[];
  public: boolean;
  firstParty: boolean;
  jwksUri: string | null;
  tokenEndpointAuthMethod: 'none' | (typeof AUTH_METHODS)[number];
}


/**
 * A redirect URI matched exactly: https, or http on a loopback address outside production; no
 * fragment or user information; written as the URL parser writes it (a resource may leave out
 * the root path's slash: `https://api.example` names the API as clients send it).
 */
function uri(field: string, value: string, config: Pick<Config, 'env'>): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse(field, 'format');
  }
  const loopback = isLoopbackHost(url.hostname);
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && loopback && config.env !== 'production');
  const written = url.href === value || (field === 'resources' && url.pathname === '/' && !url.search && url.href === `${value}/`);
  if (!ok || url.hash || url.username || url.password || /[\s\\]/.test(value) || !written) return refuse(field, 'format');
  return value;
}

const CLIENT_ID = /^[A-Za-z0-9._~-]{1,100}$/;
const SCOPE = /^[a-z][a-z0-9_:.-]{0,99}$/;

export function checkClient(input: OAuthClientInput, config: Pick<Config, 'env'>): CheckedClient {
  const clientId = text('client_id', input.client_id, 100)!;
  if (!CLIENT_ID.test(clientId)) refuse('client_id', 'format');
  const isPublic = flag('public', input.public);
  const grantTypes = input.grant_types === undefined || input.grant_types === null ? ['authorization_code', 'refresh_token'] : texts('grant_types', input.grant_types, 100);
  if (!grantTypes.length || grantTypes.some((g) => !(GRANT_TYPES as readonly string[]).includes(g))) refuse('grant_types', 'format');
  // A public client has no secret, so no grant of its own.
  if (isPublic && grantTypes.includes('client_credentials')) refuse('grant_types', 'format');
  const redirectUris = texts('redirect_uris', input.redirect_uris, 2048).map((u) => uri('redirect_uris', u, config));
  if (grantTypes.includes('authorization_code') && !redirectUris.length) refuse('redirect_uris', 'required');
  const scopes = input.scopes === undefined || input.scopes === null ? ['openid', 'email', 'profile', 'offline_access'] : texts('scopes', input.scopes, 100);
  if (scopes.some((s) => !SCOPE.test(s))) refuse('scopes', 'format');
  const secret = text('client_secret', input.client_secret, 512, false);
  if (isPublic && secret !== null) refuse('client_secret', 'format');
  if (secret !== null && secret.length < 32) refuse('client_secret', 'too_short');
  const jwksUri = input.jwks_uri === undefined || input.jwks_uri === null ? null : uri('jwks_uri', text('jwks_uri', input.jwks_uri, 2048)!, config);
  // A public client authenticates with nothing: no keys of its own either.
  if (isPublic && jwksUri !== null) refuse('jwks_uri', 'format');
  return {
    clientId,
    clientSecret: secret ?? undefined,
    name: text('name', input.name, 200)!,
    redirectUris,
    postLogoutRedirectUris: texts('post_logout_redirect_uris', input.post_logout_redirect_uris, 2048).map((u) => uri('post_logout_redirect_uris', u, config)),
    grantTypes,
    scopes,
    resources: texts('resources', input.resources, 2048).map((u) => uri('resources', u, config)),
    public: isPublic,
    firstParty: flag('first_party', input.first_party),
    jwksUri,
    tokenEndpointAuthMethod: authMethod(input.token_endpoint_auth_method, isPublic, jwksUri),
  };
}

/** The client's way to authenticate: `none` for a public one; private_key_jwt needs the client's jwks_uri. */
function authMethod(value: unknown, isPublic: boolean, jwksUri: string | null): CheckedClient['tokenEndpointAuthMethod'] {
  if (value === undefined || value === null) return authMethodOf({ public: isPublic, jwks_uri: jwksUri, token_endpoint_auth_method: null });
  const method = text('token_endpoint_auth_method', value, 40)!;
  if (isPublic || !(AUTH_METHODS as readonly string[]).includes(method)) refuse('token_endpoint_auth_method', 'format');
  if (method === 'private_key_jwt' && !jwksUri) refuse('jwks_uri', 'required');
  return method as CheckedClient['tokenEndpointAuthMethod'];
}

const secretKey = (config: Pick<Config, 'secretKey'>) => derivedKey(config.secretKey, 'oauth-client-secret v1');

/** Writes the import document's clients of a tenant (created, or replaced by client_id); `fail` turns a refusal into the import's message. */
export async function importOAuthClients(
  tx: EntityManager,
  deps: { config: Pick<Config, 'env' | 'secretKey'>; now: () => Date },
  tenantId: string,
  list: OAuthClientInput[],
  where: string,
  fail: (message: string) => never,
): Promise<{ created: number; updated: number }> {
  const counts = { created: 0, updated: 0 };
  for (const [i, input] of list.entries()) {
    const at = `${where}.oauth_clients[${i}]`;
    if (!input || typeof input !== 'object') fail(`${at} must be an object`);
    let c: CheckedClient;
    try {
      c = checkClient(input, deps.config);
    } catch (e) {
      return importRefusal(e, at, fail);
    }
    const [stored] = (await tx.execute('select id, client_secret is not null as has_secret from oauth_clients where tenant_id = ? and client_id = ? for update', [tenantId, c.clientId])) as Array<{
      id: string;
      has_secret: boolean;
    }>;
    if (!c.public && c.clientSecret === undefined && !stored?.has_secret) fail(`${at}.client_secret: required (a confidential client)`);
    await writeClient(tx, deps, tenantId, c, stored?.id);
    counts[stored ? 'updated' : 'created']++;
  }
  return counts;
}

/**
 * Writes a client's row: `id` an existing one (replaced; its secret stays unless `c` brings one,
 * and goes when it becomes public), else a new one. Answers the row's id.
 */
export async function writeClient(tx: EntityManager, deps: { config: Pick<Config, 'secretKey'>; now: () => Date }, tenantId: string, c: CheckedClient, id?: string): Promise<string> {
  const sealed = c.public ? null : c.clientSecret === undefined ? undefined : seal(secretKey(deps.config), c.clientSecret);
  const values = [c.name, pgTextArray(c.redirectUris), pgTextArray(c.postLogoutRedirectUris), pgTextArray(c.grantTypes), pgTextArray(c.scopes), pgTextArray(c.resources), c.public, c.firstParty, c.jwksUri, c.tokenEndpointAuthMethod];
  const now = deps.now();
  if (id) {
    await tx.execute(
      `update oauth_clients set name = ?, redirect_uris = ?::text[], post_logout_redirect_uris = ?::text[], grant_types = ?::text[], scopes = ?::text[], resources = ?::text[],
         public = ?, first_party = ?, jwks_uri = ?, token_endpoint_auth_method = ?, client_secret = case when ? then ? else client_secret end, updated_at = ? where id = ?`,
      [...values, sealed !== undefined, sealed ?? null, now, id],
    );
    return id;
  }
  const made = randomUUID();
  await tx.execute(
    `insert into oauth_clients (id, tenant_id, client_id, name, redirect_uris, post_logout_redirect_uris, grant_types, scopes, resources, public, first_party, jwks_uri, token_endpoint_auth_method, client_secret, created_at, updated_at)
     values (?, ?, ?, ?, ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?, ?, ?, ?, ?, ?, ?)`,
    [made, tenantId, c.clientId, ...values, sealed ?? null, now, now],
  );
  return made;
}

/** A client's columns as the provider and the management read them (never its sealed secret). */
export type ClientColumns = {
  client_id: string;
  name: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  scopes: string[];
  resources: string[];
  public: boolean;
  first_party: boolean;
  jwks_uri: string | null;
  token_endpoint_auth_method: string | null;
};
export const CLIENT_COLUMNS = 'client_id, name, redirect_uris, post_logout_redirect_uris, grant_types, scopes, resources, public, first_party, jwks_uri, token_endpoint_auth_method';

/** How a stored client authenticates: `none` when public; else its method (a row of before the column: basic, or private_key_jwt with a jwks_uri). */
export const authMethodOf = (r: Pick<ClientColumns, 'public' | 'jwks_uri' | 'token_endpoint_auth_method'>): CheckedClient['tokenEndpointAuthMethod'] =>
  r.public ? 'none' : ((r.token_endpoint_auth_method as CheckedClient['tokenEndpointAuthMethod'] | null) ?? (r.jwks_uri ? 'private_key_jwt' : 'client_secret_basic'));

/** The client `clientId` of the tenant as oidc-provider's client metadata (its secret opened), or undefined. */
export async function clientMetadata(em: EntityManager, config: Pick<Config, 'secretKey'>, tenantId: string, clientId: string): Promise<Record<string, unknown> | undefined> {
  if (!CLIENT_ID.test(clientId)) return undefined;
  const [r] = (await executePrepared(em, `select ${CLIENT_COLUMNS}, client_secret from oauth_clients where tenant_id = ? and client_id = ?`, [tenantId, clientId])) as Array<
    ClientColumns & { client_secret: string | null }
  >;
  if (!r) return undefined;
  return {
    client_id: r.client_id,
    ...(r.client_secret ? { client_secret: unseal(secretKey(config), r.client_secret) } : {}),
    client_name: r.name,
    redirect_uris: r.redirect_uris,
    post_logout_redirect_uris: r.post_logout_redirect_uris,
    grant_types: r.grant_types,
    response_types: r.grant_types.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: authMethodOf(r),
    ...(r.jwks_uri ? { jwks_uri: r.jwks_uri } : {}),
    // The provider knows OpenID's scopes; the permissions go to resource servers (resources.ts).
    // It takes no empty list, and none would mean any: a client of permissions alone has openid.
    scope: r.scopes.filter((s) => OIDC_SCOPES.includes(s)).join(' ') || 'openid',
    permission_scopes: permissionScopes(r.scopes),
    resources: r.resources,
    first_party: r.first_party,
  };
}
