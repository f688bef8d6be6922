import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { createApiKey, listApiKeys, revokeApiKey, revokeApiKeys } from '../../services/api-keys/manage.js';
import { textArg } from '../text-field.js';
import { CreateApiKeyInput } from '../types/api-key.input.js';
import { ApiKeyInfo, CreatedApiKey } from '../types/api-key.type.js';

@Resolver()
export class ApiKeyResolver {
  @Authorized()
  @Mutation(() => CreatedApiKey, { description: 'Create an API key (needs api_keys:create, with an access token and recent authentication).' })
  async createApiKey(@Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput, @Ctx() ctx: RequestContext) {
    return createApiKey(ctx.em, ctx.deps, await ctx.viewer(), input);
  }

  @Authorized()
  @Query(() => [ApiKeyInfo], { description: 'The caller\'s API keys, or the tenant\'s with api_keys:manage.' })
  async apiKeys(@Ctx() ctx: RequestContext) {
    return listApiKeys(ctx.em, await ctx.viewer());
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Revoke an API key.' })
  async revokeApiKey(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await revokeApiKey(ctx.em, ctx.deps, await ctx.viewer(), id);
    return true;
  }

  @Authorized()
  @Mutation(() => Int, { description: 'Revoke several of the caller\'s own API keys at once, all or none (a signed-in session); answers how many were live.' })
  async revokeApiKeys(@Arg('ids', () => [ID], textArg('id')) ids: string[], @Ctx() ctx: RequestContext) {
    return revokeApiKeys(ctx.em, ctx.deps, await ctx.viewer(), ids);
  }
}
