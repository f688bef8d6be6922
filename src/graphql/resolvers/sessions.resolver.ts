import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { logoutAllSessions, logoutSession } from '../../services/sessions/end.js';
import { listOwnSessions, revokeOwnSession } from '../../services/sessions/own-sessions.js';
import { refreshSession } from '../../services/sessions/refresh.js';
import { textArg } from '../text-field.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { SessionInfo } from '../types/session-info.type.js';
import { RefreshInput } from '../types/refresh.input.js';

@Resolver()
export class SessionResolver {
  @Mutation(() => AuthPayload, { description: 'Rotate a refresh token: a new access token and a new refresh token.' })
  refresh(@Arg('input', () => RefreshInput) input: RefreshInput, @Ctx() ctx: RequestContext) {
    return refreshSession(ctx.em, ctx.deps, input.refreshToken, ctx.client);
  }

  @Mutation(() => Boolean, { description: 'End the session of this refresh token. True even for an unknown token (RFC 7009).' })
  async logout(@Arg('input', () => RefreshInput) input: RefreshInput, @Ctx() ctx: RequestContext) {
    await logoutSession(ctx.em, ctx.deps, input.refreshToken);
    return true;
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'End every session of the caller.' })
  async logoutAll(@Ctx() ctx: RequestContext) {
    await logoutAllSessions(ctx.em, ctx.deps, await ctx.viewer());
    return true;
  }

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
}
