import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { listIdentities, unlinkGoogle } from '../../services/management/identities.js';
import { listOwnSessions, revokeOwnSession } from '../../services/management/own-sessions.js';
import { getUser, listUsers, resetUserMfa, revokeUserSessions, setUserDisabledByAdmin, setUserRoles } from '../../services/management/users.js';
import { textArg } from '../text-field.js';
import { listAuditEvents } from '../../services/management/audit-log.js';
import { acceptInvitation, inviteUser, listInvitations, revokeInvitation } from '../../services/management/invitations.js';
import { AcceptInvitationInput, AuditFilter, InviteUserInput, UserFilter } from '../types/management.input.js';
import { AuditEventConnection, Identities, Invitation, InvitationConnection, InvitationStatus, SessionInfo, UserConnection, UserInfo } from '../types/management.type.js';
import { AuthPayload } from '../types/auth-payload.type.js';

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

  // Tenant administration: users:read to look, users:manage to change (read from the database).
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
  @Mutation(() => UserInfo, { description: 'Clear a user\'s second factor and recovery codes (users:manage).' })
  async resetUserMfa(@Arg('userId', () => ID, textArg('id')) userId: string, @Ctx() ctx: RequestContext) {
    return resetUserMfa(ctx.em, ctx.deps, await ctx.viewer(), userId);
  }

  @Authorized('audit:read')
  @Query(() => AuditEventConnection, { description: 'The tenant\'s audit log, newest first (audit:read).' })
  async auditEvents(
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100 (default 20).' }) first: number | undefined,
    @Arg('after', () => String, textArg('cursor', { nullable: true })) after: string | undefined,
    @Arg('filter', () => AuditFilter, { nullable: true }) filter: AuditFilter | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return listAuditEvents(ctx.em, await ctx.viewer(), { first, after, filter });
  }

  @Authorized('users:manage')
  @Mutation(() => Invitation, { description: 'Mail an invitation (single use, 7 days) to an address, with roles (users:manage; never beyond the caller\'s own permissions). The same answer whether or not the address has an account.' })
  async inviteUser(@Arg('input', () => InviteUserInput) input: InviteUserInput, @Ctx() ctx: RequestContext) {
    return inviteUser(ctx.em, ctx.deps, await ctx.viewer(), input, ctx.client);
  }

  @Authorized('users:manage')
  @Query(() => InvitationConnection, { description: 'The tenant\'s invitations, newest first (users:manage).' })
  async invitations(
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100 (default 20).' }) first: number | undefined,
    @Arg('after', () => String, textArg('cursor', { nullable: true })) after: string | undefined,
    @Arg('status', () => InvitationStatus, { nullable: true }) status: InvitationStatus | undefined,
    @Ctx() ctx: RequestContext,
  ) {
    return listInvitations(ctx.em, ctx.deps, await ctx.viewer(), { first, after, status });
  }

  @Authorized('users:manage')
  @Mutation(() => Boolean, { description: 'Revoke a pending invitation (users:manage): its link stops working.' })
  async revokeInvitation(@Arg('id', () => ID, textArg('id')) id: string, @Ctx() ctx: RequestContext) {
    await revokeInvitation(ctx.em, ctx.deps, await ctx.viewer(), id, ctx.client);
    return true;
  }

  @Mutation(() => AuthPayload, {
    description: 'Accept an invitation: with a password, a new account is made and signed in; signed in (access token) without one, the roles are added to the account and the session is replaced.',
  })
  async acceptInvitation(@Arg('input', () => AcceptInvitationInput) input: AcceptInvitationInput, @Ctx() ctx: RequestContext) {
    const acceptor = input.password === undefined || input.password === null ? { signedIn: () => ctx.sessionViewer() } : { password: input.password };
    return acceptInvitation(ctx.em, ctx.deps, input.token, acceptor, ctx.client);
  }
}
