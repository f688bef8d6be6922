// Every tenant an OpenID Provider (SPEC §12), with oidc-provider (OpenID Certified, by the author
// of jose) rather than our own protocol code. A provider has one issuer, so there is one per
// tenant, `<PUBLIC_URL>/oidc/<slug>`, made when first asked for and kept in a bounded cache; its
// state is in PostgreSQL (adapter.ts), its clients are the tenant's oauth_clients, its accounts
// the tenant's users, its sign-in the gateway's own pages (interactions.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import type Provider from 'oidc-provider';
import type { AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';
import { loadOidcProvider, oidcProvider } from './library.js';
import { FAILURE_EVENTS, policy } from './policy.js';
import { generateIdTokenKey, type Config, type RsaJwk } from '../../config.js';
import type { EntityManager } from '../../db/orm.js';
import { loadPrincipal } from '../sessions/principal.js';
import { derivedKey } from '../shared/secrets.js';
import { GRANT_TTL_SECONDS, PgAdapter } from './adapter.js';
import { outboundFetch } from '../shared/outbound.js';
import { clientMetadata, OIDC_SCOPES, permissionScopes } from './clients.js';
import { resourceIndicators } from './resources.js';

export interface OpDeps {
  config: Config;
  fork: () => EntityManager;
  /** The provider's own pages in the gateway's look: an error it answers itself (an unknown client, an unregistered redirect URI...), logout, the device grant's. */
  pages: {
    headers: Record<string, string>;
    error(slug: string, error: { error: string; error_description?: string }): { headers: Record<string, string>; html: string };
    logout(slug: string, form: string): string;
    loggedOut(slug: string, clientName?: string): string;
    deviceInput(slug: string, form: string, failed: boolean): string;
    deviceConfirm(slug: string, form: string, clientName: string, userCode: string): string;
    deviceDone(slug: string, clientName: string): string;
  };
  /** Told of each failure the provider answers (`server`: its server_error) before the answer goes out. */
  onFailure(ctx: KoaContextWithOIDC, error: Error, server: boolean): void;
}

export interface TenantProvider {
  provider: Provider;
  tenantId: string;
  slug: string;
  /** The provider's path under PUBLIC_URL: /oidc/<slug> (with PUBLIC_URL's own path before it). */
  mountPath: string;
}

/** The provider's issuer for a tenant. */
export const issuerOf = (config: Pick<Config, 'publicUrl'>, slug: string) => `${config.publicUrl}/oidc/${slug}`;

/** The RS256 key(s) for ID tokens: the configured ones, or outside production one kept in DATA_DIR. */
function idTokenKeys(config: Config): RsaJwk[] {
  if (config.jwt.idTokenKeys.length) return config.jwt.idTokenKeys;
  const file = path.join(config.dataDir, 'dev-id-token-key.json');
  if (existsSync(file)) return [JSON.parse(readFileSync(file, 'utf8')) as RsaJwk];
  const key = generateIdTokenKey();
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(key), { mode: 0o600 });
  return [key];
}

/** The claims each scope releases; `tenant`, `roles`, `acr` and `amr` come with openid. */
const CLAIMS = { openid: ['sub', 'tenant', 'roles', 'acr', 'amr', 'sid', 'auth_time'], email: ['email', 'email_verified'], profile: [] };

