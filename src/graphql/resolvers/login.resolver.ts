import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context.js';
import { passwordLogin } from '../../services/passwords/login.js';
import { AuthPayload } from '../types/auth-payload.type.js';
import { LoginInput } from '../types/login.input.js';

@Resolver()
export class LoginResolver {
  @Mutation(() => AuthPayload, { description: 'Password login. Errors: see AuthErrorCode (login).' })
  login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: RequestContext) {
    return passwordLogin(ctx.em, ctx.deps, input, ctx.client);
  }
}
