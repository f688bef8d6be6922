import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { loginWithGoogle } from '../../services/google.service.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { GoogleLoginInput } from '../types/google-login.input.js';

@Resolver()
export class GoogleResolver {
  @Mutation(() => AuthPayload, { description: 'Sign in with a Google ID token.' })
  loginWithGoogle(@Arg('input', () => GoogleLoginInput) input: GoogleLoginInput, @Ctx() ctx: RequestContext) {
    return loginWithGoogle(ctx.em, ctx.deps, input, ctx.client);
  }
}
