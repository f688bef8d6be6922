import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { createOAuthClient, deleteOAuthClient, listOAuthClients, rotateOAuthClientSecret, updateOAuthClient, type CreatedOAuthClientInfo } from '../../services/op/manage.js';
import { listOAuthGrants, revokeOAuthGrant } from '../../services/op/grants.js';
import { textArg } from '../text-field.js';
import { OAuthGrant } from '../types/oauth-grant.type.js';
import { CreatedOAuthClient, OAuthClient, OAuthClientInput } from '../types/oauth-client.type.js';

const input = (i: OAuthClientInput) => ({
  name: i.name,
  redirect_uris: i.redirectUris,
  post_logout_redirect_uris: i.postLogoutRedirectUris,
  grant_types: i.grantTypes,
  scopes: i.scopes,
  resources: i.resources,
  public: i.public,
  first_party: i.firstParty,
  jwks_uri: i.jwksUri,
  token_endpoint_auth_method: i.tokenEndpointAuthMethod,
});

const created = (c: CreatedOAuthClientInfo): CreatedOAuthClient => ({ clientId: c.client.clientId, clientSecret: c.clientSecret, client: c.client });

@Resolver()
export class OAuthClientResolver {
  @Authorized('clients:manage')
  @Query(() => [OAuthClient], { description: "The clients of the tenant's OpenID Provider (clients:manage). Secrets are never returned." })
  async oauthClients(@Ctx() ctx: RequestContext) {
    return listOAuthClients(ctx.em, await ctx.viewer());
  }

  @Authorized('clients:manage')
  @Mutation(() => CreatedOAuthClient, { description: 'Register a client (clients:manage; its scopes never beyond the caller\'s permissions). A confidential client\'s secret is in the answer, once.' })
  async createOAuthClient(@Arg('input', () => OAuthClientInput) i: OAuthClientInput, @Ctx() ctx: RequestContext) {
    return created(await createOAuthClient(ctx.em, ctx.deps, await ctx.viewer(), input(i), ctx.client));
  }

  @Authorized('clients:manage')
  @Mutation(() => OAuthClient, { description: 'Replace a client\'s fields (clients:manage); its client id and secret stay.' })
  async updateOAuthClient(@Arg('id', () => ID, textArg('id')) id: string, @Arg('input', () => OAuthClientInput) i: OAuthClientInput, @Ctx() ctx: RequestContext) {
    return updateOAuthClient(ctx.em, ctx.deps, await ctx.viewer(), id, input(i), ctx.client);
  }

  @Authorized('clients:manage')
  @Mutation(() => CreatedOAuthClient, { description: 'A new secret for a confidential client, in the answer once; the old one stops working at once (clients:manage).' })
  async rotateOAuthClientSecret(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    return created(await rotateOAuthClientSecret(ctx.em, ctx.deps, await ctx.viewer(), id, ctx.client));
  }

  @Authorized('clients:manage')
  @Mutation(() => Boolean, { description: 'Delete a client (clients:manage): what the provider issued to it stops working.' })
  async deleteOAuthClient(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await deleteOAuthClient(ctx.em, ctx.deps, await ctx.viewer(), id, ctx.client);
    return true;
  }

  @Authorized()
  @Query(() => [OAuthGrant], { description: 'What you granted the apps of your organisation that sign in through its OpenID Provider (your own grants; a session).' })
  async oauthGrants(@Ctx() ctx: RequestContext) {
    return listOAuthGrants(ctx.em, await ctx.sessionViewer());
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Take back one of your grants: its tokens stop working and the app asks again (a session; another user\'s id is auth_oauth_grant_not_found).' })
  async revokeOAuthGrant(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await revokeOAuthGrant(ctx.em, ctx.deps, await ctx.sessionViewer(), id, ctx.client);
    return true;
  }
}
