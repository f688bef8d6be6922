import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { signUp } from '../../services/accounts/signup.js';
import { resendVerification, verifyEmail } from '../../services/accounts/verification.js';
import { EmailInput, SignUpInput, TokenInput } from '../types/account.input.js';

@Resolver()
export class AccountResolver {
  @Mutation(() => Boolean, { description: 'Sign up with a password; a verification mail follows. True whether or not the address had an account.' })
  async signUp(@Arg('input', () => SignUpInput) input: SignUpInput, @Ctx() ctx: RequestContext) {
    await signUp(ctx.em, ctx.deps, input, ctx.client);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Verify an e-mail address with the mailed token.' })
  async verifyEmail(@Arg('input', () => TokenInput) input: TokenInput, @Ctx() ctx: RequestContext) {
    await verifyEmail(ctx.em, ctx.deps, input.token);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Mail a new verification link to an unverified address. True for any address.' })
  async resendVerification(@Arg('input', () => EmailInput) input: EmailInput, @Ctx() ctx: RequestContext) {
    await resendVerification(ctx.em, ctx.deps, input, ctx.client);
    return true;
  }
}
