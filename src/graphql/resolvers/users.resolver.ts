// Tenant administration: users:read to look, users:manage to change (read from the database).
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { getUser, listUsers, resetUserMfa, revokeUserSessions, setUserDisabledByAdmin, setUserRoles } from '../../services/users/manage.js';
import { textArg } from '../text-field.js';
import { UserFilter } from '../types/user-filter.input.js';
import { UserConnection, UserInfo } from '../types/user-info.type.js';

@Resolver()
export class UserResolver {
  @Authorized('users:read')
  @Query(() => UserConnection, { description: 'The tenant\'s users, newest first (users:read).' })
  async users(
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100 (default 20).' }) first: number | undefined,
    @Arg('after', () => String, textArg('cursor', { nullable: true })) after: string | undefined,
    @Arg('filter', () => UserFilter, { nullable: true }) filter: UserFilter | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return listUsers(ctx.em, await ctx.viewer(), { first, after, filter });
  }

  @Authorized('users:read')
  @Query(() => UserInfo, { description: 'One user of the tenant (users:read).' })
  async user(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    return getUser(ctx.em, await ctx.viewer(), id);
  }

  @Authorized('users:manage')
  @Mutation(() => UserInfo, { description: 'Replace a user\'s roles (users:manage; never beyond the caller\'s own permissions).' })
  async setUserRoles(@Arg('userId', () => ID, textArg('id')) userId: string, @Arg('roles', () => [String], textArg('roleName')) roles: string[], @Ctx() ctx: RequestContext) {
    return setUserRoles(ctx.em, ctx.deps, await ctx.viewer(), userId, roles);
  }

  @Authorized('users:manage')
  @Mutation(() => UserInfo, { description: 'Disable a user and end their sessions (users:manage; not oneself).' })
  async disableUser(@Arg('userId', () => ID, textArg('id')) userId: string, @Ctx() ctx: RequestContext) {
    return setUserDisabledByAdmin(ctx.em, ctx.deps, await ctx.viewer(), userId, true);
  }

  @Authorized('users:manage')
  @Mutation(() => UserInfo, { description: 'Enable a user again (users:manage).' })
  async enableUser(@Arg('userId', () => ID, textArg('id')) userId: string, @Ctx() ctx: RequestContext) {
    return setUserDisabledByAdmin(ctx.em, ctx.deps, await ctx.viewer(), userId, false);
  }

  @Authorized('users:manage')
  @Mutation(() => Int, { description: 'End every session of a user (users:manage); answers how many.' })
  async revokeUserSessions(@Arg('userId', () => ID, textArg('id')) userId: string, @Ctx() ctx: RequestContext) {
    return revokeUserSessions(ctx.em, ctx.deps, await ctx.viewer(), userId);
  }

  @Authorized('users:manage')
  @Mutation(() => UserInfo, { description: 'Clear a user\'s second factor and recovery codes, and end their sessions (users:manage). For a holder of a role in mfa_required_roles, their passkeys go too: there they are the second factor.' })
  async resetUserMfa(@Arg('userId', () => ID, textArg('id')) userId: string, @Ctx() ctx: RequestContext) {
    return resetUserMfa(ctx.em, ctx.deps, await ctx.viewer(), userId);
  }
}
