import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { listIdentities, unlinkGoogle } from '../../services/management/identities.js';
import { listOwnSessions, revokeOwnSession } from '../../services/management/own-sessions.js';
import { textArg } from '../text-field.js';
import { Identities, SessionInfo } from '../types/management.type.js';

@Resolver()
export class ManagementResolver {
  @Authorized()
  @Query(() => [SessionInfo], { description: 'The caller\'s live sessions, newest first.' })
  async sessions(@Ctx() ctx: RequestContext) {
    return listOwnSessions(ctx.em, ctx.deps, await ctx.viewer());
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'End one of the caller\'s sessions.' })
  async revokeSession(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await revokeOwnSession(ctx.em, ctx.deps, await ctx.viewer(), id);
    return true;
  }

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