function makeProvider(deps: OpDeps, tenantId: string, slug: string, mountPath: string): Provider {
  const { config } = deps;
  // Clients are the tenant's oauth_clients, never stored by the provider.
  const adapterDeps = { config, fork: deps.fork, findClient: (id: string) => clientMetadata(deps.fork(), config, tenantId, id) as Promise<AdapterPayload | undefined> };
  const gatewayKeys = config.jwt.privateKeys;
  const outbound = outboundFetch(config.outbound);
  const show = (ctx: KoaContextWithOIDC, html: string) => {
    ctx.set(deps.pages.headers);
    ctx.body = html;
  };
  const { default: OidcProvider, errors } = oidcProvider();
  const provider = new OidcProvider(issuerOf(config, slug), {
    adapter: (model: string) => new PgAdapter(adapterDeps, tenantId, model),
    jwks: { keys: [...idTokenKeys(config), ...gatewayKeys] as never },
    cookies: { keys: [derivedKey(config.secretKey, 'op-cookies v1').toString('hex')], long: { signed: true }, short: { signed: true } },
    claims: CLAIMS,
    scopes: OIDC_SCOPES,
    // The ID token carries the scopes' claims itself (SPEC §12 lists email and roles in it).
    conformIdTokenClaims: false,
    extraClientMetadata: { properties: ['first_party', 'permission_scopes', 'resources'] },
    // A client's jwks_uri (private_key_jwt) is fetched under the gateway's outbound rules.
    fetch: (url: string | URL | Request, init?: RequestInit) => outbound(url as URL, { ...init, dispatcher: undefined } as RequestInit),
    findAccount: async (_ctx, sub) => {
      const principal = await loadPrincipal(deps.fork(), sub).catch(() => undefined);
      if (!principal || principal.disabled || principal.tenantId !== tenantId) return undefined;
      return {
        accountId: principal.userId,
        // What a resource server's token may carry (resources.ts): the roles' permissions now.
        permissions: principal.permissions,
        claims: async () => ({ sub: principal.userId, email: principal.email, email_verified: true, tenant: principal.tenantSlug, roles: principal.roles }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      clientCredentials: { enabled: true },
      // A client learns about its own tokens only.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => show(ctx, deps.pages.logout(slug, form)),
        postLogoutSuccessSource: async (ctx) => show(ctx, deps.pages.loggedOut(slug, ctx.oidc.client?.clientName)),
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        userCodeInputSource: async (ctx, form, _out, err) => show(ctx, deps.pages.deviceInput(slug, form, Boolean(err))),
        userCodeConfirmSource: async (ctx, form, client, _info, userCode) => show(ctx, deps.pages.deviceConfirm(slug, form, client.clientName ?? client.clientId, userCode)),
        successSource: async (ctx) => show(ctx, deps.pages.deviceDone(slug, ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId ?? '')),
      },
      userinfo: { enabled: true },
      resourceIndicators: resourceIndicators(config, gatewayKeys[0].alg, async (id) => (await loadPrincipal(deps.fork(), id))?.permissions),
    },
    pkce: { required: () => true },
    // OAuth 2.1: the code flow only; discovery lists what a client can use.
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    renderError: async (ctx, out) => {
      const page = deps.pages.error(slug, out);
      ctx.set(page.headers);
      ctx.body = page.html;
    },
    interactions: { url: (_ctx, interaction) => `${mountPath}/interaction/${interaction.uid}`, policy: policy() },
    acrValues: ['aal1', 'aal2'],
    ttl: {
      AccessToken: config.accessTokenTtl,
      AuthorizationCode: 60,
      ClientCredentials: config.accessTokenTtl,
      IdToken: 3600,
      Interaction: 600,
      Session: 14 * 86_400,
      Grant: GRANT_TTL_SECONDS,
      RefreshToken: 30 * 86_400,
      DeviceCode: 600,
    },
    // A client_credentials token's subject is the client (SPEC §12): introspection says so too.
    extraTokenClaims: async (_ctx, token) => (token.kind === 'ClientCredentials' ? { sub: token.clientId } : undefined),
    // Refresh tokens rotate at every use (a reused one revokes the grant). A resource the token was
    // not issued for is refused first: oidc-provider would find out only after rotating, and the
    // client's retry would look like a reuse.
    rotateRefreshToken: (ctx: KoaContextWithOIDC) => {
      const asked = ctx.oidc.params?.resource as string | string[] | undefined;
      const token = ctx.oidc.entities.RefreshToken;
      if (asked !== undefined && (Array.isArray(asked) || !token?.resourceIndicators.has(asked))) throw new errors.InvalidTarget();
      return true;
    },
    // A client's assertion (private_key_jwt) lives minutes, not years (its replay record is kept until it expires).
    assertJwtClientAuthClaimsAndHeader: async (_ctx: KoaContextWithOIDC, claims: { exp?: number }) => {
      if (typeof claims.exp !== 'number' || claims.exp > Math.floor(Date.now() / 1000) + 600) throw new errors.InvalidClientAuth('the client assertion must expire within 10 minutes');
    },
    // A first-party client gets a refresh token without offline_access's consent page (SPEC §12).
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && (code.scopes.has('offline_access') || firstParty(client)),
    // A first-party client asks for no consent: its grant is made as it asks.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { oidc } = ctx;
      // Just signed in on the gateway's page: the provider's session is that gateway session's.
      const gatewaySession = (oidc.result as { gatewaySession?: string } | undefined)?.gatewaySession;
      if (gatewaySession && oidc.session?.uid) {
        await deps.fork().execute('insert into oidc_session_links (tenant_id, op_session_uid, gateway_session_id) values (?, ?, ?) on conflict do nothing', [tenantId, oidc.session.uid, gatewaySession]);
      }
      const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(oidc.client!.clientId);
      const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
      if (!firstParty(oidc.client!)) return existing;
      const grant = existing ?? new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId: oidc.session!.accountId });
      const asked = String(oidc.params!.scope ?? 'openid').split(' ');
      // OpenID's scopes only: a permission in an opaque token would be given unchecked.
      grant.addOIDCScope(asked.filter((s) => OIDC_SCOPES.includes(s)).join(' '));
      // Its resource servers' permission scopes, those the user's roles hold (the tokens narrow them again).
      const held = (oidc.account as { permissions?: string[] } | undefined)?.permissions ?? [];
      for (const resource of Object.keys(oidc.resourceServers ?? {})) {
        const scopes = permissionScopes(asked).filter((s) => held.includes(s) && oidc.resourceServers![resource].scopes.has(s));
        if (scopes.length) grant.addResourceScope(resource, scopes.join(' '));
      }
      await grant.save();
      return grant;
    },
  });
  // Behind the gateway's own router: the URLs it builds are PUBLIC_URL's (routes set the forwarded headers).
  provider.proxy = true;
  // oidc-provider 9.13 re-renders the device form after a refused POST by putting a fresh xsrf secret
  // on the session; when no cookie came, that session was never saved and its persist() throws, which
  // Koa answers with a bare 500. No cookie names such a session, so there is nothing to keep.
  const persist = provider.Session.prototype.persist;
  provider.Session.prototype.persist = function (this: { exp?: number }) {
    return typeof this.exp === 'number' ? persist.call(this) : Promise.resolve(undefined);
  } as typeof persist;
  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => deps.onFailure(ctx, error, true));
  // RP-initiated logout ends the gateway session too; unlinked first, so what outlives the
  // provider's session (offline_access refresh tokens) is not ended with it.
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) => {
    const uid = ctx.oidc.session?.uid;
    if (!uid) return;
    void deps
      .fork()
      .execute(
        `with gone as (delete from oidc_session_links where tenant_id = ? and op_session_uid = ? returning gateway_session_id)
         update sessions set revoked_at = now(), revoked_reason = 'logout' where id in (select gateway_session_id from gone) and revoked_at is null`,
        [tenantId, uid],
      )
      .catch((error: Error) => deps.onFailure(ctx, error, true));
  });
  const on = provider.on.bind(provider) as (event: string, listener: (ctx: KoaContextWithOIDC, error: Error) => void) => void;
  for (const event of FAILURE_EVENTS) on(event, (ctx, error) => deps.onFailure(ctx, error, false));
  return provider;
}

const firstParty = (client: { metadata(): Record<string, unknown> }) => client.metadata().first_party === true;

/** The providers of the tenants asked for lately (each holds its keys and a Koa app). */
export class TenantProviders {
  private cache = new LRUCache<string, TenantProvider>({ max: 100 });

  constructor(private readonly deps: OpDeps) {}

  /** The provider of tenant `slug`, or undefined when there is no such tenant. */
  async get(slug: string): Promise<TenantProvider | undefined> {
    const hit = this.cache.get(slug);
    if (hit) return hit;
    const [tenant] = (await this.deps.fork().execute('select id from tenants where slug = ?', [slug])) as Array<{ id: string }>;
    if (!tenant) return undefined;
    await loadOidcProvider();
    const mountPath = `${new URL(this.deps.config.publicUrl).pathname.replace(/\/$/, '')}/oidc/${slug}`;
    const made = { provider: makeProvider(this.deps, tenant.id, slug, mountPath), tenantId: tenant.id, slug, mountPath };
    this.cache.set(slug, made);
    return made;
  }
}
