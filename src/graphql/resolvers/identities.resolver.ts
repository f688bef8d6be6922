import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { listIdentities, unlinkGoogle } from '../../services/identities/linked.js';
import { textArg } from '../text-field.js';
import { Identities } from '../types/identities.type.js';

@Resolver()
export class IdentitiesResolver {
  @Authorized()
  @Query(() => Identities, { description: 'The caller\'s ways to sign in: password, passkeys, Google links.' })
  async identities(@Ctx() ctx: RequestContext) {
    return listIdentities(ctx.em, await ctx.viewer());
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Remove a Google link (never the last way to sign in).' })
  async unlinkGoogle(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await unlinkGoogle(ctx.em, ctx.deps, await ctx.viewer(), id);
    return true;
  }
}
