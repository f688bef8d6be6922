import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { passwordLogin } from '../../services/passwords/login.js';
import { changePassword, forgotPassword, resetPassword } from '../../services/passwords/new-password.js';
import { ChangePasswordInput, EmailInput, ResetPasswordInput } from '../types/account.input.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { LoginInput } from '../types/login.input.js';

@Resolver()
export class PasswordResolver {
  @Mutation(() => AuthPayload, { description: 'Password login. Errors: see AuthErrorCode (login).' })
  login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: RequestContext) {
    return passwordLogin(ctx.em, ctx.deps, input, ctx.client);
  }

  @Mutation(() => Boolean, { description: 'Mail a password-reset link. True for any address.' })
  async forgotPassword(@Arg('input', () => EmailInput) input: EmailInput, @Ctx() ctx: RequestContext) {
    await forgotPassword(ctx.em, ctx.deps, input, ctx.client);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Set a new password with the mailed reset token; every session of the user ends.' })
  async resetPassword(@Arg('input', () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() ctx: RequestContext) {
    await resetPassword(ctx.em, ctx.deps, input);
    return true;
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Change the password (access token, recent authentication); every other session ends.' })
  async changePassword(@Arg('input', () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: RequestContext) {
    await changePassword(ctx.em, ctx.deps, await ctx.viewer(), input, ctx.client);
    return true;
  }
}
