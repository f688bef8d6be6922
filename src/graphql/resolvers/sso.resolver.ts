import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { createSsoConnection, deleteSsoConnection, listSsoConnections, updateSsoConnection, type SsoConnectionInfo } from '../../services/sso/connections.js';
import { ssoExchange } from '../../services/sso/exchange.js';
import { ssoStart } from '../../services/sso/flow.js';
import { setSsoRedirectUrls, ssoRedirectUrls } from '../../services/sso/redirects.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { SsoExchangeInput, SsoRedirect, SsoStartInput } from '../types/sso-flow.type.js';
import type { ConnectionInput } from '../../services/sso/rules.js';
import { textArg } from '../text-field.js';
import { SsoConnection, SsoConnectionInput, SsoConnectionType, SsoDomain, SsoDomainVerification } from '../types/sso-connection.type.js';
import { domainVerificationValue, verificationRecord, verifySsoDomain, VERIFICATION_PREFIX, type DomainState } from '../../services/sso/domains.js';

const input = (i: SsoConnectionInput): ConnectionInput => ({
  name: i.name,
  type: i.type,
  domains: i.domains,
  enforce: i.enforce,
  jit: i.jit,
  default_roles: i.defaultRoles,
  role_claim: i.roleClaim,
  role_map: i.roleMap,
  issuer: i.issuer,
  client_id: i.clientId,
  client_secret: i.clientSecret,
  scopes: i.scopes,
  trust_email: i.trustEmail,
  idp_metadata: i.idpMetadata,
  idp_entity_id: i.idpEntityId,
  idp_sso_url: i.idpSsoUrl,
  idp_certificate: i.idpCertificate,
  allow_idp_initiated: i.allowIdpInitiated,
  mfa_contexts: i.mfaContexts,
  sign_requests: i.signRequests,
});

const withRecord = (d: DomainState): SsoDomain => ({ ...d, verificationRecord: verificationRecord(d.domain) });

const setting = <T>(c: SsoConnectionInfo, key: string, otherwise: T): T => (c.settings[key] as T | undefined) ?? otherwise;

const output = (c: SsoConnectionInfo): SsoConnection => ({
  id: c.id,
  name: c.name,
  type: c.type as SsoConnectionType,
  domains: c.domains.map(withRecord),
  enforce: c.enforce,
  jit: c.jit,
  defaultRoles: c.defaultRoles,
  roleClaim: c.roleClaim,
  roleMap: c.roleMap,
  issuer: setting(c, 'issuer', null),
  clientId: setting(c, 'client_id', null),
  scopes: setting(c, 'scopes', []),
  trustEmail: setting(c, 'trust_email', false),
  hasClientSecret: c.hasClientSecret,
  idpEntityId: setting(c, 'idp_entity_id', null),
  idpSsoUrl: setting(c, 'idp_sso_url', null),
  idpCertificate: setting(c, 'idp_certificate', null),
  allowIdpInitiated: setting(c, 'allow_idp_initiated', false),
  mfaContexts: setting(c, 'mfa_contexts', []),
  signRequests: setting(c, 'sign_requests', false),
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

@Resolver()
export class SsoResolver {
  @Mutation(() => SsoRedirect, { description: "Start a sign-in through the tenant's identity provider: send the browser to `url`; it comes back to redirectTo with ?code= (or ?error=)." })
  async ssoStart(@Arg('input', () => SsoStartInput) i: SsoStartInput, @Ctx() ctx: RequestContext) {
    return ssoStart(ctx.em, ctx.deps, { ...i, email: i.email ?? undefined, connection: i.connection ?? undefined }, ctx.client);
  }

  @Mutation(() => AuthPayload, { description: 'Trade the one-time code of a finished SSO flow and its PKCE verifier for a session (the code works once, for 60 s).' })
  async ssoExchange(@Arg('input', () => SsoExchangeInput) i: SsoExchangeInput, @Ctx() ctx: RequestContext) {
    return ssoExchange(ctx.em, ctx.deps, i, ctx.client);
  }

  @Authorized('sso:manage')
  @Query(() => [String], { description: "Where a finished SSO flow may send the browser back (the tenant's redirect_urls; sso:manage)." })
  async ssoRedirectUrls(@Ctx() ctx: RequestContext) {
    return ssoRedirectUrls(ctx.em, await ctx.viewer());
  }

  @Authorized('sso:manage')
  @Mutation(() => [String], { description: "Replace the tenant's redirect URLs (sso:manage): https, or http on a loopback address; no user, query or fragment; at most 20." })
  async setSsoRedirectUrls(@Arg('urls', () => [String], textArg('redirectUrl')) urls: string[], @Ctx() ctx: RequestContext) {
    return setSsoRedirectUrls(ctx.em, ctx.deps, await ctx.viewer(), urls, ctx.client);
  }

  @Authorized('sso:manage')
  @Query(() => SsoDomainVerification, { description: "The TXT value that verifies the tenant's domains (sso:manage)." })
  async ssoDomainVerification(@Ctx() ctx: RequestContext) {
    return { recordPrefix: VERIFICATION_PREFIX, value: await domainVerificationValue(ctx.em, ctx.deps, await ctx.viewer()) };
  }

  @Authorized('sso:manage')
  @Mutation(() => SsoDomain, { description: "Look up the domain's TXT record `_auth-gateway-verify.<domain>` now and verify the domain when it holds the tenant's value (sso:manage). Answers the domain either way." })
  async verifySsoDomain(@Arg('domain', () => String, textArg('domain')) domain: string, @Ctx() ctx: RequestContext) {
    return withRecord(await verifySsoDomain(ctx.em, ctx.deps, await ctx.viewer(), domain, ctx.client));
  }

  @Authorized('sso:manage')
  @Query(() => [SsoConnection], { description: "The tenant's SSO connections (sso:manage). Client secrets are never returned." })
  async ssoConnections(@Ctx() ctx: RequestContext) {
    return (await listSsoConnections(ctx.em, await ctx.viewer())).map(output);
  }

  @Authorized('sso:manage')
  @Mutation(() => SsoConnection, { description: 'Add an SSO connection (sso:manage; its roles never beyond the caller\'s own permissions). Its domains start unverified.' })
  async createSsoConnection(@Arg('input', () => SsoConnectionInput) i: SsoConnectionInput, @Ctx() ctx: RequestContext) {
    return output(await createSsoConnection(ctx.em, ctx.deps, await ctx.viewer(), input(i), ctx.client));
  }

  @Authorized('sso:manage')
  @Mutation(() => SsoConnection, { description: 'Replace an SSO connection (sso:manage). Without clientSecret the stored secret stays.' })
  async updateSsoConnection(@Arg('id', () => ID, textArg('id')) id: string, @Arg('input', () => SsoConnectionInput) i: SsoConnectionInput, @Ctx() ctx: RequestContext) {
    return output(await updateSsoConnection(ctx.em, ctx.deps, await ctx.viewer(), id, input(i), ctx.client));
  }

  @Authorized('sso:manage')
  @Mutation(() => Boolean, { description: 'Delete an SSO connection (sso:manage): its domains route nowhere from now on.' })
  async deleteSsoConnection(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await deleteSsoConnection(ctx.em, ctx.deps, await ctx.viewer(), id, ctx.client);
    return true;
  }
}
