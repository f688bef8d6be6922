import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { linkGoogle, loginWithGoogle } from '../../services/google/login.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { GoogleLinkInput, GoogleLoginInput } from '../types/google.input.js';
import { LinkedIdentity } from '../types/linked-identity.type.js';

@Resolver()
export class GoogleResolver {
  @Mutation(() => AuthPayload, { description: 'Sign in with a Google ID token.' })
  loginWithGoogle(@Arg('input', () => GoogleLoginInput) input: GoogleLoginInput, @Ctx() ctx: RequestContext) {
    return loginWithGoogle(ctx.em, ctx.deps, input, ctx.client);
  }

  @Authorized()
  @Mutation(() => LinkedIdentity, { description: 'Link a Google account to the signed-in user (needs recent authentication).' })
  async linkGoogle(@Arg('input', () => GoogleLinkInput) input: GoogleLinkInput, @Ctx() ctx: RequestContext) {
    return linkGoogle(ctx.em, ctx.deps, await ctx.viewer(), input.idToken, ctx.client);
  }
}
