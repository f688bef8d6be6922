import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { acceptInvitation } from '../../services/invitations/accept.js';
import { inviteUser, listInvitations, revokeInvitation } from '../../services/invitations/manage.js';
import { textArg } from '../text-field.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { AcceptInvitationInput, InviteUserInput } from '../types/invitation.input.js';
import { Invitation, InvitationConnection, InvitationStatus } from '../types/invitation.type.js';

@Resolver()
export class InvitationResolver {
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
